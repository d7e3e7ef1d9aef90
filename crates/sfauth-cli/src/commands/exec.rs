//! `sfauth exec -- CMD`: run a command with a valid token in its environment.

use sfauth::TokenSource as _;
use std::process::ExitCode;

use crate::cli::ExecArgs;
use crate::org::ResolvedOrg;
use crate::signals::{self, Signals};

/// Runs `sfauth exec`, exiting with the command's status (128 + N if a signal N ended it,
/// as shells do; 127 if it cannot be found, 126 if it cannot be run).
///
/// While the token is fetched, a signal waits for a refresh in flight to be saved, then
/// ends sfauth without running the command. While the command runs, SIGTERM and SIGHUP are
/// passed on to it, and sfauth exits with whatever status the command then ends with.
/// SIGINT is not passed on: Ctrl-C reaches the command already, through the terminal's
/// process group, and a second one would read as "force quit" to many programs.
pub async fn run(args: &ExecArgs, mut signals: Option<&mut Signals>) -> anyhow::Result<ExitCode> {
    let org = ResolvedOrg::for_token(&args.target)?;
    let source = org.token_source(&args.target);
    let token = match signals.as_deref_mut() {
        Some(signals) => {
            let token = async { Ok(source.token().await?) };
            match signals::deferring(signals, args.target.http.timeout, token).await? {
                Ok(token) => token,
                Err(code) => return Ok(code),
            }
        }
        None => source.token().await?,
    };
    let Some((program, rest)) = args.command.split_first() else {
        return Err(
            sfauth::Error::new(sfauth::ErrorKind::Usage, "no command to run was given")
                .with_hint("pass the command after --, e.g. sfauth exec -- env")
                .into(),
        );
    };
    let mut command = std::process::Command::new(program);
    command
        .args(rest)
        .env_remove("SF_API_INSTANCE_URL")
        .envs(crate::commands::token::exported(&token));
    match org.alias() {
        Some(alias) => command.env("SF_ORG_ALIAS", alias.as_str()),
        None => command.env_remove("SF_ORG_ALIAS"),
    };
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            let (code, what) = match e.kind() {
                std::io::ErrorKind::NotFound => (127, "was not found"),
                std::io::ErrorKind::PermissionDenied => (126, "cannot be run (permission denied)"),
                _ => (126, "cannot be run"),
            };
            crate::exit::say(
                &format!("the command `{}` {what}: {e}", program.to_string_lossy()),
                Some("check the command name and PATH"),
            );
            return Ok(ExitCode::from(code));
        }
    };
    let pid = child.id();
    let waited = tokio::task::spawn_blocking(move || child.wait());
    tokio::pin!(waited);
    let status = loop {
        let Some(signals) = signals.as_deref_mut() else {
            break (&mut waited).await;
        };
        tokio::select! {
            status = &mut waited => break status,
            number = signals.recv() => {
                if number != tokio::signal::unix::SignalKind::interrupt().as_raw_value() {
                    forward(number, pid);
                }
            }
        }
    };
    let status = status
        .map_err(|e| anyhow::anyhow!("the command's waiter failed: {e}"))?
        .map_err(|e| anyhow::anyhow!("cannot wait for the command: {e}"))?;
    if let Some(code) = status.code() {
        return Ok(ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1)));
    }
    use std::os::unix::process::ExitStatusExt;
    if let Some(signal) = status.signal() {
        return Ok(signals::exit_code(signal));
    }
    Ok(ExitCode::from(1))
}

/// Sends signal `number` to the child `pid` with kill(1): sfauth has no unsafe code, and
/// this is rare enough that a process start does not matter.
fn forward(number: i32, pid: u32) {
    tracing::debug!(signal = number, pid, "passing the signal on to the command");
    let sent = std::process::Command::new("kill")
        .arg(format!("-{number}"))
        .arg(pid.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if let Err(e) = sent {
        tracing::warn!("cannot pass signal {number} on to the command: {e}");
    }
}
