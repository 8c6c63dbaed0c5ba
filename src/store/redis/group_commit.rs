//! Group commit of joins and ticket reads ([`crate::ratelimit::group_commit`]): those an instance
//! receives while its previous call of that script is on the wire are sent together, as one call
//! of `lua/join.lua` (or `lua/ticket.lua`) per event. A flash sale opens with thousands of joins
//! a second on one event, and every waiting page polls its ticket; each call also pays the
//! script's setup (the event's settings, the draw's state) once for all. The scripts handle each
//! request in the order it arrived here, at one `now`, with exactly the outcome a call of its
//! own would have had, so the store's semantics do not depend on how requests were grouped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::future::join_all;
use redis::Value;

use super::{keys, replies};
use crate::ratelimit::group_commit::{self, Waiting, answer, group_by};
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

/// One request: its event, time and identity, and the script's second argument for it.
struct Request {
    /// The event's key prefix (`wr:{<event>}:`).
    prefix: String,
    /// The time argument the scripts take first ('' for the Redis server's time).
    now: String,
    identity: String,
    /// The request's second argument.
    detail: Vec<u8>,
}

type Pending = Waiting<Request, Value>;

/// The way into the group commit of one script; cloning it is cheap.
#[derive(Clone)]
pub(super) struct GroupCommit {
    commit: group_commit::GroupCommit<Request, Value>,
}

impl GroupCommit {
    /// Starts the task that sends the `grouped` script's calls over `connection`.
    pub(super) fn start(grouped: Grouped, connection: Connection, scripts: Arc<Scripts>) -> Self {
        let asked = Arc::new(AskedKeys::default());
        let commit = group_commit::GroupCommit::start(MOST_PER_CALL, move |arrived| {
            let (connection, scripts, asked) =
                (connection.clone(), Arc::clone(&scripts), Arc::clone(&asked));
            async move {
                let script = grouped.script(&scripts);
                // Events are independent, so their calls run side by side; one event's calls
                // run in turn, keeping its requests in arrival order.
                join_all(
                    group_by(arrived, |pending: &Pending| &pending.request.prefix)
                        .into_iter()
                        .map(|event| {
                            let (connection, asked) = (connection.clone(), &asked);
                            async move {
                                for call in calls_in_turn(event) {
                                    run(call, connection.clone(), script, asked).await;
                                }
                            }
                        }),
                )
                .await;
            }
        });
        Self { commit }
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
        self.commit
            .call(Request {
                prefix,
                now,
                identity: identity.to_owned(),
                detail: detail.to_vec(),
            })
            .await
    }
}

/// One event's requests as calls: a change of `now` (a manual clock moved between requests)
/// starts a new call.
fn calls_in_turn(requests: Vec<Pending>) -> Vec<Vec<Pending>> {
    let mut calls: Vec<Vec<Pending>> = Vec::new();
    for pending in requests {
        match calls.last_mut() {
            Some(call)
                if call
                    .first()
                    .is_some_and(|first| first.request.now == pending.request.now) =>
            {
                call.push(pending);
            }
            _ => calls.push(vec![pending]),
        }
    }
    calls
}

/// Runs one call and hands each request its reply (each the same error if it failed).
async fn run(
    call: Vec<Pending>,
    mut connection: Connection,
    script: &EventScript,
    asked: &AskedKeys,
) {
    let Some(first) = call.first() else {
        return;
    };
    let (prefix, now) = (&first.request.prefix, &first.request.now);
    let mut reply = Err(StoreError::Corrupt(
        "a grouped call kept asking for keys".into(),
    ));
    for _ in 0..ASKS {
        let mut invocation = script.script.prepare_invoke();
        keys::declare(&mut invocation, prefix, script.keys);
        keys::declare(&mut invocation, prefix, asked.get(prefix));
        // One bucket a request, in their order: the script takes each by its position.
        keys::declare(
            &mut invocation,
            prefix,
            call.iter()
                .map(|pending| keys::bucket_name(&pending.request.identity)),
        );
        invocation.arg(now);
        for pending in &call {
            invocation
                .arg(pending.request.identity.as_str())
                .arg(pending.request.detail.as_slice());
        }
        match invocation.invoke_async(&mut connection).await {
            Ok(value) => {
                reply = Ok(value);
                break;
            }
            Err(error) => match keys::needed_keys(&error) {
                // Nothing changed: call again with the keys asked for (an arrival window's).
                Some(names) => asked.set(prefix, names),
                None => {
                    reply = Err(store_error(error));
                    break;
                }
            },
        }
    }
    let count = call.len();
    let replies = reply.and_then(|reply| {
        if replies::is_draw_pending(&reply) {
            Ok(vec![reply; count])
        } else {
            replies::array(reply)
        }
    });
    answer(call, replies);
}
