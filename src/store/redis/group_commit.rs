//! Group commit: the requests (or ticket reads) an instance receives while its previous call of
//! that script is on the wire are sent together, as one call of `lua/join.lua` (or
//! `lua/ticket.lua`) per event, instead of one call each.
//!
//! A flash sale opens with thousands of requests a second on one event, and every waiting page
//! polls its ticket. Each script call costs Redis a command dispatch and the script's setup (the
//! event's settings, the draw's state), and costs this process a round trip; carried together,
//! N requests pay that once. Nothing waits on purpose: a request that finds nothing on the wire
//! is sent at once, so a lone join is as fast as before, and under load the calls grow with the
//! load. The scripts handle each request in the order it arrived here, at one `now`, with
//! exactly the outcome a call of its own would have had, so the store's semantics do not depend
//! on how requests were grouped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::future::join_all;
use redis::Value;
use tokio::sync::{mpsc, oneshot};

use super::{keys, replies};
use crate::ratelimit::redis_connection::{Connection, store_error};
use crate::store::StoreError;
use crate::store::scripts::{EventScript, Scripts};

/// The most requests one script call carries, so that no call holds the server for long (a
/// join is a few dozen microseconds of script).
const MOST_PER_CALL: usize = 256;

/// How many times one call is made while the script asks for keys it was not given (once
/// more than the arrival window's keys need).
const ASKS: usize = 3;

/// The keys each event's calls were last asked for (`WRKEYS`, see `lua/join.lua`), by key
/// prefix: given to the event's next calls, so that a window costs one call asking for it.
#[derive(Default)]
struct AskedKeys(Mutex<HashMap<String, Vec<String>>>);

impl AskedKeys {
    fn get(&self, prefix: &str) -> Vec<String> {
        let asked = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        asked.get(prefix).cloned().unwrap_or_default()
    }

    fn set(&self, prefix: &str, names: Vec<String>) {
        let mut asked = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        asked.insert(prefix.to_owned(), names);
    }
}

/// Which script a [`GroupCommit`] calls: each request passes it two arguments.
#[derive(Clone, Copy)]
pub(super) enum Grouped {
    /// `lua/join.lua`: an identity and its new ticket id.
    Joins,
    /// `lua/ticket.lua`: an identity and whether to mark it as seen.
    TicketReads,
}

impl Grouped {
    fn script(self, scripts: &Scripts) -> &EventScript {
        match self {
            Self::Joins => &scripts.join,
            Self::TicketReads => &scripts.ticket,
        }
    }
}

/// One request waiting to be sent, and where its reply goes.
struct Pending {
    /// The event's key prefix (`wr:{<event>}:`).
    prefix: String,
    /// The time argument the scripts take first ('' for the Redis server's time).
    now: String,
    identity: String,
    /// The request's second argument.
    detail: Vec<u8>,
    reply: oneshot::Sender<Result<Value, StoreError>>,
}

/// The requests of one script call: one event, one `now`, in arrival order.
struct Call {
    prefix: String,
    now: String,
    requests: Vec<Pending>,
}

/// The way into the group commit of one script; cloning it is cheap. The task sending the
/// calls stops when the last clone is dropped.
#[derive(Clone)]
pub(super) struct GroupCommit {
    sender: mpsc::UnboundedSender<Pending>,
}

impl GroupCommit {
    /// Starts the task that sends the `grouped` script's calls over `connection`.
    pub(super) fn start(grouped: Grouped, connection: Connection, scripts: Arc<Scripts>) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(commit(
            receiver,
            connection,
            scripts,
            grouped,
            Arc::default(),
        ));
        Self { sender }
    }

    /// The script's reply for one request: that request's own reply, or `draw_pending` (the
    /// call changed nothing and the caller finishes the draw and asks again).
    pub(super) async fn call(
        &self,
        prefix: String,
        now: String,
        identity: &str,
        detail: &[u8],
    ) -> Result<Value, StoreError> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            prefix,
            now,
            identity: identity.to_owned(),
            detail: detail.to_vec(),
            reply,
        };
        self.sender.send(pending).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the store's group commit has stopped".into())
}

/// Sends what has arrived as few calls as it can be, waits for their replies, and starts again
/// with what arrived meanwhile.
async fn commit(
    mut receiver: mpsc::UnboundedReceiver<Pending>,
    connection: Connection,
    scripts: Arc<Scripts>,
    grouped: Grouped,
    asked: Arc<AskedKeys>,
) {
    let mut arrived = Vec::with_capacity(MOST_PER_CALL);
    while receiver.recv_many(&mut arrived, MOST_PER_CALL).await > 0 {
        let by_event = group_by_event(arrived.drain(..));
        // Events are independent, so their calls run side by side; one event's calls run in
        // turn, keeping its requests in arrival order.
        join_all(by_event.into_iter().map(|calls| {
            let (connection, script) = (connection.clone(), grouped.script(&scripts));
            let asked = &asked;
            async move {
                for call in calls {
                    call.run(connection.clone(), script, asked).await;
                }
            }
        }))
        .await;
    }
}

/// The requests as calls, grouped by event in order of first arrival; within an event, a
/// change of `now` (a manual clock moved between requests) starts a new call.
fn group_by_event(requests: impl Iterator<Item = Pending>) -> Vec<Vec<Call>> {
    let mut by_event: Vec<Vec<Call>> = Vec::new();
    for request in requests {
        let calls = by_event.iter_mut().find(|calls| {
            calls
                .first()
                .is_some_and(|call| call.prefix == request.prefix)
        });
        match calls {
            Some(calls) => match calls.last_mut() {
                Some(call) if call.now == request.now => call.requests.push(request),
                _ => calls.push(Call::new(request)),
            },
            None => by_event.push(vec![Call::new(request)]),
        }
    }
    by_event
}

impl Call {
    fn new(first: Pending) -> Self {
        Self {
            prefix: first.prefix.clone(),
            now: first.now.clone(),
            requests: vec![first],
        }
    }

    /// Runs the call and hands each request its reply (each the same error if it failed).
    async fn run(self, mut connection: Connection, script: &EventScript, asked: &AskedKeys) {
        let mut reply = Err(StoreError::Corrupt(
            "a grouped call kept asking for keys".into(),
        ));
        for _ in 0..ASKS {
            let mut invocation = script.script.prepare_invoke();
            keys::declare(&mut invocation, &self.prefix, script.keys);
            keys::declare(&mut invocation, &self.prefix, asked.get(&self.prefix));
            // One bucket a request, in their order: the script takes each by its position.
            keys::declare(
                &mut invocation,
                &self.prefix,
                self.requests
                    .iter()
                    .map(|request| keys::bucket_name(&request.identity)),
            );
            invocation.arg(&self.now);
            for request in &self.requests {
                invocation
                    .arg(request.identity.as_str())
                    .arg(request.detail.as_slice());
            }
            match invocation.invoke_async(&mut connection).await {
                Ok(value) => {
                    reply = Ok(value);
                    break;
                }
                Err(error) => match keys::needed_keys(&error) {
                    // Nothing changed: call again with the keys asked for (an arrival window's).
                    Some(names) => asked.set(&self.prefix, names),
                    None => {
                        reply = Err(store_error(error));
                        break;
                    }
                },
            }
        }
        let count = self.requests.len();
        let replies = match reply {
            Ok(reply) if replies::is_draw_pending(&reply) => Ok(vec![reply; count]),
            Ok(reply) => replies::array(reply).and_then(|replies| {
                if replies.len() == count {
                    Ok(replies)
                } else {
                    Err(StoreError::Corrupt(format!(
                        "a grouped call answered {} replies for {count} requests",
                        replies.len()
                    )))
                }
            }),
            Err(error) => Err(error),
        };
        match replies {
            Ok(replies) => {
                for (request, reply) in self.requests.into_iter().zip(replies) {
                    // A caller that gave up no longer listens; what it asked for stands all the same.
                    let _ = request.reply.send(Ok(reply));
                }
            }
            Err(error) => {
                for request in self.requests {
                    let _ = request.reply.send(Err(error.clone()));
                }
            }
        }
    }
}
