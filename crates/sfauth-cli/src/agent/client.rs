//! Asking a running agent for a token. Anything short of a good answer (no socket, nobody
//! listening, another user's socket, a timeout, an error, an org it does not serve) is
//! `None`: the caller then reads the store itself, as it would with no agent at all.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sfauth::{AccessToken, Session, Token, TokenSource};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::UnixStream;

use std::os::unix::ffi::OsStrExt as _;

use crate::agent::socket;
use crate::agent::wire::{AgentToken, HOME_HEADER};
use crate::config::Home;

/// How long a client waits for the agent before it reads the store itself. A local agent
/// answers in microseconds; one that is refreshing answers when the refresh is saved.
const ANSWER_LIMIT: Duration = Duration::from_secs(40);
/// Connecting to a unix socket is local: no answer this fast means nobody is serving.
const CONNECT_LIMIT: Duration = Duration::from_millis(500);
/// The most of an answer a client reads.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// An agent's socket, for one org.
#[derive(Debug, Clone)]
pub struct AgentClient {
    socket: PathBuf,
    alias: String,
}

impl AgentClient {
    /// The agent at the default socket (or SFAUTH_AGENT_SOCKET), for `alias`.
    pub fn for_alias(alias: &str) -> Option<AgentClient> {
        let socket = socket::path(None).ok()?;
        Some(AgentClient {
            socket,
            alias: alias.to_owned(),
        })
    }

    /// A fresh token from the agent, or `None`.
    pub async fn token(&self) -> Option<Token> {
        let body = request(&self.socket, "GET", &self.token_path(), None).await?;
        parse_token(&body)
    }

    /// [`AgentClient::token`] without a runtime: for the fast path of `token` and `header`.
    pub fn token_blocking(&self) -> Option<Token> {
        parse_token(&get_blocking(&self.socket, &self.token_path())?)
    }

    fn token_path(&self) -> String {
        format!("/v1/orgs/{}/token", self.alias)
    }

    /// Tells the agent that the API rejected `rejected`; the agent's current token after
    /// it renewed (once, if `rejected` was still current), or `None`.
    pub async fn invalidate(&self, rejected: &AccessToken) -> Option<Token> {
        let path = format!("/v1/orgs/{}/invalidate", self.alias);
        let body = zeroize::Zeroizing::new(
            serde_json::json!({ "access_token": rejected.expose() }).to_string(),
        );
        let answer = request(&self.socket, "POST", &path, Some(body.as_bytes())).await?;
        parse_token(&answer)
    }
}

impl AgentClient {
    /// What the agent says of this org in `/v1/health` (no secret in it), or `None` when
    /// no agent answers or it does not serve the org.
    pub async fn health(&self) -> Option<serde_json::Value> {
        let body = request(&self.socket, "GET", "/v1/health", None).await?;
        let health: serde_json::Value = serde_json::from_slice(&body).ok()?;
        health.get("orgs")?.get(&self.alias).cloned()
    }
}

fn parse_token(body: &[u8]) -> Option<Token> {
    serde_json::from_slice::<AgentToken>(body)
        .ok()?
        .into_token()
}

/// A token source that asks the agent first (when there is one to ask) and the org's own
/// session when the agent does not answer. A long-lived caller (the proxy) keeps the
/// agent's token while it is fresh rather than asking for it again on every request.
#[derive(Debug)]
pub struct AgentOrSession {
    agent: Option<AgentClient>,
    session: Session,
    from_agent: std::sync::Mutex<Option<Token>>,
}

impl AgentOrSession {
    pub fn new(agent: Option<AgentClient>, session: Session) -> AgentOrSession {
        AgentOrSession {
            agent,
            session,
            from_agent: std::sync::Mutex::new(None),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Option<Token>> {
        self.from_agent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `token` from the agent, and hands it back.
    fn keep(&self, token: Token) -> Token {
        *self.kept() = Some(token.clone());
        token
    }
}

#[async_trait]
impl TokenSource for AgentOrSession {
    async fn token(&self) -> sfauth::Result<Token> {
        if let Some(agent) = &self.agent {
            let kept = self.kept().clone();
            if let Some(token) = kept.filter(|t| self.session.expiry().is_fresh(t)) {
                return Ok(token);
            }
            if let Some(token) = agent.token().await {
                return Ok(self.keep(token));
            }
        }
        self.session.token().await
    }

    async fn invalidate(&self, rejected: &AccessToken) -> sfauth::Result<Token> {
        if let Some(agent) = &self.agent {
            self.kept().take();
            if let Some(token) = agent.invalidate(rejected).await {
                return Ok(self.keep(token));
            }
        }
        self.session.invalidate(rejected).await
    }
}

/// Set when the agent took [`ANSWER_LIMIT`] without answering (stopped, or stuck): the rest
/// of this run does not wait for it again.
static GAVE_UP: AtomicBool = AtomicBool::new(false);

/// One HTTP/1.1 request on a fresh connection; the body of a 200 answer, or `None`.
async fn request(socket: &Path, method: &str, path: &str, body: Option<&[u8]>) -> Option<Vec<u8>> {
    if GAVE_UP.load(Ordering::Relaxed) {
        return None;
    }
    let mut stream = tokio::time::timeout(CONNECT_LIMIT, UnixStream::connect(socket))
        .await
        .ok()?
        .ok()?;
    // Only an agent of our own user: a socket someone else serves gets no request.
    if !ours(socket, stream.peer_cred().ok()?.uid()) {
        return None;
    }
    let exchange = async {
        let body = body.unwrap_or_default();
        stream
            .write_all(head(method, path, body.len()).as_bytes())
            .await
            .ok()?;
        stream.write_all(body).await.ok()?;
        let mut answer = Vec::new();
        let mut limited = (&mut stream).take(MAX_ANSWER_BYTES as u64 + 1);
        limited.read_to_end(&mut answer).await.ok()?;
        Some(answer)
    };
    let Ok(answer) = tokio::time::timeout(ANSWER_LIMIT, exchange).await else {
        GAVE_UP.store(true, Ordering::Relaxed);
        return None;
    };
    let answer = answer?;
    body_of(&answer).map(<[u8]>::to_vec)
}

/// [`request`] for `GET path`, blocking, for the token commands' fast path (no runtime
/// there). Connecting never waits: a socket whose queue is full is an agent that is not
/// answering.
fn get_blocking(socket: &Path, path: &str) -> Option<Vec<u8>> {
    use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
    use std::io::{Read as _, Write as _};
    let deadline = Instant::now() + ANSWER_LIMIT;
    let fd = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )
    .ok()?;
    rustix::net::connect(&fd, &SocketAddrUnix::new(socket).ok()?).ok()?;
    if !ours(
        socket,
        rustix::net::sockopt::socket_peercred(&fd)
            .ok()?
            .uid
            .as_raw(),
    ) {
        return None;
    }
    let mut stream = std::os::unix::net::UnixStream::from(fd);
    stream.set_nonblocking(false).ok()?;
    stream.set_write_timeout(Some(ANSWER_LIMIT)).ok()?;
    stream.write_all(head("GET", path, 0).as_bytes()).ok()?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            GAVE_UP.store(true, Ordering::Relaxed);
            return None;
        }
        stream.set_read_timeout(Some(left)).ok()?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                GAVE_UP.store(true, Ordering::Relaxed);
                return None;
            }
            Err(_) => return None,
        }
        if answer.len() > MAX_ANSWER_BYTES {
            return None;
        }
    }
    body_of(&answer).map(<[u8]>::to_vec)
}

/// Whether the socket's server runs as this user; warns when it does not.
fn ours(socket: &Path, peer_uid: u32) -> bool {
    let mine = peer_uid == socket::my_uid();
    if !mine {
        tracing::warn!(socket = %socket.display(), uid = peer_uid, "the agent socket belongs to another user; not using it");
    }
    mine
}

/// The head of a request to the agent (one per connection).
fn head(method: &str, path: &str, body_len: usize) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: sfauth-agent\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {body_len}\r\n\r\n"
    )
}

/// The body of a whole answer, if it is a 200 from an agent of our own config home.
fn body_of(answer: &[u8]) -> Option<&[u8]> {
    if answer.len() > MAX_ANSWER_BYTES {
        return None;
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head_len) = response.parse(answer).ok()? else {
        return None;
    };
    if response.code != Some(200) {
        tracing::debug!(status = ?response.code, "the agent did not serve the token");
        return None;
    }
    // An agent of another config home serves other orgs under the same names.
    let theirs = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(HOME_HEADER))
        .map(|h| h.value);
    let ours = Home::locate().ok()?.identity();
    if theirs != Some(ours.as_os_str().as_bytes()) {
        tracing::debug!("the agent serves another config home; not using it");
        return None;
    }
    Some(&answer[head_len..])
}
