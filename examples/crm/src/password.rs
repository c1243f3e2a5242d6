//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 passes), off the async
//! threads, in memory allocated once and reused, behind two bounded queues.
//!
//! - **Memory.** Each hash needs 19 MiB. Allocated for each hash and freed after, that memory
//!   stays in the process (the allocator keeps such blocks for reuse): the resident set grew by
//!   19 MiB a hash up to hundreds of megabytes. Here each of the `concurrency` hashing slots
//!   owns its 19 MiB, allocated on first use and reused by every later hash: hashing takes at
//!   most `concurrency` × 19 MiB, whatever the load.
//! - **Fairness.** Checking a password (login, the old password of a password change) and
//!   hashing a new one (registration, user creation, the new password of a password change)
//!   wait in two queues. New passwords run on at most half of the slots (rounded up), checks
//!   on any: registration needs no account, and a flood of it leaves logins at least half of
//!   the capacity (with one slot, every other turn).
//! - **Bounds.** Each queue holds at most `queue` requests waiting for a slot; one more is
//!   answered at once with 503 `busy` and `Retry-After` rather than waiting.

use std::{
    num::NonZeroUsize,
    sync::{Arc, Mutex, PoisonError},
};

use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::{
        self,
        phc::{Output, ParamsString, PasswordHash, Salt},
    },
};
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// argon2's default (OWASP) memory cost, in 1 KiB blocks: the memory of one slot.
const SLOT_BLOCKS: usize = Params::DEFAULT_M_COST as usize;

/// The salt of the hash an unknown user's password is put through (the answer is `false`
/// whatever the password: only the time it takes matters).
const UNKNOWN_USER_SALT: &[u8] = b"no user has this salt";

/// The password hasher of the app: its slots, their memory and the two queues. Cheap to
/// clone (the clones share everything).
#[derive(Debug, Clone)]
pub struct Hasher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// At most this many hashes at once, each in one of `memory`'s buffers.
    slots: Arc<Semaphore>,
    /// The slots' memory not in use right now. A slot taken when this is empty allocates
    /// its buffer: there are never more buffers than slots.
    memory: Mutex<Vec<Box<[Block]>>>,
    /// Password checks.
    checks: Queue,
    /// New password hashes.
    new_passwords: Queue,
}

/// The requests of one kind: those in it (waiting or hashing) and those hashing.
#[derive(Debug)]
struct Queue {
    /// One permit per request in the queue, waiting or hashing: at most the queue's share of
    /// the slots plus the waiting room.
    admitted: Arc<Semaphore>,
    /// One permit per request of this queue that holds or waits on a slot: the queue's share.
    share: Arc<Semaphore>,
}

impl Queue {
    fn new(share: usize, waiting: usize) -> Self {
        Self {
            admitted: Arc::new(Semaphore::new(share + waiting)),
            share: Arc::new(Semaphore::new(share)),
        }
    }
}

impl Hasher {
    /// `concurrency` hashes at once at most (each with 19 MiB); at most `queue` requests of
    /// each kind (checks, new passwords) waiting for a slot.
    #[must_use]
    pub fn new(concurrency: NonZeroUsize, queue: usize) -> Self {
        let concurrency = concurrency.get();
        Self {
            inner: Arc::new(Inner {
                slots: Arc::new(Semaphore::new(concurrency)),
                memory: Mutex::new(Vec::with_capacity(concurrency)),
                checks: Queue::new(concurrency, queue),
                new_passwords: Queue::new(concurrency.div_ceil(2), queue),
            }),
        }
    }

    /// Hash the new password `password` to a PHC string.
    ///
    /// # Errors
    ///
    /// 503 `busy` when the queue of new passwords is full, 500 when hashing fails (the random
    /// source).
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(&self.inner.new_passwords, move |memory| {
            hash_into(password.as_bytes(), memory)
                .map_err(|error| ApiError::internal(&HashError(error)))
        })
        .await?
    }

    /// Whether `password` matches the PHC string `hash`. With no hash (an unknown user) the
    /// same work is done, so that the answer takes as long either way.
    ///
    /// # Errors
    ///
    /// 503 `busy` when the queue of checks is full.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, ApiError> {
        self.run(&self.inner.checks, move |memory| {
            matches(password.as_bytes(), hash.as_deref(), memory)
        })
        .await
    }

    /// Run `work` on the blocking pool with a slot's memory, once `queue` lets it in and a
    /// slot is free. The permits move into the blocking task, so a request that goes away
    /// while its hash runs does not free them before the hash ends.
    async fn run<T: Send + 'static>(
        &self,
        queue: &Queue,
        work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let admitted = Arc::clone(&queue.admitted)
            .try_acquire_owned()
            .map_err(|_| ApiError::busy())?;
        let share = Arc::clone(&queue.share)
            .acquire_owned()
            .await
            .map_err(|error| ApiError::internal(&error))?;
        let slot = Arc::clone(&self.inner.slots)
            .acquire_owned()
            .await
            .map_err(|error| ApiError::internal(&error))?;
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut memory = inner.take_memory();
            let answer = work(&mut memory);
            inner.give_back(memory);
            drop((slot, share, admitted));
            answer
        })
        .await
        .map_err(|error| ApiError::internal(&error))
    }
}

impl Inner {
    /// A free slot's memory (the caller holds a slot).
    fn take_memory(&self) -> Box<[Block]> {
        let spare = self
            .memory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        spare.unwrap_or_else(|| vec![Block::new(); SLOT_BLOCKS].into_boxed_slice())
    }

    fn give_back(&self, memory: Box<[Block]>) {
        self.memory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(memory);
    }
}

/// argon2id with the default parameters, a new random salt, in `memory`: the PHC string.
fn hash_into(password: &[u8], memory: &mut [Block]) -> Result<String, String> {
    let salt = password_hash::try_generate_salt().map_err(|error| error.to_string())?;
    let params = Params::default();
    let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, &mut output, memory)
        .map_err(|error| error.to_string())?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|error| error.to_string())?,
        salt: Some(Salt::new(&salt).map_err(|error| error.to_string())?),
        hash: Some(Output::new(&output).map_err(|error| error.to_string())?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc`, hashed in `memory`. A string that does
/// not parse, or needs more memory than a slot has, matches nothing.
fn matches(password: &[u8], phc: Option<&str>, memory: &mut [Block]) -> bool {
    let Some(phc) = phc else {
        let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let _ = Argon2::default().hash_password_into_with_memory(
            password,
            UNKNOWN_USER_SALT,
            &mut output,
            memory,
        );
        return false;
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm.as_str()),
        parsed
            .version
            .map_or(Ok(Version::default()), Version::try_from),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    if params.block_count() > memory.len() {
        tracing::warn!(
            blocks = params.block_count(),
            "a stored password hash needs more memory than a hashing slot has: no match"
        );
        return false;
    }
    let mut output = [0u8; Output::MAX_LENGTH];
    let Some(output) = output.get_mut(..expected.len()) else {
        return false;
    };
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut *output, memory)
        .is_ok()
        && Output::new(output).is_ok_and(|computed| computed == *expected)
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

    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    fn hasher(concurrency: usize, queue: usize) -> Hasher {
        Hasher::new(NonZeroUsize::new(concurrency).unwrap(), queue)
    }

    #[tokio::test]
    async fn no_more_than_the_slots_run_at_once_even_when_callers_go_away() {
        let hasher = hasher(2, 100);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let work = || {
            let (running, peak) = (Arc::clone(&running), Arc::clone(&peak));
            move |_: &mut [Block]| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(30));
                running.fetch_sub(1, Ordering::SeqCst);
            }
        };
        // Callers that give up while their work runs: their slots stay taken until it ends.
        for _ in 0..4 {
            let call = hasher.run(&hasher.inner.checks, work());
            let started = tokio::time::timeout(Duration::from_millis(5), call);
            assert!(started.await.is_err(), "the work cannot end within 5 ms");
        }
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..8 {
            let (hasher, work) = (hasher.clone(), work());
            calls.spawn(async move {
                let inner = &hasher.inner;
                let queue = if i % 2 == 0 {
                    &inner.checks
                } else {
                    &inner.new_passwords
                };
                hasher.run(queue, work).await
            });
        }
        while let Some(answer) = calls.join_next().await {
            answer.unwrap().unwrap();
        }
        let peak = peak.load(Ordering::SeqCst);
        assert!((1..=2).contains(&peak), "{peak} ran at once with two slots");
        let buffers = hasher.inner.memory.lock().unwrap().len();
        assert!(
            (1..=2).contains(&buffers),
            "{buffers} buffers for two slots"
        );
    }

    #[tokio::test]
    async fn a_full_queue_is_answered_busy_at_once() {
        // One slot, held by a check that waits for the test to let it go.
        let hasher = hasher(1, 1);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let held = tokio::spawn({
            let hasher = hasher.clone();
            async move {
                let inner = &hasher.inner;
                hasher
                    .run(&inner.checks, move |_| hold.recv().unwrap())
                    .await
            }
        });
        while hasher.inner.slots.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        // One check may wait; the next is refused without waiting.
        let waiting = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.verify("a password".to_owned(), None).await }
        });
        while hasher.inner.checks.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let refused = hasher.verify("a password".to_owned(), None).await;
        let status = refused.unwrap_err().status();
        assert_eq!(status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
        // The other queue has its own room.
        let new_password = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.hash("a new password".to_owned()).await }
        });
        release.send(()).unwrap();
        held.await.unwrap().unwrap();
        assert!(!waiting.await.unwrap().unwrap());
        assert!(new_password.await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn a_hash_verifies_and_a_wrong_password_does_not() {
        let hasher = hasher(1, 4);
        let hash = hasher.hash("correct horse".to_owned()).await.unwrap();
        let verify = |password: &str, hash: Option<&str>| {
            hasher.verify(password.to_owned(), hash.map(str::to_owned))
        };
        assert!(verify("correct horse", Some(&hash)).await.unwrap());
        assert!(!verify("wrong horse", Some(&hash)).await.unwrap());
        assert!(!verify("anything", None).await.unwrap());
        assert!(!verify("anything", Some("not a phc string")).await.unwrap());
        // Hashes made by argon2's own hasher (the ones already stored) still verify, and
        // those made here verify with it: the reused memory changes nothing.
        let stock = Argon2::default()
            .hash_password(b"stored before")
            .unwrap()
            .to_string();
        assert!(verify("stored before", Some(&stock)).await.unwrap());
        assert!(!verify("stored after", Some(&stock)).await.unwrap());
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
    }
}
