//! The `gauntlet` binary: the command line with the built-in workloads.
//!
//! Everything lives in [`gauntlet_harness::cli`], so that a user's own binary gets the
//! same command line with its own workloads registered beside the built-ins.

use std::process::ExitCode;

fn main() -> ExitCode {
    gauntlet_harness::cli::main()
}
