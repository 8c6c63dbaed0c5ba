//! How long single commands held a Redis server: its SLOWLOG and latency monitor, read back with
//! the store's scripts named. Redis runs one command at a time, so the longest command is the
//! longest every other client of that server had to wait.

use redis::Value;
use redis::aio::MultiplexedConnection;

/// The bound the store keeps every script call under, in microseconds.
pub const BOUND_MICROS: u64 = 50_000;

/// One SLOWLOG entry.
#[derive(Debug, Clone)]
pub struct SlowCall {
    /// How long the command ran on the server, in microseconds.
    pub micros: u64,
    /// The store's script by name (`draw_place`), else the command's name (`ZADD`).
    pub command: String,
}

/// A connection of its own to the server under watch, without a response timeout: a SLOWLOG of
/// thousands of entries is a long reply.
pub async fn connect(url: &str) -> MultiplexedConnection {
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap()
}

/// Starts a watch: every command of at least `log_at_micros` goes to the SLOWLOG (kept up to a
/// million entries), the latency monitor records every event of 50 ms or more, and both are
/// emptied.
pub async fn watch(conn: &mut MultiplexedConnection, log_at_micros: u64) {
    let settings: [(&str, String); 3] = [
        ("slowlog-log-slower-than", log_at_micros.to_string()),
        ("slowlog-max-len", "1000000".into()),
        (
            "latency-monitor-threshold",
            (BOUND_MICROS / 1_000).to_string(),
        ),
    ];
    for (name, value) in settings {
        let () = redis::cmd("CONFIG")
            .arg("SET")
            .arg(name)
            .arg(value)
            .query_async(conn)
            .await
            .unwrap();
    }
    let () = redis::cmd("SLOWLOG")
        .arg("RESET")
        .query_async(conn)
        .await
        .unwrap();
    let _: i64 = redis::cmd("LATENCY")
        .arg("RESET")
        .query_async(conn)
        .await
        .unwrap();
}

/// Every command the SLOWLOG holds, the store's scripts named; the watch's own commands
/// (emptying a long SLOWLOG is itself slow) are left out.
pub async fn slow_calls(conn: &mut MultiplexedConnection) -> Vec<SlowCall> {
    let entries: Vec<Value> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(-1)
        .query_async(conn)
        .await
        .unwrap();
    entries
        .into_iter()
        .map(slow_call)
        .filter(|call| !matches!(call.command.as_str(), "SLOWLOG" | "LATENCY" | "CONFIG"))
        .collect()
}

/// The SLOWLOG entries of `bound_micros` or longer.
pub fn at_least(calls: &[SlowCall], bound_micros: u64) -> Vec<SlowCall> {
    calls
        .iter()
        .filter(|call| call.micros >= bound_micros)
        .cloned()
        .collect()
}

/// The longest SLOWLOG entry, if any.
pub fn longest(calls: &[SlowCall]) -> Option<SlowCall> {
    calls.iter().max_by_key(|call| call.micros).cloned()
}

/// `LATENCY LATEST`: each event the monitor caught, with its longest spike in ms.
pub async fn latency_spikes(conn: &mut MultiplexedConnection) -> Vec<(String, u64)> {
    let events: Vec<(String, u64, u64, u64)> = redis::cmd("LATENCY")
        .arg("LATEST")
        .query_async(conn)
        .await
        .unwrap();
    events
        .into_iter()
        .map(|(event, _at, _latest, max)| (event, max))
        .collect()
}

fn slow_call(entry: Value) -> SlowCall {
    let Value::Array(fields) = entry else {
        panic!("a SLOWLOG entry is an array: {entry:?}");
    };
    let micros: u64 = redis::from_redis_value(fields[2].clone()).unwrap();
    let args: Vec<Vec<u8>> = redis::from_redis_value(fields[3].clone()).unwrap();
    let word = |n: usize| {
        args.get(n)
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
    };
    let name = word(0).unwrap_or_default().to_uppercase();
    // The commands a script runs are logged on their own too; their arguments are left out.
    let command = match (name.as_str(), word(1)) {
        ("EVALSHA", Some(sha)) => {
            script_name(&sha).map_or_else(|| format!("EVALSHA {sha}"), str::to_owned)
        }
        _ => name,
    };
    SlowCall { micros, command }
}

/// The store's script whose SHA-1 is `sha`.
fn script_name(sha: &str) -> Option<&'static str> {
    waitroom::store::redis::script_names()
        .into_iter()
        .find_map(|(hash, name)| (hash == sha).then_some(name))
}
