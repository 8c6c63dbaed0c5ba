//! The shopper's journey in a real headless Chromium: `tests/browser/run.sh` against the binary
//! this test run built. It fails, never skips, when Chromium or Node.js is missing.

use std::process::Command;

#[test]
fn a_shopper_joins_waits_is_admitted_and_checks_out_in_a_real_browser() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/run.sh");
    let output = Command::new("bash")
        .arg(script)
        .env("WAITROOM_BIN", env!("CARGO_BIN_EXE_waitroom"))
        .output();
    let output = match output {
        Ok(output) => output,
        Err(error) => panic!("cannot run {script}: {error}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser journey failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("browser test: passed"), "{stdout}");
}
