//! The steps of a journey that shoppers and bots share: joining, polling the ticket, buying.
//! They differ only in their [`Patience`]: shoppers honour `Retry-After`, bots do not.

use std::time::{Duration, Instant};

use crate::api::{Identity, Reply};
use crate::journey::{AdmissionRecord, JoinRecord, Outcome};
use crate::proof;
use crate::recorder::Endpoint;
use crate::sale::Sale;

/// How a client waits before trying again.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    /// Whether a `Retry-After` is waited out (bots ignore it).
    pub honours_retry_after: bool,
    /// The pause between two tries when the server says nothing.
    pub pause: Duration,
    /// Failed tries (5xx, no answer) before giving up.
    pub max_failures: u32,
}

impl Patience {
    /// How long to wait after `reply` before trying again.
    pub fn after(&self, reply: Option<&Reply>) -> Duration {
        let asked = reply.and_then(|reply| reply.retry_after);
        match asked {
            Some(wait) if self.honours_retry_after => {
                wait.clamp(Duration::from_millis(50), Duration::from_secs(10))
            }
            _ => self.pause,
        }
    }
}

/// A ticket held in the queue.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// The ticket id.
    pub id: String,
    /// The join that got it.
    pub record: JoinRecord,
    /// The chance of success its answer showed, when the join was sent after the sale opened.
    pub chance_shown: Option<ShownChance>,
}

/// A chance of success the server showed, with the place it was shown at and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShownChance {
    /// The chance, 0 to 1.
    pub chance: f64,
    /// The place shown with it, when there was one.
    pub position: Option<u64>,
    /// When the answer carrying it was sent (Unix ms).
    pub at_ms: i64,
}

/// The `chance_of_success` of a ticket view.
fn chance_in(reply: &Reply) -> Option<f64> {
    reply
        .body
        .get("chance_of_success")
        .and_then(serde_json::Value::as_f64)
}

/// Keeps in `shown` the first chance of success seen in an answer sent at `sent_ms`, if the
/// sale had opened by then: the moment the report's calibration judges.
pub fn note_chance(
    sale: &Sale,
    shown: &mut Option<ShownChance>,
    chance: Option<f64>,
    position: Option<u64>,
    sent_ms: i64,
) {
    if shown.is_none() && sent_ms >= sale.starts_at_ms {
        *shown = chance.map(|chance| ShownChance {
            chance,
            position,
            at_ms: sent_ms,
        });
    }
}

/// The `position` of a ticket view.
fn position_in(reply: &Reply) -> Option<u64> {
    reply
        .body
        .get("position")
        .and_then(serde_json::Value::as_u64)
}

/// Whether a status means "try again later".
fn is_back_off(status: u16) -> bool {
    status == 429 || status == 503
}

/// Joins the queue, trying again on rate limits and failures until the sale is over.
pub async fn join_queue(
    sale: &Sale,
    who: &Identity,
    patience: Patience,
) -> Result<Ticket, Outcome> {
    let mut failures = 0;
    loop {
        // The first try goes out even after a sell-out, as a shopper arriving late would, and
        // meets the refusal; only retries stop when the sale is over.
        if sale.is_stopping() {
            return Err(Outcome::NeverJoined);
        }
        // A proof is single-use: every try pays for a new one.
        let proof = if sale.scenario.event.proof_difficulty > 0 {
            let Some(proof) = sale.unless_stopping(proof::prove(sale, who)).await else {
                return Err(Outcome::NeverJoined);
            };
            proof
        } else {
            None
        };
        let Some(reply) = sale
            .unless_stopping(sale.api.join(who, &sale.event, proof))
            .await
        else {
            return Err(Outcome::NeverJoined);
        };
        match &reply {
            Ok(reply) if reply.is_success() => {
                // The times the request was really on the wire, not waiting for a slot: join
                // order is only known between requests that did not overlap there.
                let sent_ms = sale.clock.ms_at(reply.sent_at);
                let done_ms = sale.clock.ms_at(reply.done_at);
                let Some(id) = reply.text("ticket_id") else {
                    return Err(Outcome::Failed);
                };
                let prequeue = reply.body.get("position").is_none_or(|p| p.is_null());
                let record = JoinRecord {
                    sent_ms,
                    done_ms,
                    prequeue,
                };
                let mut chance_shown = None;
                note_chance(
                    sale,
                    &mut chance_shown,
                    chance_in(reply),
                    position_in(reply),
                    sent_ms,
                );
                return Ok(Ticket {
                    id: id.to_owned(),
                    record,
                    chance_shown,
                });
            }
            Ok(reply) if is_back_off(reply.status) => {}
            Ok(reply) if reply.status < 500 => return Err(Outcome::JoinRefused),
            _ => {
                failures += 1;
                if failures >= patience.max_failures {
                    return Err(Outcome::Failed);
                }
            }
        }
        if !sale.pause(patience.after(reply.as_ref().ok())).await {
            return Err(Outcome::NeverJoined);
        }
    }
}

/// How waiting in the queue ended.
#[derive(Debug, Clone)]
pub enum Waited {
    /// Admitted, with the admission token.
    Admitted(AdmissionRecord, String),
    /// The ticket is gone (expired, left, unknown).
    Lost,
    /// The sale ended or the run stopped.
    Over,
    /// The server said the event sold out or closed.
    SoldOut,
    /// The shopper chose to leave.
    Abandoned,
}

/// Reads an admission out of a ticket or an `admitted` message.
pub fn admission_seen(sale: &Sale, expires_at: Option<&str>) -> AdmissionRecord {
    let server_ms = expires_at
        .and_then(parse_rfc3339_ms)
        .map(|expires| expires - sale.admission_ttl_ms());
    AdmissionRecord {
        seen_ms: sale.clock.now_ms(),
        server_ms,
    }
}

/// Parses an RFC 3339 time into Unix milliseconds.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let at =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Formats Unix milliseconds as RFC 3339 UTC.
pub fn to_rfc3339(at_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Polls a ticket every `interval` until it is admitted or gone, the sale ends, or `leave_at`,
/// keeping in `shown` the first chance of success read after the sale opened.
pub async fn poll_ticket(
    sale: &Sale,
    who: &Identity,
    ticket: &str,
    interval: Duration,
    patience: Patience,
    leave_at: Option<Instant>,
    shown: &mut Option<ShownChance>,
) -> Waited {
    let mut failures = 0;
    loop {
        let Some(reply) = sale
            .unless_over(sale.api.ticket(who, &sale.event, ticket))
            .await
        else {
            return Waited::Over;
        };
        match &reply {
            Ok(reply) if reply.is_success() => match reply.text("status") {
                Some("waiting") => {
                    note_chance(
                        sale,
                        shown,
                        chance_in(reply),
                        position_in(reply),
                        sale.clock.ms_at(reply.sent_at),
                    );
                }
                Some("admitted") => {
                    let Some(token) = reply.text("admission_token") else {
                        return Waited::Lost;
                    };
                    let seen = admission_seen(sale, reply.text("admission_expires_at"));
                    return Waited::Admitted(seen, token.to_owned());
                }
                Some("expired" | "left") => return Waited::Lost,
                _ => {}
            },
            Ok(reply) if reply.status == 404 => return Waited::Lost,
            Ok(reply) if reply.status < 500 => {}
            _ => {
                failures += 1;
                if failures >= patience.max_failures {
                    return Waited::Lost;
                }
            }
        }
        if leave_at.is_some_and(|at| Instant::now() >= at) {
            return Waited::Abandoned;
        }
        let wait = match &reply {
            Ok(reply) if is_back_off(reply.status) => patience.after(Some(reply)),
            _ => interval,
        };
        if !sale.pause(wait).await {
            return Waited::Over;
        }
    }
}

/// How long the last read of a ticket may take, waiting for a free slot included. When a big
/// sale sells out every waiting shopper looks at once; an admission that look misses is missing
/// from the outflow the report measures, so it is given time (and counted when it fails).
const FINAL_LOOK_LIMIT: Duration = Duration::from_secs(30);

/// What the last read of a ticket found.
#[derive(Debug, Clone)]
pub enum LastLook {
    /// Admitted after all, with the admission token.
    Admitted(AdmissionRecord, String),
    /// Still waiting when the read was sent (Unix ms): not admitted before then.
    Waiting(i64),
    /// No answer worth reading.
    Unknown,
}

/// One last read of a ticket when waiting stops. An admission granted just before the sale
/// ended (and not yet seen) must still count; and a ticket still waiting is known to be so only
/// up to the moment of this read, since the server goes on admitting after the run stops.
pub async fn final_look(sale: &Sale, who: &Identity, ticket: &str) -> LastLook {
    // At the end of a big run every waiting shopper looks at once: those who cannot get an
    // answer soon stay "unknown" rather than hold the run open.
    let look = tokio::time::timeout(FINAL_LOOK_LIMIT, sale.api.ticket(who, &sale.event, ticket));
    let Ok(Ok(reply)) = look.await else {
        sale.api
            .recorder()
            .error(who.actor, Endpoint::Ticket, "final look unanswered");
        return LastLook::Unknown;
    };
    match (
        reply.is_success(),
        reply.text("status"),
        reply.text("admission_token"),
    ) {
        (true, Some("admitted"), Some(token)) => LastLook::Admitted(
            admission_seen(sale, reply.text("admission_expires_at")),
            token.to_owned(),
        ),
        (true, Some("waiting"), _) => LastLook::Waiting(sale.clock.ms_at(reply.sent_at)),
        _ => LastLook::Unknown,
    }
}

/// What a checkout came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bought {
    /// How it ended.
    pub outcome: Outcome,
    /// Units reserved.
    pub reserved: u64,
    /// Units paid.
    pub paid: u64,
}

/// Reserves `quantity` of `sku` with an admission, then pays unless `pays` is false.
pub async fn buy(
    sale: &Sale,
    who: &Identity,
    admission_token: &str,
    sku: &str,
    quantity: u32,
    pays: bool,
    patience: Patience,
) -> Bought {
    let failed = |outcome| Bought {
        outcome,
        reserved: 0,
        paid: 0,
    };
    let Some(reserved) = retrying(sale, patience, || {
        sale.through_checkout(sale.checkout_api.checkout(
            who,
            &sale.event,
            admission_token,
            sku,
            quantity,
        ))
    })
    .await
    else {
        return failed(Outcome::Failed);
    };
    if !reserved.is_success() {
        return failed(match reserved.code() {
            "sold_out" => Outcome::SoldOutAtCheckout,
            _ => Outcome::CheckoutRefused,
        });
    }
    let units = u64::from(quantity);
    let Some(order) = reserved.text("order_id").map(str::to_owned) else {
        return failed(Outcome::Failed);
    };
    if !pays {
        return Bought {
            outcome: Outcome::ReservedUnpaid,
            reserved: units,
            paid: 0,
        };
    }
    let paid = retrying(sale, patience, || {
        sale.through_checkout(
            sale.checkout_api
                .pay(who, &sale.event, &order, admission_token),
        )
    })
    .await;
    match paid {
        Some(reply) if reply.is_success() => Bought {
            outcome: Outcome::Paid,
            reserved: units,
            paid: units,
        },
        _ => Bought {
            outcome: Outcome::ReservedUnpaid,
            reserved: units,
            paid: 0,
        },
    }
}

/// Sends a request until it gets an answer that is neither a back-off nor a 5xx, or gives up.
/// Unlike waiting, a checkout goes on after the sale sells out: that is when it matters most.
async fn retrying<F, Fut>(sale: &Sale, patience: Patience, mut send: F) -> Option<Reply>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Reply, crate::api::TransportError>>,
{
    let mut failures = 0;
    loop {
        let reply = send().await;
        let wait = patience.after(reply.as_ref().ok());
        match reply {
            Ok(reply) if is_back_off(reply.status) => {}
            Ok(reply) if reply.status < 500 => return Some(reply),
            _ => {
                failures += 1;
                if failures >= patience.max_failures {
                    return None;
                }
            }
        }
        if sale.is_stopping() {
            return None;
        }
        tokio::time::sleep(wait).await;
    }
}
