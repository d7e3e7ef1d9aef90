//! Ports on `127.0.0.1` for the failures a test stages: one where nothing listens, one
//! that takes connections and never answers, an org's port after it stopped.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use sfauth_emulator::Emulator;

use crate::wait_until;

/// A port on 127.0.0.1 where nothing listens: bound, then released.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// `http://127.0.0.1:PORT` where nothing listens.
pub fn nowhere_url() -> String {
    format!("http://127.0.0.1:{}", closed_port())
}

/// Stops `org` and waits (at most 20 s) until its port refuses connections; returns the
/// address it had.
pub fn shut_down(org: Emulator) -> SocketAddr {
    let addr = org.addr();
    org.shutdown();
    wait_until(
        &format!("{addr} to refuse connections"),
        Duration::from_secs(20),
        || TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
    );
    addr
}

/// A listener on 127.0.0.1 that never answers: a host no token may reach, or a server
/// that takes the connection and then says nothing.
#[derive(Debug)]
pub struct Silent {
    listener: TcpListener,
}

impl Silent {
    /// On a free port.
    pub fn bind() -> Silent {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
        Silent { listener }
    }

    /// On `addr`, once it is free (at most 20 s): the port of an org that was shut down.
    pub fn bind_at(addr: SocketAddr) -> Silent {
        let mut bound = None;
        wait_until(
            &format!("{addr} to be free"),
            Duration::from_secs(20),
            || {
                bound = TcpListener::bind(addr).ok();
                bound.is_some()
            },
        );
        Silent {
            listener: bound.expect("bound"),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        let port = self.listener.local_addr().expect("local addr").port();
        format!("127.0.0.1:{port}")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.host())
    }

    /// Whether anything has connected.
    pub fn was_contacted(&self) -> bool {
        self.listener.set_nonblocking(true).expect("nonblocking");
        self.listener.accept().is_ok()
    }
}
