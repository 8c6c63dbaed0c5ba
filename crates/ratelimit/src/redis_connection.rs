//! The connection to one Redis or to a Redis Cluster, and what its errors mean to the store: one
//! setup for the limiter's store and the queue's.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, ServerErrorKind, Value};

use crate::redact::redact_url;
use crate::store_error::StoreError;

/// How long connecting, and waiting for any one reply, may take: a dead Redis is reported as
/// unavailable within a couple of seconds instead of hanging the request.
const TIMEOUT: Duration = Duration::from_secs(2);

/// A connection shared by every task of the process (both kinds multiplex requests over few
/// sockets and reconnect by themselves); cloning it is cheap.
#[derive(Clone)]
pub enum Connection {
    /// One Redis.
    Single(ConnectionManager),
    /// A Redis Cluster: requests go to the node serving the event's slot.
    Cluster(ClusterConnection),
}

impl Connection {
    /// Connects to `urls`: one `redis://` URL, or a comma-separated list of cluster nodes.
    pub async fn open(urls: &str) -> Result<Self, StoreError> {
        let nodes: Vec<&str> = urls
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .collect();
        let connecting = async {
            match nodes.as_slice() {
                [] => Err(StoreError::Unavailable("no Redis URL given".into())),
                [url] => Self::single(url).await,
                _ => Self::cluster(&nodes).await,
            }
        };
        // The clients bound each attempt; this bounds the whole, retries included.
        tokio::time::timeout(TIMEOUT * 2, connecting)
            .await
            .map_err(|_| {
                let nodes: Vec<String> = nodes.iter().map(|url| redact_url(url)).collect();
                StoreError::Unavailable(format!("connecting to {} timed out", nodes.join(",")))
            })?
    }

    async fn single(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        Ok(Self::Single(manager))
    }

    async fn cluster(nodes: &[&str]) -> Result<Self, StoreError> {
        // The client follows MOVED and ASK itself, and waits and tries again on TRYAGAIN (a
        // call whose keys are split between two nodes while their slot migrates), CLUSTERDOWN
        // and MASTERDOWN (a failover under way). Its default first wait is 1.28 s; a migration
        // step or a failover is often over sooner, so the waits here start at 10–50 ms and
        // double, six tries at most (under 2 s in all) before the caller is told the store is
        // unavailable.
        let client = ClusterClient::builder(nodes.iter().copied())
            .connection_timeout(TIMEOUT)
            .response_timeout(TIMEOUT)
            .retries(6)
            .min_retry_wait(10)
            .max_retry_wait(500)
            .retry_wait_formula(25, 2)
            .build()
            .map_err(unavailable)?;
        let connection = client.get_async_connection().await.map_err(unavailable)?;
        Ok(Self::Cluster(connection))
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}

fn unavailable(error: RedisError) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

/// What a Redis error means for the caller: the server cannot serve now (network, timeout,
/// loading, failover, busy, out of memory), or it answered something this version does not
/// understand (a script error, a wrong type).
pub fn store_error(error: RedisError) -> StoreError {
    let passing = match error.kind() {
        ErrorKind::Server(kind) => matches!(
            kind,
            ServerErrorKind::BusyLoading
                | ServerErrorKind::TryAgain
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::MasterDown
                | ServerErrorKind::ReadOnly
                | ServerErrorKind::Moved
                | ServerErrorKind::Ask
        ),
        ErrorKind::Extension => matches!(error.code(), Some("BUSY" | "OOM" | "NOREPLICAS")),
        ErrorKind::Parse | ErrorKind::UnexpectedReturnType => false,
        _ => true,
    };
    if passing {
        StoreError::Unavailable(error.to_string())
    } else {
        StoreError::Corrupt(error.to_string())
    }
}
