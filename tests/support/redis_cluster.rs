//! A private Redis Cluster: three primaries sharing the slots and a replica of each, six empty
//! servers on free ports joined by `redis-cli --cluster create --cluster-replicas 1`, stopped
//! when dropped. Helpers move a slot between primaries and fail a primary over, as an operator
//! (or a crash) would in the middle of a sale.

use std::process::Command;
use std::time::{Duration, Instant};

use super::redis_server::RedisServer;

/// How long a node may be silent before the others count it as failing (ms): short, so that a
/// killed primary's replica takes over within a couple of seconds.
const NODE_TIMEOUT_MS: &str = "1000";

/// Three primaries and their replicas.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

/// One line of `CLUSTER NODES`.
#[derive(Debug, Clone)]
pub struct ClusterNode {
    pub id: String,
    pub port: u16,
    pub primary: bool,
    /// A node the cluster counts as failed.
    pub failed: bool,
    /// The primary it replicates ('-' for a primary).
    pub replicates: String,
    /// The slot ranges it serves (primaries).
    pub slots: Vec<(u16, u16)>,
}

impl RedisCluster {
    /// Starts the nodes and waits until the cluster says it is ready and every replica has
    /// synchronised.
    pub fn start() -> Self {
        let nodes: Vec<RedisServer> = (0..6)
            .map(|_| {
                RedisServer::start_with(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    NODE_TIMEOUT_MS,
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
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .expect("run redis-cli --cluster create");
        assert!(created.status.success(), "{created:?}");
        let cluster = Self { nodes };
        cluster.wait_until_ok(Duration::from_secs(20));
        cluster
    }

    /// Waits until every running node says the cluster is ok and sees three primaries serving
    /// all slots, each with a synchronised replica that is not failing.
    pub fn wait_until_ok(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let ready = self.running().all(|node| {
                node.cli(&["CLUSTER", "INFO"]).contains("cluster_state:ok")
                    && (!node.cli(&["ROLE"]).starts_with("slave")
                        || node
                            .cli(&["INFO", "replication"])
                            .contains("master_link_status:up"))
            });
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "the cluster did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Nodes whose process runs (not stopped by a test).
    fn running(&self) -> impl Iterator<Item = &RedisServer> {
        self.nodes
            .iter()
            .filter(|node| std::net::TcpStream::connect(("127.0.0.1", node.port())).is_ok())
    }

    /// Every node's `redis://` URL.
    pub fn node_urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes' URLs joined by commas (the form `WAITROOM_REDIS_URL` takes).
    pub fn urls(&self) -> String {
        self.node_urls().join(",")
    }

    /// The server listening on `port`.
    pub fn node(&self, port: u16) -> &RedisServer {
        self.nodes
            .iter()
            .find(|node| node.port() == port)
            .expect("a node of the cluster")
    }

    /// The server listening on `port`, to stop or restart it.
    pub fn node_mut(&mut self, port: u16) -> &mut RedisServer {
        self.nodes
            .iter_mut()
            .find(|node| node.port() == port)
            .expect("a node of the cluster")
    }

    /// The cluster as a running node other than `except` sees it.
    pub fn topology(&self, except: Option<u16>) -> Vec<ClusterNode> {
        let asked = self
            .running()
            .find(|node| Some(node.port()) != except)
            .expect("a running node");
        asked
            .cli(&["CLUSTER", "NODES"])
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(parse_node)
            .collect()
    }

    /// The slot of `key`.
    pub fn slot_of(&self, key: &str) -> u16 {
        let asked = self.running().next().expect("a running node");
        asked
            .cli(&["CLUSTER", "KEYSLOT", key])
            .trim()
            .parse()
            .expect("a slot number")
    }

    /// The primary serving `slot`, as the cluster sees it now.
    pub fn primary_of(&self, slot: u16) -> ClusterNode {
        self.topology(None)
            .into_iter()
            .find(|node| {
                node.primary
                    && !node.failed
                    && node
                        .slots
                        .iter()
                        .any(|&(from, to)| (from..=to).contains(&slot))
            })
            .expect("a primary serving the slot")
    }

    /// The replica of the primary `primary_id`.
    pub fn replica_of(&self, primary_id: &str) -> ClusterNode {
        self.topology(None)
            .into_iter()
            .find(|node| !node.primary && node.replicates == primary_id)
            .expect("a replica of the primary")
    }

    /// Starts moving `slot` from its primary to another primary, as `redis-cli --cluster
    /// reshard` does: IMPORTING on the target, MIGRATING on the source. Returns (source, target).
    pub fn begin_migration(&self, slot: u16) -> (ClusterNode, ClusterNode) {
        let source = self.primary_of(slot);
        let target = self
            .topology(None)
            .into_iter()
            .find(|node| node.primary && !node.failed && node.id != source.id)
            .expect("another primary");
        let slot_text = slot.to_string();
        ok(self.node(target.port).cli(&[
            "CLUSTER",
            "SETSLOT",
            &slot_text,
            "IMPORTING",
            &source.id,
        ]));
        ok(self.node(source.port).cli(&[
            "CLUSTER",
            "SETSLOT",
            &slot_text,
            "MIGRATING",
            &target.id,
        ]));
        (source, target)
    }

    /// Moves at most `batch` keys of `slot` from `source` to `target` with one MIGRATE, those
    /// for which `first` is true before the others; how many were left to move before it.
    pub fn migrate_some(
        &self,
        slot: u16,
        source: &ClusterNode,
        target: &ClusterNode,
        batch: usize,
        first: impl Fn(&str) -> bool,
    ) -> usize {
        let keys = self.node(source.port).cli(&[
            "--raw",
            "CLUSTER",
            "GETKEYSINSLOT",
            &slot.to_string(),
            "1000000",
        ]);
        let mut keys: Vec<&str> = keys.lines().filter(|key| !key.is_empty()).collect();
        let left = keys.len();
        if left == 0 {
            return 0;
        }
        keys.sort_by_key(|key| !first(key));
        keys.truncate(batch);
        let port = target.port.to_string();
        let mut command = vec!["MIGRATE", "127.0.0.1", &port, "", "0", "5000", "KEYS"];
        command.extend(keys.iter().copied());
        ok(self.node(source.port).cli(&command));
        left
    }

    /// Ends a migration: every primary learns that `target` serves `slot`.
    pub fn end_migration(&self, slot: u16, target: &ClusterNode) {
        let slot_text = slot.to_string();
        // The target first, then the source, then the others (as redis-cli does).
        ok(self
            .node(target.port)
            .cli(&["CLUSTER", "SETSLOT", &slot_text, "NODE", &target.id]));
        for node in self.topology(None) {
            if node.primary && node.id != target.id {
                ok(self
                    .node(node.port)
                    .cli(&["CLUSTER", "SETSLOT", &slot_text, "NODE", &target.id]));
            }
        }
    }

    /// Waits until the node on `port` is a primary that every other running node agrees on.
    pub fn wait_until_primary(&self, port: u16, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let agreed = self.running().all(|asked| {
                asked
                    .cli(&["CLUSTER", "NODES"])
                    .lines()
                    .filter(|line| !line.trim().is_empty())
                    .map(parse_node)
                    .any(|node| node.port == port && node.primary && !node.failed)
            });
            if agreed
                && self
                    .running()
                    .all(|node| node.cli(&["CLUSTER", "INFO"]).contains("cluster_state:ok"))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the node on {port} did not become a primary"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn ok(reply: String) {
    assert_eq!(reply.trim(), "OK", "a cluster command failed");
}

fn parse_node(line: &str) -> ClusterNode {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let port = fields[1]
        .split('@')
        .next()
        .and_then(|address| address.rsplit(':').next())
        .and_then(|port| port.parse().ok())
        .expect("a node address");
    let flags = fields[2];
    let slots = fields
        .iter()
        .skip(8)
        .filter(|range| !range.starts_with('['))
        .map(|range| match range.split_once('-') {
            Some((from, to)) => (from.parse().unwrap(), to.parse().unwrap()),
            None => {
                let slot = range.parse().unwrap();
                (slot, slot)
            }
        })
        .collect();
    ClusterNode {
        id: fields[0].to_owned(),
        port,
        primary: flags.contains("master"),
        failed: flags
            .split(',')
            .any(|flag| flag == "fail" || flag == "fail?"),
        replicates: fields[3].to_owned(),
        slots,
    }
}
