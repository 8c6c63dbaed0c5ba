//! The store conformance suite: the same scenarios and properties against every queue store.
//!
//! Each scenario is an `async fn(h: &Harness)` in the module of its area; each property is a
//! check over random sales in [`properties`]. The [`stores!`] list at the bottom instantiates
//! every scenario as a `#[tokio::test]` and every property as a `#[test]` once per store, in a
//! module named after the store (`memory::queue::a_second_join_returns_the_same_ticket`), so a
//! store cannot drift from the others without a test naming where. A scenario that is written
//! but not listed fails the build as dead code; a listed one that does not exist fails it too.
//!
//! # What the scenarios pin beyond the store's module doc
//!
//! Where `waitroom::store`'s semantics leave a choice, the suite makes it, so every store makes
//! the same one:
//!
//! * Boundaries: an admission or a reservation has run out when `now >= its end`; a shopper is
//!   abandoned when unseen for `abandon_after_seconds` or more, and `0` turns abandonment off.
//! * Abandonment is judged only for head shoppers a drain reaches with credit and room, so a
//!   paused, sold-out or closed event drops nobody.
//! * A join by an identity holding a waiting or admitted ticket answers that ticket even when
//!   the event no longer accepts joins.
//! * A ticket's `score` and `position` are `None` unless it is waiting after the draw.
//! * A safety-net admission at join takes the next score and moves the serving number to it, is
//!   counted in `admitted`, and is not charged to the bucket; it needs the event `open`.
//! * `reserve` first looks for the order already made with the admission (replayed with the same
//!   idempotency key, even after the admission ran out; `AdmissionUsed` otherwise), then checks
//!   the admission, then the SKUs (every unknown SKU before any stock), then the stock.
//! * Leaving answers `None` for a ticket that is not the identity's current one, and a ticket
//!   already left or expired as it stands (unchanged, not counted again).
//! * `stats` lists every offered SKU in `sold` and `reserved`, with zeros, and settles expiries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod admissions;
mod checkout_rules;
mod claims;
mod drain;
mod draw;
mod events;
mod factories;
mod followed_outflow;
mod harness;
mod inventory;
mod presence;
mod properties;
mod published_draw;
mod queue;
mod random_sale;
mod stock_changes;
mod windows;

/// Calls `$callback!($factory; <every scenario, by area>)`. Add a scenario here when you write
/// one.
macro_rules! with_every_scenario {
    ($callback:ident!($factory:path)) => {
        $callback!($factory;
            events {
                creating_an_event_stores_its_settings,
                creating_an_event_twice_keeps_the_first,
                event_ids_are_listed_sorted,
                updating_an_event_replaces_its_settings,
                updating_an_unknown_event_changes_nothing,
                an_unknown_event_answers_nothing_everywhere,
                an_event_that_is_not_closed_cannot_be_removed,
                removing_a_closed_event_leaves_nothing_of_it_and_nothing_else_moves,
                a_removed_events_id_starts_afresh,
                the_store_answers_pings_and_tells_its_time,
                a_scheduled_event_refuses_joins_until_the_prequeue_opens,
                the_event_moves_from_prequeue_to_open_at_its_start,
                pausing_stops_the_outflow_and_resuming_restarts_it,
                a_paused_event_earns_no_outflow_credit,
                closing_an_event_refuses_joins_and_admissions,
                closing_wins_over_every_other_status,
                an_event_sells_out_when_every_unit_is_reserved,
                a_returned_reservation_undoes_sold_out,
                the_activity_number_moves_with_joins_leaves_and_changes_only,
            }
            queue {
                a_join_before_the_start_waits_in_the_prequeue_without_a_position,
                a_second_join_returns_the_same_ticket,
                joins_after_the_start_take_the_next_scores_at_the_tail,
                a_ticket_read_gives_the_exact_position,
                the_broadcast_position_is_the_score_minus_the_serving_number,
                a_shopper_who_leaves_rejoins_at_the_tail_with_a_new_ticket,
                leaving_twice_answers_the_ticket_as_it_stands,
                leaving_with_another_ticket_id_changes_nothing,
                leaving_the_prequeue_takes_the_shopper_out_of_the_draw,
                an_identity_that_never_joined_has_no_ticket,
                the_queue_counts_joins_and_leaves,
                a_shopper_keeps_the_place_when_joins_close,
            }
            draw {
                the_draw_waits_for_the_start,
                the_draw_happens_exactly_once,
                an_empty_prequeue_draws_no_one,
                the_first_join_after_the_start_draws_the_prequeue_first,
                a_drain_after_the_start_draws_the_prequeue,
                a_ticket_read_after_the_start_draws_the_prequeue,
                the_drawn_order_is_the_admission_order,
            }
            published_draw {
                before_the_start_nothing_is_committed_or_published,
                the_published_draw_recomputes_from_public_data_alone,
                every_entrant_is_on_exactly_one_page,
                a_latecomer_is_not_an_entrant,
                a_cursor_that_names_no_entrant_is_refused,
                an_unknown_event_has_no_draw,
            }
            drain {
                nothing_is_admitted_before_the_start,
                the_first_drain_after_the_start_admits_a_burst,
                the_outflow_follows_the_rate_after_the_burst,
                a_long_idle_spell_earns_at_most_the_burst,
                many_drains_at_once_admit_what_one_would,
                the_drain_admits_from_the_head_in_queue_order,
                max_active_caps_the_admitted_shoppers,
                an_expired_admission_frees_its_place_under_the_cap,
                a_reservation_holds_its_place_until_paid,
                a_reservation_holds_its_place_until_it_runs_out,
                cap_follows_stock_admits_no_more_than_the_units_left,
                cap_follows_stock_counts_units_reserved_as_gone,
                a_shopper_not_seen_for_the_grace_period_is_abandoned,
                touching_keeps_a_waiting_shopper_in_place,
                reading_the_ticket_with_touch_keeps_a_shopper_in_place,
                reading_the_ticket_without_touch_is_not_being_seen,
                abandoned_shoppers_are_not_charged_to_the_bucket,
                the_drain_reports_the_queue_and_the_active_count,
                abandonment_can_be_turned_off,
                ten_a_second_with_a_burst_of_one_admits_ten_a_second_at_ticks_of_150_ms,
                one_drain_drops_a_bounded_number_of_departed_shoppers,
            }
            presence {
                a_head_shopper_held_by_a_live_instance_is_not_abandoned,
                held_shoppers_are_abandoned_a_grace_period_after_the_last_heartbeat,
                a_shopper_whose_socket_closed_and_who_does_not_poll_is_abandoned,
                a_closed_page_counts_as_seen_when_it_closed,
                polling_keeps_the_place_of_a_shopper_whose_instance_is_gone,
                a_page_reopened_on_another_instance_is_held_there,
                pages_open_through_an_outage_of_twice_the_grace_keep_their_places,
                a_page_closed_before_an_outage_is_freed_after_the_grace_of_ordinary_time,
                only_waiting_shoppers_are_held,
                a_report_on_an_unknown_event_changes_nothing,
                a_touch_of_nobody_waiting_leaves_the_presence_clock_alone,
            }
            admissions {
                an_admitted_ticket_carries_its_admission_times,
                a_join_while_admitted_returns_the_admission,
                an_expired_admission_is_replaced_by_a_new_ticket_at_the_tail,
                leaving_gives_up_an_admission_and_frees_the_cap,
                safety_net_admits_at_once_while_nobody_waits_and_under_the_cap,
                safety_net_queues_when_full_and_drains_as_places_free,
                safety_net_never_lets_a_newcomer_pass_the_queue,
                safety_net_without_a_cap_lets_everyone_through,
                safety_net_admits_nobody_at_once_while_paused,
                safety_net_follows_the_stock_when_asked,
            }
            inventory {
                reserving_takes_the_stock_and_consumes_the_admission,
                a_reservation_is_all_or_nothing,
                an_unknown_sku_is_refused_and_nothing_changes,
                an_unknown_sku_is_named_before_a_sold_out_one,
                a_retry_with_the_same_idempotency_key_gets_the_same_order,
                a_second_reservation_with_one_admission_is_refused,
                reserving_without_a_valid_admission_is_refused,
                an_expired_admission_cannot_reserve,
                a_given_up_admission_cannot_reserve,
                paying_sells_the_reserved_units,
                paying_twice_answers_already_paid,
                a_reservation_not_paid_in_time_returns_its_stock,
                paying_another_shoppers_order_is_not_found,
                an_order_is_read_by_its_id,
                inventory_updates_move_the_stock_left_by_the_change,
                a_replay_is_answered_even_after_the_admission_ran_out,
            }
            claims {
                a_claim_counts_new_holders_up_to_its_limit,
                a_claim_is_refused_at_its_end_and_forgotten_after,
                a_claim_on_an_unknown_event_is_no_event,
            }
            stock_changes {
                lowering_a_total_below_what_is_held_keeps_the_deficit,
                a_sku_removed_and_offered_again_keeps_what_it_sold,
            }
            checkout_rules {
                a_closed_event_reserves_nothing_but_earlier_reservations_may_pay,
                a_retry_without_a_key_gets_the_order_the_admission_made,
                an_order_over_the_per_order_limit_reserves_nothing,
                the_per_shopper_limit_counts_paid_and_held_orders_until_they_run_out,
                changes_made_from_the_same_read_both_stick,
                cap_follows_stock_keeps_the_purchase_limit_for_each_admitted_shopper,
            }
            followed_outflow {
                the_drain_admits_at_the_followed_rate,
                a_followed_rate_above_the_set_rate_admits_at_the_set_rate,
                the_followed_outflow_changes_only_from_the_state_the_caller_read,
            }
            windows {
                arrivals_in_the_opening_window_follow_the_published_seed,
                arrivals_after_the_window_queue_behind_every_window_entrant,
                a_later_window_queues_behind_an_earlier_one,
                with_windows_off_joins_stay_first_in_first_out,
                bots_first_through_the_door_gain_no_share_of_admissions,
                nobody_in_a_window_goes_through_before_it_closes,
                a_window_keeps_every_entrant_in_slot_order_after_they_leave_or_are_let_through,
            }
        );
    };
}

/// Instantiates each scenario of each area as a `#[tokio::test]` against `$factory`.
macro_rules! scenario_tests {
    ($factory:path; $($area:ident { $($scenario:ident),* $(,)? })*) => {
        $(
            mod $area {
                $(
                    #[tokio::test]
                    async fn $scenario() {
                        let harness = $factory().await;
                        crate::$area::$scenario(&harness).await;
                    }
                )*
            }
        )*
    };
}

/// Instantiates each property as a `#[test]` against `$factory`.
macro_rules! property_tests {
    ($factory:path; $($property:ident),* $(,)?) => {
        mod properties {
            $(
                #[test]
                fn $property() {
                    crate::random_sale::check(|| $factory(), crate::properties::$property);
                }
            )*
        }
    };
}

/// One module of tests per store: `name => factory` (an `async fn() -> Harness`).
macro_rules! stores {
    ($($store:ident => $factory:path),* $(,)?) => {
        $(
            mod $store {
                with_every_scenario!(scenario_tests!($factory));
                #[test]
                fn inventory_changes_never_oversell() {
                    crate::stock_changes::inventory_changes_never_oversell($factory);
                }
                property_tests!($factory;
                    random_sales_never_oversell,
                    random_sales_never_admit_beyond_the_rate_or_the_cap,
                    random_sales_admit_at_least_the_rate_while_shoppers_wait,
                    random_sales_admit_and_seat_nobody_once_closed,
                    random_sales_drop_nobody_seen_within_the_grace_period,
                    random_sales_admit_latecomers_in_join_order,
                    random_sales_never_move_the_serving_number_back,
                    random_sales_keep_one_place_per_identity,
                );
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------------
// THE STORES UNDER TEST. To run the whole suite against another store, add one line:
//     redis => crate::factories::redis,
// (see `factories.rs`).
// ---------------------------------------------------------------------------------------------
stores! {
    memory => crate::factories::memory,
    redis => crate::factories::redis,
}
