//! The fetch and refresh engine behind a [`RemoteJwks`](super::RemoteJwks): one fetch at a
//! time (single-flight), the cool-down after misses, the background refresher, and the
//! bounded use of a stale key set.

use std::{
    error::Error as StdError,
    mem,
    sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, Weak},
    time::{Duration, Instant},
};

use http::{HeaderMap, header};
use reqwest::{Client, Url};
use tokio::{
    runtime::Handle,
    sync::{Notify, watch},
    task::JoinHandle,
};

use super::{
    builder::Config,
    discovery::Discovery,
    error::{JwksError, JwksErrorKind},
};
use crate::{key::set::KeySet, telemetry::JwksTelemetry};

const ACCEPT: &str = "application/jwk-set+json, application/json";

/// The outcome of one fetch, as seen by everyone waiting for it: `None` while in flight.
pub(super) type Outcome = Option<Result<(), JwksError>>;

pub(super) struct Inner {
    /// The URL fetched first: the JWK Set's, or with discovery the configuration document's.
    pub(super) url: Url,
    pub(super) discovery: Option<Discovery>,
    client: Client,
    pub(super) config: Config,
    keys: RwLock<Option<Loaded>>,
    coord: Mutex<Coord>,
    /// Wakes the refresher early, when a miss inside the cool-down scheduled a fetch.
    wake: Arc<Notify>,
    /// The metrics of this URL's fetches.
    telemetry: JwksTelemetry,
}

struct Loaded {
    keys: Arc<KeySet>,
    /// When the background task fetches again.
    due: Instant,
    /// When the set stops being served: `due + max_stale`.
    expires: Instant,
}

/// Who fetches when. Locked briefly, never across an `.await`. Lock order: `coord`, then
/// `keys`.
#[derive(Default)]
pub(super) struct Coord {
    in_flight: Option<InFlight>,
    generation: u64,
    /// When the last fetch started, whatever started it: the failure backoff runs from here.
    last_attempt: Option<Instant>,
    /// When the last fetch caused by misses started: the cool-down runs from here. Periodic
    /// and explicit fetches do not start a cool-down, so they never delay a new key.
    last_miss_fetch: Option<Instant>,
    /// Failed fetches since the last successful one.
    failures: u32,
    /// A miss inside the cool-down asked for a fetch at its end.
    miss_pending: bool,
    pub(super) last_error: Option<JwksError>,
    refresher: Option<JoinHandle<()>>,
}

struct InFlight {
    generation: u64,
    done: watch::Receiver<Outcome>,
}

struct Fetched {
    keys: KeySet,
    max_age: Option<Duration>,
}

impl Inner {
    pub(super) fn new(
        url: Url,
        discovery: Option<Discovery>,
        client: Client,
        config: Config,
    ) -> Self {
        Self {
            telemetry: JwksTelemetry::new(url.as_str()),
            url,
            discovery,
            client,
            config,
            keys: RwLock::new(None),
            coord: Mutex::new(Coord::default()),
            wake: Arc::new(Notify::new()),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Coord> {
        // The critical sections do not panic; recover the data if one ever did.
        self.coord.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn current(&self) -> Option<Arc<KeySet>> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        keys.as_ref()
            .filter(|loaded| Instant::now() < loaded.expires)
            .map(|loaded| Arc::clone(&loaded.keys))
    }

    pub(super) fn on_miss(self: &Arc<Self>) -> Option<watch::Receiver<Outcome>> {
        let mut coord = self.lock();
        if let Some(in_flight) = &coord.in_flight {
            return Some(in_flight.done.clone());
        }
        let cooling = coord
            .last_miss_fetch
            .is_some_and(|at| Instant::now() < at + self.config.min_refresh_interval);
        if cooling {
            if !coord.miss_pending {
                coord.miss_pending = true;
                self.wake.notify_one();
            }
            return None;
        }
        match self.join_or_start(&mut coord, true) {
            Ok(done) => Some(done),
            Err(error) => {
                tracing::debug!(target: "tollgate::jwks", url = %self.url, %error, "cannot refresh the JWK set");
                None
            }
        }
    }

    /// Join the fetch in flight, or start one as a task on the current Tokio runtime.
    /// `by_miss`: the fetch is for tokens with an unknown `kid` (it starts a cool-down).
    pub(super) fn join_or_start(
        self: &Arc<Self>,
        coord: &mut Coord,
        by_miss: bool,
    ) -> Result<watch::Receiver<Outcome>, JwksError> {
        if let Some(in_flight) = &coord.in_flight {
            return Ok(in_flight.done.clone());
        }
        let runtime = Handle::try_current()
            .map_err(|error| JwksError::new(JwksErrorKind::Interrupted).with_source(error))?;
        let now = Instant::now();
        coord.generation = coord.generation.wrapping_add(1);
        coord.last_attempt = Some(now);
        if by_miss {
            coord.last_miss_fetch = Some(now);
        }
        coord.miss_pending = false;
        let (sender, done) = watch::channel(None);
        coord.in_flight = Some(InFlight {
            generation: coord.generation,
            done: done.clone(),
        });
        runtime.spawn(Arc::clone(self).run_fetch(coord.generation, sender));
        if coord.refresher.as_ref().is_none_or(JoinHandle::is_finished) {
            // First fetch, or the runtime that ran the refresher is gone.
            let task = refresher(Arc::downgrade(self), Arc::clone(&self.wake));
            coord.refresher = Some(runtime.spawn(task));
        }
        Ok(done)
    }

    async fn run_fetch(self: Arc<Self>, generation: u64, sender: watch::Sender<Outcome>) {
        // Clears the in-flight slot even when the task is dropped half-way (runtime shutdown):
        // the waiters then see the sender go away.
        let slot = InFlightSlot {
            inner: &self,
            generation,
        };
        let fetched = match tokio::time::timeout(self.config.timeout, self.fetch()).await {
            Ok(fetched) => fetched,
            Err(_) => Err(JwksError::new(JwksErrorKind::Timeout)),
        };
        let outcome = self.store(fetched);
        drop(slot);
        sender.send_replace(Some(outcome));
    }

    async fn fetch(&self) -> Result<Fetched, JwksError> {
        let Some(discovery) = &self.discovery else {
            return self.fetch_jwks(&self.url).await;
        };
        let url = discovery.resolve(self).await?;
        let fetched = self.fetch_jwks(&url).await;
        if fetched.is_err() {
            // The issuer may have moved its keys: read its configuration again next time.
            discovery.forget();
        }
        fetched
    }

    /// GET `url`: no redirect, a 2xx status, the body read up to `max_response_bytes`.
    pub(super) async fn get(
        &self,
        url: &Url,
        accept: &'static str,
    ) -> Result<(Vec<u8>, HeaderMap), JwksError> {
        let mut response = self
            .client
            .get(url.clone())
            .header(header::ACCEPT, accept)
            .send()
            .await
            .map_err(JwksError::transport)?;
        let status = response.status();
        if status.is_redirection() || response.url() != url {
            return Err(JwksError::new(JwksErrorKind::Redirect).with_status(status));
        }
        if !status.is_success() {
            return Err(JwksError::new(JwksErrorKind::Status).with_status(status));
        }
        let limit = self.config.max_response_bytes;
        let too_large = || JwksError::new(JwksErrorKind::TooLarge);
        let announced = response.content_length();
        if announced.is_some_and(|len| len > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::with_capacity(announced.map_or(0, |len| len as usize));
        while let Some(chunk) = response.chunk().await.map_err(JwksError::transport)? {
            if chunk.len() > limit - body.len() {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, mem::take(response.headers_mut())))
    }

    async fn fetch_jwks(&self, url: &Url) -> Result<Fetched, JwksError> {
        let (body, headers) = self.get(url, ACCEPT).await?;
        let mut keys = KeySet::from_jwks(&body, self.config.rsa_default)
            .map_err(|error| JwksError::new(JwksErrorKind::InvalidJwks).with_source(error))?;
        // A fetched set is public: a shared secret in it is known to whoever can fetch it and
        // would let them sign any token. Such keys are never used.
        let fetched = keys.len();
        keys.retain(|key| !key.algorithm().is_hmac());
        if keys.len() < fetched {
            tracing::warn!(
                target: "tollgate::jwks",
                url = %self.url,
                skipped = fetched - keys.len(),
                "ignoring shared-secret (`oct`) keys in a remote JWK Set"
            );
        }
        if keys.is_empty() {
            return Err(JwksError::new(JwksErrorKind::NoUsableKeys));
        }
        Ok(Fetched {
            keys,
            max_age: max_age(&headers),
        })
    }

    /// Record a fetch's outcome: a new key set, or one more failure (the old set stays).
    fn store(&self, fetched: Result<Fetched, JwksError>) -> Result<(), JwksError> {
        match fetched {
            Ok(Fetched { keys, max_age }) => {
                let config = &self.config;
                let fresh_for = max_age.map_or(config.refresh_interval, |max_age| {
                    max_age
                        .max(config.min_refresh_interval)
                        .min(config.refresh_interval)
                });
                let due = Instant::now() + fresh_for;
                let count = keys.len();
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Some(Loaded {
                    keys: Arc::new(keys),
                    due,
                    expires: due + config.max_stale,
                });
                let mut coord = self.lock();
                coord.failures = 0;
                coord.last_error = None;
                drop(coord);
                self.telemetry.fetched(count);
                tracing::debug!(target: "tollgate::jwks", url = %self.url, keys = count, "JWK set fetched");
                Ok(())
            }
            Err(error) => {
                let mut coord = self.lock();
                coord.failures = coord.failures.saturating_add(1);
                coord.last_error = Some(error.clone());
                let failures = coord.failures;
                drop(coord);
                self.telemetry.failed(error.kind());
                let serving_stale = self.current().is_some();
                match error.source() {
                    Some(cause) => {
                        tracing::warn!(target: "tollgate::jwks", url = %self.url, %error, %cause, failures, serving_stale, "JWK set refresh failed");
                    }
                    None => {
                        tracing::warn!(target: "tollgate::jwks", url = %self.url, %error, failures, serving_stale, "JWK set refresh failed");
                    }
                }
                Err(error)
            }
        }
    }

    /// When the refresher should fetch next.
    fn next_fetch(&self) -> Instant {
        let coord = self.lock();
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        let retry = || {
            coord
                .last_attempt
                .map_or_else(Instant::now, |at| at + self.backoff(coord.failures))
        };
        let mut next = match (&*keys, coord.failures) {
            (Some(loaded), 0) => loaded.due,
            _ => retry(),
        };
        if let (true, Some(at)) = (coord.miss_pending, coord.last_miss_fetch) {
            next = next.min(at + self.config.min_refresh_interval);
        }
        next
    }

    /// The delay before retrying after `failures` failed fetches: the cool-down, doubling,
    /// up to the refresh interval.
    fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(16);
        self.config
            .min_refresh_interval
            .saturating_mul(1 << doublings)
            .min(self.config.refresh_interval)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let coord = self.coord.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(refresher) = coord.refresher.take() {
            refresher.abort();
        }
    }
}

struct InFlightSlot<'a> {
    inner: &'a Inner,
    generation: u64,
}

impl Drop for InFlightSlot<'_> {
    fn drop(&mut self) {
        let mut coord = self.inner.lock();
        if coord
            .in_flight
            .as_ref()
            .is_some_and(|in_flight| in_flight.generation == self.generation)
        {
            coord.in_flight = None;
        }
    }
}

/// The background task: fetch whenever the key set is due, retry failures with backoff,
/// serve scheduled misses. Holds only a weak reference, and is aborted when the last
/// `RemoteJwks` goes away.
async fn refresher(inner: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        let Some(next) = inner.upgrade().map(|inner| inner.next_fetch()) else {
            return;
        };
        if next > Instant::now() {
            // Woken early (a scheduled miss) or at the deadline: look again either way.
            let deadline = tokio::time::Instant::from_std(next);
            let _ = tokio::time::timeout_at(deadline, wake.notified()).await;
            continue;
        }
        let done = {
            let Some(inner) = inner.upgrade() else {
                return;
            };
            let mut coord = inner.lock();
            // A fetch that serves a scheduled miss counts as one for the cool-down.
            let by_miss = coord.miss_pending;
            inner.join_or_start(&mut coord, by_miss)
        };
        match done {
            // The outcome is recorded by the fetch itself.
            Ok(done) => drop(wait(done).await),
            Err(_) => return,
        }
    }
}

pub(super) async fn wait(mut done: watch::Receiver<Outcome>) -> Result<(), JwksError> {
    match done.wait_for(Option::is_some).await {
        Ok(outcome) => outcome
            .clone()
            .unwrap_or_else(|| Err(JwksError::new(JwksErrorKind::Interrupted))),
        // The fetch task was dropped before it finished.
        Err(_) => Err(JwksError::new(JwksErrorKind::Interrupted)),
    }
}

/// The freshness a response asks for: `max-age`, or zero for `no-cache` / `no-store`.
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut max_age = None;
    for value in headers.get_all(header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for directive in value.split(',').map(str::trim) {
            if directive.eq_ignore_ascii_case("no-cache")
                || directive.eq_ignore_ascii_case("no-store")
            {
                return Some(Duration::ZERO);
            }
            let Some((name, seconds)) = directive.split_once('=') else {
                continue;
            };
            if !name.trim().eq_ignore_ascii_case("max-age") {
                continue;
            }
            if let Ok(seconds) = seconds.trim().trim_matches('"').parse::<u64>() {
                max_age = Some(Duration::from_secs(seconds));
            }
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn cache_control_parsing() {
        let parse = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
            max_age(&headers)
        };
        assert_eq!(parse("max-age=300"), Some(Duration::from_secs(300)));
        assert_eq!(
            parse("public, Max-Age = 60 , must-revalidate"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse("max-age=\"30\""), Some(Duration::from_secs(30)));
        assert_eq!(parse("no-cache"), Some(Duration::ZERO));
        assert_eq!(parse("private, no-store"), Some(Duration::ZERO));
        assert_eq!(parse("public"), None);
        assert_eq!(parse("max-age=soon"), None);
        assert_eq!(max_age(&HeaderMap::new()), None);
    }
}
