//! The k6 scripts type-check against `@types/k6` (`load/check-k6.sh`): k6 itself is not needed.
//! Fails, never skips, when Node.js or npm is missing.

use std::process::Command;

#[test]
fn the_k6_scripts_type_check_against_the_k6_api() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../check-k6.sh");
    let output = match Command::new("bash").arg(script).output() {
        Ok(output) => output,
        Err(error) => panic!("cannot run {script}: {error}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the k6 scripts do not type-check (needs Node.js and npm):\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("0 failed"), "{stdout}");
}
