//! The examples run against the emulator and do what they say. `cargo test` builds them
//! next to the test binaries (target/<profile>/examples/).

use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let path = deps.parent().unwrap().join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built; run the tests with `cargo test`",
        path.display()
    );
    path
}

fn run(name: &str) -> String {
    let out = Command::new(example(name))
        .env_remove("SFAUTH_TOKEN_FILE")
        .env_remove("SFAUTH_CLIENT_ID")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn refresh_token_file_example_rotates_and_saves() {
    let out = run("refresh_token_file");
    assert!(out.contains("refresh token rotated and saved"), "{out}");
}

#[test]
fn rest_call_example_refreshes_after_the_401_and_succeeds() {
    let out = run("rest_call");
    assert!(out.contains("200 OK"), "{out}");
    assert!(
        out.contains("refreshed and retried after a 401: true"),
        "{out}"
    );
}
