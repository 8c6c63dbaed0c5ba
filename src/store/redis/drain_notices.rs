//! Drain notices between instances over Redis pub/sub, on the one channel [`CHANNEL`].
//!
//! Each instance drains on its own tick; a shopper admitted by another instance's drain used to
//! learn it only at this instance's next drain. With a notice, the instances holding the other
//! sockets drain at once. Pub/sub delivers at most once: a notice lost while the subscription
//! reconnects costs only that speed-up, never an admission. On a cluster, `PUBLISH` reaches
//! every node, so subscribing on one node hears every instance.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::broadcast;

use crate::domain::DrainNotice;

/// The channel every instance publishes its drain notices on.
pub const CHANNEL: &str = "wr:drained";

/// Notices a slow reader may fall behind by before it misses some (it then just drains on its
/// tick, as without notices).
const BACKLOG: usize = 1_024;

/// The longest wait for a subscription to connect, and between two attempts.
const RETRY: Duration = Duration::from_secs(2);

/// The subscription of one store: started by its first reader, ended once nobody reads.
pub(super) struct DrainNotices {
    /// The node to subscribe on.
    url: String,
    sender: Mutex<Option<broadcast::Sender<DrainNotice>>>,
}

impl DrainNotices {
    /// Notices heard on the Redis at `url` (not connected before the first reader).
    pub(super) fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            sender: Mutex::new(None),
        }
    }

    /// A new reader of every notice from now on.
    pub(super) fn subscribe(&self) -> broadcast::Receiver<DrainNotice> {
        let mut sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(running) = sender.as_ref().filter(|s| s.receiver_count() > 0) {
            return running.subscribe();
        }
        let (started, receiver) = broadcast::channel(BACKLOG);
        tokio::spawn(listen(self.url.clone(), started.clone()));
        *sender = Some(started);
        receiver
    }
}

/// Forwards the channel's notices to `sender` until its last reader is gone, subscribing again
/// after every lost connection.
async fn listen(url: String, sender: broadcast::Sender<DrainNotice>) {
    let mut failures = 0u64;
    loop {
        let heard = tokio::select! {
            heard = forward(&url, &sender) => heard,
            () = sender.closed() => return,
        };
        if let Err(error) = heard {
            failures += 1;
            // The first failure and then one in a hundred: an outage must not flood the log.
            if failures % 100 == 1 {
                tracing::warn!(%error, failures, "drain notices: subscription lost; retrying");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(RETRY) => {}
            () = sender.closed() => return,
        }
    }
}

/// One subscription: returns when the connection ends.
async fn forward(url: &str, sender: &broadcast::Sender<DrainNotice>) -> Result<(), String> {
    let subscribing = async {
        let client = redis::Client::open(url)?;
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(CHANNEL).await?;
        Ok::<_, redis::RedisError>(pubsub)
    };
    let pubsub = tokio::time::timeout(RETRY, subscribing)
        .await
        .map_err(|_| "connecting timed out".to_owned())?
        .map_err(|error| error.to_string())?;
    let mut messages = pubsub.into_on_message();
    while let Some(message) = messages.next().await {
        let notice = message
            .get_payload::<String>()
            .ok()
            .and_then(|text| DrainNotice::decode(&text));
        if let Some(notice) = notice {
            // No reader right now is fine: `listen` ends once they are all gone.
            let _ = sender.send(notice);
        }
    }
    Err("the connection closed".to_owned())
}
