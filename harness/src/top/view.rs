//! Drawing `gauntlet top` with ratatui: the run's figures, the actor table, the
//! wait-for graph and the keys. Pure: it draws an [`App`] into a frame, so tests draw
//! into ratatui's `TestBackend`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use super::app::{App, Link};
use super::columns::{TITLES, cells, numeric, sorted_column, summary, waits};

/// Lines at most for the wait-for graph (more edges are counted, not listed).
const MAX_WAIT_LINES: usize = 6;

/// Draws the whole screen.
pub fn render(frame: &mut Frame<'_>, app: &App) {
    let edges = app.page.as_ref().map(waits).unwrap_or_default();
    let wait_height = if edges.is_empty() {
        0
    } else {
        edges.len().min(MAX_WAIT_LINES) as u16 + 2
    };
    let [head, table, graph, keys] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(3),
        Constraint::Length(wait_height),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    render_head(frame, head, app);
    render_table(frame, table, app);
    if wait_height > 0 {
        render_waits(frame, graph, &edges);
    }
    render_keys(frame, keys, app);
}

fn render_head(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let title = match &app.page {
        Some(p) => format!("gauntlet top: {} @ {}", p.scenario, app.endpoint),
        None => format!("gauntlet top @ {}", app.endpoint),
    };
    let mut lines = vec![Line::from(Span::styled(
        title,
        Style::default().add_modifier(Modifier::BOLD),
    ))];
    match (&app.link, &app.page) {
        (Link::Waiting(why), _) => lines.push(Line::from(match why {
            Some(e) => format!("waiting for the run: {e}"),
            None => "connecting…".to_owned(),
        })),
        (_, Some(page)) => {
            let [run, totals] = summary(page);
            lines.push(Line::from(run));
            lines.push(Line::from(totals));
        }
        (_, None) => {}
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// How wide each column is; the address and the note share what is left.
const WIDTHS: [Constraint; 10] = [
    Constraint::Min(20),
    Constraint::Max(14),
    Constraint::Length(11),
    Constraint::Length(6),
    Constraint::Length(6),
    Constraint::Length(8),
    Constraint::Length(8),
    Constraint::Length(8),
    Constraint::Length(8),
    Constraint::Fill(1),
];

/// The columns that fit in `width`: all of them on a wide terminal, fewer on a narrow
/// one, always the address, the state, the depth and the column sorted by.
fn visible(width: u16, sorted: usize) -> Vec<usize> {
    let mut columns: Vec<usize> = match width {
        120.. => (0..10).collect(),
        80.. => vec![0, 2, 3, 5, 6, 7, 9],
        _ => vec![0, 2, 3],
    };
    if !columns.contains(&sorted) {
        columns.push(sorted);
        columns.sort_unstable();
    }
    columns
}

fn render_table(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let sorted = sorted_column(app.sort);
    let columns = visible(area.width, sorted);
    let header = Row::new(columns.iter().map(|&i| {
        let t = TITLES[i];
        let text = if i == sorted {
            format!("{t}▼")
        } else {
            t.to_owned()
        };
        let style = if i == sorted {
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::BOLD)
        };
        Cell::from(align(text, numeric(i))).style(style)
    }));
    let rows: Vec<Row<'_>> = app
        .rows()
        .into_iter()
        .skip(app.scroll)
        .map(|r| {
            let style = match r.state.as_str() {
                "running" if r.handler_running_s.unwrap_or(0.0) >= 1.0 => {
                    Style::default().fg(Color::Red)
                }
                "backing-off" | "stopping" => Style::default().fg(Color::Magenta),
                _ => Style::default(),
            };
            let all = cells(r);
            Row::new(
                columns
                    .iter()
                    .map(|&i| Cell::from(align(all[i].clone(), numeric(i)))),
            )
            .style(style)
        })
        .collect();
    let widths: Vec<Constraint> = columns.iter().map(|&i| WIDTHS[i]).collect();
    let title = match app.glob() {
        Some(g) => format!(" actors by {} matching {g} ", app.sort),
        None => format!(" actors by {} ", app.sort),
    };
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(Block::default().borders(Borders::TOP).title(title));
    frame.render_widget(table, area);
}

/// Right-aligns numbers in their cell.
fn align(text: String, right: bool) -> Line<'static> {
    let line = Line::from(text);
    if right { line.right_aligned() } else { line }
}

fn render_waits(frame: &mut Frame<'_>, area: Rect, edges: &[String]) {
    let mut lines: Vec<Line<'_>> = edges
        .iter()
        .take(MAX_WAIT_LINES)
        .map(|e| Line::from(e.as_str()))
        .collect();
    if edges.len() > MAX_WAIT_LINES {
        lines.pop();
        lines.push(Line::from(format!(
            "… and {} more",
            edges.len() - MAX_WAIT_LINES + 1
        )));
    }
    let block = Block::default()
        .borders(Borders::TOP)
        .title(format!(" waiting in an ask ({}) ", edges.len()));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn render_keys(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let key = |k: &'static str| Span::styled(k, Style::default().add_modifier(Modifier::REVERSED));
    let line = if let Some(text) = &app.editing {
        Line::from(vec![
            Span::raw("glob: "),
            Span::raw(text.clone()),
            Span::raw("█  "),
            key("Enter"),
            Span::raw(" apply (empty: all)  "),
            key("Esc"),
            Span::raw(" cancel"),
        ])
    } else if let Some(notice) = &app.notice {
        Line::from(Span::styled(
            notice.clone(),
            Style::default().fg(Color::Red),
        ))
    } else {
        let mut spans = vec![
            key("q"),
            Span::raw(" quit  "),
            key("s"),
            Span::raw(format!(" sort: {}  ", app.sort)),
            key("/"),
            Span::raw(format!(" glob: {}  ", app.glob().unwrap_or("all"))),
            key("↑↓"),
            Span::raw(" scroll"),
        ];
        if let Some(why) = app.ended() {
            spans.push(Span::raw(format!("  ({why})")));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
}
