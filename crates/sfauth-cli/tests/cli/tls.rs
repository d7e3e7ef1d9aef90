//! `sfauth refresh` over https, against an emulator with its own throw-away CA: trusted
//! with `--ca-file`, and refused before anything is sent when the certificate is
//! untrusted, expired or for another host.
//!
//! The emulator's CA is generated afresh for every run, so no `SSL_CERT_FILE` or system
//! store can trust it: only `--ca-file` does.

use std::path::PathBuf;

use sfauth_test_support::prelude::*;

/// Writes the emulator's CA certificate beside the token file and returns its path.
fn ca_file(org: &Emulator, file: &TokenFile) -> PathBuf {
    file.beside("ca.pem", org.ca_pem().expect("an https emulator has a CA"))
}

/// Refreshes `file` at `org` (trusting `ca` if given), expects a failure before any
/// request reached the token endpoint, and returns the run.
fn refused_refresh(org: &Emulator, file: &TokenFile, ca: Option<&PathBuf>) -> Run {
    let before = Snapshot::of(file, org);
    let cmd = refresh(org, &file.path);
    let cmd = match ca {
        Some(ca) => cmd.arg("--ca-file").arg(ca),
        None => cmd,
    };

    let run = cmd.run();

    before.assert_failed_cleanly(&run, exit::UNAVAILABLE);
    assert_eq!(
        org.stats().token_requests,
        0,
        "a request got through the failed handshake"
    );
    assert!(
        org.refresh_token_is_live(&file.field("refresh_token")),
        "the stored refresh token must still be good"
    );
    run
}

#[test]
fn refresh_over_https_with_the_servers_ca_file_rotates_the_token() {
    let org = OrgBuilder::new().https(TlsLeaf::Valid).start();
    let file = TokenFile::issued_by(&org);
    let old = file.json();
    let ca = ca_file(&org, &file);

    let run = refresh(&org, &file.path).arg("--ca-file").arg(&ca).ok();

    let new_refresh = file.field("refresh_token");
    assert_ne!(new_refresh, text(&old, "refresh_token"), "not rotated");
    assert_ne!(file.field("access_token"), text(&old, "access_token"));
    assert!(org.refresh_token_is_live(&new_refresh));
    assert!(!org.refresh_token_is_live(&text(&old, "refresh_token")));
    let stats = org.stats();
    assert_eq!((stats.token_requests, stats.refreshes_served), (1, 1));
    run.never_shows(&text(&old, "refresh_token"))
        .never_shows(&new_refresh);
}

#[test]
fn refresh_over_https_without_a_ca_file_fails_on_the_untrusted_certificate_and_sends_nothing() {
    let org = OrgBuilder::new().https(TlsLeaf::Valid).start();
    let file = TokenFile::issued_by(&org);

    let run = refused_refresh(&org, &file, None);

    assert_eq!(
        run.error(),
        "cannot connect to 127.0.0.1 securely: the server's certificate is not trusted (unknown \
         issuer)"
    );
    assert_eq!(
        run.hint(),
        Some(
            "if a corporate TLS proxy inspects HTTPS traffic, configure its CA certificate (a \
             PEM file) as an extra trusted CA"
        )
    );
}

#[test]
fn refresh_over_https_fails_on_an_expired_certificate_even_with_its_ca_file() {
    let org = OrgBuilder::new().https(TlsLeaf::Expired).start();
    let file = TokenFile::issued_by(&org);
    let ca = ca_file(&org, &file);

    let run = refused_refresh(&org, &file, Some(&ca));

    assert_eq!(
        run.error(),
        "cannot connect to 127.0.0.1 securely: the server's certificate has expired"
    );
    assert_eq!(
        run.hint(),
        Some(
            "check this machine's clock; if it is right, the server (or a TLS proxy in between) \
             presents an expired certificate"
        )
    );
}

#[test]
fn refresh_over_https_fails_on_a_certificate_for_another_host_even_with_its_ca_file() {
    let org = OrgBuilder::new().https(TlsLeaf::WrongHost).start();
    let file = TokenFile::issued_by(&org);
    let ca = ca_file(&org, &file);

    let run = refused_refresh(&org, &file, Some(&ca));

    assert_eq!(
        run.error(),
        "cannot connect to 127.0.0.1 securely: the server's certificate is for another host name"
    );
    assert_eq!(
        run.hint(),
        Some(
            "check the host name in the login URL; a TLS proxy that rewrites certificates can \
             also cause this"
        )
    );
}
