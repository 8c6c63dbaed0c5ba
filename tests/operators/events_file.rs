//! Events kept in a watched file: applied at start and on every save, without a restart; a file
//! with mistakes is refused whole and the events in force stay.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use waitroom::admin::events_file::{EventsFileCount, read_events_file};
use waitroom::app::{App, StartError, build_with_clock, run};
use waitroom::clock::SystemClock;
use waitroom::config::Settings;
use waitroom::domain::{EventConfig, EventId};
use waitroom::http::AppState;

const SALE: &str = r#"
[[events]]
id = "filed-sale"
name = "Filed sale"
starts_at = "2030-01-01T10:00:00Z"
outflow_per_second = 5
inventory = { TSHIRT = 100 }
"#;

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("waitroom-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running app following `events_file`, and what its watcher has done so far.
struct Started {
    state: AppState,
    count: watch::Receiver<EventsFileCount>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(events_file: &Path) -> Result<Started, StartError> {
    let settings = Settings {
        admin_token: Some("test-admin".into()),
        events_file: Some(events_file.to_owned()),
        ..Settings::default()
    };
    let app: App = build_with_clock(settings, Arc::new(SystemClock)).await?;
    let state = app.state.clone();
    let count = app.events_file_count().expect("an events file is followed");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(run(app, listener, async move {
        let _ = stopped.await;
    }));
    Ok(Started {
        state,
        count,
        _stop: stop,
    })
}

/// Waits (up to five seconds) until the watcher has handled a save that satisfies `done`; the
/// count then.
async fn handled(
    count: &mut watch::Receiver<EventsFileCount>,
    done: impl FnMut(&EventsFileCount) -> bool,
) -> EventsFileCount {
    tokio::time::timeout(Duration::from_secs(5), count.wait_for(done))
        .await
        .expect("the watcher handled the save within five seconds")
        .expect("the watcher is running")
        .clone()
}

async fn filed_sale(state: &AppState) -> EventConfig {
    state
        .store
        .event(&EventId::parse("filed-sale").unwrap())
        .await
        .unwrap()
        .expect("the filed sale exists")
}

#[tokio::test]
async fn a_saved_change_applies_without_a_restart_and_a_bad_save_changes_nothing() {
    let dir = scratch("events-live");
    let file = dir.join("events.toml");
    std::fs::write(&file, SALE).unwrap();
    // Held to the end: dropping it stops the server and its watcher.
    let Started {
        state,
        mut count,
        _stop: _running,
    } = start(&file).await.unwrap();
    let created = filed_sale(&state).await;
    assert_eq!(created.outflow_milli_per_second, 5_000, "created at start");
    assert_eq!(*count.borrow(), EventsFileCount::default());

    std::fs::write(
        &file,
        SALE.replace("outflow_per_second = 5", "outflow_per_second = 12"),
    )
    .unwrap();
    let after_good = handled(&mut count, |c| c.applied >= 1).await;
    assert_eq!(after_good.refused, 0);
    assert_eq!(
        filed_sale(&state).await.outflow_milli_per_second,
        12_000,
        "the save applied"
    );

    std::fs::write(
        &file,
        SALE.replace("outflow_per_second = 5", "outflow_per_second = 0"),
    )
    .unwrap();
    let after_bad = handled(&mut count, |c| c.refused >= 1).await;
    assert_eq!(
        after_bad.applied, after_good.applied,
        "nothing else applied"
    );
    let mistake = after_bad.last_error.unwrap_or_default();
    assert!(mistake.contains("outflow_per_second"), "{mistake}");
    let config = filed_sale(&state).await;
    assert_eq!(
        config.outflow_milli_per_second, 12_000,
        "the refused save changed nothing"
    );
    assert_eq!(
        config.seed_hash, created.seed_hash,
        "the lottery seed stays across changes"
    );
    let audit = state.audit.audit_entries(10).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["event.change", "event.create"]);
    assert!(audit[0].actor.starts_with("file:"));
}

#[tokio::test]
async fn a_file_with_mistakes_is_refused_whole_naming_each_mistake() {
    let dir = scratch("events-bad");
    let file = dir.join("events.toml");
    let bad = format!(
        "{SALE}\n[[events]]\nid = \"Bad Id\"\nname = \"\"\nstarts_at = \"soon\"\noutflow_per_second = 1\n"
    );
    std::fs::write(&file, &bad).unwrap();

    let mistakes = read_events_file(&file, 0).unwrap_err().join("\n");

    assert!(mistakes.contains("events[1].id"), "{mistakes}");
    assert!(mistakes.contains("events[1].name"), "{mistakes}");
    assert!(mistakes.contains("events[1].starts_at"), "{mistakes}");
    assert!(!mistakes.contains("events[0]"), "{mistakes}");
}

#[tokio::test]
async fn a_bad_events_file_stops_start_up_with_one_clear_message() {
    let dir = scratch("events-start");
    let file = dir.join("events.toml");
    std::fs::write(&file, "[[events]]\nid = \"x\"\n").unwrap();

    let Err(error) = start(&file).await else {
        panic!("start-up went ahead with a bad events file");
    };

    let message = error.to_string();
    assert!(message.starts_with("events_file "), "{message}");
    assert!(!message.contains('\n'), "{message}");
}

#[test]
fn the_example_events_file_is_valid() {
    let events = read_events_file(Path::new("config/events.example.toml"), 0).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].id.as_str(), "spring-drop");
}

#[test]
fn purchase_limits_are_set_in_the_events_file() {
    let dir = scratch("limits");
    let path = dir.join("events.toml");
    let limited = format!(
        "{SALE}max_units_per_order = 2\nmax_units_per_shopper = {{ total = 4, per_sku = 3 }}\n"
    );
    std::fs::write(&path, limited).unwrap();

    let events = read_events_file(&path, 0).unwrap();

    let limits = (
        events[0].max_units_per_order,
        events[0].max_units_per_shopper,
    );
    assert_eq!(limits.0.total, Some(2));
    assert_eq!(limits.0.per_sku, None);
    assert_eq!(limits.1.total, Some(4));
    assert_eq!(limits.1.per_sku, Some(3));
}

const BRANDED: &str = r##"
[events.page]
title = { en = "Spring drop", fr = "Lancement de printemps" }
message = "One per customer."
logo_url = "/brand/logo.svg"
colors = { primary = "#7B2CBF", background = "#fff8e7", text = "#2b2d42" }
links = [{ label = "Help", url = "https://shop.example/help" }]
"##;

#[test]
fn the_page_branding_is_set_in_the_events_file() {
    let dir = scratch("branding");
    let path = dir.join("events.toml");
    std::fs::write(&path, format!("{SALE}{BRANDED}")).unwrap();

    let events = read_events_file(&path, 0).unwrap();

    let page = events[0].page.as_ref().expect("the page is set");
    let shown = serde_json::to_value(page).unwrap();
    assert_eq!(shown["title"]["fr"], "Lancement de printemps");
    assert_eq!(shown["message"], "One per customer.");
    assert_eq!(shown["logo_url"], "/brand/logo.svg");
    assert_eq!(shown["colors"]["primary"], "#7b2cbf");
    assert_eq!(shown["links"][0]["url"], "https://shop.example/help");
}

#[test]
fn an_unsafe_logo_in_the_events_file_is_refused_by_name() {
    let dir = scratch("branding-bad");
    let path = dir.join("events.toml");
    let unsafe_logo = BRANDED.replace("/brand/logo.svg", "javascript:alert(1)");
    std::fs::write(&path, format!("{SALE}{unsafe_logo}")).unwrap();

    let mistakes = read_events_file(&path, 0).unwrap_err();

    assert_eq!(mistakes.len(), 1, "{mistakes:?}");
    assert!(
        mistakes[0].starts_with("events[0].page.logo_url:"),
        "{mistakes:?}"
    );
}

#[test]
fn a_checkout_target_is_set_in_the_events_file_and_checked_there() {
    let dir = scratch("checkout-target");
    let path = dir.join("events.toml");
    let followed = format!("{SALE}checkout_target = {{ p95_ms = 800, max_error_rate = 0.02 }}\n");
    std::fs::write(&path, followed).unwrap();

    let events = read_events_file(&path, 0).unwrap();

    let target = events[0].checkout_target.unwrap();
    assert_eq!((target.p95_ms, target.max_error_rate), (800, 0.02));
    let too_tolerant =
        format!("{SALE}checkout_target = {{ p95_ms = 800, max_error_rate = 2.0 }}\n");
    std::fs::write(&path, too_tolerant).unwrap();
    let mistakes = read_events_file(&path, 0).unwrap_err().join("\n");
    assert!(mistakes.contains("events[0].checkout_target"), "{mistakes}");
}

#[tokio::test]
async fn a_saved_file_cannot_move_the_windows_of_a_started_sale() {
    use waitroom::admin::events_file::apply_events;
    use waitroom::clock::ManualClock;
    use waitroom::store::QueueStore;
    use waitroom::store::audit::MemoryAuditLog;
    use waitroom::store::memory::MemoryStore;

    let dir = scratch("windows-fixed");
    let path = dir.join("events.toml");
    let windowed = |opening: u32| format!("{SALE}opening_window_seconds = {opening}\n");
    std::fs::write(&path, windowed(60)).unwrap();
    let first = read_events_file(&path, 0).unwrap();
    let starts_at = first[0].starts_at;
    let store = MemoryStore::new(Arc::new(ManualClock::new(starts_at - 60_000)));
    let audit = MemoryAuditLog::default();
    apply_events(&store, &audit, first, &path, starts_at - 60_000)
        .await
        .unwrap();
    let id = EventId::parse("filed-sale").unwrap();

    // Before the start the file may change them ...
    std::fs::write(&path, windowed(30)).unwrap();
    let before_start = read_events_file(&path, 0).unwrap();
    apply_events(&store, &audit, before_start, &path, starts_at - 1)
        .await
        .unwrap();
    let event = store.event(&id).await.unwrap().unwrap();
    assert_eq!(event.arrival_windows.opening_seconds, 30);

    // ... after it, not: the windows stay, the rest of the save applies.
    let moved = windowed(90).replace("Filed sale", "Renamed sale");
    std::fs::write(&path, moved).unwrap();
    let after_start = read_events_file(&path, 0).unwrap();
    apply_events(&store, &audit, after_start, &path, starts_at)
        .await
        .unwrap();
    let event = store.event(&id).await.unwrap().unwrap();
    assert_eq!(event.arrival_windows.opening_seconds, 30);
    assert_eq!(event.name, "Renamed sale");
}
