//! A running `sfauth agent` in a test's home, and its API spoken over the unix socket the
//! way `curl --unix-socket` does (one request per connection).

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use sfauth_emulator::Emulator;

use crate::command::{COMMAND_TIMEOUT, Run, Running};
use crate::home::Home;

/// How long an agent has to start serving.
const START_LIMIT: Duration = Duration::from_secs(20);

/// An answer of the agent.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header, or empty.
    pub content_type: String,
    /// The body, as text.
    pub body: String,
}

impl Reply {
    /// The body as JSON; panics naming the body if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("the agent answered no JSON ({e}): {}", self.body))
    }
}

/// A started agent; killed when dropped.
pub struct Agent {
    /// The `sfauth agent` process.
    pub running: Running,
    /// Its socket.
    pub socket: PathBuf,
}

impl Agent {
    /// `sfauth agent ARGS` in `home`, once it says it is serving. Its socket is the default
    /// one of that home (no `XDG_RUNTIME_DIR` in tests), where the token commands look.
    pub fn start(home: &Home, args: &[&str]) -> Agent {
        let mut running = home.sfauth().arg("agent").args(args).start();
        running.line_with("sfauth agent: serving", START_LIMIT);
        Agent {
            running,
            socket: home.agent_socket(),
        }
    }

    /// `sfauth agent --socket SOCKET ARGS` in `home`, once it says it is serving.
    pub fn start_at(home: &Home, socket: &Path, args: &[&str]) -> Agent {
        Agent::started(home.sfauth(), socket, args)
    }

    /// `command` (`sfauth` in some home, maybe as another user) running `agent --socket
    /// SOCKET ARGS`, once it says it is serving.
    pub fn started(command: crate::command::TestCommand, socket: &Path, args: &[&str]) -> Agent {
        let mut running = command
            .arg("agent")
            .arg("--socket")
            .arg(socket)
            .args(args)
            .start();
        running.line_with("sfauth agent: serving", START_LIMIT);
        Agent {
            running,
            socket: socket.to_owned(),
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Reply {
        request(&self.socket, "GET", path, "")
    }

    /// `POST path` with a JSON `body`.
    pub fn post(&self, path: &str, body: &str) -> Reply {
        request(&self.socket, "POST", path, body)
    }

    /// `GET /v1/orgs/{alias}/token`, which must answer 200.
    pub fn token(&self, alias: &str) -> Value {
        token_at(&self.socket, alias)
    }

    /// The value of the metric `name` for the org `alias` in `GET /metrics`; panics,
    /// showing the metrics, when there is none.
    pub fn metric(&self, name: &str, alias: &str) -> u64 {
        let metrics = self.get("/metrics").body;
        let prefix = format!("{name}{{org=\"{alias}\"}} ");
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in:\n{metrics}"))
    }

    /// Sends SIGTERM and waits for the agent to exit.
    pub fn stop(self) -> Run {
        self.running.signal(15);
        self.running.finish()
    }
}

/// Asks each of `agents` for `alias`'s token every 100 ms for `run`, and checks that each
/// answer is an access token `org` still accepts.
pub fn ask_for(agents: &[&Agent], alias: &str, org: &Emulator, run: Duration) {
    let started = Instant::now();
    while started.elapsed() < run {
        for agent in agents {
            let token = agent.token(alias);
            let access = token["access_token"].as_str().expect("an access token");
            assert!(org.access_token_is_live(access), "a dead token was served");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The sum of the metric `name` for `alias` over `agents`.
pub fn total(agents: &[&Agent], name: &str, alias: &str) -> u64 {
    agents.iter().map(|agent| agent.metric(name, alias)).sum()
}

/// Panics unless `agents` counted each refresh `org` served once between them, by the one
/// that sent it. With one refresh at a time, at most one may be served and not yet saved
/// and counted.
pub fn assert_each_refresh_counted_once(agents: &[&Agent], alias: &str, org: &Emulator) {
    let sent = total(agents, "sfauth_agent_refreshes_total", alias);
    let stats = org.stats();
    assert!(
        (stats.refreshes_served.saturating_sub(1)..=stats.refreshes_served).contains(&sent),
        "each refresh counted once, by the agent that sent it: {sent} counted, {stats:?}"
    );
}

/// `GET /v1/orgs/{alias}/token` on the agent at `socket`, which must answer 200 (for
/// client threads, which share the socket's path and not the agent's process).
pub fn token_at(socket: &Path, alias: &str) -> Value {
    let reply = request(socket, "GET", &format!("/v1/orgs/{alias}/token"), "");
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json()
}

/// One HTTP/1.1 request on a connection of its own; panics if the socket does not answer.
pub fn request(socket: &Path, method: &str, path: &str, body: &str) -> Reply {
    let mut stream = UnixStream::connect(socket)
        .unwrap_or_else(|e| panic!("connect to the agent at {}: {e}", socket.display()));
    stream
        .set_read_timeout(Some(COMMAND_TIMEOUT))
        .expect("set a read timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send the request");
    let mut answer = Vec::new();
    stream
        .take(4 * 1024 * 1024)
        .read_to_end(&mut answer)
        .expect("read the answer");
    parse(&answer)
}

/// The agent's answer in `answer`, split.
pub fn parse(answer: &[u8]) -> Reply {
    let raw = crate::http::parse(answer);
    Reply {
        status: raw.status,
        content_type: raw.header("content-type").unwrap_or_default().to_owned(),
        body: raw.text(),
    }
}
