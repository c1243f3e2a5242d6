//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 passes), off the async
//! threads, at most one hash per core at a time.
//!
//! The limit matters: registration needs no login and each hash takes 19 MiB for tens of
//! milliseconds, so without it a burst of requests would start one blocking thread each (up
//! to tokio's 512) and could take gigabytes. Requests beyond the limit wait their turn, each
//! holding only its request.

use std::{
    num::NonZeroUsize,
    sync::{Arc, OnceLock},
};

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// Hash `password` to a PHC string, on the blocking pool.
///
/// # Errors
///
/// 500 when hashing fails (the random source), 503 when the blocking pool is gone.
pub async fn hash(password: String) -> Result<String, ApiError> {
    limited(permits(), move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| ApiError::internal(&HashError(error.to_string())))
    })
    .await?
}

/// Whether `password` matches the PHC string `hash`, on the blocking pool. With no hash (an
/// unknown user) a dummy hash is checked, so that the answer takes as long either way.
///
/// # Errors
///
/// 500 when the blocking pool is gone.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, ApiError> {
    limited(permits(), move || {
        let hash = hash.as_deref().unwrap_or_else(|| dummy_hash());
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
}

/// The hashing permits: one per core.
fn permits() -> &'static Arc<Semaphore> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, NonZeroUsize::get);
        Arc::new(Semaphore::new(cores))
    })
}

/// Run `work` on the blocking pool once a permit of `limit` is free. The permit moves into
/// the blocking task, so a request that goes away while its hash runs does not free its
/// permit before the hash ends.
async fn limited<T: Send + 'static>(
    limit: &Arc<Semaphore>,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let permit = Arc::clone(limit)
        .acquire_owned()
        .await
        .map_err(|error| ApiError::internal(&error))?;
    tokio::task::spawn_blocking(move || {
        let answer = work();
        drop(permit);
        answer
    })
    .await
    .map_err(|error| ApiError::internal(&error))
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(b"not a password anyone has")
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

#[derive(Debug)]
struct HashError(String);

impl std::fmt::Display for HashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "password hashing failed: {}", self.0)
    }
}

impl std::error::Error for HashError {}

#[cfg(test)]
mod tests {
    use std::{
        sync::atomic::{AtomicUsize, Ordering},
        time::Duration,
    };

    use super::*;

    #[tokio::test]
    async fn no_more_than_the_permits_run_at_once_even_when_callers_go_away() {
        let limit = Arc::new(Semaphore::new(2));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let work = || {
            let (running, peak) = (Arc::clone(&running), Arc::clone(&peak));
            move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(30));
                running.fetch_sub(1, Ordering::SeqCst);
            }
        };
        // Callers that give up while their work runs: their permits stay taken until it ends.
        for _ in 0..4 {
            let started = tokio::time::timeout(Duration::from_millis(5), limited(&limit, work()));
            assert!(started.await.is_err(), "the work cannot end within 5 ms");
        }
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (limit, work) = (Arc::clone(&limit), work());
            calls.spawn(async move { limited(&limit, work).await });
        }
        while let Some(answer) = calls.join_next().await {
            answer.unwrap().unwrap();
        }
        let peak = peak.load(Ordering::SeqCst);
        assert!(
            (1..=2).contains(&peak),
            "{peak} ran at once with two permits"
        );
    }

    #[tokio::test]
    async fn a_hash_verifies_and_a_wrong_password_does_not() {
        let hash = hash("correct horse".to_owned()).await.unwrap();
        assert!(
            verify("correct horse".to_owned(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong horse".to_owned(), Some(hash)).await.unwrap());
        assert!(!verify("anything".to_owned(), None).await.unwrap());
        assert!(
            !verify("anything".to_owned(), Some("not a phc string".to_owned()))
                .await
                .unwrap()
        );
    }
}
