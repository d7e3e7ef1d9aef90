//! `sfauth refresh` over https, against an emulator with its own throw-away CA: trusted
//! with `--ca-file`, and refused before anything is sent when the certificate is
//! untrusted, expired or for another host.
//!
//! The emulator's CA is generated afresh for every run, so no `SSL_CERT_FILE` or system
//! store can trust it: only `--ca-file` does.

mod common;

use std::path::PathBuf;

use common::*;
use sfauth_emulator::{Config, Emulator, TlsLeaf};

/// An https emulator presenting `leaf`.
fn https_org(leaf: TlsLeaf) -> Emulator {
    let org = emulator(Config {
        tls: Some(leaf),
        ..Config::default()
    });
    assert!(org.url().starts_with("https://"), "{}", org.url());
    org
}

/// Writes the emulator's CA certificate beside the token file and returns its path.
fn ca_file(org: &Emulator, file: &TokenFile) -> PathBuf {
    let path = file.dir.path().join("ca.pem");
    let pem = org.ca_pem().expect("an https emulator has a CA");
    std::fs::write(&path, pem).expect("write the CA file");
    path
}

/// Refreshes `file` at `org` (with `ca` as `--ca-file` if given), expects a failure
/// before any request reached the token endpoint, and returns stderr.
fn refused_refresh(org: &Emulator, file: &TokenFile, ca: Option<&PathBuf>) -> String {
    let before = file.bytes();
    let token = file.json();
    let secrets = secrets_of(org, &token);
    let mut cmd = refresh(org, &file.path);
    if let Some(ca) = ca {
        cmd.arg("--ca-file").arg(ca);
    }
    let output = cmd.output().expect("run sfauth");
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    assert_failed_cleanly(&output, exit::UNAVAILABLE, file, &before, &secrets);
    assert_eq!(
        org.stats().token_requests,
        0,
        "a request got through the failed handshake"
    );
    assert!(
        org.refresh_token_is_live(&text(&token, "refresh_token")),
        "the stored refresh token must still be good"
    );
    utf8(&output.stderr)
}

/// The `error:` line of a failed run's stderr.
fn error_line(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|line| line.contains("error:"))
        .unwrap_or_else(|| panic!("no `error:` line: {stderr}"))
}

#[test]
fn refresh_over_https_with_the_servers_ca_file_rotates_the_token() {
    let org = https_org(TlsLeaf::Valid);
    let file = TokenFile::issued_by(&org);
    let old = file.json();
    let ca = ca_file(&org, &file);

    let assert = refresh(&org, &file.path)
        .arg("--ca-file")
        .arg(&ca)
        .assert()
        .success();

    let new_refresh = file.field("refresh_token");
    assert_ne!(new_refresh, text(&old, "refresh_token"), "not rotated");
    assert_ne!(file.field("access_token"), text(&old, "access_token"));
    assert!(org.refresh_token_is_live(&new_refresh));
    assert!(!org.refresh_token_is_live(&text(&old, "refresh_token")));
    let stats = org.stats();
    assert_eq!((stats.token_requests, stats.refreshes_served), (1, 1));
    let output = assert.get_output();
    let stderr = utf8(&output.stderr);
    for secret in [text(&old, "refresh_token"), new_refresh] {
        assert!(!stderr.contains(&secret), "a token leaked: {stderr}");
    }
}

#[test]
fn refresh_over_https_without_a_ca_file_fails_on_the_untrusted_certificate_and_sends_nothing() {
    let org = https_org(TlsLeaf::Valid);
    let file = TokenFile::issued_by(&org);

    let stderr = refused_refresh(&org, &file, None);

    let error = error_line(&stderr);
    assert!(error.contains("securely"), "{stderr}");
    assert!(error.contains("not trusted"), "{stderr}");
    assert!(error.contains("unknown issuer"), "{stderr}");
    assert!(
        stderr.contains("trusted CA"),
        "the hint says what to do: {stderr}"
    );
}

#[test]
fn refresh_over_https_fails_on_an_expired_certificate_even_with_its_ca_file() {
    let org = https_org(TlsLeaf::Expired);
    let file = TokenFile::issued_by(&org);
    let ca = ca_file(&org, &file);

    let stderr = refused_refresh(&org, &file, Some(&ca));

    let error = error_line(&stderr);
    assert!(error.contains("certificate has expired"), "{stderr}");
    assert!(
        stderr.contains("clock"),
        "the hint says what to check: {stderr}"
    );
}

#[test]
fn refresh_over_https_fails_on_a_certificate_for_another_host_even_with_its_ca_file() {
    let org = https_org(TlsLeaf::WrongHost);
    let file = TokenFile::issued_by(&org);
    let ca = ca_file(&org, &file);

    let stderr = refused_refresh(&org, &file, Some(&ca));

    let error = error_line(&stderr);
    assert!(error.contains("for another host name"), "{stderr}");
    assert!(
        error.contains("127.0.0.1"),
        "names the host it asked: {stderr}"
    );
    assert!(
        stderr.contains("check the host name"),
        "the hint says what to check: {stderr}"
    );
}
