//! The agent's socket: its default path, its private directory, and the same-user check
//! both ends make on each other (peer credentials).

use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use sfauth::{Error, ErrorKind, Result};

use crate::config::Home;

/// The environment variable that names the socket, for the agent and its clients alike.
pub const SOCKET_ENV: &str = "SFAUTH_AGENT_SOCKET";

/// A unix socket path longer than this does not fit in `sockaddr_un` (108 bytes on Linux,
/// 104 on macOS, with the terminating NUL).
const MAX_PATH_BYTES: usize = 103;

/// The socket: `flag`, else SFAUTH_AGENT_SOCKET, else `$XDG_RUNTIME_DIR/sfauth/agent.sock`
/// (a per-user tmpfs that the session manager cleans), else `run/agent.sock` in
/// sfauth's home.
pub fn path(flag: Option<&Path>) -> Result<PathBuf> {
    path_with_source(flag).map(|(path, _)| path)
}

/// [`path`], and what decided it (for `sfauth config`).
pub fn path_with_source(flag: Option<&Path>) -> Result<(PathBuf, &'static str)> {
    if let Some(path) = flag {
        return Ok((path.to_owned(), "flag --socket"));
    }
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(path) = var(SOCKET_ENV) {
        return Ok((PathBuf::from(path), "env SFAUTH_AGENT_SOCKET"));
    }
    if let Some(runtime) = var("XDG_RUNTIME_DIR") {
        let path = PathBuf::from(runtime).join("sfauth").join("agent.sock");
        return Ok((path, "env XDG_RUNTIME_DIR"));
    }
    Ok((Home::locate()?.run_dir().join("agent.sock"), "default"))
}

/// The effective user id of this process.
pub fn my_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Makes the socket's directory if it is missing (0700), and refuses one that another
/// user owns or that others may enter: whoever can enter it could replace the socket.
pub fn prepare_dir(socket: &Path) -> Result<()> {
    if socket.as_os_str().len() > MAX_PATH_BYTES {
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "the agent socket path {} is longer than a unix socket path can be ({MAX_PATH_BYTES} bytes)",
                socket.display()
            ),
        )
        .with_hint("pass a shorter --socket (or SFAUTH_AGENT_SOCKET)"));
    }
    let dir = socket
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Usage,
                    format!("cannot create the agent's directory {}: {e}", dir.display()),
                )
                .with_hint("pass a --socket in a directory you can write")
            })?;
    }
    let meta = std::fs::metadata(dir).map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("cannot read the agent's directory {}: {e}", dir.display()),
        )
    })?;
    if meta.uid() != my_uid() || meta.permissions().mode() & 0o077 != 0 {
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "the agent's directory {} is not private to you (owner uid {}, mode {:o}): \
                 another user could replace the socket",
                dir.display(),
                meta.uid(),
                meta.permissions().mode() & 0o777
            ),
        )
        .with_hint(format!(
            "chmod 700 {} (if it is yours), or pass a --socket in a directory only you can enter",
            dir.display()
        )));
    }
    Ok(())
}
