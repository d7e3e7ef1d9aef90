//! The `sfauth` command: a thin layer over the `sfauth` library. Each command parses, calls
//! the library, and formats; errors map to exit codes in `exit.rs`.

mod agent;
mod cli;
mod commands;
mod config;
mod exit;
mod fast_path;
mod help_topics;
mod org;
mod out;
mod output;
mod secrets;
mod signals;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, HttpArgs, TokenFormat};

fn main() -> ExitCode {
    if let Some(code) = fast_path::serve() {
        return code;
    }
    let cli = parse();
    init_logging(&cli);
    let json = match &cli.command {
        Command::Refresh(args) => args.json,
        Command::Token(args) => args.format == TokenFormat::Json,
        Command::Request(args) => args.json,
        Command::Header(_) | Command::Exec(_) => false,
        Command::Orgs(args) => args.json,
        Command::Status(args) => {
            args.json || args.format.is_some_and(|f| f != cli::StatusFormat::Human)
        }
        Command::Store(args) => match &args.action {
            cli::StoreAction::List(l) => l.target.json,
            cli::StoreAction::Import(i) => i.target.json,
            cli::StoreAction::Init(t)
            | cli::StoreAction::Export(t)
            | cli::StoreAction::Delete(t) => t.json,
        },
        Command::Demo(_)
        | Command::Agent(_)
        | Command::Proxy(_)
        | Command::Export(_)
        | Command::Help(_)
        | Command::Completions(_)
        | Command::Man(_) => false,
        Command::Alias(args) => args.json,
        Command::Default(args) => args.json,
        Command::Open(args) => args.json,
        Command::Login(args) => args.flow.org().json,
        Command::Revoke(args) => args.json,
        Command::Logout(args) => args.json,
        Command::Config(args) => args.json,
    };
    // One worker is plenty for one token; it keeps start-up cheap.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return exit::report(&anyhow::Error::new(e), json),
    };
    let result: anyhow::Result<ExitCode> = runtime.block_on(async {
        // Only the commands that can refresh hold a signal back; the rest keep the default
        // (a signal ends them at once, which is safe: they never send a refresh).
        if let Command::Agent(args) = &cli.command {
            // The agent handles its own signals: SIGHUP reloads, SIGTERM stops once a
            // refresh in flight is saved.
            let mut signals = signals::Signals::install()?;
            return commands::agent::run(args, &mut signals).await;
        }
        if let Command::Proxy(args) = &cli.command {
            // Likewise the proxy: a signal stops it once requests in progress are done.
            let mut signals = signals::Signals::install()?;
            return commands::proxy::run(args, &mut signals).await;
        }
        let Some(timeout) = refresh_timeout(&cli.command) else {
            return run(&cli.command).await;
        };
        let mut signals = match signals::Signals::install() {
            Ok(signals) => signals,
            Err(e) => {
                tracing::warn!("cannot install signal handlers: {e}");
                return run(&cli.command).await;
            }
        };
        if let Command::Exec(args) = &cli.command {
            return commands::exec::run(args, Some(&mut signals)).await;
        }
        let work = announce_if_slow(&cli.command, run(&cli.command));
        match signals::deferring(&mut signals, timeout, work).await? {
            Ok(code) | Err(code) => Ok(code),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => exit::report(&e, json),
    }
}

/// How long a token command runs before a terminal is told it is waiting.
const SLOW_AFTER: std::time::Duration = std::time::Duration::from_secs(3);

/// `work`, with a line on a terminal once it has taken [`SLOW_AFTER`]: for the commands that
/// wait only on Salesforce or another sfauth's refresh (a login waits on a person).
async fn announce_if_slow<T>(command: &Command, work: impl std::future::Future<Output = T>) -> T {
    use std::io::IsTerminal;
    let token_command = matches!(
        command,
        Command::Refresh(_) | Command::Token(_) | Command::Header(_) | Command::Request(_)
    );
    if !token_command || !std::io::stderr().is_terminal() {
        return work.await;
    }
    tokio::pin!(work);
    tokio::select! {
        done = &mut work => return done,
        () = tokio::time::sleep(SLOW_AFTER) => {
            crate::out::errln!("still working: waiting for Salesforce (or another sfauth's refresh)...");
        }
    }
    work.await
}

/// Runs a command (`exec` without signal handling).
async fn run(command: &Command) -> anyhow::Result<ExitCode> {
    let done = match command {
        Command::Exec(args) => {
            return commands::exec::run(args, None).await;
        }
        Command::Request(args) => return commands::request::run(args).await,
        Command::Header(args) => commands::token::header(args).await,
        Command::Refresh(args) => commands::refresh::run(args).await,
        Command::Token(args) => commands::token::run(args).await,
        Command::Demo(args) => commands::demo(args).await,
        Command::Login(args) => commands::login::run(args).await,
        Command::Orgs(args) => commands::orgs::list(args).await,
        Command::Status(args) => commands::orgs::status(args).await,
        Command::Revoke(args) => commands::revoke::revoke(args).await,
        Command::Logout(args) => commands::revoke::logout(args).await,
        Command::Export(args) => commands::revoke::export(args).await,
        Command::Store(args) => commands::store::run(args).await,
        Command::Open(args) => commands::open::run(args).await,
        Command::Default(args) => commands::aliases::default(args).await,
        Command::Alias(args) => commands::aliases::run(args).await,
        Command::Help(args) => help_topics::run(args),
        Command::Config(args) => commands::settings::run(args).await,
        Command::Completions(args) => commands::furniture::completions(args),
        Command::Man(args) => commands::furniture::man(args),
        Command::Agent(_) | Command::Proxy(_) => runs_from_main(),
    };
    done.map(|()| ExitCode::SUCCESS)
}

/// `main` runs the agent and the proxy itself, with their signals; `run` never sees them.
fn runs_from_main() -> anyhow::Result<()> {
    Err(sfauth::Error::new(
        sfauth::ErrorKind::Internal,
        "the agent and the proxy run from main, with their signal handlers",
    )
    .into())
}

/// The request timeout of a command that can send a refresh (or a login's token request):
/// how long a signal may be held back for it. `None` for the commands that never do.
/// `revoke --access-token-only` renews the token it revoked, so it is one of them.
fn refresh_timeout(command: &Command) -> Option<std::time::Duration> {
    let http: &HttpArgs = match command {
        Command::Refresh(args) => &args.target.http,
        Command::Token(args) => &args.target.http,
        Command::Header(args) => &args.target.http,
        Command::Exec(args) => &args.target.http,
        Command::Request(args) => &args.target.http,
        Command::Login(args) => &args.flow.org().http,
        Command::Revoke(args) if args.access_token_only => &args.http,
        Command::Open(args) => &args.target.http,
        Command::Demo(_)
        | Command::Orgs(_)
        | Command::Status(_)
        | Command::Revoke(_)
        | Command::Logout(_)
        | Command::Export(_)
        | Command::Store(_)
        | Command::Agent(_)
        | Command::Proxy(_)
        | Command::Default(_)
        | Command::Alias(_)
        | Command::Help(_)
        | Command::Config(_)
        | Command::Completions(_)
        | Command::Man(_) => return None,
    };
    Some(http.timeout)
}

/// Parses the command line. `token` and `header` are what scripts call before every API
/// request, and building clap's tree of every subcommand costs more than serving a fresh
/// token; so those two parse only their own arguments. Anything that does not parse that
/// way (help, a typo) goes through the full parser, which reports it with full context.
fn parse() -> Cli {
    use clap::{Args, FromArgMatches};
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let fast = match args.get(1).and_then(|a| a.to_str()) {
        Some("token") => cli::TokenArgs::augment_args(clap::Command::new("token"))
            .try_get_matches_from(&args[1..])
            .ok()
            .and_then(|m| cli::TokenArgs::from_arg_matches(&m).ok())
            .map(Command::Token),
        Some("header") => cli::HeaderArgs::augment_args(clap::Command::new("header"))
            .try_get_matches_from(&args[1..])
            .ok()
            .and_then(|m| cli::HeaderArgs::from_arg_matches(&m).ok())
            .map(Command::Header),
        _ => None,
    };
    match fast {
        Some(command) => Cli {
            command,
            verbose: 0,
            quiet: false,
        },
        None => Cli::parse_from(args),
    }
}

/// Logs go to stderr, filtered by `SFAUTH_LOG` (default: warnings only).
/// Logs on stderr at `-v`/`-q`'s level, else SFAUTH_LOG's, else warnings; in colour only
/// on a terminal, and never with NO_COLOR set.
fn init_logging(cli: &Cli) {
    use std::io::IsTerminal;
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => Some("error"),
        (false, 0) => None,
        (false, 1) => Some("info"),
        (false, 2) => Some("debug"),
        (false, _) => Some("trace"),
    };
    let filter = match level {
        Some(level) => tracing_subscriber::EnvFilter::new(level),
        None => tracing_subscriber::EnvFilter::try_from_env("SFAUTH_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
    };
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .try_init();
}
