//! Asking a running agent for a token. Anything short of a good answer (no socket, nobody
//! listening, another user's socket, a timeout, an error, an org it does not serve) is
//! `None`: the caller then reads the store itself, as it would with no agent at all.

use std::path::{Path, PathBuf};
use std::time::Duration;

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
        let path = format!("/v1/orgs/{}/token", self.alias);
        let body = request(&self.socket, "GET", &path, None).await?;
        parse_token(&body)
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
/// session when the agent does not answer.
#[derive(Debug)]
pub struct AgentOrSession {
    agent: Option<AgentClient>,
    session: Session,
}

impl AgentOrSession {
    pub fn new(agent: Option<AgentClient>, session: Session) -> AgentOrSession {
        AgentOrSession { agent, session }
    }
}

#[async_trait]
impl TokenSource for AgentOrSession {
    async fn token(&self) -> sfauth::Result<Token> {
        if let Some(agent) = &self.agent
            && let Some(token) = agent.token().await
        {
            return Ok(token);
        }
        self.session.token().await
    }

    async fn invalidate(&self, rejected: &AccessToken) -> sfauth::Result<Token> {
        if let Some(agent) = &self.agent
            && let Some(token) = agent.invalidate(rejected).await
        {
            return Ok(token);
        }
        self.session.invalidate(rejected).await
    }
}

/// One HTTP/1.1 request on a fresh connection; the body of a 200 answer, or `None`.
async fn request(socket: &Path, method: &str, path: &str, body: Option<&[u8]>) -> Option<Vec<u8>> {
    let mut stream = tokio::time::timeout(CONNECT_LIMIT, UnixStream::connect(socket))
        .await
        .ok()?
        .ok()?;
    // Only an agent of our own user: a socket someone else serves gets no request.
    let peer = stream.peer_cred().ok()?;
    if peer.uid() != socket::my_uid() {
        tracing::warn!(socket = %socket.display(), uid = peer.uid(), "the agent socket belongs to another user; not using it");
        return None;
    }
    let exchange = async {
        let body = body.unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: sfauth-agent\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.ok()?;
        stream.write_all(body).await.ok()?;
        let mut answer = Vec::new();
        let mut limited = (&mut stream).take(MAX_ANSWER_BYTES as u64 + 1);
        limited.read_to_end(&mut answer).await.ok()?;
        (answer.len() <= MAX_ANSWER_BYTES).then_some(answer)
    };
    let answer = tokio::time::timeout(ANSWER_LIMIT, exchange).await.ok()??;
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head_len) = response.parse(&answer).ok()? else {
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
    Some(answer[head_len..].to_vec())
}
