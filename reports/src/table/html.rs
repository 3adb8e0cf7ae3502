//! Tables in HTML: every text escaped, numbers in `class="num"` cells, checks in
//! `ok`/`bad` cells with ✓/✗ (the report's style sheet styles them).

use std::fmt::Write as _;

use super::{Cell, Table};
use html_escape::encode_quoted_attribute as esc;

/// Renders `t` as one `<table>` element.
pub fn render(t: &Table) -> String {
    let mut page = String::new();
    page.push_str("<table>\n<thead><tr>");
    for c in &t.columns {
        let _ = write!(page, "<th>{}</th>", esc(&c.title));
    }
    page.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        page.push_str("<tr>");
        for i in 0..t.columns.len() {
            match row.get(i) {
                Some(Cell::Text(s)) => {
                    let _ = write!(page, "<td>{}</td>", esc(s));
                }
                Some(Cell::Num(s)) => {
                    let _ = write!(page, "<td class=\"num\">{}</td>", esc(s));
                }
                Some(Cell::Mark(ok, s)) => {
                    let (class, sign) = if *ok { ("ok", "✓") } else { ("bad", "✗") };
                    if s.is_empty() {
                        let _ = write!(page, "<td class=\"{class}\">{sign}</td>");
                    } else {
                        let _ = write!(page, "<td class=\"{class}\">{sign} {}</td>", esc(s));
                    }
                }
                None => page.push_str("<td></td>"),
            }
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody>\n</table>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::super::{Align, Table, mark, num, text};
    use super::*;

    #[test]
    fn escaped_and_classed() {
        let mut t = Table::new(&[("<h>", Align::Left), ("n", Align::Right), ("", Align::Left)]);
        t.push(vec![text("<b>"), num("1"), mark(false, "x")]);
        let h = render(&t);
        assert!(h.contains("<th>&lt;h&gt;</th>"));
        assert!(h.contains(
            "<tr><td>&lt;b&gt;</td><td class=\"num\">1</td><td class=\"bad\">✗ x</td></tr>"
        ));
    }
}
