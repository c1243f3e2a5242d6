//! The in-process session store.

use std::{
    collections::{BTreeSet, HashMap},
    fmt,
    future::{Future, ready},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use super::{
    Decision, Kept, RotateOutcome, Rotation, SessionStore, SessionStoreError, SessionStoreErrorKind,
};
use crate::session::Session;

/// A session store in this process's memory: for one instance, tests and development.
///
/// Sessions are lost on restart and not shared between instances; use the SQL stores
/// (features `sqlite`, `postgres`) or the Redis store (`tollgate-redis`) otherwise. Every
/// operation takes one short lock, so [`rotate`](SessionStore::rotate) is atomic. Cloning the
/// handle is cheap and shares the sessions.
///
/// See [`SessionStore`](crate::SessionStore) for an example.
#[derive(Clone, Default)]
pub struct MemorySessionStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<String, Record>,
    /// Session ids by subject.
    by_subject: HashMap<String, BTreeSet<String>>,
}

struct Record {
    session: Session,
    kept: Option<Kept>,
}

impl MemorySessionStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many sessions the store holds, live or not.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    /// Whether the store holds no session.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the maps consistent (every operation writes
        // them in one go), so a poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn remove(&mut self, id: &str) -> Option<Record> {
        let record = self.sessions.remove(id)?;
        if let Some(ids) = self.by_subject.get_mut(&record.session.subject) {
            ids.remove(id);
            if ids.is_empty() {
                self.by_subject.remove(&record.session.subject);
            }
        }
        Some(record)
    }
}

impl SessionStore for MemorySessionStore {
    fn create(
        &self,
        session: &Session,
    ) -> impl Future<Output = Result<(), SessionStoreError>> + Send {
        let mut inner = self.lock();
        let result = if inner.sessions.contains_key(&session.id) {
            Err(SessionStoreError::from_kind(
                SessionStoreErrorKind::Conflict,
            ))
        } else {
            inner
                .by_subject
                .entry(session.subject.clone())
                .or_default()
                .insert(session.id.clone());
            inner.sessions.insert(
                session.id.clone(),
                Record {
                    session: session.clone(),
                    kept: None,
                },
            );
            Ok(())
        };
        ready(result)
    }

    fn get(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Session>, SessionStoreError>> + Send {
        let session = self.lock().sessions.get(id).map(|r| r.session.clone());
        ready(Ok(session))
    }

    fn rotate(
        &self,
        rotation: &Rotation<'_>,
    ) -> impl Future<Output = Result<RotateOutcome, SessionStoreError>> + Send {
        let mut inner = self.lock();
        let record = inner.sessions.get_mut(rotation.session_id);
        let decision = super::decide(
            record.as_ref().map(|r| &r.session),
            record.as_ref().and_then(|r| r.kept.as_ref()),
            rotation,
        );
        let outcome = match (decision, record) {
            (Decision::Outcome(outcome), _) => outcome,
            (Decision::Rotate(next), Some(record)) => {
                record.kept = rotation.grace.map(|(until, answer)| Kept {
                    spent_jti: rotation.presented_jti.to_owned(),
                    until,
                    answer: answer.to_owned(),
                });
                record.session = next.clone();
                RotateOutcome::Rotated(next)
            }
            (Decision::Reuse, Some(record)) => {
                let before = record.session.clone();
                record.session.active = false;
                record.kept = None;
                RotateOutcome::Reused(before)
            }
            // `decide` answers NotFound without a record.
            (_, None) => RotateOutcome::NotFound,
        };
        ready(Ok(outcome))
    }

    fn list(
        &self,
        subject: &str,
        now: i64,
    ) -> impl Future<Output = Result<Vec<Session>, SessionStoreError>> + Send {
        let inner = self.lock();
        let mut sessions: Vec<Session> = inner
            .by_subject
            .get(subject)
            .into_iter()
            .flatten()
            .filter_map(|id| inner.sessions.get(id))
            .map(|record| &record.session)
            .filter(|session| session.is_live(now))
            .cloned()
            .collect();
        sessions.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        ready(Ok(sessions))
    }

    fn end(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Session>, SessionStoreError>> + Send {
        let mut inner = self.lock();
        let ended = inner.sessions.get_mut(id).and_then(|record| {
            record.kept = None;
            record.session.active.then(|| {
                let before = record.session.clone();
                record.session.active = false;
                before
            })
        });
        ready(Ok(ended))
    }

    fn end_all(
        &self,
        subject: &str,
    ) -> impl Future<Output = Result<Vec<Session>, SessionStoreError>> + Send {
        let mut inner = self.lock();
        let Inner {
            sessions,
            by_subject,
        } = &mut *inner;
        let mut ended = Vec::new();
        for id in by_subject.get(subject).into_iter().flatten() {
            if let Some(record) = sessions.get_mut(id) {
                record.kept = None;
                if record.session.active {
                    ended.push(record.session.clone());
                    record.session.active = false;
                }
            }
        }
        ended.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        ready(Ok(ended))
    }

    fn purge(&self, now: i64) -> impl Future<Output = Result<u64, SessionStoreError>> + Send {
        let mut inner = self.lock();
        let dead: Vec<String> = inner
            .sessions
            .values()
            .filter(|record| !record.session.is_live(now))
            .map(|record| record.session.id.clone())
            .collect();
        for id in &dead {
            inner.remove(id);
        }
        ready(Ok(dead.len() as u64))
    }
}

impl fmt::Debug for MemorySessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySessionStore")
            .field("sessions", &self.len())
            .finish()
    }
}
