//! `sfauth demo`: the whole job against its built-in emulator, checking what it shows; and,
//! in a build without the `demo` feature, a usage error that says how to get it.

use sfauth_test_support::prelude::*;

#[cfg(feature = "demo")]
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
    assert_eq!(mode(&dir.path().join("client_secret")), 0o600);
}

#[cfg(not(feature = "demo"))]
#[test]
fn demo_without_its_feature_is_a_usage_error_saying_how_to_build_it() {
    let dir = tempfile::tempdir().unwrap();

    let run = sfauth()
        .args(["demo", "--dir"])
        .arg(dir.path())
        .exits(exit::USAGE);

    run.stdout_is_empty();
    assert_eq!(
        run.error(),
        "this sfauth was built without `demo` (its Salesforce emulator is left out of ordinary \
         builds)"
    );
    assert_eq!(
        run.hint(),
        Some(
            "from a clone of the repository, run cargo run -p sfauth-cli --features demo -- demo \
             (or install it with cargo install --path crates/sfauth-cli --features demo)"
        )
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing is written"
    );
}
