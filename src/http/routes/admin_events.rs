//! Operators' event endpoints: create, list, detail with live stats, and live changes.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::admin::event_bodies::{CreateEventBody, PatchEventBody};
use crate::admission::checkout_health::HealthReading;
use crate::clock::{UnixMillis, to_rfc3339};
use crate::domain::{
    CheckoutTarget, EventChange, EventConfig, EventId, EventStats, EventStatus, Mode,
    OperatorStatus, PageBranding, UnitLimit, event_status,
};
use crate::error::ApiError;
use crate::http::json::ValidJson;
use crate::http::paths::EventPath;
use crate::http::state::AppState;
use crate::queue::backoff::effective_per_second;
use crate::store::Removal;

/// An event as operators see it: its settings, its live status and its figures.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AdminEvent)]
pub struct AdminEventView {
    pub id: String,
    pub name: String,
    pub status: EventStatus,
    /// What the operator has set on top of the clock: `auto`, `paused` or `closed`.
    pub operator_status: OperatorStatus,
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub prequeue_opens_at: Option<String>,
    pub outflow_per_second: f64,
    pub outflow_burst: u32,
    pub max_active: Option<u32>,
    pub cap_follows_stock: bool,
    pub admission_ttl_seconds: u32,
    pub reservation_ttl_seconds: u32,
    pub allow_anonymous: bool,
    /// Total units per SKU.
    pub inventory: BTreeMap<String, u64>,
    pub mode: Mode,
    pub abandon_after_seconds: u32,
    /// Leading zero bits the event's own proof of work asks (0: off); the surge may add more.
    pub proof_difficulty: u8,
    /// Joins need an invitation.
    pub invitation_only: bool,
    /// Seconds after the start whose arrivals are ordered by a seeded hash (0: off).
    pub opening_window_seconds: u32,
    /// Every later window's length in seconds (0: off).
    pub arrival_window_seconds: u32,
    /// SHA-256 of the secret the window seeds come from (empty while windows are off).
    pub window_seed_hash: String,
    /// Most units one order may take (`null` parts: no limit).
    pub max_units_per_order: UnitLimit,
    /// Most units one shopper may have in paid and unpaid orders (`null` parts: no limit).
    pub max_units_per_shopper: UnitLimit,
    /// The page branding as set (`null`: the plain look).
    pub page: Option<PageBranding>,
    /// The checkout's health the outflow follows (`null`: off).
    pub checkout_target: Option<CheckoutTarget>,
    /// The outflow in force, shoppers per second: `outflow_per_second`, or lower while it
    /// follows an unhealthy checkout.
    pub outflow_effective_per_second: f64,
    /// The checkout's latest health as this instance judges it (`null`: no figures yet).
    pub checkout_health: Option<HealthReading>,
    /// Hex SHA-256 of the draw's seed.
    pub seed_hash: String,
    /// The seed, once the draw is done (secret until then, from operators too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Seconds a closed event is kept before it is removed (`null`: until an operator removes
    /// it).
    pub retention_seconds: Option<u32>,
    /// When the operator closed the event (`null` while it is not closed).
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    /// When the event will be removed (`null`: not scheduled).
    #[schema(format = DateTime)]
    pub removed_at: Option<String>,
    /// The counters and stock of the event.
    pub stats: EventStats,
    pub outflow: OutflowView,
    /// Joins per second over the last seconds (`null` until measured).
    pub joins_per_second: Option<f64>,
    /// The highest place admitted so far.
    pub serving: u64,
    pub checkout: CheckoutCounts,
}

/// The outflow as set and as measured.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Outflow)]
pub struct OutflowView {
    pub set_per_second: f64,
    /// Admissions per second measured over the last seconds (`null` until measured).
    pub actual_per_second: Option<f64>,
}

/// Checkout outcomes so far.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutCounts {
    /// Orders reserved (ever).
    pub reserved: u64,
    /// Orders paid (ever).
    pub paid: u64,
    /// Reservations that ran out unpaid (ever).
    pub expired: u64,
}

/// The answer listing events.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminEventList {
    pub events: Vec<AdminEventView>,
}

/// `POST /v1/admin/events`: `201` with the event, `409 event_exists` if the id is taken.
#[utoipa::path(post, path = "/v1/admin/events", tag = "operators", summary = "Create an event",
    request_body = CreateEventBody,
    security(("adminToken" = [])),
    responses(
        (status = 201, description = "created", body = AdminEventView, links(
            ("ReadEvent" = (operation_id = "detail", parameters(("event" = "$response.body#/id")))),
            ("ChangeEvent" = (operation_id = "change", parameters(("event" = "$response.body#/id")))),
            ("PublicEvent" = (operation_id = "public_state", parameters(("event" = "$response.body#/id")))),
        )),
        (status = 400, description = "malformed JSON"),
        (status = 409, description = "event_exists"),
        (status = 422, description = "validation_failed"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    ValidJson(body): ValidJson<CreateEventBody>,
) -> Result<(StatusCode, Json<AdminEventView>), ApiError> {
    let config = body.into_config(state.now())?;
    if !state.store.create_event(&config).await? {
        return Err(
            ApiError::new(StatusCode::CONFLICT, "event_exists", "The event exists").detail(
                format!(
                    "an event {} exists already (or is being removed)",
                    config.id
                ),
            ),
        );
    }
    tracing::info!(event = %config.id, "event created");
    // This instance starts the outflow at once; others find the event at their next discovery.
    state.outflow.ensure_running(&config.id);
    Ok((
        StatusCode::CREATED,
        Json(detail_view(&state, &config.id).await?),
    ))
}

/// `GET /v1/admin/events`: every event with its live stats.
#[utoipa::path(get, path = "/v1/admin/events", tag = "operators",
    summary = "Every event with live stats",
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "the events", body = AdminEventList),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn list(State(state): State<AppState>) -> Result<Json<AdminEventList>, ApiError> {
    let mut events = Vec::new();
    for id in state.store.event_ids().await? {
        // An event deleted between the two reads is simply not listed.
        if let Ok(view) = detail_view(&state, &id).await {
            events.push(view);
        }
    }
    Ok(Json(AdminEventList { events }))
}

/// `GET /v1/admin/events/{event}`.
#[utoipa::path(get, path = "/v1/admin/events/{event}", tag = "operators",
    summary = "An event with live stats: queue length, joins, admissions, active, sold per SKU, outflow set and actual",
    params(EventPath),
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "the event", body = AdminEventView),
        (status = 404, description = "no such event"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn detail(
    State(state): State<AppState>,
    EventPath(event): EventPath,
) -> Result<Json<AdminEventView>, ApiError> {
    Ok(Json(detail_view(&state, &event).await?))
}

/// `PATCH /v1/admin/events/{event}`: any setting, live; `{"status":"paused"}` and `"open"`
/// stop and resume the outflow, `"closed"` ends the event.
#[utoipa::path(patch, path = "/v1/admin/events/{event}", tag = "operators",
    summary = "Change any setting live; status paused/open/closed pauses, resumes or ends the event",
    params(EventPath),
    request_body = PatchEventBody,
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "the changed event", body = AdminEventView),
        (status = 400, description = "malformed JSON"),
        (status = 404, description = "no such event"),
        (status = 422, description = "validation_failed"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn change(
    State(state): State<AppState>,
    EventPath(event): EventPath,
    ValidJson(body): ValidJson<PatchEventBody>,
) -> Result<Json<AdminEventView>, ApiError> {
    let current = state
        .store
        .event(&event)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no event {event}")))?;
    // The body is checked against the settings as read; the store then writes only the
    // settings it changes, so a change made meanwhile through another instance stays.
    let mut changed = body.apply(current.clone())?;
    changed.retention = changed.retention.after_change(
        current.operator_status,
        changed.operator_status,
        state.now(),
    );
    if let Some(field) = current.fixed_window_setting(&changed, state.now()) {
        return Err(ApiError::invalid_field(
            field,
            "fixed once the sale has started: arrivals are already placed by the arrival windows \
             and closed windows' seeds may be public",
        ));
    }
    let change = EventChange::between(&current, &changed).map_err(ApiError::internal)?;
    if !change.is_empty() {
        let updated = state.store.change_event(&event, &change).await;
        state.event_settings.forget(&event);
        state.public_snapshots.forget(&event);
        let Some(updated) = updated? else {
            return Err(ApiError::not_found(format!("no event {event}")));
        };
        // The sockets here are told the status the change makes before this answers (the
        // ticker's drain that follows confirms it), so a page opened right after a pause is
        // never told the status before.
        let status = state
            .store
            .stats(&event)
            .await?
            .map(|stats| event_status(&updated, stats.units_left(), state.now()));
        state.outflow.changed(&event, status);
        if current.checkout_target.is_some() && changed.checkout_target.is_none() {
            // Back to the set rate now rather than at the follower's next look at events
            // without a target (it looks at them rarely: they cost nothing while idle).
            if let Err(error) = state.outflow_follower.follow(&event).await {
                tracing::warn!(%error, %event, "the outflow stays as followed until the next look");
            }
        }
    }
    tracing::info!(%event, "event changed");
    Ok(Json(detail_view(&state, &event).await?))
}

/// `DELETE /v1/admin/events/{event}`: removes a closed event and everything kept for it.
#[utoipa::path(delete, path = "/v1/admin/events/{event}", tag = "operators",
    summary = "Remove a closed event and all it keeps (line, tickets, admissions, orders, stock); its id may be used again",
    description = "Only an event its operator has closed (`PATCH` with `{\"status\":\"closed\"}`) can be removed, so a live sale is never removed by a slip. Its orders go with it: read them first if the shop keeps no copy.",
    params(EventPath),
    security(("adminToken" = [])),
    responses(
        (status = 204, description = "removed"),
        (status = 404, description = "no such event"),
        (status = 409, description = "event_not_closed: close it first"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    EventPath(event): EventPath,
) -> Result<StatusCode, ApiError> {
    let removal = state.store.remove_event(&event).await;
    state.event_settings.forget(&event);
    state.public_snapshots.forget(&event);
    match removal? {
        Removal::Removed | Removal::Finished => {
            tracing::info!(%event, "event removed");
            Ok(StatusCode::NO_CONTENT)
        }
        Removal::NoEvent => Err(ApiError::not_found(format!("no event {event}"))),
        Removal::NotClosed => Err(ApiError::new(
            StatusCode::CONFLICT,
            "event_not_closed",
            "The event is not closed",
        )
        .detail(format!(
            "only a closed event can be removed: close {event} first with PATCH {{\"status\":\"closed\"}}"
        ))),
    }
}

async fn detail_view(state: &AppState, event: &EventId) -> Result<AdminEventView, ApiError> {
    let no_event = || ApiError::not_found(format!("no event {event}"));
    let config = state.store.event(event).await?.ok_or_else(no_event)?;
    let stats = state.store.stats(event).await?.ok_or_else(no_event)?;
    let now = state.now();
    // Rates over the last seconds come from the live statistics' poll: one measure of the
    // outflow achieved, the same the gauges and the dashboard show.
    let live = state.live_stats.event(event);
    let actual = live
        .as_ref()
        .and_then(|live| live.outflow_actual_per_second);
    let joins_per_second = live.and_then(|live| live.joins_per_second);
    let followed = state.store.followed_outflow(event).await?;
    let mut view = admin_view(&config, stats, now, actual, joins_per_second);
    view.outflow_effective_per_second = effective_per_second(&config, followed);
    view.checkout_health = state.checkout_health.reading(event, now);
    Ok(view)
}

fn admin_view(
    config: &EventConfig,
    stats: EventStats,
    now: UnixMillis,
    actual_outflow: Option<f64>,
    joins_per_second: Option<f64>,
) -> AdminEventView {
    AdminEventView {
        id: config.id.as_str().to_owned(),
        name: config.name.clone(),
        status: event_status(config, stats.units_left(), now),
        operator_status: config.operator_status,
        starts_at: to_rfc3339(config.starts_at),
        prequeue_opens_at: config.prequeue_opens_at.map(to_rfc3339),
        outflow_per_second: config.outflow_per_second(),
        outflow_burst: config.outflow_burst,
        max_active: config.max_active,
        cap_follows_stock: config.cap_follows_stock,
        admission_ttl_seconds: config.admission_ttl_seconds,
        reservation_ttl_seconds: config.reservation_ttl_seconds,
        allow_anonymous: config.allow_anonymous,
        inventory: config
            .inventory
            .iter()
            .map(|(sku, units)| (sku.as_str().to_owned(), *units))
            .collect(),
        mode: config.mode,
        abandon_after_seconds: config.abandon_after_seconds,
        proof_difficulty: config.defences.proof_difficulty,
        invitation_only: config.defences.invitation_only,
        opening_window_seconds: config.arrival_windows.opening_seconds,
        arrival_window_seconds: config.arrival_windows.every_seconds,
        window_seed_hash: config.arrival_windows.seed_hash.clone(),
        max_units_per_order: config.max_units_per_order,
        max_units_per_shopper: config.max_units_per_shopper,
        page: config.page.clone(),
        checkout_target: config.checkout_target,
        outflow_effective_per_second: config.outflow_per_second(),
        checkout_health: None,
        seed_hash: config.seed_hash.clone(),
        // The seed stays secret until the draw, from operators' dashboards too.
        seed: stats.drawn.then(|| config.seed.clone()),
        created_at: to_rfc3339(config.created_at),
        retention_seconds: config.retention.after_closed_seconds,
        closed_at: config.retention.closed_at.map(to_rfc3339),
        removed_at: config
            .retention
            .removal_due(config.operator_status)
            .map(to_rfc3339),
        outflow: OutflowView {
            set_per_second: config.outflow_per_second(),
            actual_per_second: actual_outflow,
        },
        joins_per_second,
        serving: stats.serving,
        checkout: CheckoutCounts {
            reserved: stats.orders_reserved,
            paid: stats.orders_paid,
            expired: stats.orders_expired,
        },
        stats,
    }
}
