//! The Lua scripts of the Redis store, compiled into the binary.
//!
//! Each script in `lua/` is one atomic step of the engine; `lua/lib.lua` (keys, time, status,
//! ticket records, settling expiries, the draw, the caps) is prepended to each at compile time, so
//! every script is self-contained on the server. They run with EVALSHA; a server that lost them
//! (restart, `SCRIPT FLUSH`, a new cluster node) answers NOSCRIPT and the script is loaded again
//! on the spot by [`redis::Script::invoke_async`].

use redis::Script;

/// `lua/lib.lua` followed by `lua/<name>.lua`.
macro_rules! lua {
    ($name:literal) => {
        concat!(
            include_str!("../../lua/lib.lua"),
            "\n",
            include_str!(concat!("../../lua/", $name, ".lua"))
        )
    };
}

/// `lua/lib.lua`, then `lua/window.lua` (arrival windows), then `lua/<name>.lua`.
macro_rules! lua_with_windows {
    ($name:literal) => {
        concat!(
            include_str!("../../lua/lib.lua"),
            "\n",
            include_str!("../../lua/window.lua"),
            "\n",
            include_str!(concat!("../../lua/", $name, ".lua"))
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
            create_event: Script::new(lua!("create_event")),
            update_event: Script::new(lua!("update_event")),
            join: Script::new(lua_with_windows!("join")),
            ticket: Script::new(lua!("ticket")),
            leave: Script::new(lua!("leave")),
            touch: Script::new(lua!("touch")),
            presence: Script::new(lua!("presence")),
            draw: Script::new(lua!("draw")),
            draw_members: Script::new(lua!("draw_members")),
            draw_tickets: Script::new(lua!("draw_tickets")),
            draw_place: Script::new(lua!("draw_place")),
            draw_page: Script::new(lua!("draw_page")),
            drain: Script::new(lua_with_windows!("drain")),
            reserve: Script::new(lua!("reserve")),
            pay: Script::new(lua!("pay")),
            stats: Script::new(lua!("stats")),
            order: Script::new(lua!("order")),
            claim: Script::new(lua!("claim")),
            followed: Script::new(lua!("followed")),
            follow: Script::new(lua!("follow")),
            // Touches one key it is given, so it needs nothing from lib.lua.
            window_page: Script::new(include_str!("../../lua/window_page.lua")),
        }
    }
}
