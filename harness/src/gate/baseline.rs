//! Finding and reading baseline results files.

use std::path::{Path, PathBuf};

use gauntlet_reports::RunResult;

use super::{GateError, read_results};

/// Reads every baseline file; each is named by its path in the comparison.
pub fn read_baselines(paths: &[PathBuf]) -> Result<Vec<(String, RunResult)>, GateError> {
    if paths.is_empty() {
        return Err(GateError::Input(
            "a comparison needs at least one baseline results file".to_owned(),
        ));
    }
    paths
        .iter()
        .map(|p| Ok((p.display().to_string(), read_results(p)?)))
        .collect()
}

/// The baselines of scenario `name` in a baseline directory: `DIR/NAME.json`, or
/// every `*.json` in `DIR/NAME/` (several runs, whose spread widens the tolerances).
/// Empty when there are none.
pub fn find_baselines(dir: &Path, name: &str) -> Result<Vec<PathBuf>, GateError> {
    gauntlet_reports::path_name::check(name)
        .map_err(|e| GateError::Input(format!("baseline look-up: scenario name {e}")))?;
    let single = dir.join(format!("{name}.json"));
    if single.is_file() {
        return Ok(vec![single]);
    }
    let sub = dir.join(name);
    if !sub.is_dir() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(&sub).map_err(|source| GateError::Io {
        path: sub.clone(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baselines_are_a_file_or_a_directory_of_runs() {
        let dir = tempfile::tempdir().unwrap();
        assert!(find_baselines(dir.path(), "smoke").unwrap().is_empty());
        std::fs::create_dir(dir.path().join("chaos")).unwrap();
        for f in ["b.json", "a.json", "notes.txt"] {
            std::fs::write(dir.path().join("chaos").join(f), "{}").unwrap();
        }
        let found = find_baselines(dir.path(), "chaos").unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.json", "b.json"]);
        std::fs::write(dir.path().join("smoke.json"), "{}").unwrap();
        assert_eq!(
            find_baselines(dir.path(), "smoke").unwrap(),
            vec![dir.path().join("smoke.json")]
        );
        assert!(matches!(read_baselines(&[]), Err(GateError::Input(_))));
        for bad in ["..", "../chaos", "/etc/passwd"] {
            assert!(matches!(
                find_baselines(dir.path(), bad),
                Err(GateError::Input(_))
            ));
        }
    }
}
