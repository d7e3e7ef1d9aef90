//! `sfauth completions` and `sfauth man`: shell completions and man pages, generated from
//! the clap definitions, so that they never drift from the commands.

use std::path::Path;

use clap::CommandFactory;
use sfauth::{Error, ErrorKind};

use crate::cli::{Cli, CompletionShell, CompletionsArgs, ManArgs};
use crate::out::outln;

/// Runs `sfauth completions SHELL`.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<()> {
    use clap_complete::Shell;
    let shell = match args.shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
        CompletionShell::Powershell => Shell::PowerShell,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "sfauth", &mut script);
    crate::out::stdout_bytes(&script)?;
    Ok(())
}

/// Runs `sfauth man [--dir DIR]`.
pub fn man(args: &ManArgs) -> anyhow::Result<()> {
    let command = Cli::command();
    match &args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            crate::out::stdout_bytes(&page)?;
        }
        Some(dir) => {
            let written = write_pages(command, dir)?;
            outln!("wrote {written} man pages into {}", dir.display())?;
        }
    }
    Ok(())
}

/// Writes the page of `command` and of each of its subcommands (`sfauth-login-web.1`, …)
/// into `dir`; says how many.
fn write_pages(command: clap::Command, dir: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("cannot create {}: {e}", dir.display()),
        )
    })?;
    let mut written = 0;
    let mut pending = vec![(command.get_name().to_owned(), command)];
    while let Some((name, command)) = pending.pop() {
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            let full = format!("{name}-{}", sub.get_name());
            pending.push((full.clone(), sub.clone().name(full)));
        }
        let mut page = Vec::new();
        clap_mangen::Man::new(command).render(&mut page)?;
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, page).map_err(|e| {
            Error::new(
                ErrorKind::Usage,
                format!("cannot write {}: {e}", path.display()),
            )
        })?;
        written += 1;
    }
    Ok(written)
}
