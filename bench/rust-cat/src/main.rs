//! `rust-cat FILE`: writes FILE to stdout. A start-up floor for `sfauth token`.

use std::io::Write as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: rust-cat FILE");
        return ExitCode::from(2);
    };
    match std::fs::read(&path).and_then(|bytes| std::io::stdout().lock().write_all(&bytes)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rust-cat: {error}");
            ExitCode::FAILURE
        }
    }
}
