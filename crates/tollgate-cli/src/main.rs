//! `tollgate`: keys, tokens and revocations for the operators of services that use the
//! tollgate layers.
//!
//! Every command goes through the workspace's own code: keys are `tollgate-session`'s
//! [`SigningKey`](tollgate_session::SigningKey) and
//! [`VerificationKey`](tollgate_session::VerificationKey), verification is tollgate's
//! [`Verifier`](tollgate::verify::Verifier), revocations go through `tollgate-redis`'s
//! [`RedisRevocationStore`](tollgate_redis::RedisRevocationStore). See the crate's README for every command, flag
//! and exit status.
#![forbid(unsafe_code)]

mod cli;
mod failure;
mod input;
mod keys;
mod output;
mod revoke;
mod tokens;

use std::{io::Write as _, process::ExitCode};

use clap::{CommandFactory as _, Parser as _, error::ErrorKind};

use crate::{
    cli::{Cli, Command},
    failure::Failure,
};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(json),
    }
}

/// Help and version go to stdout with status 0; a usage error is one line on stderr, status 2.
fn usage_error(error: &clap::Error) -> ExitCode {
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        // Printing help can only fail when stdout is closed: nothing is left to tell.
        let _ = error.print();
        return if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(failure::USAGE)
        } else {
            ExitCode::SUCCESS
        };
    }
    // clap's first paragraph names the argument (on a second line for missing ones); the
    // usage and the hint that follow are left out.
    let rendered = error.render().to_string();
    let line: Vec<&str> = rendered
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect();
    let _ = writeln!(std::io::stderr(), "{}", line.join(" "));
    ExitCode::from(failure::USAGE)
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Keygen(args) => keys::keygen(&args, cli.json),
        Command::Jwks(args) => keys::jwks(&args, cli.json),
        Command::Mint(args) => tokens::mint(&args, cli.json),
        Command::Inspect(args) => tokens::inspect(&args, cli.json),
        Command::Verify(args) => tokens::verify(&args, cli.json),
        Command::Revoke(args) => revoke::revoke(&args, cli.json),
        Command::Check(args) => revoke::check(&args, cli.json),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "tollgate",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}
