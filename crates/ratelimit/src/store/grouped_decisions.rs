//! Group commit of decisions ([`crate::group_commit`]): the decisions an instance makes while its
//! previous call is on the wire go to Redis together, one script call for all those under the
//! same rule and arguments. The script makes each decision in the order it arrived here, at one
//! `now`, with the outcome a call of its own would have had (`lua/ratelimit_each.lua`).
//!
//! On a Redis Cluster a script may only touch one slot and every client has its own hash tag, so
//! there only one client's decisions share a call.

use std::sync::Arc;

use redis::Script;
use redis::aio::ConnectionLike;
use tokio::task::JoinSet;

use crate::group_commit::{GroupCommit, Waiting, answer, group_by};
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

/// One decision: its shape, its bucket and the client's penalty hash.
struct Decision {
    shape: Shape,
    bucket: String,
    penalty: String,
}

/// The scripts a group commit calls, by [`Algorithm`].
pub(super) struct DecisionScripts {
    pub gcra: Script,
    pub window: Script,
}

/// The way into the limiter's group commit; cloning it is cheap.
#[derive(Clone)]
pub(super) struct GroupedDecisions {
    commit: GroupCommit<Decision, Vec<i64>>,
}

impl GroupedDecisions {
    /// Starts the task that sends the calls over `connection` (inside a Tokio runtime).
    pub(super) fn start<C>(connection: C, scripts: Arc<DecisionScripts>) -> Self
    where
        C: ConnectionLike + Clone + Send + Sync + 'static,
    {
        let commit = GroupCommit::start(MOST_PER_CALL, move |mut arrived| {
            let (connection, scripts) = (connection.clone(), Arc::clone(&scripts));
            async move {
                // A request that gave up (the limiter's store timeout) decided without this
                // store: its decision is not made late.
                arrived.retain(|waiting: &Waiting<Decision, Vec<i64>>| !waiting.gave_up());
                let mut calls = JoinSet::new();
                for group in group_by(arrived, |waiting| &waiting.request.shape) {
                    calls.spawn(run(group, connection.clone(), Arc::clone(&scripts)));
                }
                while calls.join_next().await.is_some() {}
            }
        });
        Self { commit }
    }

    /// The script's reply for one decision on `bucket` and the client's `penalty` hash.
    pub(super) async fn decide(
        &self,
        shape: Shape,
        bucket: String,
        penalty: String,
    ) -> Result<Vec<i64>, StoreError> {
        self.commit
            .call(Decision {
                shape,
                bucket,
                penalty,
            })
            .await
    }
}

/// Runs one call and hands each decision its reply.
async fn run<C>(
    group: Vec<Waiting<Decision, Vec<i64>>>,
    mut connection: C,
    scripts: Arc<DecisionScripts>,
) where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    let Some(first) = group.first() else {
        return;
    };
    let shape = &first.request.shape;
    let script = match shape.algorithm {
        Algorithm::Gcra => &scripts.gcra,
        Algorithm::SlidingWindow => &scripts.window,
    };
    let mut invocation = script.prepare_invoke();
    for waiting in &group {
        invocation
            .key(&waiting.request.bucket)
            .key(&waiting.request.penalty);
    }
    for arg in &shape.args {
        invocation.arg(arg);
    }
    let replies = invocation
        .invoke_async::<Vec<Vec<i64>>>(&mut connection)
        .await
        .map_err(|error| StoreError::Unavailable(error.to_string()));
    answer(group, replies);
}
