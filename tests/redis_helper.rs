//! The Redis test helper itself: a private server answers and goes away.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::redis_server::RedisServer;

#[test]
fn a_private_redis_server_answers_on_its_own_port() {
    let server = RedisServer::start();
    assert_eq!(server.cli(&["SET", "k", "v"]).trim(), "OK");
    assert_eq!(server.cli(&["GET", "k"]).trim(), "v");
}

#[test]
fn two_servers_share_nothing() {
    let a = RedisServer::start();
    let b = RedisServer::start();
    assert_ne!(a.port(), b.port());
    a.cli(&["SET", "k", "a"]);
    assert_eq!(b.cli(&["EXISTS", "k"]).trim(), "0");
}
