//! The `SessionManager` with a real revocation store (tollgate's in-process one): ending
//! sessions kills their access tokens on revocation-checked routes, the same-second cut-off
//! rule, RFC 7009 revocation over real HTTP, and the cleanup task.
#![cfg(feature = "axum")]

#[path = "../support/mod.rs"]
mod support;

use std::time::Duration;

use axum::{Router, routing::post};
use tollgate::{
    StandardClaims,
    key::Algorithm,
    revocation::{MemoryRevocationStore, RevocationStatus, RevocationStore, TokenRef},
};
use tollgate_session::{
    ClaimsError, ClaimsSource, EndReason, Issuer, MemorySessionStore, NewSession, Revoked, Session,
    SessionErrorKind, SessionManager, SessionStore, SigningKey, TokenPair,
};

fn claims() -> impl ClaimsSource {
    |_: Session| async {
        Ok::<_, ClaimsError>(StandardClaims {
            perms: vec!["customer:read".into()],
            ver: Some(1),
            ..StandardClaims::default()
        })
    }
}

fn manager() -> SessionManager<MemorySessionStore, impl ClaimsSource, MemoryRevocationStore> {
    let issuer = Issuer::new(
        "crm",
        "crm-api",
        SigningKey::generate("k1", Algorithm::ES256).unwrap(),
    );
    SessionManager::new(issuer, MemorySessionStore::new(), claims())
        .unwrap()
        .with_revocation(MemoryRevocationStore::new())
}

/// What the revocation store says about the pair's access token.
async fn access_status<S: SessionStore, F: ClaimsSource>(
    sessions: &SessionManager<S, F, MemoryRevocationStore>,
    pair: &TokenPair,
) -> RevocationStatus {
    let verified = sessions
        .access_verifier()
        .verify::<StandardClaims>(pair.access_token())
        .await
        .unwrap();
    let token = TokenRef::from_claims(verified.standard()).unwrap();
    sessions.revocation().check(&token).await.unwrap()
}

#[tokio::test]
async fn ending_a_session_revokes_its_access_tokens() {
    let sessions = manager();
    let (session, pair) = sessions.login(NewSession::new("u1")).await.unwrap();
    let (_, other) = sessions.login(NewSession::new("u1")).await.unwrap();
    assert_eq!(
        access_status(&sessions, &pair).await,
        RevocationStatus::Active
    );

    assert!(
        sessions
            .end_session(&session.id, EndReason::Logout)
            .await
            .unwrap()
    );
    assert_eq!(
        access_status(&sessions, &pair).await,
        RevocationStatus::SessionEnded
    );
    assert_eq!(
        access_status(&sessions, &other).await,
        RevocationStatus::Active
    );
    assert_eq!(
        sessions
            .refresh(pair.refresh_token())
            .await
            .unwrap_err()
            .kind(),
        SessionErrorKind::Revoked
    );
    assert!(
        !sessions
            .end_session(&session.id, EndReason::Logout)
            .await
            .unwrap(),
        "already ended"
    );
}

#[tokio::test]
async fn reuse_detection_revokes_the_sessions_access_tokens() {
    let sessions = manager();
    let (_, first) = sessions.login(NewSession::new("u2")).await.unwrap();
    let second = sessions.refresh(first.refresh_token()).await.unwrap();
    assert_eq!(
        access_status(&sessions, &second).await,
        RevocationStatus::Active
    );
    let error = sessions.refresh(first.refresh_token()).await.unwrap_err();
    assert_eq!(error.kind(), SessionErrorKind::Reused);
    assert_eq!(error.status_code(), 401);
    assert_eq!(
        error.to_auth_error().kind(),
        tollgate::AuthErrorKind::SessionEnded
    );
    assert_eq!(
        access_status(&sessions, &second).await,
        RevocationStatus::SessionEnded,
        "the live access token dies with the session"
    );
    assert_eq!(
        access_status(&sessions, &first).await,
        RevocationStatus::SessionEnded
    );
}

#[tokio::test]
async fn ending_all_cuts_off_and_a_login_in_the_same_second_still_works() {
    let sessions = manager();
    let (_, a) = sessions.login(NewSession::new("u3")).await.unwrap();
    let (_, b) = sessions.login(NewSession::new("u3")).await.unwrap();
    let (_, stranger) = sessions.login(NewSession::new("u4")).await.unwrap();
    assert_eq!(
        sessions.end_all("u3", EndReason::LogoutAll).await.unwrap(),
        2
    );
    for pair in [&a, &b] {
        assert_ne!(
            access_status(&sessions, pair).await,
            RevocationStatus::Active
        );
        let error = sessions.refresh(pair.refresh_token()).await.unwrap_err();
        assert!(
            matches!(
                error.kind(),
                SessionErrorKind::Revoked | SessionErrorKind::Ended
            ),
            "{error:?}"
        );
    }
    assert_eq!(
        access_status(&sessions, &stranger).await,
        RevocationStatus::Active
    );

    // Right after the cut-off, a new login's tokens are issued after it (iat > cut-off).
    let (session, fresh) = sessions.login(NewSession::new("u3")).await.unwrap();
    assert_eq!(
        access_status(&sessions, &fresh).await,
        RevocationStatus::Active,
        "a login right after a cut-off is not cut off"
    );
    let renewed = sessions.refresh(fresh.refresh_token()).await.unwrap();
    assert_eq!(renewed.session_id(), session.id);
    assert_eq!(sessions.sessions("u3").await.unwrap().len(), 1);
}

#[tokio::test]
async fn ending_the_others_keeps_the_current_session() {
    let sessions = manager();
    let (current, pair) = sessions.login(NewSession::new("u5")).await.unwrap();
    let (_, other) = sessions.login(NewSession::new("u5")).await.unwrap();
    assert_eq!(
        sessions
            .end_others("u5", &current.id, EndReason::LogoutOthers)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        access_status(&sessions, &pair).await,
        RevocationStatus::Active
    );
    assert_eq!(
        access_status(&sessions, &other).await,
        RevocationStatus::SessionEnded
    );
    sessions.refresh(pair.refresh_token()).await.unwrap();
    let listed = sessions.sessions("u5").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, current.id);
}

#[tokio::test]
async fn logout_ends_the_session_and_revokes_the_access_token() {
    let sessions = manager();
    let (session, pair) = sessions.login(NewSession::new("u6")).await.unwrap();
    let verified = sessions
        .access_verifier()
        .verify::<StandardClaims>(pair.access_token())
        .await
        .unwrap();
    sessions.logout(verified.standard()).await.unwrap();
    assert_eq!(
        access_status(&sessions, &pair).await,
        RevocationStatus::Revoked
    );
    assert!(!sessions.session(&session.id).await.unwrap().unwrap().active);
}

/// The idle timeout in real time: each refresh moves the deadline, a session left unused
/// past it cannot be refreshed and is no longer listed.
#[tokio::test]
async fn an_idle_session_dies_and_a_used_one_lives_on() {
    // Times are whole seconds: a timeout of 3 s leaves room for the rounding.
    let sessions = manager().idle_timeout(Duration::from_secs(3)).unwrap();
    let (session, pair) = sessions.login(NewSession::new("u10")).await.unwrap();
    // Used within the timeout: refreshed, and the deadline moves with it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let pair = sessions.refresh(pair.refresh_token()).await.unwrap();
    let moved = sessions.session(&session.id).await.unwrap().unwrap();
    assert!(moved.idle_expires_at > session.idle_expires_at);
    assert_eq!(sessions.sessions("u10").await.unwrap().len(), 1);

    // Left alone past the timeout (plus a second of rounding): refused for good.
    tokio::time::sleep(Duration::from_millis(4100)).await;
    let error = sessions.refresh(pair.refresh_token()).await.unwrap_err();
    // The refresh token itself expires at the idle deadline, so it fails as a token first.
    assert_eq!(error.kind(), SessionErrorKind::InvalidToken);
    assert!(sessions.sessions("u10").await.unwrap().is_empty());
}

#[tokio::test]
async fn login_options_shape_the_session() {
    let issuer = Issuer::new(
        "crm",
        "crm-api",
        SigningKey::generate("k", Algorithm::HS256).unwrap(),
    )
    .refresh_ttl(Duration::from_secs(3600))
    .unwrap()
    .remember_me_ttl(Duration::from_secs(86_400))
    .unwrap();
    let sessions = SessionManager::new(issuer, MemorySessionStore::new(), claims())
        .unwrap()
        .idle_timeout(Duration::from_secs(600))
        .unwrap();
    let (short, pair) = sessions
        .login(
            NewSession::new("u7")
                .device_info("phone")
                .ip_address("203.0.113.9")
                .user_agent("ua/1"),
        )
        .await
        .unwrap();
    assert_eq!(short.expires_at - short.created_at, 3600);
    assert_eq!(short.idle_expires_at, Some(short.created_at + 600));
    assert_eq!(
        pair.refresh_expires_at(),
        short.created_at + 600,
        "the refresh token dies at the idle deadline"
    );
    assert_eq!(
        (
            short.device_info.as_deref(),
            short.ip_address.as_deref(),
            short.user_agent.as_deref()
        ),
        (Some("phone"), Some("203.0.113.9"), Some("ua/1"))
    );
    let (long, _) = sessions
        .login(NewSession::new("u7").remember_me(true))
        .await
        .unwrap();
    assert_eq!(long.expires_at - long.created_at, 86_400);

    assert!(
        sessions
            .clone()
            .grace_period(Duration::from_secs(301))
            .is_err()
    );
    assert!(sessions.clone().idle_timeout(Duration::ZERO).is_err());
}

#[tokio::test]
async fn rfc7009_revocation_over_http() {
    let sessions = manager();
    let app = Router::new().route("/oauth/revoke", post(sessions.revocation_handler()));
    let addr = support::serve(app).await;
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let json = [("content-type", "application/json")];

    // A refresh token ends its session.
    let (session, pair) = sessions.login(NewSession::new("u8")).await.unwrap();
    let body = format!(
        "token={}&token_type_hint=refresh_token",
        pair.refresh_token()
    );
    let reply = support::request(addr, "POST", "/oauth/revoke", &form, body.as_bytes()).await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.is_empty());
    assert!(!sessions.session(&session.id).await.unwrap().unwrap().active);
    assert_eq!(
        access_status(&sessions, &pair).await,
        RevocationStatus::SessionEnded
    );

    // An access token has its jti revoked, with a wrong hint too; JSON works as well.
    let (session, pair) = sessions.login(NewSession::new("u8")).await.unwrap();
    let body =
        serde_json::json!({ "token": pair.access_token(), "token_type_hint": "refresh_token" })
            .to_string();
    let reply = support::request(addr, "POST", "/oauth/revoke", &json, body.as_bytes()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        access_status(&sessions, &pair).await,
        RevocationStatus::Revoked
    );
    assert!(
        sessions.session(&session.id).await.unwrap().unwrap().active,
        "revoking an access token leaves the session"
    );

    // Unknown and invalid tokens: 200 all the same.
    for token in ["garbage", "a.b.c"] {
        let body = format!("token={token}");
        let reply = support::request(addr, "POST", "/oauth/revoke", &form, body.as_bytes()).await;
        assert_eq!(reply.status, 200, "{token}");
    }
    let other = Issuer::new(
        "crm",
        "crm-api",
        SigningKey::generate("k1", Algorithm::ES256).unwrap(),
    );
    let foreign = other
        .issue_pair(&sessions.session(&session.id).await.unwrap().unwrap(), &())
        .unwrap();
    assert_eq!(
        sessions
            .revoke(foreign.refresh_token(), None)
            .await
            .unwrap(),
        Revoked::Nothing,
        "a token signed by another key is unknown"
    );
    assert!(sessions.session(&session.id).await.unwrap().unwrap().active);

    // Malformed requests: 400 invalid_request.
    for (headers, body) in [
        (&form[..], "token_type_hint=access_token"),
        (&form[..], "token=a&token=b"),
        (&json[..], "{}"),
        (&[("content-type", "text/plain")][..], "token=a"),
    ] {
        let reply = support::request(addr, "POST", "/oauth/revoke", headers, body.as_bytes()).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.json()["error"], "invalid_request");
    }
}

#[tokio::test]
async fn the_cleanup_task_purges_on_its_interval_and_stops_when_dropped() {
    let sessions = manager();
    let store = sessions.store().clone();
    let (live, _) = sessions.login(NewSession::new("u9")).await.unwrap();
    let (ended, _) = sessions.login(NewSession::new("u9")).await.unwrap();
    sessions
        .end_session(&ended.id, EndReason::Logout)
        .await
        .unwrap();
    let expired = Session {
        id: "expired".to_owned(),
        subject: "u9".to_owned(),
        device_info: None,
        ip_address: None,
        user_agent: None,
        created_at: 100,
        last_activity: 100,
        expires_at: 200,
        idle_expires_at: None,
        refresh_jti: "r".to_owned(),
        active: true,
    };
    store.create(&expired).await.unwrap();
    assert_eq!(store.len(), 3);

    let task = sessions.spawn_cleanup(Duration::from_millis(20));
    // Bounded wait for the first purge (it runs at once).
    for _ in 0..500 {
        if store.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(store.len(), 1, "ended and expired sessions are purged");
    assert!(store.get(&live.id).await.unwrap().is_some());

    // A dead session that appears after the first purge is purged by a later tick.
    store
        .create(&Session {
            id: "expired-later".to_owned(),
            ..expired.clone()
        })
        .await
        .unwrap();
    for _ in 0..500 {
        if store.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(store.len(), 1, "the next tick purges again");
    drop(task);

    // After the task is dropped, nothing purges any more.
    store
        .create(&Session {
            id: "expired-2".to_owned(),
            ..expired
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(store.len(), 2, "a dropped task purges nothing");
    assert_eq!(sessions.purge().await.unwrap(), 1);
}
