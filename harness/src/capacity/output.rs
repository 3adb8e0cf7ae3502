//! Writing a sweep's files: `capacity.json` and `summary.md` beside it.

use std::path::Path;

use gauntlet_reports::bundle;
use gauntlet_reports::capacity::statement::markdown;
use gauntlet_reports::capacity_schema::CapacityResult;

/// Writes `text` to `path` through a temporary file and a rename, so a reader never
/// sees half a file; creates the parent directories.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// Writes `DIR/capacity.json`, `DIR/summary.md` (the capacity section, pointing at
/// the page) and the report: `DIR/capacity.html` with `DIR/charts/capacity-*.svg|png`,
/// and `DIR/junit.xml` (a test case per level, failed when it missed the SLO).
pub fn write_capacity(dir: &Path, result: &CapacityResult) -> Result<(), String> {
    let json = result
        .to_json()
        .map_err(|e| format!("serializing capacity.json: {e}"))?;
    write_atomic(&dir.join("capacity.json"), &json)?;
    bundle::write_capacity(dir, result).map_err(|e| e.to_string())?;
    let summary = format!(
        "{}
Report: [capacity.html](capacity.html); JUnit: `junit.xml`; charts: `charts/capacity-throughput.png`, \
         `charts/capacity-latency.png`, `charts/capacity-efficiency.png`.\n",
        markdown(result)
    );
    write_atomic(&dir.join("summary.md"), &summary)
}
