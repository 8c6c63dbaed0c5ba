//! The sources of the Lua scripts run in Redis, joined at compile time from the files of the
//! workspace's `lua/` folder: the limiter's scripts and the queue's are put together the same way,
//! so a library file such as `lua/lib/time.lua` (the injected clock of `ARGV[1]`, else the
//! server's `TIME`) is written once for every script.

/// The files named (without `.lua`) in the folder `dir`, joined in order into one script's
/// source. `dir` is a path expression such as `concat!(env!("CARGO_MANIFEST_DIR"), "/../../lua")`:
/// `include_str!` reads files relative to the crate that uses the macro, so each crate says where
/// the folder is from itself.
#[macro_export]
macro_rules! lua_in {
    ($dir:expr; $($part:literal),+ $(,)?) => {
        concat!($(include_str!(concat!($dir, "/", $part, ".lua")), "\n"),+)
    };
}

/// The files of `lua/` named, joined into one script's source (see [`lua_in!`]).
macro_rules! lua {
    ($($part:literal),+ $(,)?) => {
        $crate::lua_in!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../lua"); $($part),+)
    };
}
pub(crate) use lua;
