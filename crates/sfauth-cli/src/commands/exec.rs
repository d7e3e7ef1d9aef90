//! `sfauth exec -- CMD`: run a command with a valid token in its environment.

use std::process::ExitCode;

use crate::cli::ExecArgs;
use crate::target;

/// Runs `sfauth exec`, exiting with the command's status (128 + N if a signal N ended it,
/// as shells do; 127 if it cannot be found, 126 if it cannot be run).
pub async fn run(args: &ExecArgs) -> anyhow::Result<ExitCode> {
    let target = target::resolve(&args.target)?;
    let token = target.session.token().await?;
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let mut command = std::process::Command::new(program);
    command
        .args(rest)
        .env("SF_ACCESS_TOKEN", token.access_token().expose())
        .env("SF_INSTANCE_URL", token.instance_url());
    match &target.alias {
        Some(alias) => command.env("SF_ORG_ALIAS", alias.as_str()),
        None => command.env_remove("SF_ORG_ALIAS"),
    };
    let status = match command.status() {
        Ok(status) => status,
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
    if let Some(code) = status.code() {
        return Ok(ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1)));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Ok(ExitCode::from(u8::try_from(128 + signal).unwrap_or(255)));
        }
    }
    Ok(ExitCode::from(1))
}
