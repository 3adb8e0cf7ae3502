//! The `[target]` table: `workload` looked up in the registry, the rest deserialized
//! into that workload's own config type, every error at its own field and line.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{Problem, problem_at};
use super::location::{Seg, locate};
use super::parse::serde_problem;
use crate::workload::{Registry, TargetSpec};

fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

/// Parses `[target]`, or records why it cannot be parsed.
pub(super) fn parse(
    registry: &Registry,
    text: &str,
    file: &str,
    doc: &DeTable<'_>,
    problems: &mut Vec<Problem>,
) -> Option<TargetSpec> {
    let mut problem = |path: &[Seg], message: String| {
        problems.push(problem_at(
            text,
            locate(doc, path),
            Some(super::location::render(path)),
            message,
        ));
    };
    let names = registry.names();
    let list = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    // A missing `[target]` is reported by the raw pass.
    let (_, value) = doc.iter().find(|(k, _)| k.get_ref() == "target")?;
    let DeValue::Table(table) = value.get_ref() else {
        problem(
            &[key("target")],
            "must be a table: `[target]` with `workload = \"...\"`".to_owned(),
        );
        return None;
    };
    let Some((_, workload)) = table.iter().find(|(k, _)| k.get_ref() == "workload") else {
        problem(
            &[key("target")],
            format!("needs `workload`, one of: {list}"),
        );
        return None;
    };
    let DeValue::String(name) = workload.get_ref() else {
        problem(
            &[key("target"), key("workload")],
            format!("must be a string, one of: {list}"),
        );
        return None;
    };
    let Some(entry) = registry.get(name) else {
        let hint = crate::workload::nearest_name(name, &names)
            .map(|n| format!("did you mean `{n}`? "))
            .unwrap_or_default();
        problem(
            &[key("target"), key("workload")],
            format!("unknown workload `{name}`; {hint}registered workloads: {list}"),
        );
        return None;
    };
    // issue 18: `process` is the harness's, like `workload`.
    let mut child = false;
    if let Some((_, process)) = table.iter().find(|(k, _)| k.get_ref() == "process") {
        match process.get_ref() {
            DeValue::String(p) if p == "in-process" => {}
            DeValue::String(p) if p == "child" => child = true,
            _ => problem(
                &[key("target"), key("process")],
                "must be \"in-process\" (the default) or \"child\"".to_owned(),
            ),
        }
    }
    let config: DeTable<'_> = table
        .iter()
        .filter(|(k, _)| k.get_ref() != "workload" && k.get_ref() != "process")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let de = toml::de::Deserializer::from(Spanned::new(value.span(), config));
    match entry.parse(de) {
        Ok(spec) if child => Some(spec.in_child(crate::child::ChildSource {
            text: text.into(),
            file: file.to_owned(),
        })),
        Ok(spec) => Some(spec),
        Err(e) => {
            let mut p = serde_problem(text, doc, &[key("target")], e);
            if p.message.starts_with("unknown field") {
                p.message = format!("{} (workload `{name}`)", p.message);
            }
            problems.push(p);
            None
        }
    }
}
