//! Every end-to-end test runs twice: on the memory store and on a private Redis.
//!
//! [`on_both_stores!`] turns each `async fn` into `memory::name` and `redis::name`; the test
//! selects its store for [`spawn_app`](crate::test_app::spawn_app) through a thread-local (a
//! `#[tokio::test]` runs on its own current-thread runtime, on the test's thread).

use std::cell::Cell;

/// The store the test apps of this thread use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Redis,
}

thread_local! {
    static BACKEND: Cell<Backend> = const { Cell::new(Backend::Memory) };
}

impl Backend {
    /// Makes this the store of the apps this test spawns.
    pub fn select(self) {
        BACKEND.with(|backend| backend.set(self));
    }

    /// The store selected for this test.
    pub fn selected() -> Backend {
        BACKEND.with(Cell::get)
    }
}

/// Defines each test twice, in modules `memory` and `redis`.
#[macro_export]
macro_rules! on_both_stores {
    ($( async fn $name:ident() $body:block )*) => {
        mod memory {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    $crate::stores::Backend::Memory.select();
                    $body
                }
            )*
        }
        mod redis {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    $crate::stores::Backend::Redis.select();
                    $body
                }
            )*
        }
    };
}
