//! Group commit of decisions: the decisions an instance makes while its previous call is on the
//! wire go to Redis together, one script call for all those under the same rule and arguments.
//!
//! A sale opens with thousands of requests a second, each one decision. A script call costs
//! Redis a command dispatch and the script's setup whatever it does, several times the GCRA
//! arithmetic itself; carried together, N decisions pay that once. Nothing waits on purpose: a
//! decision that finds nothing on the wire is sent at once, so a lone request is as fast as
//! before, and under load the calls grow with the load. The script makes each decision in the
//! order it arrived here, at one `now`, with the outcome a call of its own would have had
//! (`lua/ratelimit_each.lua`).
//!
//! On a Redis Cluster a script may only touch one slot and every client has its own hash tag, so
//! there only one client's decisions share a call.

use std::sync::Arc;

use redis::Script;
use redis::aio::ConnectionLike;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::store_error::StoreError;

/// The most decisions one call carries, so that no call holds the server for long.
const MOST_PER_CALL: usize = 128;

/// What the decisions of one call share: the script and its arguments (the time, the cost,
/// the rule's limits and penalties, the request's liability), and on a cluster the client.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Shape {
    /// Which script: the rule's algorithm.
    pub algorithm: Algorithm,
    /// Every script argument, in order.
    pub args: Vec<String>,
    /// The client's penalty key where only one client's decisions may share a call.
    pub only_client: Option<String>,
}

/// The decision scripts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Algorithm {
    Gcra,
    SlidingWindow,
}

/// One decision waiting to be sent, and where its reply goes.
struct Pending {
    shape: Shape,
    bucket: String,
    penalty: String,
    reply: oneshot::Sender<Result<Vec<i64>, StoreError>>,
}

/// The way into the group commit; cloning it is cheap. The task sending the calls stops when
/// the last clone is dropped.
#[derive(Clone)]
pub(super) struct GroupedDecisions {
    sender: mpsc::UnboundedSender<Pending>,
}

/// The scripts a group commit calls, by [`Algorithm`].
pub(super) struct DecisionScripts {
    pub gcra: Script,
    pub window: Script,
}

impl GroupedDecisions {
    /// Starts the task that sends the calls over `connection` (inside a Tokio runtime).
    pub(super) fn start<C>(connection: C, scripts: Arc<DecisionScripts>) -> Self
    where
        C: ConnectionLike + Clone + Send + Sync + 'static,
    {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(commit(receiver, connection, scripts));
        Self { sender }
    }

    /// The script's reply for one decision on `bucket` and the client's `penalty` hash.
    pub(super) async fn decide(
        &self,
        shape: Shape,
        bucket: String,
        penalty: String,
    ) -> Result<Vec<i64>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            shape,
            bucket,
            penalty,
            reply,
        };
        self.sender.send(pending).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the limiter's group commit has stopped".into())
}

/// Sends what has arrived as few calls as it can be, waits for their replies, and starts again
/// with what arrived meanwhile.
async fn commit<C>(
    mut receiver: mpsc::UnboundedReceiver<Pending>,
    connection: C,
    scripts: Arc<DecisionScripts>,
) where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    let mut arrived = Vec::with_capacity(MOST_PER_CALL);
    while receiver.recv_many(&mut arrived, MOST_PER_CALL).await > 0 {
        // A request that gave up (the limiter's store timeout) decided without this store: its
        // decision is not made late.
        arrived.retain(|pending: &Pending| !pending.reply.is_closed());
        let mut calls = JoinSet::new();
        for group in group_by_shape(arrived.drain(..)) {
            calls.spawn(run(group, connection.clone(), Arc::clone(&scripts)));
        }
        while calls.join_next().await.is_some() {}
    }
}

/// The decisions as calls, one for each shape in order of first arrival, each in arrival order.
fn group_by_shape(decisions: impl Iterator<Item = Pending>) -> Vec<Vec<Pending>> {
    let mut groups: Vec<Vec<Pending>> = Vec::new();
    for decision in decisions {
        match groups.iter_mut().find(|group| {
            group
                .first()
                .is_some_and(|first| first.shape == decision.shape)
        }) {
            Some(group) => group.push(decision),
            None => groups.push(vec![decision]),
        }
    }
    groups
}

/// Runs one call and hands each decision its reply (each the same error if the call failed).
async fn run<C>(group: Vec<Pending>, mut connection: C, scripts: Arc<DecisionScripts>)
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    let Some(first) = group.first() else {
        return;
    };
    let script = match first.shape.algorithm {
        Algorithm::Gcra => &scripts.gcra,
        Algorithm::SlidingWindow => &scripts.window,
    };
    let mut invocation = script.prepare_invoke();
    for pending in &group {
        invocation.key(&pending.bucket).key(&pending.penalty);
    }
    for arg in &first.shape.args {
        invocation.arg(arg);
    }
    let count = group.len();
    let replies = match invocation
        .invoke_async::<Vec<Vec<i64>>>(&mut connection)
        .await
    {
        Ok(replies) if replies.len() == count => Ok(replies),
        Ok(replies) => Err(StoreError::Corrupt(format!(
            "a grouped call answered {} decisions for {count}",
            replies.len()
        ))),
        Err(error) => Err(StoreError::Unavailable(error.to_string())),
    };
    match replies {
        Ok(replies) => {
            for (pending, reply) in group.into_iter().zip(replies) {
                // A caller that gave up no longer listens; the decision stands all the same.
                let _ = pending.reply.send(Ok(reply));
            }
        }
        Err(error) => {
            for pending in group {
                let _ = pending.reply.send(Err(error.clone()));
            }
        }
    }
}
