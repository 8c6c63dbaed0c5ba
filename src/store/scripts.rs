//! The Lua scripts of the Redis stores (the queue's and the rate limiter's), compiled into the
//! binary.
//!
//! Each script in `lua/` is one atomic step; the files of `lua/lib/` it needs (the clock, the
//! event's keys, settings, stock, status, presence, tickets, settling) are prepended at compile
//! time by [`lua!`], so every script is self-contained on the server. They run with EVALSHA; a
//! server that lost them (restart, `SCRIPT FLUSH`, a new cluster node) answers NOSCRIPT and the
//! script is loaded again on the spot by [`redis::Script::invoke_async`].
//!
//! Each event script is listed with the event's fixed keys it touches, which the store declares
//! in `KEYS` before the keys that depend on the call (see `src/store/redis/keys.rs`).

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

/// An event script and the names of the event's fixed keys it touches (as `lua/lib/keys.lua`
/// names them).
pub(crate) struct EventScript {
    pub(crate) script: Script,
    pub(crate) keys: &'static [&'static str],
}

impl EventScript {
    fn new(source: &str, keys: &'static [&'static str]) -> Self {
        Self {
            script: Script::new(source),
            keys,
        }
    }
}

/// The keys every script that settles ended admissions and reservations touches (see
/// `lua/lib/settle.lua`): the settings, the state, the admissions and reservations, the orders,
/// the stock and its counts, the shoppers' holdings.
macro_rules! settling {
    ($($more:literal),*) => {
        &["cfg", "cf", "st", "adm", "resv", "ord", "held", "sold", "shp", "stock", "inv" $(, $more)*]
    };
}

/// Every script, with its SHA-1 computed once.
pub(crate) struct Scripts {
    pub(crate) create_event: EventScript,
    pub(crate) update_event: EventScript,
    pub(crate) remove_event: EventScript,
    pub(crate) join: EventScript,
    pub(crate) ticket: EventScript,
    pub(crate) leave: EventScript,
    pub(crate) touch: EventScript,
    pub(crate) presence: EventScript,
    pub(crate) draw: EventScript,
    pub(crate) draw_members: EventScript,
    pub(crate) draw_tickets: EventScript,
    pub(crate) draw_place: EventScript,
    pub(crate) draw_page: EventScript,
    pub(crate) drain: EventScript,
    pub(crate) reserve: EventScript,
    pub(crate) pay: EventScript,
    pub(crate) stats: EventScript,
    pub(crate) order: EventScript,
    pub(crate) claim: EventScript,
    pub(crate) followed: EventScript,
    pub(crate) follow: EventScript,
    pub(crate) window_page: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Self {
            create_event: EventScript::new(
                event_script!("create_event"),
                &[
                    "cfg", "cfgf", "cf", "inv", "stock", "sold", "held", "st", "rm",
                ],
            ),
            remove_event: EventScript::new(
                event_script!("remove_event"),
                &["cfg", "cfgf", "cf", "rm", "win"],
            ),
            update_event: EventScript::new(
                event_script!("update_event"),
                &["cfg", "cfgf", "cf", "inv", "stock", "sold", "held"],
            ),
            join: EventScript::new(event_script!("window", "join"), settling!("q")),
            ticket: EventScript::new(event_script!("ticket"), settling!("q")),
            leave: EventScript::new(event_script!("leave"), settling!("q")),
            touch: EventScript::new(event_script!("touch"), &["cfg", "st"]),
            presence: EventScript::new(event_script!("presence"), &["cf", "st"]),
            draw: EventScript::new(event_script!("draw"), &["cf", "st"]),
            draw_members: EventScript::new(event_script!("draw_members"), &["cf", "st", "q"]),
            draw_tickets: EventScript::new(event_script!("draw_tickets"), &["cfg"]),
            draw_place: EventScript::new(event_script!("draw_place"), &["cfg", "st", "q", "dord"]),
            draw_page: EventScript::new(event_script!("draw_page"), &["cf", "st", "dord"]),
            drain: EventScript::new(event_script!("window", "drain"), settling!("q")),
            reserve: EventScript::new(event_script!("reserve"), settling!("ordt")),
            pay: EventScript::new(event_script!("pay"), settling!()),
            stats: EventScript::new(event_script!("stats"), settling!("q")),
            order: EventScript::new(event_script!("order"), settling!()),
            claim: EventScript::new(event_script!("claim"), &["cfg"]),
            followed: EventScript::new(event_script!("followed"), &["cfg", "st"]),
            follow: EventScript::new(event_script!("follow"), &["cfg", "st"]),
            // Touches one key it is given, so it needs nothing from the library.
            window_page: Script::new(lua!("window_page")),
        }
    }

    /// Each script's SHA-1 (hex) and name, for reading Redis' slow log and latency reports.
    pub(crate) fn names(&self) -> Vec<(String, &'static str)> {
        let all = [
            (&self.create_event, "create_event"),
            (&self.update_event, "update_event"),
            (&self.remove_event, "remove_event"),
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
        ];
        all.into_iter()
            .map(|(script, name)| (script.script.get_hash().to_owned(), name))
            .chain([(self.window_page.get_hash().to_owned(), "window_page")])
            .collect()
    }
}
