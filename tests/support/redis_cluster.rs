//! A private three-node Redis Cluster: three empty masters on free ports, joined into one
//! cluster, stopped when dropped.

use std::process::Command;
use std::time::{Duration, Instant};

use super::redis_server::RedisServer;

/// Three masters sharing the slots.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts the nodes and waits until the cluster says it is ready.
    pub fn start() -> Self {
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| {
                RedisServer::start_with(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                ])
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("run redis-cli --cluster create");
        assert!(created.status.success(), "{created:?}");
        let deadline = Instant::now() + Duration::from_secs(15);
        while !nodes
            .iter()
            .all(|node| node.cli(&["CLUSTER", "INFO"]).contains("cluster_state:ok"))
        {
            assert!(Instant::now() < deadline, "the cluster did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { nodes }
    }

    /// Every node's `redis://` URL.
    pub fn node_urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes' URLs joined by commas (the form `WAITROOM_REDIS_URL` takes).
    pub fn urls(&self) -> String {
        self.node_urls().join(",")
    }
}
