//! `sfauth agent`: one long-lived process that keeps orgs' tokens fresh ahead of expiry
//! (through each org's store and its lock, so agents on many machines and plain `sfauth`
//! calls still make one refresh at a time) and serves them on a private unix socket.
//!
//! SIGHUP re-reads the config (orgs added or removed); SIGTERM and SIGINT stop serving,
//! let a refresh in flight reach its save, and exit 0.

mod api;
mod metrics;
mod sink;
mod worker;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use std::os::unix::ffi::OsStrExt as _;

use hyper::header::HeaderValue;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use sfauth::{Error, ErrorKind, Result};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;

use crate::agent::socket;
use crate::agent::wire::HOME_HEADER;
use crate::cli::AgentArgs;
use crate::config::{Alias, Config, Home};
use crate::org::ResolvedOrg;
use crate::out::errln;
use crate::signals::{self, Signals};

use api::Orgs;
use sink::Sink;
use worker::OrgAgent;

/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 512;
/// A client has this long to send a request's head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// No connection lives longer (a keep-alive client reconnects).
const CONNECTION_LIMIT: Duration = Duration::from_secs(300);

/// Runs `sfauth agent` until SIGTERM or SIGINT.
pub async fn run(args: &AgentArgs, signals: &mut Signals) -> anyhow::Result<ExitCode> {
    let sinks = args
        .sinks
        .iter()
        .map(|s| Sink::parse(s))
        .collect::<Result<Vec<_>>>()?;
    let socket = socket::path(args.socket.as_deref())?;
    socket::prepare_dir(&socket)?;
    let orgs: Orgs = Arc::new(RwLock::new(BTreeMap::new()));
    let sinks = Arc::new(sinks);
    load(args, &orgs, &sinks, true).await?;
    let listener = bind(&socket).await?;
    errln!(
        "sfauth agent: serving {} on {}",
        describe(&orgs),
        socket.display()
    );
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    // Named in every answer, so that a client of another home does not take its tokens.
    let home = HeaderValue::from_bytes(Home::locate()?.identity().as_os_str().as_bytes()).ok();
    let me = socket::my_uid();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => serve(stream, me, &home, &orgs, &permits),
                Err(e) => {
                    // Typically EMFILE: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            number = signals.recv() => {
                if number == sighup() {
                    match load(args, &orgs, &sinks, false).await {
                        Ok(()) => errln!("sfauth agent: config reloaded; serving {}", describe(&orgs)),
                        Err(e) => errln!("sfauth agent: config not reloaded, still serving {}: {e}", describe(&orgs)),
                    }
                    continue;
                }
                break;
            }
        }
    }
    drop(listener);
    remove_socket(&socket);
    for org in api::snapshot(&orgs) {
        org.stop();
    }
    // A refresh that was sent reaches its save before the process ends.
    signals::settle(args.http.timeout).await;
    errln!("sfauth agent: stopped");
    Ok(ExitCode::SUCCESS)
}

fn sighup() -> i32 {
    tokio::signal::unix::SignalKind::hangup().as_raw_value()
}

fn describe(orgs: &Orgs) -> String {
    let names: Vec<String> = api::snapshot(orgs)
        .iter()
        .map(|o| o.alias.as_str().to_owned())
        .collect();
    match names.len() {
        0 => "no orgs".to_owned(),
        1 => format!("org {}", names[0]),
        _ => format!("orgs {}", names.join(", ")),
    }
}

/// Serves one connection of a client of our own user, within the connection limit.
fn serve(
    stream: UnixStream,
    me: u32,
    home: &Option<HeaderValue>,
    orgs: &Orgs,
    permits: &Arc<Semaphore>,
) {
    match stream.peer_cred() {
        Ok(peer) if peer.uid() == me => {}
        Ok(peer) => {
            tracing::warn!(uid = peer.uid(), "refused a connection from another user");
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "no peer credentials; connection refused");
            return;
        }
    }
    let Ok(permit) = Arc::clone(permits).try_acquire_owned() else {
        tracing::warn!("too many connections; one refused");
        return;
    };
    let orgs = Arc::clone(orgs);
    let home = home.clone();
    tokio::spawn(async move {
        let service = hyper::service::service_fn(move |request| {
            let orgs = Arc::clone(&orgs);
            let home = home.clone();
            async move {
                let mut response = api::handle(orgs, request).await;
                if let Some(home) = home {
                    response.headers_mut().insert(HOME_HEADER, home);
                }
                Ok::<_, Infallible>(response)
            }
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .max_buf_size(16 * 1024)
            .serve_connection(TokioIo::new(stream), service);
        let _ = tokio::time::timeout(CONNECTION_LIMIT, connection).await;
        drop(permit);
    });
}

/// The orgs to serve: `--org`s, else every org in the config. At start an org that cannot
/// be served is an error; at a reload it is reported and the others go on. Each new org's
/// token is read before it is served, so "serving" means the tokens are in hand.
async fn load(args: &AgentArgs, orgs: &Orgs, sinks: &Arc<Vec<Sink>>, starting: bool) -> Result<()> {
    let home = Home::locate()?;
    let config = Config::load(&home)?;
    let wanted: Vec<Alias> = if args.orgs.is_empty() {
        config.orgs.keys().cloned().collect()
    } else {
        args.orgs
            .iter()
            .map(|a| Alias::parse(a))
            .collect::<Result<_>>()?
    };
    if wanted.is_empty() && starting {
        return Err(
            Error::new(ErrorKind::Usage, "there is no org for the agent to serve")
                .with_hint("log in first (sfauth login web --alias NAME), or pass --org ALIAS"),
        );
    }
    for sink in sinks.iter() {
        if !wanted.contains(&sink.alias) {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "the sink for `{}` names an org this agent does not serve",
                    sink.alias.as_str()
                ),
            )
            .with_hint("pass --org for it too, or drop the sink"));
        }
    }
    let mut next = BTreeMap::new();
    let current = orgs.read().unwrap_or_else(|p| p.into_inner()).clone();
    for alias in wanted {
        // A reload keeps what it already serves running (its schedule, its counters),
        // unless the org's record changed (a new login, another store).
        if let Some(existing) = current
            .get(alias.as_str())
            .filter(|existing| config.orgs.get(&alias) == Some(&existing.record))
        {
            next.insert(alias.as_str().to_owned(), Arc::clone(existing));
            continue;
        }
        let resolved = match ResolvedOrg::for_agent(&alias, &args.http) {
            Ok(resolved) => resolved,
            Err(e) if !starting => {
                errln!("sfauth agent: not serving `{}`: {e}", alias.as_str());
                continue;
            }
            Err(e) => return Err(e),
        };
        let Ok((_, record)) = resolved.named() else {
            continue;
        };
        let org = OrgAgent::new(
            alias.clone(),
            record.clone(),
            resolved.session(),
            resolved.expiry(),
        );
        org.read_token().await;
        let mine: Vec<Sink> = sinks.iter().filter(|s| s.alias == alias).cloned().collect();
        tokio::spawn(Arc::clone(&org).run(move |org, token| {
            for sink in &mine {
                if let Err(e) = sink.write(token, org.expiry()) {
                    errln!(
                        "sfauth agent: cannot write the sink {}: {e}",
                        sink.path.display()
                    );
                }
            }
        }));
        next.insert(alias.as_str().to_owned(), org);
    }
    for (alias, org) in &current {
        if !next.get(alias).is_some_and(|kept| Arc::ptr_eq(kept, org)) {
            org.stop();
        }
    }
    *orgs.write().unwrap_or_else(|p| p.into_inner()) = next;
    Ok(())
}

/// Binds the socket (0600). A socket file that nobody answers on is a dead agent's and is
/// replaced; one that answers is another agent's, and this one does not start.
async fn bind(path: &Path) -> Result<UnixListener> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("{} exists and is not a socket", path.display()),
            )
            .with_hint("pass another --socket, or remove that file"));
        }
        if UnixStream::connect(path).await.is_ok() {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("another agent is already serving on {}", path.display()),
            )
            .with_hint("stop it first, or pass another --socket"));
        }
        let _ = std::fs::remove_file(path);
    }
    let listener = UnixListener::bind(path).map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("cannot listen on {}: {e}", path.display()),
        )
        .with_hint("pass a --socket in a directory you can write")
    })?;
    // The directory is private already; the socket is too, in case it is moved or the
    // directory opened up later.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
        Error::new(
            ErrorKind::Storage,
            format!("cannot make {} private: {e}", path.display()),
        )
    })?;
    Ok(listener)
}

fn remove_socket(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        tracing::debug!(error = %e, "socket not removed");
    }
}
