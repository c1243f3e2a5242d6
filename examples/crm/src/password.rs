//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 passes), off the async
//! threads.

use std::sync::OnceLock;

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};

use crate::error::ApiError;

/// Hash `password` to a PHC string, on the blocking pool.
///
/// # Errors
///
/// 500 when hashing fails (the random source), 503 when the blocking pool is gone.
pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| ApiError::internal(&HashError(error.to_string())))
    })
    .await
    .map_err(|error| ApiError::internal(&error))?
}

/// Whether `password` matches the PHC string `hash`, on the blocking pool. With no hash (an
/// unknown user) a dummy hash is checked, so that the answer takes as long either way.
///
/// # Errors
///
/// 500 when the blocking pool is gone.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let hash = hash.as_deref().unwrap_or_else(|| dummy_hash());
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
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
