//! `memory-pressure`: `size` bytes allocated, every page written, and held for the
//! window (in the harness's process, which is the target's unless it runs in a child).

use crate::faults::Injection;
use crate::faults::error::InjectError;
use crate::faults::memory::Ballast;
use crate::faults::vocabulary::{
    Capability, Detection, Facts, FaultKind, Fields, Requires, Scope, Targets, Toxicity,
};

/// `memory-pressure`.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryPressure {
    /// Bytes held for the window (1 B to 64 GB).
    pub bytes: u64,
}

impl FaultKind for MemoryPressure {
    const FACTS: Facts = Facts {
        name: "memory-pressure",
        target: Targets::Nothing("it acts on the whole process"),
        fields: &["size"],
        toxicity: Toxicity::Refused,
        requires: Requires::in_process(Capability::Nothing),
        detected: Detection::Nothing,
        restarts_process: false,
    };
    type Active = Ballast;

    fn read(fields: &mut Fields) -> Option<Self> {
        let size = fields.size.take();
        let size = fields.required("size", size)?;
        match crate::units::parse_bytes(&size) {
            Ok(b) if (1.0..=64e9).contains(&b) => Some(MemoryPressure { bytes: b as u64 }),
            Ok(b) => {
                fields.problem(
                    "size",
                    format!(
                        "must be between 1B and 64GB (got {} bytes)",
                        crate::units::format_number(b)
                    ),
                );
                None
            }
            Err(e) => {
                fields.problem("size", e.to_string());
                None
            }
        }
    }

    async fn start(&self, _: Scope<'_>, record: &mut Injection) -> Result<Ballast, InjectError> {
        let bytes = self.bytes;
        let ballast = tokio::task::spawn_blocking(move || Ballast::hold(bytes))
            .await
            .ok()
            .flatten()
            .ok_or(InjectError::Allocation(bytes))?;
        record.affected = ballast.len() as u64;
        Ok(ballast)
    }
}
