//! Tables for the terminal: columns padded to their widest cell
//! (counted in characters), numbers right-aligned, checks as ✓/✗.

use super::{Align, Cell, Table};

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Text(t) | Cell::Num(t) => t.clone(),
        Cell::Mark(ok, t) => {
            let sign = if *ok { "✓" } else { "✗" };
            if t.is_empty() {
                sign.to_owned()
            } else {
                format!("{sign} {t}")
            }
        }
    }
}

/// Renders `t` with every line indented by `indent` spaces.
pub fn render(t: &Table, indent: usize) -> String {
    let header: Vec<String> = t.columns.iter().map(|c| c.title.clone()).collect();
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| {
            (0..t.columns.len())
                .map(|i| r.get(i).map_or_else(String::new, cell_text))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = (0..t.columns.len())
        .map(|i| {
            std::iter::once(&header[i])
                .chain(rows.iter().map(|r| &r[i]))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        let mut s = " ".repeat(indent);
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(c.chars().count());
            if i > 0 {
                s.push_str("  ");
            }
            let last = i + 1 == cells.len();
            match t.columns[i].align {
                Align::Right => {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(c);
                }
                Align::Left => {
                    s.push_str(c);
                    if !last {
                        s.push_str(&" ".repeat(pad));
                    }
                }
            }
        }
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let mut out = line(&header);
    for r in &rows {
        out.push_str(&line(r));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Align, Table, mark, num, text};
    use super::*;

    #[test]
    fn columns_line_up() {
        let mut t = Table::new(&[
            ("op", Align::Left),
            ("p99", Align::Right),
            ("", Align::Left),
        ]);
        t.push(vec![text("ask"), num("1.05ms"), mark(true, "")]);
        t.push(vec![text("telemetry"), num("950µs"), mark(false, "slow")]);
        assert_eq!(
            render(&t, 2),
            "  op            p99\n  ask        1.05ms  ✓\n  telemetry   950µs  ✗ slow\n"
        );
    }
}
