//! Build-time checks: a graph that passes them can only end a run by reaching an end
//! node, by a node failure, or by a limit (steps, timeout) or cancellation.
//!
//! Checked, in this order (the first problem found is reported, see [`BuildError`]):
//! names are unique; exactly one entry, at least one end; every edge, route, branch
//! and join names a declared node; plain edges leave only entry, task and join nodes,
//! exactly one each; routers and forks have targets; every join names a fork, every
//! fork has exactly one join; every node is reachable from the entry; every node has a
//! path to an end; and for each fork, the nodes its branches reach before its join (its
//! *region*) contain neither an end, nor the fork itself, nor a join whose fork is
//! outside the region, every branch can reach the join, and the join is entered only
//! from the region (or straight from the fork).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::error::BuildError;
use super::node::{Kind, Node, NodeId};

/// A node as declared, names unresolved.
pub(crate) struct Decl<T, R> {
    pub(crate) name: String,
    pub(crate) kind: DeclKind<T, R>,
}

/// Node kinds as declared.
pub(crate) enum DeclKind<T, R> {
    Entry,
    End,
    Task(T),
    Router { targets: Vec<String>, route: R },
    Fork { branches: Vec<String> },
    Join { fork: String },
}

impl<T, R> DeclKind<T, R> {
    fn name(&self) -> &'static str {
        match self {
            DeclKind::Entry => "entry",
            DeclKind::End => "end",
            DeclKind::Task(_) => "task",
            DeclKind::Router { .. } => "router",
            DeclKind::Fork { .. } => "fork",
            DeclKind::Join { .. } => "join",
        }
    }
}

/// A validated graph: the node table and the entry's id.
pub(crate) struct Topology<T, R> {
    pub(crate) nodes: Vec<Node<T, R>>,
    pub(crate) entry: NodeId,
}

/// Checks `decls` and `edges` and resolves names to ids.
pub(crate) fn validate<T, R>(
    decls: Vec<Decl<T, R>>,
    edges: &[(String, String)],
) -> Result<Topology<T, R>, BuildError> {
    let mut ids: HashMap<&str, NodeId> = HashMap::with_capacity(decls.len());
    for (i, d) in decls.iter().enumerate() {
        if ids.insert(d.name.as_str(), i).is_some() {
            return Err(BuildError::DuplicateNode(d.name.clone()));
        }
    }
    let mut entries = decls.iter().filter(|d| matches!(d.kind, DeclKind::Entry));
    let entry_name = entries.next().ok_or(BuildError::NoEntry)?.name.clone();
    if let Some(second) = entries.next() {
        return Err(BuildError::MultipleEntries {
            first: entry_name,
            second: second.name.clone(),
        });
    }
    if !decls.iter().any(|d| matches!(d.kind, DeclKind::End)) {
        return Err(BuildError::NoEnd);
    }
    let resolve = |from: &str, to: &str, missing: &str| {
        ids.get(missing)
            .copied()
            .ok_or_else(|| BuildError::DanglingEdge {
                from: from.to_owned(),
                to: to.to_owned(),
                missing: missing.to_owned(),
            })
    };

    // Plain edges.
    let mut next: Vec<Option<NodeId>> = vec![None; decls.len()];
    for (from, to) in edges {
        let f = resolve(from, to, from)?;
        let t = resolve(from, to, to)?;
        let kind = &decls[f].kind;
        if !matches!(
            kind,
            DeclKind::Entry | DeclKind::Task(_) | DeclKind::Join { .. }
        ) {
            return Err(BuildError::EdgeNotAllowed {
                node: from.clone(),
                kind: kind.name(),
                to: to.clone(),
            });
        }
        if let Some(first) = next[f] {
            return Err(BuildError::AmbiguousEdge {
                node: from.clone(),
                first: decls[first].name.clone(),
                second: to.clone(),
            });
        }
        next[f] = Some(t);
    }

    // Targets of routers and forks, forks of joins.
    let mut succ: Vec<Vec<NodeId>> = Vec::with_capacity(decls.len());
    let mut join_of: Vec<Option<NodeId>> = vec![None; decls.len()];
    for (i, d) in decls.iter().enumerate() {
        let targets: Vec<NodeId> = match &d.kind {
            DeclKind::Router { targets, .. } | DeclKind::Fork { branches: targets } => {
                if targets.is_empty() {
                    return Err(BuildError::NoTargets {
                        node: d.name.clone(),
                    });
                }
                targets
                    .iter()
                    .map(|t| resolve(&d.name, t, t))
                    .collect::<Result<_, _>>()?
            }
            DeclKind::Join { fork } => {
                let f = ids
                    .get(fork.as_str())
                    .copied()
                    .filter(|&f| matches!(decls[f].kind, DeclKind::Fork { .. }))
                    .ok_or_else(|| BuildError::JoinWithoutFork {
                        join: d.name.clone(),
                        fork: fork.clone(),
                    })?;
                if let Some(first) = join_of[f] {
                    return Err(BuildError::ForkWithTwoJoins {
                        fork: fork.clone(),
                        first: decls[first].name.clone(),
                        second: d.name.clone(),
                    });
                }
                join_of[f] = Some(i);
                next[i].into_iter().collect()
            }
            DeclKind::End => Vec::new(),
            DeclKind::Entry | DeclKind::Task(_) => next[i].into_iter().collect(),
        };
        succ.push(targets);
    }
    for (i, d) in decls.iter().enumerate() {
        match d.kind {
            DeclKind::Fork { .. } if join_of[i].is_none() => {
                return Err(BuildError::ForkWithoutJoin {
                    fork: d.name.clone(),
                });
            }
            DeclKind::Entry | DeclKind::Task(_) | DeclKind::Join { .. } if next[i].is_none() => {
                return Err(BuildError::MissingEdge {
                    node: d.name.clone(),
                });
            }
            _ => {}
        }
    }

    // Reachability, both ways.
    let entry = ids[entry_name.as_str()];
    let reached = search(decls.len(), &[entry], |n| succ[n].iter().copied(), |_| true);
    if let Some(n) = (0..decls.len()).find(|&n| !reached[n]) {
        return Err(BuildError::Unreachable {
            node: decls[n].name.clone(),
        });
    }
    let mut pred: Vec<Vec<NodeId>> = vec![Vec::new(); decls.len()];
    for (n, targets) in succ.iter().enumerate() {
        for &t in targets {
            pred[t].push(n);
        }
    }
    let ends: Vec<NodeId> = (0..decls.len())
        .filter(|&n| matches!(decls[n].kind, DeclKind::End))
        .collect();
    let to_end = search(decls.len(), &ends, |n| pred[n].iter().copied(), |_| true);
    if let Some(n) = (0..decls.len()).find(|&n| !to_end[n]) {
        return Err(BuildError::NoPathToEnd {
            node: decls[n].name.clone(),
        });
    }

    // Fork regions.
    for fork in 0..decls.len() {
        let Some(join) = join_of[fork] else { continue };
        check_region(fork, join, &decls, &succ, &pred, &join_of)?;
    }

    let nodes = decls
        .into_iter()
        .enumerate()
        .map(|(i, d)| Node {
            name: Arc::from(d.name),
            kind: match d.kind {
                DeclKind::Entry => Kind::Entry { next: succ[i][0] },
                DeclKind::End => Kind::End,
                DeclKind::Task(task) => Kind::Task {
                    next: succ[i][0],
                    task,
                },
                DeclKind::Router { route, .. } => Kind::Router {
                    targets: succ[i].clone().into_boxed_slice(),
                    route,
                },
                DeclKind::Fork { .. } => Kind::Fork {
                    branches: succ[i].clone().into_boxed_slice(),
                    join: join_of[i].unwrap_or(i),
                },
                DeclKind::Join { .. } => Kind::Join { next: succ[i][0] },
            },
        })
        .collect();
    Ok(Topology { nodes, entry })
}

fn check_region<T, R>(
    fork: NodeId,
    join: NodeId,
    decls: &[Decl<T, R>],
    succ: &[Vec<NodeId>],
    pred: &[Vec<NodeId>],
    join_of: &[Option<NodeId>],
) -> Result<(), BuildError> {
    let name = |n: NodeId| decls[n].name.clone();
    let region = search(
        decls.len(),
        &succ[fork],
        |n| succ[n].iter().copied(),
        |n| n != join,
    );
    let escape = |node| BuildError::BranchEscapes {
        fork: name(fork),
        join: name(join),
        node: name(node),
    };
    for n in (0..decls.len()).filter(|&n| region[n] && n != join) {
        match decls[n].kind {
            DeclKind::End => return Err(escape(n)),
            _ if n == fork => return Err(escape(n)),
            DeclKind::Join { .. } => {
                let inner_fork = join_of.iter().position(|j| *j == Some(n));
                if !inner_fork.is_some_and(|f| region[f]) {
                    return Err(escape(n));
                }
            }
            _ => {}
        }
    }
    for &head in &succ[fork] {
        let seen = search(
            decls.len(),
            &[head],
            |n| succ[n].iter().copied(),
            |n| n != join,
        );
        if !seen[join] {
            return Err(BuildError::BranchMissesJoin {
                fork: name(fork),
                branch: name(head),
                join: name(join),
            });
        }
    }
    if let Some(&from) = pred[join].iter().find(|&&p| p != fork && !region[p]) {
        return Err(BuildError::JoinOutsideFork {
            join: name(join),
            fork: name(fork),
            from: name(from),
        });
    }
    Ok(())
}

/// Breadth-first search over `len` nodes from `starts` along `edges`; nodes for which
/// `expand` is false are marked but not expanded.
fn search<I: Iterator<Item = NodeId>>(
    len: usize,
    starts: &[NodeId],
    edges: impl Fn(NodeId) -> I,
    expand: impl Fn(NodeId) -> bool,
) -> Vec<bool> {
    let mut seen = vec![false; len];
    let mut queue: VecDeque<NodeId> = VecDeque::new();
    for &s in starts {
        if !std::mem::replace(&mut seen[s], true) {
            queue.push_back(s);
        }
    }
    while let Some(n) = queue.pop_front() {
        if !expand(n) {
            continue;
        }
        for m in edges(n) {
            if !std::mem::replace(&mut seen[m], true) {
                queue.push_back(m);
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    type D = Decl<(), ()>;

    fn entry(n: &str) -> D {
        Decl {
            name: n.into(),
            kind: DeclKind::Entry,
        }
    }
    fn end(n: &str) -> D {
        Decl {
            name: n.into(),
            kind: DeclKind::End,
        }
    }
    fn task(n: &str) -> D {
        Decl {
            name: n.into(),
            kind: DeclKind::Task(()),
        }
    }
    fn router(n: &str, targets: &[&str]) -> D {
        Decl {
            name: n.into(),
            kind: DeclKind::Router {
                targets: targets.iter().map(|t| (*t).to_owned()).collect(),
                route: (),
            },
        }
    }
    fn fork(n: &str, branches: &[&str]) -> D {
        Decl {
            name: n.into(),
            kind: DeclKind::Fork {
                branches: branches.iter().map(|t| (*t).to_owned()).collect(),
            },
        }
    }
    fn join(n: &str, f: &str) -> D {
        Decl {
            name: n.into(),
            kind: DeclKind::Join { fork: f.into() },
        }
    }
    fn edges(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }
    fn check(decls: Vec<D>, list: &[(&str, &str)]) -> Result<(), BuildError> {
        validate(decls, &edges(list)).map(|_| ())
    }

    /// entry -> split -> {a, b} -> merge -> done
    fn fork_join() -> Vec<D> {
        vec![
            entry("start"),
            fork("split", &["a", "b"]),
            task("a"),
            task("b"),
            join("merge", "split"),
            end("done"),
        ]
    }
    const FORK_JOIN_EDGES: &[(&str, &str)] = &[
        ("start", "split"),
        ("a", "merge"),
        ("b", "merge"),
        ("merge", "done"),
    ];

    #[test]
    fn a_well_formed_fork_join_passes() {
        let topo = validate(fork_join(), &edges(FORK_JOIN_EDGES)).unwrap();
        assert_eq!(topo.entry, 0);
        assert!(matches!(topo.nodes[1].kind, Kind::Fork { join: 4, .. }));
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let e = check(vec![entry("x"), end("x")], &[]).unwrap_err();
        assert_eq!(e, BuildError::DuplicateNode("x".into()));
    }

    #[test]
    fn entry_and_end_are_required_once() {
        assert_eq!(check(vec![end("done")], &[]), Err(BuildError::NoEntry));
        assert_eq!(
            check(vec![entry("s")], &[("s", "s")]),
            Err(BuildError::NoEnd)
        );
        assert!(matches!(
            check(vec![entry("s"), entry("t"), end("e")], &[]),
            Err(BuildError::MultipleEntries { .. })
        ));
    }

    #[test]
    fn dangling_edges_name_the_missing_node() {
        let e = check(vec![entry("s"), end("e")], &[("s", "nowhere")]).unwrap_err();
        assert_eq!(
            e,
            BuildError::DanglingEdge {
                from: "s".into(),
                to: "nowhere".into(),
                missing: "nowhere".into()
            }
        );
        let e = check(vec![entry("s"), end("e")], &[("ghost", "e"), ("s", "e")]).unwrap_err();
        assert!(matches!(e, BuildError::DanglingEdge { missing, .. } if missing == "ghost"));
        let e = check(
            vec![entry("s"), router("r", &["e", "x"]), end("e")],
            &[("s", "r")],
        )
        .unwrap_err();
        assert!(
            matches!(e, BuildError::DanglingEdge { from, missing, .. } if from == "r" && missing == "x")
        );
    }

    #[test]
    fn edges_must_fit_the_node_kind() {
        let e = check(vec![entry("s"), end("e")], &[("s", "e"), ("e", "s")]).unwrap_err();
        assert!(matches!(e, BuildError::EdgeNotAllowed { kind: "end", .. }));
        let e = check(
            vec![entry("s"), task("t"), end("e")],
            &[("s", "t"), ("t", "e"), ("t", "s")],
        )
        .unwrap_err();
        assert!(matches!(e, BuildError::AmbiguousEdge { node, .. } if node == "t"));
        let e = check(vec![entry("s"), task("t"), end("e")], &[("s", "t")]).unwrap_err();
        assert_eq!(e, BuildError::MissingEdge { node: "t".into() });
        let e = check(vec![entry("s"), router("r", &[]), end("e")], &[("s", "r")]).unwrap_err();
        assert_eq!(e, BuildError::NoTargets { node: "r".into() });
    }

    #[test]
    fn unreachable_nodes_are_rejected() {
        let e = check(
            vec![entry("s"), task("island"), end("e")],
            &[("s", "e"), ("island", "e")],
        )
        .unwrap_err();
        assert_eq!(
            e,
            BuildError::Unreachable {
                node: "island".into()
            }
        );
    }

    #[test]
    fn nodes_without_a_path_to_an_end_are_rejected() {
        // s -> loop <-> spin, never to e (e itself is reachable through the router).
        let decls = vec![
            entry("s"),
            router("r", &["spin", "e"]),
            task("spin"),
            task("loop"),
            end("e"),
        ];
        let e = check(decls, &[("s", "r"), ("spin", "loop"), ("loop", "spin")]).unwrap_err();
        assert_eq!(
            e,
            BuildError::NoPathToEnd {
                node: "spin".into()
            }
        );
    }

    #[test]
    fn a_join_without_its_fork_is_rejected() {
        let decls = vec![entry("s"), task("t"), join("j", "nofork"), end("e")];
        let e = check(decls, &[("s", "t"), ("t", "j"), ("j", "e")]).unwrap_err();
        assert_eq!(
            e,
            BuildError::JoinWithoutFork {
                join: "j".into(),
                fork: "nofork".into()
            }
        );
        // Naming a node that is not a fork is the same mistake.
        let decls = vec![entry("s"), task("t"), join("j", "t"), end("e")];
        let e = check(decls, &[("s", "t"), ("t", "j"), ("j", "e")]).unwrap_err();
        assert!(matches!(e, BuildError::JoinWithoutFork { .. }));
    }

    #[test]
    fn a_fork_needs_exactly_one_join() {
        let mut decls = fork_join();
        decls.remove(4);
        let e = check(decls, &[("start", "split"), ("a", "done"), ("b", "done")]).unwrap_err();
        assert_eq!(
            e,
            BuildError::ForkWithoutJoin {
                fork: "split".into()
            }
        );
        let mut decls = fork_join();
        decls.push(join("again", "split"));
        let e = check(decls, &[]).unwrap_err();
        assert!(matches!(e, BuildError::ForkWithTwoJoins { .. }));
    }

    #[test]
    fn a_branch_may_not_escape_its_fork() {
        // Branch b routes straight to the end.
        let mut decls = fork_join();
        decls[3] = router("b", &["merge", "done"]);
        let e = check(
            decls,
            &[("start", "split"), ("a", "merge"), ("merge", "done")],
        )
        .unwrap_err();
        assert!(matches!(e, BuildError::BranchEscapes { node, .. } if node == "done"));
        // Branch b loops back to the fork.
        let mut decls = fork_join();
        decls[3] = router("b", &["merge", "split"]);
        let e = check(
            decls,
            &[("start", "split"), ("a", "merge"), ("merge", "done")],
        )
        .unwrap_err();
        assert!(matches!(e, BuildError::BranchEscapes { node, .. } if node == "split"));
    }

    #[test]
    fn a_join_entered_from_outside_its_fork_is_rejected() {
        // start -> r -> (split | merge): merge is entered without the fork.
        let decls = vec![
            entry("start"),
            router("r", &["split", "merge"]),
            fork("split", &["a"]),
            task("a"),
            join("merge", "split"),
            end("done"),
        ];
        let e = check(decls, &[("start", "r"), ("a", "merge"), ("merge", "done")]).unwrap_err();
        assert_eq!(
            e,
            BuildError::JoinOutsideFork {
                join: "merge".into(),
                fork: "split".into(),
                from: "r".into()
            }
        );
    }

    #[test]
    fn nested_forks_pass() {
        let decls = vec![
            entry("start"),
            fork("outer", &["inner", "c"]),
            fork("inner", &["a", "b"]),
            task("a"),
            task("b"),
            join("inner-join", "inner"),
            task("c"),
            join("outer-join", "outer"),
            end("done"),
        ];
        let list = [
            ("start", "outer"),
            ("a", "inner-join"),
            ("b", "inner-join"),
            ("inner-join", "outer-join"),
            ("c", "outer-join"),
            ("outer-join", "done"),
        ];
        check(decls, &list).unwrap();
    }

    #[test]
    fn a_cycle_with_an_exit_passes() {
        let decls = vec![entry("s"), task("t"), router("r", &["t", "e"]), end("e")];
        check(decls, &[("s", "t"), ("t", "r")]).unwrap();
    }
}
