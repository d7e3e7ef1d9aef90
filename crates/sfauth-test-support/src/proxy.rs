//! A running `sfauth proxy` in a test's home, and raw HTTP/1.1 requests to it: one
//! connection each, written byte for byte (so a test can send what no polite client would:
//! an absolute URI, a CONNECT, another Host, a chunked body), answers read to their end.

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::command::{COMMAND_TIMEOUT, Run, Running, TestCommand};
use crate::home::Home;
pub use crate::http::Reply;
use crate::http::read_reply;

/// How long a proxy has to start serving.
const START_LIMIT: Duration = Duration::from_secs(20);

/// A started proxy; killed when dropped. Its requests are [`Client`]'s, through `Deref`.
pub struct Proxy {
    /// The `sfauth proxy` process.
    pub running: Running,
    client: Client,
}

/// Where a proxy listens, and the requests a test sends it; `Copy`, so threads can share it.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    /// Where the proxy listens.
    pub addr: SocketAddr,
}

impl Proxy {
    /// `sfauth proxy --listen 127.0.0.1:0 ARGS` in `home`, once it says it is forwarding.
    pub fn start(home: &Home, args: &[&str]) -> Proxy {
        Proxy::start_command(home.sfauth().arg("proxy").args(args))
    }

    /// `command` (an `sfauth proxy` run a test has set up, with its environment) with
    /// `--listen 127.0.0.1:0`, once it says it is forwarding.
    pub fn start_command(command: TestCommand) -> Proxy {
        let mut running = command.args(["--listen", "127.0.0.1:0"]).start();
        let line = running.line_with("sfauth proxy: forwarding http://", START_LIMIT);
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address in `{line}`"));
        Proxy {
            running,
            client: Client { addr },
        }
    }

    /// The requests to this proxy, for a thread of its own.
    pub fn client(&self) -> Client {
        self.client
    }

    /// Sends SIGTERM and waits for the proxy to exit.
    pub fn stop(self) -> Run {
        self.running.signal(15);
        self.running.finish()
    }
}

impl std::ops::Deref for Proxy {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Client {
    /// `GET path` with no other header than Host.
    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], None)
    }

    /// `method path` with `headers`, and `body` sent with its Content-Length.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = body {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("Connection: close\r\n\r\n");
        let mut raw = head.into_bytes();
        raw.extend_from_slice(body.unwrap_or_default());
        self.send(&raw)
    }

    /// `method path` with `body` sent chunked (no length known ahead), in 64 KiB chunks.
    pub fn chunked(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> Reply {
        let mut raw = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .into_bytes();
        for chunk in body.chunks(64 * 1024) {
            raw.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            raw.extend_from_slice(chunk);
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"0\r\n\r\n");
        self.send(&raw)
    }

    /// Sends `raw` on a connection of its own and reads the answer to the end.
    pub fn send(&self, raw: &[u8]) -> Reply {
        let mut stream = self.connect();
        stream.write_all(raw).expect("send the request");
        read_reply(stream)
    }

    /// A connection to the proxy, with the test's read timeout.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr)
            .unwrap_or_else(|e| panic!("connect to the proxy at {}: {e}", self.addr));
        stream
            .set_read_timeout(Some(COMMAND_TIMEOUT))
            .expect("set a read timeout");
        stream
    }
}
