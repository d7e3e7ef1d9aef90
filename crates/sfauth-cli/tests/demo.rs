//! `sfauth demo`: the whole job against its built-in emulator, checking what it shows; and,
//! in a build without the `demo` feature, a usage error that says how to get it.

mod common;

use common::*;

#[cfg(feature = "demo")]
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
    assert_eq!(mode(&dir.path().join("client_secret")), 0o600);
}

#[cfg(not(feature = "demo"))]
#[test]
fn demo_without_its_feature_is_a_usage_error_saying_how_to_build_it() {
    let dir = tempfile::tempdir().unwrap();

    let output = sfauth()
        .arg("demo")
        .arg("--dir")
        .arg(dir.path())
        .assert()
        .code(exit::USAGE)
        .get_output()
        .clone();

    let stderr = utf8(&output.stderr);
    assert!(stderr.contains("error:"), "{stderr}");
    assert!(stderr.contains("--features demo"), "{stderr}");
    assert!(output.stdout.is_empty());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing is written"
    );
}
