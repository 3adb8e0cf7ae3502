//! The `gauntlet` command line with the bank workload registered beside the built-ins.

use std::process::ExitCode;

use gauntlet_harness::workload::Registry;

fn main() -> ExitCode {
    gauntlet_harness::cli::main_with(Registry::builtin().with(gauntlet_example_bank::Bank))
}
