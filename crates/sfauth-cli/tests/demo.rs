//! `sfauth demo`: the whole job against its built-in emulator, checking what it shows.

mod common;

use common::*;

#[test]
fn demo_passes_all_its_checks() {
    let dir = tempfile::tempdir().unwrap();

    let assert = sfauth()
        .arg("demo")
        .args(["--callers", "8"])
        .arg("--dir")
        .arg(dir.path())
        .assert()
        .success();

    let stdout = utf8(&assert.get_output().stdout);
    assert!(stdout.contains("all checks passed"), "{stdout}");
    let token_file = dir.path().join("qa_data/tokens/_salesforce.json");
    assert_eq!(mode(&token_file), 0o600);
}
