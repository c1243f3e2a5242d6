//! One scenario for every session store: each session metric moves by what its event says,
//! and nothing else moves. Logins, refreshes (rotated, retried within the grace interval,
//! refused with each code met here), every reason a session ends, and purges (by
//! `SessionManager::purge` and by the cleanup task).
//!
//! Shared with `tollgate-redis`'s metrics tests (the Redis session store).
#![allow(dead_code, unreachable_pub)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tollgate::{StandardClaims, key::Algorithm, revocation::RevocationStore};
use tollgate_session::{
    ClaimsError, EndReason, Issuer, NewSession, Revoked, Session, SessionErrorKind, SessionManager,
    SessionStore, SigningKey,
};

use super::recorded::{Meter, moved};

const ISSUED: &str = "tollgate_sessions_issued_total";
const REFRESHES: &str = "tollgate_session_refreshes_total";
const ENDED: &str = "tollgate_sessions_ended_total";
const PURGED: &str = "tollgate_sessions_purged_total";
const SESSION_METRICS: &[&str] = &[ISSUED, REFRESHES, ENDED, PURGED];

const ROTATED: &str = "tollgate_session_refreshes_total{outcome=\"rotated\"}";
const RETRIED: &str = "tollgate_session_refreshes_total{outcome=\"retried\"}";
const REUSED: &str = "tollgate_session_refreshes_total{outcome=\"refresh_token_reused\"}";
const TOKEN_REVOKED: &str = "tollgate_session_refreshes_total{outcome=\"token_revoked\"}";
const REFUSED: &str = "tollgate_session_refreshes_total{outcome=\"subject_refused\"}";
const INVALID: &str = "tollgate_session_refreshes_total{outcome=\"invalid_token\"}";

fn ended(reason: EndReason) -> String {
    format!("{ENDED}{{reason=\"{reason}\"}}")
}

/// Run the scenario on `store`, with `revocation` as the managers' revocation store.
///
/// # Panics
///
/// When a metric does not move as its event says.
pub async fn run<S, R>(store: S, revocation: R, meter: &Meter)
where
    S: SessionStore,
    R: RevocationStore + Clone,
{
    let refuse = Arc::new(AtomicBool::new(false));
    let claims = {
        let refuse = Arc::clone(&refuse);
        move |_: Session| {
            let refused = refuse.load(Ordering::SeqCst);
            async move {
                if refused {
                    Err(ClaimsError::refused())
                } else {
                    Ok(StandardClaims::default())
                }
            }
        }
    };
    let issuer = Issuer::new(
        "metrics",
        "metrics-api",
        SigningKey::generate("k1", Algorithm::HS256).unwrap(),
    );
    let sessions = SessionManager::new(issuer.clone(), store.clone(), claims.clone())
        .unwrap()
        .with_revocation(revocation.clone());
    let graceful = SessionManager::new(issuer, store, claims)
        .unwrap()
        .grace_period(Duration::from_secs(60))
        .unwrap()
        .with_revocation(revocation.clone());
    let counters = || meter.counters(SESSION_METRICS);
    counters();

    // A login, a rotation, a retry within the grace interval.
    let (_, first) = sessions.login(NewSession::new("a")).await.unwrap();
    assert_eq!(counters(), moved(&[(ISSUED, 1)]));
    let second = sessions.refresh(first.refresh_token()).await.unwrap();
    assert_eq!(counters(), moved(&[(ROTATED, 1)]));
    let third = graceful.refresh(second.refresh_token()).await.unwrap();
    let again = graceful.refresh(second.refresh_token()).await.unwrap();
    assert_eq!(again.refresh_token(), third.refresh_token());
    assert_eq!(counters(), moved(&[(ROTATED, 1), (RETRIED, 1)]));

    // Reuse: a rotated refresh token comes back, and the session ends.
    let error = sessions.refresh(first.refresh_token()).await.unwrap_err();
    assert_eq!(error.kind(), SessionErrorKind::Reused);
    assert_eq!(
        counters(),
        moved(&[(REUSED, 1), (&ended(EndReason::ReuseDetected), 1)])
    );
    // The session's current token is refused now, and the session is not ended twice.
    let error = sessions.refresh(third.refresh_token()).await.unwrap_err();
    assert_eq!(error.kind(), SessionErrorKind::Revoked);
    assert_eq!(counters(), moved(&[(TOKEN_REVOKED, 1)]));

    // Logout; ending an ended session counts nothing.
    let (b, pair) = sessions.login(NewSession::new("b")).await.unwrap();
    let access = sessions
        .access_verifier()
        .verify::<StandardClaims>(pair.access_token())
        .await
        .unwrap();
    sessions.logout(access.standard()).await.unwrap();
    assert_eq!(
        counters(),
        moved(&[(ISSUED, 1), (&ended(EndReason::Logout), 1)])
    );
    assert!(
        !sessions
            .end_session(&b.id, EndReason::Logout)
            .await
            .unwrap()
    );
    assert_eq!(counters(), moved(&[]));

    // An administrator ends one session.
    let (c, _) = sessions.login(NewSession::new("c")).await.unwrap();
    assert!(sessions.end_session(&c.id, EndReason::Admin).await.unwrap());
    assert_eq!(
        counters(),
        moved(&[(ISSUED, 1), (&ended(EndReason::Admin), 1)])
    );

    // Ending all of a subject's sessions counts each, under the reason given.
    for (subject, reason) in [
        ("d", EndReason::LogoutAll),
        ("e", EndReason::Suspension),
        ("f", EndReason::PasswordChange),
    ] {
        sessions.login(NewSession::new(subject)).await.unwrap();
        sessions.login(NewSession::new(subject)).await.unwrap();
        assert_eq!(sessions.end_all(subject, reason).await.unwrap(), 2);
        assert_eq!(counters(), moved(&[(ISSUED, 2), (&ended(reason), 2)]));
    }

    // Ending the others counts each but the kept one.
    for (subject, reason) in [
        ("g", EndReason::LogoutOthers),
        ("h", EndReason::PasswordChange),
    ] {
        let (keep, _) = sessions.login(NewSession::new(subject)).await.unwrap();
        for _ in 0..3 {
            sessions.login(NewSession::new(subject)).await.unwrap();
        }
        assert_eq!(
            sessions
                .end_others(subject, &keep.id, reason)
                .await
                .unwrap(),
            3
        );
        assert_eq!(counters(), moved(&[(ISSUED, 4), (&ended(reason), 3)]));
    }

    // RFC 7009 revocation of a refresh token.
    let (_, pair) = sessions.login(NewSession::new("i")).await.unwrap();
    assert_eq!(
        sessions
            .revoke(pair.refresh_token(), Some("refresh_token"))
            .await
            .unwrap(),
        Revoked::Session
    );
    assert_eq!(
        counters(),
        moved(&[(ISSUED, 1), (&ended(EndReason::Revoked), 1)])
    );

    // A refresh token the revocation store refuses (revoked there directly).
    let (_, pair) = sessions.login(NewSession::new("j")).await.unwrap();
    revocation
        .revoke_token(pair.refresh_jti(), pair.refresh_expires_at())
        .await
        .unwrap();
    let error = sessions.refresh(pair.refresh_token()).await.unwrap_err();
    assert_eq!(error.kind(), SessionErrorKind::Revoked);
    assert_eq!(
        counters(),
        moved(&[
            (ISSUED, 1),
            (TOKEN_REVOKED, 1),
            (&ended(EndReason::Revoked), 1)
        ])
    );

    // The claims source refuses the subject at a refresh.
    let (_, pair) = sessions.login(NewSession::new("k")).await.unwrap();
    refuse.store(true, Ordering::SeqCst);
    let error = sessions.refresh(pair.refresh_token()).await.unwrap_err();
    refuse.store(false, Ordering::SeqCst);
    assert_eq!(error.kind(), SessionErrorKind::Refused);
    assert_eq!(
        counters(),
        moved(&[
            (ISSUED, 1),
            (REFUSED, 1),
            (&ended(EndReason::SubjectRefused), 1)
        ])
    );

    // Not a token at all.
    assert_eq!(
        sessions.refresh("not-a-token").await.unwrap_err().kind(),
        SessionErrorKind::InvalidToken
    );
    assert_eq!(counters(), moved(&[(INVALID, 1)]));

    // A purge counts what it removed: every session ended above (18).
    let purged = sessions.purge().await.unwrap();
    assert_eq!(purged, 18);
    assert_eq!(counters(), moved(&[(PURGED, 18)]));

    // The cleanup task counts what it removes.
    let (l, _) = sessions.login(NewSession::new("l")).await.unwrap();
    sessions
        .end_session(&l.id, EndReason::Logout)
        .await
        .unwrap();
    counters();
    let cleanup = sessions.spawn_cleanup(Duration::from_millis(10));
    let total = meter
        .counters_until(SESSION_METRICS, |total| total.contains_key(PURGED))
        .await;
    cleanup.stop();
    assert_eq!(total, moved(&[(PURGED, 1)]));
}
