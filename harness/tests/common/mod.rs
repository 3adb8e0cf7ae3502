//! Running the `gauntlet` binary from integration tests.

use std::process::{Command, Output};

/// Runs the built `gauntlet` binary with `args` and waits for it.
pub fn gauntlet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(args)
        .output()
        .expect("gauntlet runs")
}

/// Its stdout and stderr together, for assertions and failure messages.
#[allow(dead_code)] // not every test binary that includes this module uses it
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
