//! Tests that run twice: on the memory store and on a private Redis.
//!
//! [`on_both_stores!`](crate::on_both_stores) defines each test once in a module `memory` and
//! once in a module `redis`, from either of two forms:
//!
//! * scenarios written as `async fn name(backend: Backend)` beside the macro and listed in it
//!   by name, each optionally after the test attribute to run it with (`#[tokio::test]` when
//!   none is given): each test calls its scenario with its store;
//! * test bodies written inside the macro as `async fn name() { ... }`: each test selects its
//!   store for the test's thread before the body, and helpers read it with
//!   [`Backend::selected`] (a `#[tokio::test]` runs on its own current-thread runtime, on the
//!   test's thread).
//!
//! A test binary invokes the macro once per module, since each invocation defines `memory` and
//! `redis` there.

use std::cell::Cell;

/// Where the code under test keeps its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Redis,
}

thread_local! {
    static SELECTED: Cell<Backend> = const { Cell::new(Backend::Memory) };
}

impl Backend {
    /// Makes this the store of what this test's thread sets up from now on.
    pub fn select(self) {
        SELECTED.with(|selected| selected.set(self));
    }

    /// The store selected for this test's thread (the memory store unless one was).
    pub fn selected() -> Backend {
        SELECTED.with(Cell::get)
    }

    /// The store's name, `memory` or `redis`, for ids that say which store made them.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::Redis => "redis",
        }
    }
}

/// Defines each test twice, in modules `memory` and `redis` (the forms are in the module doc).
#[macro_export]
macro_rules! on_both_stores {
    // Test bodies, run after selecting the store for the test's thread.
    ($( async fn $name:ident() $body:block )*) => {
        mod memory {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    $crate::support::stores::Backend::Memory.select();
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
                    $crate::support::stores::Backend::Redis.select();
                    $body
                }
            )*
        }
    };
    // Scenarios taking the store, each after the test attribute to run it with.
    ($( #[$test:meta] $scenario:ident ),+ $(,)?) => {
        mod memory {
            $(
                #[$test]
                async fn $scenario() {
                    super::$scenario($crate::support::stores::Backend::Memory).await;
                }
            )+
        }
        mod redis {
            $(
                #[$test]
                async fn $scenario() {
                    super::$scenario($crate::support::stores::Backend::Redis).await;
                }
            )+
        }
    };
    // Scenarios taking the store, each run with `#[tokio::test]`.
    ($( $scenario:ident ),+ $(,)?) => {
        $crate::on_both_stores!($( #[tokio::test] $scenario ),+);
    };
}
