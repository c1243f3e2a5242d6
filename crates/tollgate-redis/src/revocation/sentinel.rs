//! [`SentinelConnection`]: a connection to the current master of a Sentinel deployment.

use std::{
    fmt,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use redis::{
    Cmd, ErrorKind, Pipeline, RedisFuture, RedisResult, ServerErrorKind, Value,
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig},
    sentinel::SentinelClient,
};

/// A connection to the current master of a Sentinel deployment, following failovers.
///
/// It asks the sentinels for the master, keeps a [`ConnectionManager`] to it, and forgets that
/// connection when a command fails in a way a failover explains (the connection is lost or
/// refused, or the server answers `READONLY` or `MASTERDOWN` because it is no longer the
/// master): the next command asks the sentinels again. The command that met the failure
/// fails; the store's caller sees a [`RevocationStoreError`](tollgate::revocation::RevocationStoreError) and the
/// next call goes to the new master.
///
/// Made by [`RedisRevocationStore::sentinel`](super::RedisRevocationStore::sentinel), which
/// also subscribes the local cache through the sentinels. Cheap to clone: clones share the
/// connection.
#[derive(Clone)]
pub struct SentinelConnection {
    shared: Arc<Shared>,
}

struct Shared {
    sentinel: tokio::sync::Mutex<SentinelClient>,
    config: ConnectionManagerConfig,
    /// The connection to the master as last resolved, with a generation number so that a
    /// failure forgets only the connection it happened on.
    current: Mutex<Option<(u64, ConnectionManager)>>,
    generations: AtomicU64,
}

impl fmt::Debug for SentinelConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = self
            .shared
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|(generation, _)| *generation);
        f.debug_struct("SentinelConnection")
            .field("generation", &current)
            .finish_non_exhaustive()
    }
}

impl SentinelConnection {
    /// A connection to the master `sentinel` names (build the `SentinelClient` with
    /// `SentinelServerType::Master`); each master connection is a [`ConnectionManager`] with
    /// `config`. Nothing is sent until the first command.
    pub(crate) fn new(sentinel: SentinelClient, config: ConnectionManagerConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                sentinel: tokio::sync::Mutex::new(sentinel),
                config,
                current: Mutex::new(None),
                generations: AtomicU64::new(0),
            }),
        }
    }

    fn current(&self) -> Option<(u64, ConnectionManager)> {
        self.shared
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The connection to the master, resolved through the sentinels if there is none.
    async fn master(&self) -> RedisResult<(u64, ConnectionManager)> {
        if let Some(current) = self.current() {
            return Ok(current);
        }
        let mut sentinel = self.shared.sentinel.lock().await;
        // Another command may have resolved it while this one waited.
        if let Some(current) = self.current() {
            return Ok(current);
        }
        let client = sentinel.async_get_client().await?;
        let manager = ConnectionManager::new_lazy_with_config(client, self.shared.config.clone())?;
        let generation = self.shared.generations.fetch_add(1, Ordering::Relaxed);
        *self
            .shared
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((generation, manager.clone()));
        Ok((generation, manager))
    }

    /// A client for the current master, for a subscription.
    pub(crate) async fn master_client(&self) -> RedisResult<redis::Client> {
        self.shared.sentinel.lock().await.async_get_client().await
    }

    /// Forget the connection of `generation` if `result` shows the master may have moved.
    fn observe<T>(&self, generation: u64, result: &RedisResult<T>) {
        let Err(error) = result else { return };
        let moved = error.is_unrecoverable_error()
            || error.is_io_error()
            || error.is_connection_refusal()
            || matches!(
                error.kind(),
                ErrorKind::Server(ServerErrorKind::ReadOnly | ServerErrorKind::MasterDown)
            );
        if moved {
            let mut current = self
                .shared
                .current
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if current.as_ref().is_some_and(|(g, _)| *g == generation) {
                *current = None;
                drop(current);
                tracing::debug!("revocation store: forgetting the master connection");
            }
        }
    }
}

impl ConnectionLike for SentinelConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let (generation, mut connection) = self.master().await?;
            let result = connection.req_packed_command(cmd).await;
            self.observe(generation, &result);
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let (generation, mut connection) = self.master().await?;
            let result = connection
                .req_packed_commands(pipeline, offset, count)
                .await;
            self.observe(generation, &result);
            result
        })
    }

    fn get_db(&self) -> i64 {
        self.current()
            .map_or(0, |(_, connection)| connection.get_db())
    }
}
