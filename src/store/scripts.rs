//! The Lua scripts of the Redis stores (the queue's and the rate limiter's), compiled into the
//! binary.
//!
//! Each script in `lua/` is one atomic step; the files of `lua/lib/` it needs (the clock, the
//! event's keys, settings, stock, status, presence, tickets, settling) are prepended at compile
//! time by [`lua!`], so every script is self-contained on the server. They run with EVALSHA; a
//! server that lost them (restart, `SCRIPT FLUSH`, a new cluster node) answers NOSCRIPT and the
//! script is loaded again on the spot by [`redis::Script::invoke_async`].

use redis::Script;

/// The files of `lua/` named (without `.lua`), joined in order into one script's source by the
/// loader the rate limiter's scripts use too.
macro_rules! lua {
    ($($part:literal),+ $(,)?) => {
        waitroom_ratelimit::lua_in!(concat!(env!("CARGO_MANIFEST_DIR"), "/lua"); $($part),+)
    };
}

/// An event script: the whole library, in the order its functions need each other, then the
/// files named.
macro_rules! event_script {
    ($($part:literal),+) => {
        lua!(
            "lib/time", "lib/keys", "lib/settings", "lib/stock", "lib/status", "lib/presence",
            "lib/tickets", "lib/settle", $($part),+
        )
    };
}

/// Every script, with its SHA-1 computed once.
pub(crate) struct Scripts {
    pub(crate) create_event: Script,
    pub(crate) update_event: Script,
    pub(crate) join: Script,
    pub(crate) ticket: Script,
    pub(crate) leave: Script,
    pub(crate) touch: Script,
    pub(crate) presence: Script,
    pub(crate) draw: Script,
    pub(crate) draw_members: Script,
    pub(crate) draw_tickets: Script,
    pub(crate) draw_place: Script,
    pub(crate) draw_page: Script,
    pub(crate) drain: Script,
    pub(crate) reserve: Script,
    pub(crate) pay: Script,
    pub(crate) stats: Script,
    pub(crate) order: Script,
    pub(crate) claim: Script,
    pub(crate) followed: Script,
    pub(crate) follow: Script,
    pub(crate) window_page: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Self {
            create_event: Script::new(event_script!("create_event")),
            update_event: Script::new(event_script!("update_event")),
            join: Script::new(event_script!("window", "join")),
            ticket: Script::new(event_script!("ticket")),
            leave: Script::new(event_script!("leave")),
            touch: Script::new(event_script!("touch")),
            presence: Script::new(event_script!("presence")),
            draw: Script::new(event_script!("draw")),
            draw_members: Script::new(event_script!("draw_members")),
            draw_tickets: Script::new(event_script!("draw_tickets")),
            draw_place: Script::new(event_script!("draw_place")),
            draw_page: Script::new(event_script!("draw_page")),
            drain: Script::new(event_script!("window", "drain")),
            reserve: Script::new(event_script!("reserve")),
            pay: Script::new(event_script!("pay")),
            stats: Script::new(event_script!("stats")),
            order: Script::new(event_script!("order")),
            claim: Script::new(event_script!("claim")),
            followed: Script::new(event_script!("followed")),
            follow: Script::new(event_script!("follow")),
            // Touches one key it is given, so it needs nothing from the library.
            window_page: Script::new(lua!("window_page")),
        }
    }

    /// Each script's SHA-1 (hex) and name, for reading Redis' slow log and latency reports.
    pub(crate) fn names(&self) -> Vec<(String, &'static str)> {
        let all = [
            (&self.create_event, "create_event"),
            (&self.update_event, "update_event"),
            (&self.join, "join"),
            (&self.ticket, "ticket"),
            (&self.leave, "leave"),
            (&self.touch, "touch"),
            (&self.presence, "presence"),
            (&self.draw, "draw"),
            (&self.draw_members, "draw_members"),
            (&self.draw_tickets, "draw_tickets"),
            (&self.draw_place, "draw_place"),
            (&self.draw_page, "draw_page"),
            (&self.drain, "drain"),
            (&self.reserve, "reserve"),
            (&self.pay, "pay"),
            (&self.stats, "stats"),
            (&self.order, "order"),
            (&self.claim, "claim"),
            (&self.followed, "followed"),
            (&self.follow, "follow"),
            (&self.window_page, "window_page"),
        ];
        all.into_iter()
            .map(|(script, name)| (script.get_hash().to_owned(), name))
            .collect()
    }
}
