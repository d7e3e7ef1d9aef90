//! `sfauth-emulator`: serve the emulated Salesforce token endpoint until SIGINT/SIGTERM.
//!
//! The first line on stdout is the base URL (`http://127.0.0.1:PORT`, or `https://` with
//! `--tls`), so a script can start the emulator in the background and read where it
//! listens. Logs go to stderr, filtered by `SFAUTH_EMULATOR_LOG` (default `warn`).

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Parser;
use sfauth_emulator::{Config, Consent, Fault, TlsLeaf};

/// Environment variable holding the client secret when no file is given.
const SECRET_ENV: &str = "SFAUTH_EMULATOR_CLIENT_SECRET";

/// A Salesforce-compatible OAuth 2.0 token endpoint for offline tests, on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Consumer key of the emulated connected app.
    #[arg(long, default_value_t = Config::default().client_id)]
    client_id: String,
    /// File holding the consumer secret (one trailing newline is ignored). Without it the
    /// secret comes from $SFAUTH_EMULATOR_CLIENT_SECRET, else the built-in default.
    #[arg(long, value_name = "PATH")]
    client_secret_file: Option<PathBuf>,
    /// Refuse refreshes that carry no client secret.
    #[arg(long)]
    require_secret: bool,
    /// Turn Refresh Token Rotation off: refreshes return no new refresh token.
    #[arg(long)]
    no_rotation: bool,
    /// Milliseconds each refresh spends "being processed".
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency_ms: u64,
    /// Seconds an access token stays valid.
    #[arg(long, value_name = "SECS", default_value_t = 7200)]
    token_lifetime_secs: u64,
    /// Experience Cloud path prefix, such as /customers.
    #[arg(long, value_name = "PREFIX", default_value = "")]
    site: String,
    /// A registered callback URL for the web-server flow (repeatable). Without any, the
    /// Salesforce CLI's http://localhost:1717/OauthRedirect is registered.
    #[arg(long = "redirect-uri", value_name = "URL")]
    redirect_uris: Vec<String>,
    /// The emulated user denies consent (authorize and device flow) instead of approving.
    #[arg(long)]
    deny_consent: bool,
    /// PEM certificate or RSA public key that verifies JWT bearer assertions; without it
    /// the JWT bearer grant is refused.
    #[arg(long, value_name = "PATH")]
    jwt_certificate_file: Option<PathBuf>,
    /// Enable the client credentials flow, running as this user.
    #[arg(long, value_name = "USERNAME")]
    client_credentials_user: Option<String>,
    /// Enable the username-password flow for this user (repeatable). The password comes
    /// after the first colon.
    #[arg(long = "password-user", value_name = "USERNAME:PASSWORD", value_parser = user_password)]
    password_users: Vec<(String, String)>,
    /// Device flow: polls answered authorization_pending before the user decides.
    #[arg(long, value_name = "N", default_value_t = Config::default().device_approve_after_polls)]
    device_approve_after_polls: u32,
    /// Log this user in at start-up and write the token response to --token-file.
    #[arg(long, value_name = "USERNAME", requires = "token_file")]
    issue_token: Option<String>,
    /// Where to write the --issue-token response (JSON, mode 0600).
    #[arg(long, value_name = "PATH", requires = "issue_token")]
    token_file: Option<PathBuf>,
    /// Queue a fault for the token endpoint (repeatable): each token request consumes the
    /// oldest queued fault. More can be queued while running with
    /// `POST /__emulator/faults`, one SPEC per line of the body.
    #[arg(long = "fault", value_name = "SPEC", long_help = FAULT_HELP)]
    faults: Vec<Fault>,
    /// Serve https, with a leaf certificate for 127.0.0.1 and localhost signed by a CA
    /// generated at start-up (see --ca-out).
    #[arg(long)]
    tls: bool,
    /// Serve https with an expired leaf certificate (implies --tls).
    #[arg(long, conflicts_with = "tls_wrong_host")]
    tls_expired: bool,
    /// Serve https with a leaf certificate only for wrong.example (implies --tls).
    #[arg(long)]
    tls_wrong_host: bool,
    /// Write the CA certificate (PEM) here before the URL is printed, for clients to
    /// trust (implies --tls).
    #[arg(long, value_name = "PATH")]
    ca_out: Option<PathBuf>,
}

/// The long help of `--fault`: the SPEC grammar.
const FAULT_HELP: &str = "\
Queue a fault for the token endpoint (repeatable, consumed in order, one per token
request). More can be queued while running: POST /__emulator/faults with one SPEC per
line of the body.

SPEC is one of:
  status:CODE[:CONTENT_TYPE[:BODY]]  answer this instead (default text/html, a small page)
  oauth:CODE:ERROR[:DESCRIPTION]     answer {\"error\":ERROR,\"error_description\":DESCRIPTION}
  already-processing                 400 invalid_grant \"token request is already being processed\"
  close                              drop the connection, nothing processed
  lose-response                      process (rotate), then drop the connection
  bad-signature                      process, answer with a wrong signature
  delay:MS                           process after MS more milliseconds
  reset-before-body                  process, send status and headers, then close
  reset-mid-body                     process, send half the JSON answer, then close
  hang:MS                            answer nothing for MS, then close; nothing processed
  trickle:MS_PER_BYTE                process, send the answer one byte every MS_PER_BYTE
  gzip-bomb[:INFLATED_BYTES]         200 gzip body inflating to INFLATED_BYTES (3 GiB)
  processed-then-504                 process (rotate), then answer a 504 HTML gateway page
  retry-after:CODE:SECONDS           answer CODE (503, 429) with Retry-After: SECONDS

BODY and DESCRIPTION are the rest of the SPEC, colons included.
Examples: --fault status:502  --fault oauth:400:invalid_grant:expired access/refresh token";

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    init_logging();
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sfauth-emulator: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SFAUTH_EMULATOR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .init();
}

/// Parses `USERNAME:PASSWORD` for `--password-user`.
fn user_password(value: &str) -> Result<(String, String), String> {
    value
        .split_once(':')
        .filter(|(user, _)| !user.is_empty())
        .map(|(user, password)| (user.to_owned(), password.to_owned()))
        .ok_or_else(|| "expected USERNAME:PASSWORD".to_owned())
}

fn run(args: Args) -> Result<()> {
    let jwt_certificate_pem = args
        .jwt_certificate_file
        .as_deref()
        .map(|path| {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
        })
        .transpose()?;
    let defaults = Config::default();
    let config = Config {
        client_id: args.client_id,
        client_secret: client_secret(args.client_secret_file.as_deref())?,
        require_secret: args.require_secret,
        rotation: !args.no_rotation,
        latency: Duration::from_millis(args.latency_ms),
        access_token_lifetime: Duration::from_secs(args.token_lifetime_secs),
        site: args.site,
        redirect_uris: if args.redirect_uris.is_empty() {
            defaults.redirect_uris.clone()
        } else {
            args.redirect_uris
        },
        consent: if args.deny_consent {
            Consent::Deny
        } else {
            Consent::Approve
        },
        jwt_certificate_pem,
        client_credentials_user: args.client_credentials_user,
        password_flow: !args.password_users.is_empty(),
        users: args.password_users,
        device_approve_after_polls: args.device_approve_after_polls,
        tls: if args.tls_expired {
            Some(TlsLeaf::Expired)
        } else if args.tls_wrong_host {
            Some(TlsLeaf::WrongHost)
        } else if args.tls || args.ca_out.is_some() {
            Some(TlsLeaf::Valid)
        } else {
            None
        },
        ..defaults
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let termination = Termination::listen().context("cannot listen for signals")?;
        let emulator = sfauth_emulator::spawn_on(config, args.port)
            .await
            .with_context(|| format!("cannot listen on port {}", args.port))?;
        for fault in args.faults {
            emulator.inject(fault);
        }
        if let (Some(path), Some(pem)) = (&args.ca_out, emulator.ca_pem()) {
            std::fs::write(path, pem)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        if let (Some(username), Some(path)) = (&args.issue_token, &args.token_file) {
            let token = emulator.issue_token(username);
            write_private(path, &token)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "{}", emulator.url())
            .and_then(|()| stdout.flush())
            .context("cannot write to stdout")?;
        drop(stdout);
        termination.wait().await;
        emulator.shutdown();
        anyhow::Ok(())
    })
}

/// The secret from the file, else the environment, else the default. Never a flag value,
/// so it does not show up in `ps` output or shell history.
fn client_secret(file: Option<&Path>) -> Result<String> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let secret = text.strip_suffix('\n').unwrap_or(&text);
        let secret = secret.strip_suffix('\r').unwrap_or(secret);
        return Ok(secret.to_owned());
    }
    match std::env::var(SECRET_ENV) {
        Ok(secret) => Ok(secret),
        Err(std::env::VarError::NotPresent) => Ok(Config::default().client_secret),
        Err(error) => Err(error).context(SECRET_ENV),
    }
}

/// Writes pretty JSON to a file only the owner can read: it holds a refresh token.
fn write_private(path: &Path, value: &serde_json::Value) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    // `mode` only applies to new files; tighten a file that already existed.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    serde_json::to_writer_pretty(&mut file, value)?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// SIGINT/SIGTERM listeners, installed before the URL is printed: a script may send the
/// signal as soon as it has read the URL, and must not kill us with the default action.
#[cfg(unix)]
struct Termination {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Termination {
    fn listen() -> io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

#[cfg(not(unix))]
struct Termination;

#[cfg(not(unix))]
impl Termination {
    fn listen() -> io::Result<Self> {
        Ok(Self)
    }

    async fn wait(self) {
        // Without a handler there is nothing better to do than to exit anyway.
        let _ = tokio::signal::ctrl_c().await;
    }
}
