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
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    assert!(
        !stdout.contains("k6: 0 passed"),
        "the scripts were found: {stdout}"
    );
}

#[test]
fn a_script_that_does_not_type_check_is_counted_as_failed() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../check-k6.sh");
    let dir = std::env::temp_dir().join(format!("waitroom-k6-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("good.js"),
        "import http from 'k6/http';\nexport default function () {\n  http.get('http://127.0.0.1/');\n}\n",
    )
    .unwrap();
    // A type annotation is TypeScript, not JavaScript: the compiler refuses it.
    std::fs::write(
        dir.join("broken.js"),
        "import http from 'k6/http';\nexport default function () {\n  const answer: number = http.get('http://127.0.0.1/').status;\n  return answer;\n}\n",
    )
    .unwrap();

    let output = match Command::new("bash").arg(script).arg(&dir).output() {
        Ok(output) => output,
        Err(error) => panic!("cannot run {script}: {error}"),
    };
    std::fs::remove_dir_all(&dir).unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("k6: 1 passed, 1 failed"), "{stdout}");
    assert!(stdout.contains("broken.js"), "{stdout}");
}
