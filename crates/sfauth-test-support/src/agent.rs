//! A running `sfauth agent` in a test's home, and its API spoken over the unix socket the
//! way `curl --unix-socket` does (one request per connection).

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

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
    parse(&String::from_utf8_lossy(&answer))
}

/// Splits an HTTP/1.1 answer (not chunked: the agent sends lengths).
pub fn parse(answer: &str) -> Reply {
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {answer:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"));
    let content_type = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default();
    Reply {
        status,
        content_type,
        body: body.to_owned(),
    }
}
