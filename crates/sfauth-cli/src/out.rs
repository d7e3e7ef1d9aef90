//! Every write to stdout and stderr, in one place. A closed pipe is the reader's choice
//! (`sfauth orgs | head -1`), not a failure: stdout reports it once as [`Closed`], which
//! `main` turns into a quiet exit; stderr ignores it, since there is nowhere left to say
//! anything. `println!`/`eprintln!` would panic instead.

use std::fmt;
use std::io::{self, Write};

/// stdout was closed by its reader: stop quietly.
#[derive(Debug)]
pub struct Closed;

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stdout was closed")
    }
}

impl std::error::Error for Closed {}

/// Writes `bytes` to stdout and flushes. A closed pipe is [`Closed`]; other failures are
/// errors of their own.
pub fn stdout_bytes(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(Closed.into()),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to stdout")),
    }
}

/// Writes a formatted line to stdout (see [`stdout_bytes`]).
pub fn stdout_line(args: fmt::Arguments<'_>) -> anyhow::Result<()> {
    let mut line = zeroize::Zeroizing::new(args.to_string());
    line.push('\n');
    stdout_bytes(line.as_bytes())
}

/// Writes a formatted line to stderr; a failure to write (a closed pipe) is ignored.
pub fn stderr_line(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{args}").and_then(|()| err.flush());
}

/// Whether `error` is, or was caused by, stdout being closed.
pub fn is_closed(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.is::<Closed>()
            || cause
                .downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// `println!` that reports a closed stdout instead of panicking: use with `?`.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::stdout_line(format_args!($($arg)*))
    };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    () => {
        $crate::out::stderr_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::out::stderr_line(format_args!($($arg)*))
    };
}

pub(crate) use {errln, outln};
