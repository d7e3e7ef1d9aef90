//! `sfauth demo`: the whole job on a fresh machine, no org needed.
//!
//! Starts the Salesforce emulator in-process with refresh-token rotation on, writes a token
//! file in the seeds' format, refreshes it twice, has many `sfauth token` processes ask for
//! the stale token at once (one refresh, everyone gets its token), shows what the seed
//! samples' approach does under rotation, and prints the emulator's counters. It checks what
//! it shows: a broken invariant makes the demo fail.
//!
//! The demo plays a user: the org it refreshes in-process and the org of each `sfauth token`
//! process it starts are resolved from the same command-line flags.
//!
//! Built only with the `demo` feature, so that an installed `sfauth` carries no emulator.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use sfauth::files::write_private_file;
use sfauth::{Token, TokenStore};
use sfauth_emulator::{Config, Emulator};

use crate::cli::{DemoArgs, TargetArgs};
use crate::commands::refresh::sentence;
use crate::org::ResolvedOrg;
use crate::out::outln;

/// Latency of each emulated token request: long enough that parallel callers really overlap.
const LATENCY: Duration = Duration::from_millis(150);

/// Runs `sfauth demo`.
pub async fn run(args: &DemoArgs) -> anyhow::Result<()> {
    let config = Config {
        rotation: true,
        latency: LATENCY,
        ..Config::default()
    };
    let org = Emulator::start(config).context("cannot start the emulator on 127.0.0.1")?;
    let temp;
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir().context("cannot create a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    let path = dir.join("qa_data/tokens/_salesforce.json");

    outln!(
        "sfauth demo: Salesforce's refresh job, done rotation-safe, against a local emulator\n"
    )?;
    outln!(
        "emulator    {}  (refresh token rotation on, {} ms per token request)",
        org.url(),
        LATENCY.as_millis()
    )?;
    write_seed_file(&org, &path)?;
    outln!(
        "token file  {}  (the seeds' format, plus a key sfauth does not know)\n",
        path.display()
    )?;
    let secret_file = dir.join("client_secret");
    write_private_file(&secret_file, org.config().client_secret.as_bytes())?;
    let flags = token_flags(&org, &path, &secret_file);
    let resolved = ResolvedOrg::for_token(&parse(&flags)?)?;

    let session = resolved.session();
    let first_refresh_token = session.current().await?.refresh_token();
    for step in 1..=2 {
        let outcome = session.refresh().await?;
        outln!("{step}. refresh   {}", sentence(&outcome))?;
    }
    let stored = resolved.store().load().await?;
    ensure!(
        stored.refresh_token() != first_refresh_token,
        "the rotated refresh token was not stored"
    );
    ensure!(
        stored.get("x_seed_note").is_some(),
        "a key sfauth does not know was dropped"
    );
    outln!(
        "   the file keeps the newest refresh token and the unknown key, mode {:o}",
        mode(&path)
    )?;

    make_stale(&resolved).await?;
    let before = org.stats();
    let started = Instant::now();
    let tokens = parallel_token_calls(args.callers, &flags)?;
    let after = org.stats();
    let refreshes = after.refreshes_served - before.refreshes_served;
    let distinct: std::collections::BTreeSet<_> = tokens.iter().collect();
    outln!(
        "3. token     {} `sfauth token` processes on a stale token: {} answered in {} ms, {} distinct token, {} refresh at the server",
        args.callers,
        tokens.len(),
        started.elapsed().as_millis(),
        distinct.len(),
        refreshes,
    )?;
    ensure!(
        refreshes == 1 && distinct.len() == 1,
        "single-flight failed: {refreshes} refreshes"
    );

    seed_style_replay(&org, &resolved).await?;

    let s = org.stats();
    outln!(
        "\nemulator counters: token requests {}, refreshes served {}, refused in parallel {}, reuse detected {}",
        s.token_requests,
        s.refreshes_served,
        s.refused_parallel,
        s.reuse_detected
    )?;
    ensure!(
        s.refused_parallel == 0,
        "the emulator refused a parallel refresh"
    );
    ensure!(
        s.reuse_detected == 1,
        "expected exactly the seed-style replay to be caught"
    );
    outln!(
        "all checks passed: one refresh at a time, no refresh token lost, no reuse from sfauth"
    )?;
    Ok(())
}

/// A token file as the seeds keep it: the login response, pretty-printed.
fn write_seed_file(org: &Emulator, path: &Path) -> anyhow::Result<()> {
    let mut issued = org.issue_token("ada@example.com");
    issued["x_seed_note"] = "kept by sfauth".into();
    let token = Token::from_value(issued).context("the emulator issued an invalid token")?;
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    std::fs::write(path, token.to_json_pretty().as_bytes())?;
    Ok(())
}

/// The flags of `sfauth token` for the demo's token file, app and emulator.
fn token_flags(org: &Emulator, path: &Path, secret_file: &Path) -> Vec<OsString> {
    let mut flags: Vec<OsString> = vec!["--token-file".into(), path.into()];
    flags.extend(["--client-id".into(), org.config().client_id.clone().into()]);
    flags.extend(["--client-secret-file".into(), secret_file.into()]);
    flags.extend(["--login-url".into(), org.url().into()]);
    flags
}

/// `flags` parsed as `sfauth token` parses them.
fn parse(flags: &[OsString]) -> anyhow::Result<TargetArgs> {
    use clap::{Args, FromArgMatches};
    let matches = TargetArgs::augment_args(clap::Command::new("token"))
        .try_get_matches_from(std::iter::once(OsString::from("token")).chain(flags.iter().cloned()))
        .context("the demo's flags do not parse")?;
    Ok(TargetArgs::from_arg_matches(&matches)?)
}

/// Backdates `issued_at` by three hours so the token is past the 2 h session timeout.
async fn make_stale(org: &ResolvedOrg) -> anyhow::Result<()> {
    let store = org.store();
    let lock = store.lock().await?;
    let mut token = store.load().await?;
    let three_hours_ago = SystemTime::now() - Duration::from_secs(3 * 3600);
    let ms = three_hours_ago.duration_since(UNIX_EPOCH)?.as_millis();
    token.set("issued_at", ms.to_string());
    store.save(&lock, &token).await?;
    Ok(())
}

/// Starts `callers` copies of this binary's `token` command with `flags` at once and
/// collects what they print.
fn parallel_token_calls(callers: u16, flags: &[OsString]) -> anyhow::Result<Vec<String>> {
    let exe: PathBuf = std::env::current_exe().context("cannot find the sfauth binary")?;
    let children = (0..callers)
        .map(|_| {
            std::process::Command::new(&exe)
                .arg("token")
                .args(flags)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
        })
        .collect::<Result<Vec<_>, _>>()
        .context("cannot start `sfauth token`")?;
    let mut tokens = Vec::new();
    for child in children {
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "`sfauth token` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        tokens.push(String::from_utf8_lossy(&out.stdout).trim().to_owned());
    }
    Ok(tokens)
}

/// What the seed samples do: keep the first refresh token, overwrite only the access token.
/// Under rotation the second refresh replays a dead token, and Salesforce revokes the family.
async fn seed_style_replay(org: &Emulator, resolved: &ResolvedOrg) -> anyhow::Result<()> {
    let issued = Token::from_value(org.issue_token("seed-sample@example.com"))?;
    let kept = issued
        .refresh_token()
        .context("the emulator issued no refresh token")?;
    let client = resolved.app_client()?;
    client.refresh(&kept).await?;
    let replay = client.refresh(&kept).await;
    match replay {
        Err(e) => outln!(
            "4. seeds     the seeds' way (keep the first refresh token) fails on its 2nd refresh: {e}; the whole token family is now revoked"
        )?,
        Ok(_) => bail!("the emulator accepted a rotated-out refresh token"),
    }
    Ok(())
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0)
}

#[cfg(not(unix))]
fn mode(_path: &Path) -> u32 {
    0
}
