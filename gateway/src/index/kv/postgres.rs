//! PostgreSQL: the keyspace in one table, `(k bytea primary key, v bytea)`. `bytea` compares
//! bytewise, so the key encoding's order holds and a prefix is a plain `k >= lo AND k < hi`
//! range on the primary key (never `LIKE`).
//!
//! Every transaction is SERIALIZABLE and runs again from the start when PostgreSQL reports a
//! serialization failure or a deadlock, so a check and the write it guards (`If-None-Match: *`)
//! stay one atomic step across any number of gateways. Commits are durable when `COMMIT`
//! returns (PostgreSQL's own WAL and group commit).
//!
//! The index logic is synchronous; the client is async. The store owns a small tokio runtime,
//! and each statement is a future run there while the calling thread waits on a channel, which
//! works from any thread (a blocking-pool thread, the writer thread, a test) without entering
//! the caller's runtime.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use super::{KvRead, KvStore, KvTxn, Pair};
use crate::index::IndexError;

/// Connections per gateway.
const POOL_SIZE: usize = 16;
/// Attempts of a transaction that keeps conflicting before its error is returned.
const MAX_ATTEMPTS: u32 = 30;

/// A keyspace in a PostgreSQL table.
pub struct PostgresKv {
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    pool: Pool,
    sql: Arc<Statements>,
}

impl std::fmt::Debug for PostgresKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresKv")
            .field("table", &self.sql.table)
            .finish_non_exhaustive()
    }
}

/// The statements, for one table name.
struct Statements {
    table: String,
    get: String,
    range_up: String,
    range_up_open: String,
    range_down: String,
    range_down_open: String,
    put: String,
    delete: String,
}

impl Statements {
    fn new(table: &str) -> Self {
        Self {
            table: table.to_string(),
            get: format!("SELECT v FROM {table} WHERE k = $1"),
            range_up: format!(
                "SELECT k, v FROM {table} WHERE k >= $1 AND k < $2 ORDER BY k LIMIT $3"
            ),
            range_up_open: format!("SELECT k, v FROM {table} WHERE k >= $1 ORDER BY k LIMIT $2"),
            range_down: format!(
                "SELECT k, v FROM {table} WHERE k >= $1 AND k < $2 ORDER BY k DESC LIMIT $3"
            ),
            range_down_open: format!(
                "SELECT k, v FROM {table} WHERE k >= $1 ORDER BY k DESC LIMIT $2"
            ),
            put: format!(
                "INSERT INTO {table} (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = \
                 EXCLUDED.v"
            ),
            delete: format!("DELETE FROM {table} WHERE k = $1"),
        }
    }
}

impl PostgresKv {
    /// Connects to `url` (`postgres://user:password@host:port/database`) and keeps the keyspace
    /// in the table `floe_kv`, created if missing.
    pub fn connect(url: &str) -> Result<Self, IndexError> {
        Self::connect_table(url, "floe_kv")
    }

    /// Like [`connect`](Self::connect), with the table named `table` (letters, digits and `_`):
    /// several keyspaces in one database, as the tests use.
    pub fn connect_table(url: &str, table: &str) -> Result<Self, IndexError> {
        let valid = !table.is_empty()
            && table.len() <= 63
            && table
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !table.as_bytes()[0].is_ascii_digit();
        if !valid {
            return Err(IndexError::Config(format!(
                "index table name {table:?}: use lowercase letters, digits and _"
            )));
        }
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| IndexError::Config(format!("index URL: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("floe-postgres")
            .enable_all()
            .build()
            .map_err(|e| IndexError::Writer(format!("cannot start the PostgreSQL client: {e}")))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| IndexError::Config(format!("PostgreSQL pool: {e}")))?;
        let store = Self {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            pool,
            sql: Arc::new(Statements::new(table)),
        };
        let create =
            format!("CREATE TABLE IF NOT EXISTS {table} (k bytea PRIMARY KEY, v bytea NOT NULL)");
        let client = store.client()?;
        store.block(async move { client.batch_execute(&create).await })??;
        Ok(store)
    }

    fn block<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, IndexError> {
        block(&self.handle, fut)
    }

    fn client(&self) -> Result<Arc<Object>, IndexError> {
        let pool = self.pool.clone();
        let client = self.block(async move { pool.get().await })??;
        Ok(Arc::new(client))
    }

    fn session(&self, client: Arc<Object>) -> Session {
        Session {
            handle: self.handle.clone(),
            sql: self.sql.clone(),
            client,
        }
    }

    fn execute(&self, client: &Arc<Object>, sql: &'static str) -> Result<(), IndexError> {
        let client = client.clone();
        self.block(async move { client.batch_execute(sql).await })??;
        Ok(())
    }

    /// Runs `body` in a transaction opened with `begin`, retrying on conflicts.
    fn run(
        &self,
        begin: &'static str,
        body: &mut dyn FnMut(&mut Session) -> Result<(), IndexError>,
    ) -> Result<(), IndexError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let client = self.client()?;
            self.execute(&client, begin)?;
            let mut session = self.session(client.clone());
            let outcome = body(&mut session).and_then(|()| self.execute(&client, "COMMIT"));
            match outcome {
                Ok(()) => return Ok(()),
                Err(e) => {
                    // A failed COMMIT has ended the transaction already; ROLLBACK is harmless.
                    let _ = self.execute(&client, "ROLLBACK");
                    if e.is_conflict() && attempt < MAX_ATTEMPTS {
                        // Back off a little, more after each attempt, so racing gateways spread.
                        let jitter = u64::from(std::process::id() % 7) + u64::from(attempt);
                        std::thread::sleep(Duration::from_millis(jitter * u64::from(attempt)));
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }
}

impl Drop for PostgresKv {
    fn drop(&mut self) {
        // Dropping a runtime may happen inside another runtime (a gateway stopping): let its
        // threads go without blocking here.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Runs `fut` on the store's runtime (`handle`) and waits for it on this thread.
fn block<T: Send + 'static>(
    handle: &tokio::runtime::Handle,
    fut: impl Future<Output = T> + Send + 'static,
) -> Result<T, IndexError> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv()
        .map_err(|_| IndexError::Writer("the PostgreSQL client stopped".into()))
}

/// One transaction on one pooled connection.
struct Session {
    handle: tokio::runtime::Handle,
    sql: Arc<Statements>,
    client: Arc<Object>,
}

impl Session {
    fn block<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, IndexError> {
        block(&self.handle, fut)
    }
}

/// A snapshot held open (a read-only REPEATABLE READ transaction), ended when dropped.
struct HeldSnapshot(Session);

impl Drop for HeldSnapshot {
    fn drop(&mut self) {
        let client = self.0.client.clone();
        // Read-only: ending it can only release it.
        let _ = self
            .0
            .block(async move { client.batch_execute("ROLLBACK").await });
    }
}

impl KvRead for HeldSnapshot {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, IndexError> {
        self.0.get(key)
    }

    fn range(
        &mut self,
        lo: &[u8],
        hi: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<Pair>, IndexError> {
        self.0.range(lo, hi, limit, reverse)
    }
}

impl KvRead for Session {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, IndexError> {
        let (client, sql, key) = (self.client.clone(), self.sql.clone(), key.to_vec());
        let row = self.block(async move {
            let statement = client.prepare_cached(&sql.get).await?;
            client.query_opt(&statement, &[&key]).await
        })??;
        Ok(row.map(|row| row.get::<_, Vec<u8>>(0)))
    }

    fn range(
        &mut self,
        lo: &[u8],
        hi: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<Pair>, IndexError> {
        if hi.is_some_and(|hi| hi <= lo) || limit == 0 {
            return Ok(Vec::new());
        }
        let (client, sql) = (self.client.clone(), self.sql.clone());
        let (lo, hi) = (lo.to_vec(), hi.map(<[u8]>::to_vec));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.block(async move {
            match hi {
                Some(hi) => {
                    let text = if reverse {
                        &sql.range_down
                    } else {
                        &sql.range_up
                    };
                    let statement = client.prepare_cached(text).await?;
                    client.query(&statement, &[&lo, &hi, &limit]).await
                }
                None => {
                    let text = if reverse {
                        &sql.range_down_open
                    } else {
                        &sql.range_up_open
                    };
                    let statement = client.prepare_cached(text).await?;
                    client.query(&statement, &[&lo, &limit]).await
                }
            }
        })??;
        Ok(rows
            .into_iter()
            .map(|row| (row.get::<_, Vec<u8>>(0), row.get::<_, Vec<u8>>(1)))
            .collect())
    }
}

impl KvTxn for Session {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), IndexError> {
        let (client, sql) = (self.client.clone(), self.sql.clone());
        let (key, value) = (key.to_vec(), value.to_vec());
        self.block(async move {
            let statement = client.prepare_cached(&sql.put).await?;
            client.execute(&statement, &[&key, &value]).await
        })??;
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<bool, IndexError> {
        let (client, sql, key) = (self.client.clone(), self.sql.clone(), key.to_vec());
        let removed = self.block(async move {
            let statement = client.prepare_cached(&sql.delete).await?;
            client.execute(&statement, &[&key]).await
        })??;
        Ok(removed > 0)
    }
}

impl KvStore for PostgresKv {
    fn transact_dyn(
        &self,
        body: &mut dyn FnMut(&mut dyn KvTxn) -> Result<(), IndexError>,
    ) -> Result<(), IndexError> {
        self.run("BEGIN ISOLATION LEVEL SERIALIZABLE", &mut |session| {
            body(session)
        })
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn begin_read(&self) -> Result<Box<dyn KvRead + Send>, IndexError> {
        let client = self.client()?;
        self.execute(&client, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        Ok(Box::new(HeldSnapshot(self.session(client))))
    }

    fn snapshot_dyn(
        &self,
        body: &mut dyn FnMut(&mut dyn KvRead) -> Result<(), IndexError>,
    ) -> Result<(), IndexError> {
        self.run(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            &mut |session| body(session),
        )
    }
}

/// Whether a PostgreSQL error means "a concurrent transaction won; run again".
pub(crate) fn is_conflict(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
    )
}
