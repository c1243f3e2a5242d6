//! The behaviour suite every [`SessionStore`] must pass (feature `test-suite`).
//!
//! One suite for every store: the memory store, SQLite, PostgreSQL and Redis all run
//! [`run`] in their tests, against the real database. It checks the store contract with
//! explicit times (rotation, reuse detection, the grace interval, expiry, idle timeout,
//! listing, ending one and all, purging), then drives a [`SessionManager`] over the store
//! (login, refresh, reuse, claims updates, refusal), and runs the concurrency checks: 32 tasks
//! refresh one token at once, and exactly one gets a new pair.
//!
//! The store may hold other data: the suite uses fresh random ids and subjects, and only
//! asserts about its own sessions. Run it on a multi-threaded tokio runtime, so that the
//! concurrent refreshes really run in parallel.
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() {
//! tollgate_session::suite::run(tollgate_session::MemorySessionStore::new()).await;
//! # }
//! ```

use std::sync::Arc;

use tokio::sync::Barrier;
use tollgate::{StandardClaims, key::Algorithm};

use crate::{
    clock::unix_now,
    error::SessionErrorKind,
    issuer::Issuer,
    key::SigningKey,
    manager::SessionManager,
    session::{EndReason, NewSession, Session},
    source::ClaimsError,
    store::{RotateOutcome, Rotation, SessionStore, SessionStoreErrorKind},
};

/// How many tasks refresh one token at once in the concurrency checks.
pub const CONCURRENCY: usize = 32;

/// Run every check against `store`.
///
/// # Panics
///
/// When the store breaks the contract (with a message naming the check), or outside a tokio
/// runtime.
pub async fn run<S: SessionStore>(store: S) {
    let t = Tag::new();
    create_and_get(&store, &t).await;
    rotation_and_reuse(&store, &t).await;
    grace_interval(&store, &t).await;
    expiry(&store, &t).await;
    idle_timeout(&store, &t).await;
    listing(&store, &t).await;
    ending_one(&store, &t).await;
    ending_all(&store, &t).await;
    purging(&store, &t).await;
    concurrent_rotations(&store, &t).await;
    concurrent_rotations_with_grace(&store, &t).await;
    manager_lifecycle(&store, &t).await;
    manager_concurrent_refreshes(&store, &t).await;
    manager_concurrent_refreshes_with_grace(&store, &t).await;
}

/// Unique names for one run.
struct Tag(String);

impl Tag {
    fn new() -> Self {
        Self(crate::random::random_id().expect("random source"))
    }

    fn id(&self, name: &str) -> String {
        format!("{}-{name}", self.0)
    }
}

/// A point in the past far from real time, so explicit-time sessions never meet the
/// manager's real-time ones.
const T0: i64 = 1_000_000_000;

fn session(t: &Tag, id: &str, subject: &str, created_at: i64) -> Session {
    Session {
        id: t.id(id),
        subject: t.id(subject),
        device_info: Some("laptop".to_owned()),
        ip_address: Some("192.0.2.1".to_owned()),
        user_agent: None,
        created_at,
        last_activity: created_at,
        expires_at: created_at + 1_000,
        idle_expires_at: None,
        refresh_jti: format!("{id}-r0"),
        active: true,
    }
}

async fn create_and_get<S: SessionStore>(store: &S, t: &Tag) {
    let mut s = session(t, "create", "alice", T0);
    s.idle_expires_at = Some(T0 + 100);
    store.create(&s).await.expect("create");
    assert_eq!(
        store.get(&s.id).await.expect("get"),
        Some(s.clone()),
        "create/get: the session reads back as written"
    );
    let error = store
        .create(&s)
        .await
        .expect_err("create/get: a second session with the same id is refused");
    assert_eq!(
        error.kind(),
        SessionStoreErrorKind::Conflict,
        "create/get: a duplicate id is a conflict"
    );
    assert_eq!(
        store.get(&t.id("nobody")).await.expect("get"),
        None,
        "create/get: an unknown id is None"
    );
}

async fn rotation_and_reuse<S: SessionStore>(store: &S, t: &Tag) {
    let s = session(t, "rotate", "bob", T0);
    store.create(&s).await.expect("create");
    let outcome = store
        .rotate(
            &Rotation::new(&s.id, "rotate-r0", "rotate-r1", T0 + 10).idle_expires_at(Some(T0 + 60)),
        )
        .await
        .expect("rotate");
    let RotateOutcome::Rotated(rotated) = outcome else {
        panic!("rotation: the current token rotates, got {outcome:?}");
    };
    assert_eq!(
        rotated.refresh_jti, "rotate-r1",
        "rotation: records the new jti"
    );
    assert_eq!(
        rotated.last_activity,
        T0 + 10,
        "rotation: records the activity"
    );
    assert_eq!(
        rotated.idle_expires_at,
        Some(T0 + 60),
        "rotation: records the idle deadline"
    );
    assert_eq!(
        store.get(&s.id).await.expect("get"),
        Some(rotated.clone()),
        "rotation: returns the stored session"
    );

    let outcome = store
        .rotate(&Rotation::new(&s.id, "rotate-r0", "rotate-r2", T0 + 20))
        .await
        .expect("rotate");
    assert_eq!(
        outcome,
        RotateOutcome::Reused(rotated),
        "rotation: a spent token is a reuse"
    );
    let ended = store
        .get(&s.id)
        .await
        .expect("get")
        .expect("still readable");
    assert!(!ended.active, "rotation: a reuse ends the session");
    assert_eq!(
        ended.refresh_jti, "rotate-r1",
        "rotation: a reuse records no new jti"
    );

    let outcome = store
        .rotate(&Rotation::new(&s.id, "rotate-r1", "rotate-r3", T0 + 30))
        .await
        .expect("rotate");
    assert_eq!(
        outcome,
        RotateOutcome::Ended,
        "rotation: an ended session no longer rotates"
    );
    let outcome = store
        .rotate(&Rotation::new(&t.id("missing"), "x", "y", T0 + 30))
        .await
        .expect("rotate");
    assert_eq!(
        outcome,
        RotateOutcome::NotFound,
        "rotation: an unknown session is not found"
    );
}

async fn grace_interval<S: SessionStore>(store: &S, t: &Tag) {
    let s = session(t, "grace", "carol", T0);
    store.create(&s).await.expect("create");
    let outcome = store
        .rotate(&Rotation::new(&s.id, "grace-r0", "grace-r1", T0 + 10).grace(T0 + 15, "answer-1"))
        .await
        .expect("rotate");
    assert!(
        matches!(outcome, RotateOutcome::Rotated(_)),
        "grace: rotates, got {outcome:?}"
    );
    for now in [T0 + 11, T0 + 15] {
        let outcome = store
            .rotate(&Rotation::new(&s.id, "grace-r0", "grace-rx", now))
            .await
            .expect("rotate");
        assert_eq!(
            outcome,
            RotateOutcome::Retried("answer-1".to_owned()),
            "grace: a retry within the interval gets the kept answer"
        );
    }
    let current = store.get(&s.id).await.expect("get").expect("exists");
    assert!(
        current.active && current.refresh_jti == "grace-r1",
        "grace: a retry changes nothing"
    );

    // The next rotation, without grace, forgets the kept answer.
    let outcome = store
        .rotate(&Rotation::new(&s.id, "grace-r1", "grace-r2", T0 + 12))
        .await
        .expect("rotate");
    assert!(
        matches!(outcome, RotateOutcome::Rotated(_)),
        "grace: rotates again, got {outcome:?}"
    );
    let outcome = store
        .rotate(&Rotation::new(&s.id, "grace-r1", "grace-rx", T0 + 13))
        .await
        .expect("rotate");
    assert!(
        matches!(outcome, RotateOutcome::Reused(_)),
        "grace: without a kept answer a spent token is a reuse, got {outcome:?}"
    );

    // Past the interval, a retry is a reuse.
    let s = session(t, "grace-late", "carol", T0);
    store.create(&s).await.expect("create");
    store
        .rotate(
            &Rotation::new(&s.id, "grace-late-r0", "grace-late-r1", T0 + 10)
                .grace(T0 + 15, "answer"),
        )
        .await
        .expect("rotate");
    let outcome = store
        .rotate(&Rotation::new(
            &s.id,
            "grace-late-r0",
            "grace-late-rx",
            T0 + 16,
        ))
        .await
        .expect("rotate");
    assert!(
        matches!(outcome, RotateOutcome::Reused(_)),
        "grace: a retry after the interval is a reuse, got {outcome:?}"
    );
}

async fn expiry<S: SessionStore>(store: &S, t: &Tag) {
    let s = session(t, "expiry", "dave", T0);
    store.create(&s).await.expect("create");
    let outcome = store
        .rotate(&Rotation::new(
            &s.id,
            "expiry-r0",
            "expiry-r1",
            s.expires_at,
        ))
        .await
        .expect("rotate");
    assert_eq!(
        outcome,
        RotateOutcome::Expired,
        "expiry: no rotation at the expiry"
    );
    let outcome = store
        .rotate(&Rotation::new(
            &s.id,
            "expiry-r0",
            "expiry-r1",
            s.expires_at - 1,
        ))
        .await
        .expect("rotate");
    assert!(
        matches!(outcome, RotateOutcome::Rotated(_)),
        "expiry: a rotation just before the expiry works, got {outcome:?}"
    );
}

async fn idle_timeout<S: SessionStore>(store: &S, t: &Tag) {
    let mut s = session(t, "idle", "erin", T0);
    s.idle_expires_at = Some(T0 + 100);
    store.create(&s).await.expect("create");
    let outcome = store
        .rotate(
            &Rotation::new(&s.id, "idle-r0", "idle-r1", T0 + 99).idle_expires_at(Some(T0 + 199)),
        )
        .await
        .expect("rotate");
    assert!(
        matches!(outcome, RotateOutcome::Rotated(_)),
        "idle: a rotation before the idle deadline works, got {outcome:?}"
    );
    let outcome = store
        .rotate(
            &Rotation::new(&s.id, "idle-r1", "idle-r2", T0 + 199).idle_expires_at(Some(T0 + 299)),
        )
        .await
        .expect("rotate");
    assert_eq!(
        outcome,
        RotateOutcome::Idle,
        "idle: no rotation at the idle deadline"
    );
    assert!(
        store
            .list(&s.subject, T0 + 199)
            .await
            .expect("list")
            .is_empty(),
        "idle: an idle session is not listed"
    );
}

async fn listing<S: SessionStore>(store: &S, t: &Tag) {
    let first = session(t, "list-1", "frank", T0);
    let second = session(t, "list-2", "frank", T0 + 5);
    let mut third = session(t, "list-3", "frank", T0 + 5);
    third.device_info = None;
    let mut ended = session(t, "list-ended", "frank", T0 + 1);
    ended.active = false;
    let mut expired = session(t, "list-expired", "frank", T0 - 2_000);
    expired.expires_at = T0;
    let mut idle = session(t, "list-idle", "frank", T0 + 2);
    idle.idle_expires_at = Some(T0 + 10);
    let other = session(t, "list-other", "grace", T0);
    for s in [&third, &ended, &second, &expired, &first, &idle, &other] {
        store.create(s).await.expect("create");
    }
    let listed = store.list(&first.subject, T0 + 10).await.expect("list");
    assert_eq!(
        listed,
        vec![first, second, third],
        "listing: live sessions only, oldest first (then by id)"
    );
    assert!(
        store
            .list(&t.id("nobody"), T0)
            .await
            .expect("list")
            .is_empty(),
        "listing: nothing for an unknown subject"
    );
}

async fn ending_one<S: SessionStore>(store: &S, t: &Tag) {
    let s = session(t, "end", "heidi", T0);
    let kept = session(t, "end-kept", "heidi", T0);
    store.create(&s).await.expect("create");
    store.create(&kept).await.expect("create");
    assert_eq!(
        store.end(&s.id).await.expect("end"),
        Some(s.clone()),
        "ending one: returns the session as it was"
    );
    let ended = store
        .get(&s.id)
        .await
        .expect("get")
        .expect("readable until purged");
    assert!(!ended.active, "ending one: the session is ended");
    assert_eq!(
        store.end(&s.id).await.expect("end"),
        None,
        "ending one: twice is a no-op"
    );
    assert_eq!(
        store.end(&t.id("nobody")).await.expect("end"),
        None,
        "ending one: an unknown id is a no-op"
    );
    let outcome = store
        .rotate(&Rotation::new(&s.id, "end-r0", "end-r1", T0 + 1))
        .await
        .expect("rotate");
    assert_eq!(
        outcome,
        RotateOutcome::Ended,
        "ending one: the refresh token stops working"
    );
    assert_eq!(
        store.list(&s.subject, T0 + 1).await.expect("list"),
        vec![kept],
        "ending one: the other session lives on"
    );
}

async fn ending_all<S: SessionStore>(store: &S, t: &Tag) {
    let a = session(t, "all-a", "ivan", T0);
    let b = session(t, "all-b", "ivan", T0 + 1);
    let mut already = session(t, "all-ended", "ivan", T0);
    already.active = false;
    let other = session(t, "all-other", "judy", T0);
    for s in [&a, &b, &already, &other] {
        store.create(s).await.expect("create");
    }
    let ended = store.end_all(&a.subject).await.expect("end all");
    assert_eq!(
        ended,
        vec![a.clone(), b.clone()],
        "ending all: returns the sessions that were active, oldest first"
    );
    assert!(
        store
            .list(&a.subject, T0 + 2)
            .await
            .expect("list")
            .is_empty(),
        "ending all: none is left"
    );
    assert!(
        !store
            .get(&b.id)
            .await
            .expect("get")
            .expect("readable")
            .active,
        "ending all: each is ended"
    );
    assert_eq!(
        store.list(&other.subject, T0 + 2).await.expect("list"),
        vec![other],
        "ending all: other subjects keep theirs"
    );
    assert!(
        store.end_all(&a.subject).await.expect("end all").is_empty(),
        "ending all: twice is a no-op"
    );
}

async fn purging<S: SessionStore>(store: &S, t: &Tag) {
    let now = T0 + 500;
    let live = session(t, "purge-live", "kim", T0);
    let mut ended = session(t, "purge-ended", "kim", T0);
    ended.active = false;
    let mut expired = session(t, "purge-expired", "kim", T0 - 1_000);
    expired.expires_at = now;
    let mut idle = session(t, "purge-idle", "kim", T0);
    idle.idle_expires_at = Some(now - 1);
    for s in [&live, &ended, &expired, &idle] {
        store.create(s).await.expect("create");
    }
    let purged = store.purge(now).await.expect("purge");
    assert!(
        purged >= 3,
        "purging: removes ended, expired and idle sessions (removed {purged})"
    );
    for gone in [&ended, &expired, &idle] {
        assert_eq!(
            store.get(&gone.id).await.expect("get"),
            None,
            "purging: {} is gone",
            gone.id
        );
    }
    assert_eq!(
        store.get(&live.id).await.expect("get"),
        Some(live),
        "purging: a live session stays"
    );
}

async fn concurrent_rotations<S: SessionStore>(store: &S, t: &Tag) {
    let s = session(t, "race", "leo", T0);
    store.create(&s).await.expect("create");
    let outcomes = race(CONCURRENCY, |i| {
        let store = store.clone();
        let id = s.id.clone();
        async move {
            let new = format!("race-n{i}");
            store
                .rotate(&Rotation::new(&id, "race-r0", &new, T0 + 1))
                .await
                .expect("rotate")
        }
    })
    .await;
    let rotated: Vec<_> = outcomes
        .iter()
        .filter(|o| matches!(o, RotateOutcome::Rotated(_)))
        .collect();
    assert_eq!(
        rotated.len(),
        1,
        "concurrency: exactly one of {CONCURRENCY} rotations wins, got {outcomes:?}"
    );
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            RotateOutcome::Rotated(_) | RotateOutcome::Reused(_) | RotateOutcome::Ended
        )),
        "concurrency: the others are reuses (or find the session ended), got {outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, RotateOutcome::Reused(_))),
        "concurrency: the first loser detects the reuse"
    );
    assert!(
        !store
            .get(&s.id)
            .await
            .expect("get")
            .expect("readable")
            .active,
        "concurrency: the reuse ended the session"
    );
}

async fn concurrent_rotations_with_grace<S: SessionStore>(store: &S, t: &Tag) {
    let s = session(t, "race-grace", "mia", T0);
    store.create(&s).await.expect("create");
    let outcomes = race(CONCURRENCY, |i| {
        let store = store.clone();
        let id = s.id.clone();
        async move {
            let new = format!("race-grace-n{i}");
            let answer = format!("answer-{i}");
            store
                .rotate(&Rotation::new(&id, "race-grace-r0", &new, T0 + 1).grace(T0 + 10, &answer))
                .await
                .expect("rotate")
        }
    })
    .await;
    let winners: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o, RotateOutcome::Rotated(_)))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "concurrency with grace: exactly one rotation wins, got {outcomes:?}"
    );
    let answer = format!("answer-{}", winners[0]);
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, RotateOutcome::Rotated(_))
                || *o == RotateOutcome::Retried(answer.clone())),
        "concurrency with grace: the others get the winner's answer, got {outcomes:?}"
    );
    assert!(
        store.get(&s.id).await.expect("get").expect("exists").active,
        "concurrency with grace: the session lives on"
    );
}

/// Run `count` futures made by `make` at once (released together by a barrier) on the
/// runtime's threads; their outputs, in task order.
async fn race<T, Fut>(count: usize, make: impl Fn(usize) -> Fut) -> Vec<T>
where
    T: Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(count));
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let work = make(i);
            tokio::spawn(async move {
                barrier.wait().await;
                work.await
            })
        })
        .collect();
    let mut outputs = Vec::with_capacity(count);
    for task in tasks {
        outputs.push(task.await.expect("task"));
    }
    outputs
}

/// The claims the suite's manager issues: the subject's role, from a shared cell the checks
/// change; subjects ending in `-refused`, and everyone while the role is `suspended`, are
/// refused.
fn manager<S: SessionStore>(
    store: &S,
    role: Arc<std::sync::Mutex<String>>,
) -> SessionManager<S, impl crate::source::ClaimsSource + use<S>> {
    let issuer = Issuer::new(
        "suite",
        "suite-api",
        SigningKey::generate("suite-key", Algorithm::HS256).expect("key"),
    );
    let claims = move |session: Session| {
        let role = role.lock().map(|r| r.clone()).unwrap_or_default();
        async move {
            if session.subject.ends_with("-refused") || role == "suspended" {
                return Err(ClaimsError::refused());
            }
            Ok(StandardClaims {
                roles: vec![role.into()],
                ..StandardClaims::default()
            })
        }
    };
    SessionManager::new(issuer, store.clone(), claims).expect("manager")
}

async fn manager_lifecycle<S: SessionStore>(store: &S, t: &Tag) {
    let role = Arc::new(std::sync::Mutex::new("viewer".to_owned()));
    let sessions = manager(store, Arc::clone(&role));
    let subject = t.id("nina");
    let before = unix_now();
    let (session, first) = sessions
        .login(
            NewSession::new(&subject)
                .device_info("phone")
                .ip_address("198.51.100.4")
                .user_agent("test/1"),
        )
        .await
        .expect("login");
    assert_eq!(
        session.subject, subject,
        "manager: the session is the subject's"
    );
    assert!(session.created_at >= before, "manager: created now");
    assert_eq!(
        session.refresh_jti,
        first.refresh_jti(),
        "manager: the session records the refresh jti"
    );
    assert_eq!(
        store.get(&session.id).await.expect("get"),
        Some(session.clone()),
        "manager: login stores the session"
    );

    let access = sessions
        .access_verifier()
        .verify::<StandardClaims>(first.access_token())
        .await
        .expect("access token verifies");
    assert_eq!(
        access.standard().roles,
        ["viewer"],
        "manager: the access token carries the claims"
    );
    assert_eq!(
        access.standard().sid.as_deref(),
        Some(session.id.as_str()),
        "manager: the access token carries the sid"
    );

    // New permissions reach the next access token.
    *role.lock().expect("lock") = "admin".to_owned();
    let second = sessions
        .refresh(first.refresh_token())
        .await
        .expect("refresh");
    let access = sessions
        .access_verifier()
        .verify::<StandardClaims>(second.access_token())
        .await
        .expect("verifies");
    assert_eq!(
        access.standard().roles,
        ["admin"],
        "manager: a refresh picks up the current claims"
    );
    assert_ne!(
        second.refresh_jti(),
        first.refresh_jti(),
        "manager: a new refresh token"
    );
    let stored = store.get(&session.id).await.expect("get").expect("exists");
    assert_eq!(
        stored.refresh_jti,
        second.refresh_jti(),
        "manager: the store records the new refresh jti"
    );

    // An access token is not a refresh token.
    let error = sessions
        .refresh(second.access_token())
        .await
        .expect_err("an access token does not refresh");
    assert_eq!(error.kind(), SessionErrorKind::InvalidToken);

    assert_eq!(
        sessions.sessions(&subject).await.expect("list").len(),
        1,
        "manager: lists the session"
    );

    // Reuse of the spent token ends the session, and the current token dies with it.
    let error = sessions
        .refresh(first.refresh_token())
        .await
        .expect_err("reuse is refused");
    assert_eq!(
        error.kind(),
        SessionErrorKind::Reused,
        "manager: reuse is detected"
    );
    let error = sessions
        .refresh(second.refresh_token())
        .await
        .expect_err("the session is over");
    assert_eq!(
        error.kind(),
        SessionErrorKind::Ended,
        "manager: the whole session ended"
    );
    assert!(
        sessions.sessions(&subject).await.expect("list").is_empty(),
        "manager: nothing listed after reuse"
    );

    // Ending one, ending all.
    let (one, one_pair) = sessions
        .login(NewSession::new(&subject))
        .await
        .expect("login");
    let (_, two_pair) = sessions
        .login(NewSession::new(&subject).remember_me(true))
        .await
        .expect("login");
    assert_eq!(sessions.sessions(&subject).await.expect("list").len(), 2);
    assert!(
        sessions
            .end_session(&one.id, EndReason::Logout)
            .await
            .expect("end"),
        "manager: ends an active session"
    );
    let error = sessions
        .refresh(one_pair.refresh_token())
        .await
        .expect_err("ended");
    assert_eq!(error.kind(), SessionErrorKind::Ended);
    assert_eq!(
        sessions
            .end_all(&subject, EndReason::LogoutAll)
            .await
            .expect("end all"),
        1,
        "manager: ends the rest"
    );
    let error = sessions
        .refresh(two_pair.refresh_token())
        .await
        .expect_err("ended");
    assert_eq!(error.kind(), SessionErrorKind::Ended);

    // A refused subject gets no session, and a refusal at refresh ends the session.
    let refused = t.id("x-refused");
    let error = sessions
        .login(NewSession::new(&refused))
        .await
        .expect_err("refused");
    assert_eq!(
        error.kind(),
        SessionErrorKind::Refused,
        "manager: the claims source may refuse a login"
    );
    let (suspended, pair) = sessions
        .login(NewSession::new(&subject))
        .await
        .expect("login");
    *role.lock().expect("lock") = "suspended".to_owned();
    let error = sessions
        .refresh(pair.refresh_token())
        .await
        .expect_err("refused");
    assert_eq!(
        error.kind(),
        SessionErrorKind::Refused,
        "manager: the claims source may refuse a refresh"
    );
    *role.lock().expect("lock") = "viewer".to_owned();
    let error = sessions
        .refresh(pair.refresh_token())
        .await
        .expect_err("ended");
    assert_eq!(
        error.kind(),
        SessionErrorKind::Ended,
        "manager: a refused refresh ends the session"
    );
    assert!(
        !store
            .get(&suspended.id)
            .await
            .expect("get")
            .expect("readable")
            .active
    );
}

async fn manager_concurrent_refreshes<S: SessionStore>(store: &S, t: &Tag) {
    let sessions = manager(store, Arc::new(std::sync::Mutex::new("viewer".to_owned())));
    let (session, pair) = sessions
        .login(NewSession::new(t.id("oscar")))
        .await
        .expect("login");
    let results = race(CONCURRENCY, |_| {
        let sessions = sessions.clone();
        let token = pair.refresh_token().to_owned();
        async move { sessions.refresh(&token).await }
    })
    .await;
    let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(
        won.len(),
        1,
        "manager concurrency: exactly one of {CONCURRENCY} refreshes gets a pair"
    );
    for error in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(
                error.kind(),
                SessionErrorKind::Reused | SessionErrorKind::Ended
            ),
            "manager concurrency: the others fail as reuses, got {error:?}"
        );
    }
    let error = sessions
        .refresh(won[0].refresh_token())
        .await
        .expect_err("without grace, a concurrent reuse ends the session");
    assert_eq!(error.kind(), SessionErrorKind::Ended);
    assert!(
        !store
            .get(&session.id)
            .await
            .expect("get")
            .expect("readable")
            .active
    );
}

async fn manager_concurrent_refreshes_with_grace<S: SessionStore>(store: &S, t: &Tag) {
    let sessions = manager(store, Arc::new(std::sync::Mutex::new("viewer".to_owned())))
        .grace_period(std::time::Duration::from_secs(30))
        .expect("grace");
    let (_, pair) = sessions
        .login(NewSession::new(t.id("peggy")))
        .await
        .expect("login");
    let results = race(CONCURRENCY, |_| {
        let sessions = sessions.clone();
        let token = pair.refresh_token().to_owned();
        async move { sessions.refresh(&token).await }
    })
    .await;
    let pairs: Vec<_> = results
        .into_iter()
        .map(|r| {
            r.expect("manager concurrency with grace: every retry within the interval succeeds")
        })
        .collect();
    assert!(
        pairs.iter().all(|p| p == &pairs[0]),
        "manager concurrency with grace: every task gets the same new pair"
    );
    let next = sessions
        .refresh(pairs[0].refresh_token())
        .await
        .expect("the new pair refreshes");
    assert_ne!(next.refresh_jti(), pairs[0].refresh_jti());
}
