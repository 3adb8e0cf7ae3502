//! The `synthetic` workload: a target with no runtime behind it, for testing and
//! benchmarking the harness itself.
//!
//! Its one op, `call`, completes immediately, or after `delay` (an async sleep, which
//! on tokio's timer rounds up to whole milliseconds), or after spinning for `work`.
//! `fail_every = N` makes every N-th op fail; `hang_after = "2s"` makes every op
//! started after that point (measured from the first op) never complete, which
//! exercises the watchdog, op timeouts and the hard deadline.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{BuildContext, CheckContext, ConfigField, Workload};
use crate::target::{BuildError, OpError, OpId, Target};
use crate::units::DurationSpec;

/// The `synthetic` workload (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Synthetic;

impl Workload for Synthetic {
    type Config = SyntheticSpec;
    type Target = SyntheticTarget;

    fn name(&self) -> &'static str {
        "synthetic"
    }

    fn help(&self) -> &'static str {
        "harness self-test target: ops complete after an optional delay, can fail or hang on purpose"
    }

    fn ops(&self) -> &'static [&'static str] {
        OPS
    }

    fn fields(&self) -> &'static [ConfigField] {
        &[
            ConfigField {
                name: "delay",
                example: "\"1ms\"",
                help: "async sleep inside each op (default none)",
            },
            ConfigField {
                name: "work",
                example: "\"10us\"",
                help: "busy-spin inside each op, at most 1s (default none)",
            },
            ConfigField {
                name: "fail_every",
                example: "100",
                help: "every N-th op fails (default 0: never)",
            },
            ConfigField {
                name: "hang_after",
                example: "\"2s\"",
                help: "ops started this long after the first never complete (default never)",
            },
        ]
    }

    fn examples(&self) -> Vec<(&'static str, SyntheticSpec)> {
        vec![("any configuration", SyntheticSpec::default())]
    }

    fn check(&self, spec: &SyntheticSpec, _ctx: &CheckContext) -> Vec<(String, String)> {
        spec.problems()
            .into_iter()
            .map(|(f, m)| (f.to_owned(), m))
            .collect()
    }

    async fn build(
        &self,
        spec: SyntheticSpec,
        _ctx: BuildContext,
    ) -> Result<SyntheticTarget, BuildError> {
        Ok(SyntheticTarget::new(spec))
    }
}

/// Ops of the synthetic workload.
pub const OPS: &[&str] = &["call"];

/// The `[target]` table for `workload = "synthetic"`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticSpec {
    /// Async sleep inside each op.
    #[serde(default)]
    pub delay: Option<DurationSpec>,
    /// Busy-spin inside each op.
    #[serde(default)]
    pub work: Option<DurationSpec>,
    /// Every N-th op fails (0: never).
    #[serde(default)]
    pub fail_every: u64,
    /// Ops started this long after the first op never complete.
    #[serde(default)]
    pub hang_after: Option<DurationSpec>,
}

impl SyntheticSpec {
    /// Problems with the spec, as (field, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if self.work.is_some_and(|w| w.0 > Duration::from_secs(1)) {
            p.push(("work", "must be at most 1s (it spins a CPU)".to_owned()));
        }
        p
    }
}

/// The synthetic target.
#[derive(Debug)]
pub struct SyntheticTarget {
    spec: SyntheticSpec,
    first_op: OnceLock<Instant>,
}

impl SyntheticTarget {
    /// Builds the target.
    pub fn new(spec: SyntheticSpec) -> Self {
        Self {
            spec,
            first_op: OnceLock::new(),
        }
    }
}

impl Target for SyntheticTarget {
    async fn call(&self, _op: OpId, seq: u64) -> Result<(), OpError> {
        if let Some(h) = self.spec.hang_after {
            let first = *self.first_op.get_or_init(Instant::now);
            if first.elapsed() >= h.0 {
                std::future::pending::<()>().await;
            }
        }
        if let Some(w) = self.spec.work {
            let until = Instant::now() + w.0;
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        }
        if let Some(d) = self.spec.delay {
            tokio::time::sleep(d.0).await;
        }
        if self.spec.fail_every > 0 && (seq + 1).is_multiple_of(self.spec.fail_every) {
            return Err(OpError::Failed);
        }
        Ok(())
    }

    fn stall_detail(&self) -> String {
        match self.spec.hang_after {
            Some(h) => format!(
                "synthetic target: ops started after {:?} hang on purpose (hang_after)",
                h.0
            ),
            None => "synthetic target: no runtime to inspect".to_owned(),
        }
    }
}
