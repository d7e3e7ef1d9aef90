//! A token file's lock held from outside, as another sfauth in the middle of a refresh
//! holds it: `flock(1)` in a child process, released when dropped.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The advisory lock on a lock file, held by a `flock(1)` child until this is dropped.
#[derive(Debug)]
pub struct HeldLock {
    child: Child,
    path: PathBuf,
}

impl HeldLock {
    /// Holds the lock sfauth takes for `token_file` (`<file>.lock` beside it).
    pub fn of_token_file(token_file: &Path) -> HeldLock {
        let name = token_file
            .file_name()
            .expect("a token file name")
            .to_string_lossy();
        HeldLock::hold(&token_file.with_file_name(format!("{name}.lock")))
    }

    /// Holds the advisory lock on `lock_file` (creating it and its directory); returns once
    /// the lock is taken. Bounded: the child gives the lock up after a minute whatever
    /// happens.
    pub fn hold(lock_file: &Path) -> HeldLock {
        std::fs::create_dir_all(lock_file.parent().expect("a parent directory"))
            .expect("create the lock file's directory");
        let mut child = Command::new("flock")
            .arg(lock_file)
            .args(["sh", "-c", "echo locked; exec sleep 60"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("flock from util-linux is installed");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout is piped"))
            .read_line(&mut line)
            .expect("flock says it holds the lock");
        assert_eq!(line.trim(), "locked");
        HeldLock {
            child,
            path: lock_file.to_owned(),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
