//! The HTTP API as the README documents it, route by route with the failures it lists, over
//! real HTTP, on every backend: SQLite, SQLite + Redis, PostgreSQL, PostgreSQL + Redis
//! (PostgreSQL when `TOLLGATE_TEST_DATABASE_URL` is set; Redis from `TOLLGATE_TEST_REDIS_URL`
//! or a private `redis-server`). One module per area of the API.

#[path = "../support/mod.rs"]
mod support;

use support::{Backend, Env};

/// Run `scenario` on `backend` (returns early, loudly, when the backend is unavailable
/// outside CI).
async fn run<F, Fut>(backend: Backend, scenario: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if let Some(env) = Env::new(backend).await {
        scenario(env).await;
    }
}

/// One test per scenario and backend.
macro_rules! suite {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run(Backend::Sqlite, super::$scenario).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite_redis() {
                    run(Backend::SqliteRedis, super::$scenario).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    run(Backend::Postgres, super::$scenario).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_redis() {
                    run(Backend::PostgresRedis, super::$scenario).await;
                }
            }
        )*
    };
}

mod account;
mod admin;
mod auth;
mod browser;
mod customers;
mod health;
mod openapi;
mod registration;
mod revocation_store;
mod sign_ins;
