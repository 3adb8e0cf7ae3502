//! Tables in GitHub-flavoured Markdown: every cell escaped ([`crate::markdown::md`]),
//! numbers right-aligned, checks as ✅/❌.

use super::{Align, Cell, Table};
use crate::markdown::md;

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Text(t) | Cell::Num(t) => md(t),
        Cell::Mark(ok, t) => {
            let sign = if *ok { "✅" } else { "❌" };
            if t.is_empty() {
                sign.to_owned()
            } else {
                format!("{sign} {}", md(t))
            }
        }
    }
}

/// Renders `t` (header, alignment row, rows), ending with a newline.
pub fn render(t: &Table) -> String {
    let mut s = String::new();
    let titles: Vec<String> = t.columns.iter().map(|c| md(&c.title)).collect();
    s.push_str(&format!("| {} |\n", titles.join(" | ")));
    let align: Vec<&str> = t
        .columns
        .iter()
        .map(|c| match c.align {
            Align::Left => "---",
            Align::Right => "---:",
        })
        .collect();
    s.push_str(&format!("|{}|\n", align.join("|")));
    for r in &t.rows {
        let cells: Vec<String> = (0..t.columns.len())
            .map(|i| r.get(i).map_or_else(String::new, cell_text))
            .collect();
        s.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::{Align, Table, mark, text};
    use super::*;

    #[test]
    fn cells_are_escaped_and_short_rows_padded() {
        let mut t = Table::new(&[("a|b", Align::Left), ("c", Align::Right)]);
        t.push(vec![text("x|<y>")]);
        t.push(vec![text("z"), mark(false, "*no*")]);
        assert_eq!(
            render(&t),
            "| a\\|b | c |\n|---|---:|\n| x\\|\\<y\\> |  |\n| z | ❌ \\*no\\* |\n"
        );
    }
}
