//! CLI, `vigie man` and `vigie completions SHELL`: generated from the command-line
//! definition, with no configuration. A closed stdout (`vigie man | head`) is no failure.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;

use super::args::Cli;
use super::fail;

pub fn man() -> ExitCode {
    let mut out = std::io::stdout().lock();
    match clap_mangen::Man::new(Cli::command()).render(&mut out) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`vigie man | head`): nothing more to say.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(e, 1),
    }
}

pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    // Generated into memory first: the generator panics on a failed write, and a closed
    // stdout (`vigie completions bash | head`) must not be a panic.
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "vigie", &mut buf);
    let _ = std::io::stdout().lock().write_all(&buf);
    ExitCode::SUCCESS
}
