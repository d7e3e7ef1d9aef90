//! `sfauth demo`: the whole job against its built-in emulator, checking what it shows.

use sfauth_test_support::prelude::*;

#[test]
fn demo_passes_all_its_checks() {
    let dir = tempfile::tempdir().unwrap();

    sfauth()
        .args(["demo", "--callers", "8", "--dir"])
        .arg(dir.path())
        .ok()
        .stdout_has("all checks passed");

    let token_file = dir.path().join("qa_data/tokens/_salesforce.json");
    assert_eq!(mode(&token_file), 0o600);
}
