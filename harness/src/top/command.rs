//! The `gauntlet top` subcommand: its flags and what it does with them.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use clap::Args;
use gauntlet_runtime::actor::snapshot::SortKey;

use super::app::App;
use super::client::Client;
use super::terminal::{self, Ending};
use super::{DEFAULT_ADDR, once};
use crate::units::parse_duration;

const EXIT_FAIL: u8 = 1;
const EXIT_USAGE: u8 = 2;

/// `gauntlet top [ADDR] [--once] [--sort KEY] [--glob GLOB] [--top N] [--every D]`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  gauntlet run scenarios/smoke.toml --metrics-addr 9464 &\n  gauntlet top\n  gauntlet top 127.0.0.1:9464 --sort busy --glob 'actor://gauntlet/worker-*'\n  gauntlet top --once 127.0.0.1:9464 --top 20\n\nKeys: s cycle the sort key, / edit the address glob (Enter apply, Esc cancel), up/down scroll, q quit.\nExit codes: 0 the view ended (q, or the run ended); 1 the endpoint could not be read (--once); 2 bad usage."
)]
pub struct TopArgs {
    /// The run's metrics endpoint, as `gauntlet run --metrics-addr` printed it
    /// (HOST:PORT, PORT, or http://HOST:PORT/metrics).
    #[arg(value_name = "ADDR", default_value = DEFAULT_ADDR)]
    pub addr: String,
    /// Print one plain table to stdout and exit (for scripts and CI logs).
    #[arg(long)]
    pub once: bool,
    /// Order by depth, busy, running, restarts or handled.
    #[arg(long, value_name = "KEY", default_value = "depth", value_parser = sort_arg)]
    pub sort: SortKey,
    /// Only actors whose address matches this glob (`*` within a path segment, `**` across).
    #[arg(long, value_name = "GLOB")]
    pub glob: Option<String>,
    /// How many actors to show.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub top: usize,
    /// How often the live view refreshes, e.g. 500ms or 2s.
    #[arg(long, value_name = "D", default_value = "1s", value_parser = duration_arg)]
    pub every: Duration,
}

fn sort_arg(s: &str) -> Result<SortKey, String> {
    s.parse()
        .map_err(|e: gauntlet_runtime::actor::snapshot::SnapshotError| e.to_string())
}

fn duration_arg(s: &str) -> Result<Duration, String> {
    match parse_duration(s) {
        Ok(d) if d.is_zero() => Err("must be more than 0".to_owned()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs `gauntlet top`; returns the exit code.
pub fn command(args: TopArgs) -> u8 {
    let client = match Client::new(&args.addr) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gauntlet top: {e}");
            return EXIT_USAGE;
        }
    };
    let endpoint = client.addr().to_string();
    let app = match App::new(&endpoint, args.sort, args.glob.as_deref(), args.top) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gauntlet top: --glob {e}");
            return EXIT_USAGE;
        }
    };
    if args.once {
        return match client.actors(&app.query()) {
            Ok(page) => {
                let mut out = std::io::stdout().lock();
                match once::write(&page, &mut out).and_then(|()| out.flush()) {
                    Ok(()) => 0,
                    Err(e) => {
                        eprintln!("gauntlet top: cannot write the table: {e}");
                        EXIT_FAIL
                    }
                }
            }
            Err(e) => {
                eprintln!("gauntlet top: {e}");
                EXIT_FAIL
            }
        };
    }
    if !std::io::stdout().is_terminal() {
        eprintln!(
            "gauntlet top: stdout is not a terminal; use `gauntlet top --once {endpoint}` for a plain table"
        );
        return EXIT_USAGE;
    }
    match terminal::run(&client, app, args.every) {
        Ok(Ending::Quit) => 0,
        Ok(Ending::RunEnded(why)) => {
            eprintln!("gauntlet top: {why}");
            0
        }
        Err(e) => {
            eprintln!("gauntlet top: {e}");
            EXIT_FAIL
        }
    }
}
