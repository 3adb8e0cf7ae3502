//! What `gauntlet top` shows and how keys change it.
//!
//! Sorting and filtering are asked of the endpoint (`sort=`, `glob=`), which cuts the
//! top N from every actor; the rows of the page at hand are also re-sorted and
//! re-filtered here at once, so a key press shows its effect before the next fetch.

use gauntlet_reports::schema::ActorSnapshotRow;
use gauntlet_runtime::actor::snapshot::SortKey;
use globset::GlobMatcher;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::TopError;
use crate::metrics::actors::ActorsPage;

/// What the caller should do after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing more than a redraw.
    Redraw,
    /// The query changed: fetch now.
    Refetch,
    /// Leave.
    Quit,
}

/// Where the connection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// No page yet; the last attempt's error, if any.
    Waiting(Option<String>),
    /// Pages are arriving.
    Live,
    /// The run is over (the text says how we know).
    Ended(String),
}

/// The state of the view.
#[derive(Debug, Clone)]
pub struct App {
    /// The endpoint, as shown in the title.
    pub endpoint: String,
    /// The sort key.
    pub sort: SortKey,
    /// The applied address glob (`None`: every actor).
    glob: Option<(String, GlobMatcher)>,
    /// The glob being typed after `/`, if any.
    pub editing: Option<String>,
    /// How many rows to ask for.
    pub top: usize,
    /// Rows scrolled past.
    pub scroll: usize,
    /// The latest page.
    pub page: Option<ActorsPage>,
    /// The connection.
    pub link: Link,
    /// A message for the user (a bad glob, say).
    pub notice: Option<String>,
}

fn compile(glob: &str) -> Result<GlobMatcher, String> {
    globset::GlobBuilder::new(glob)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("`{glob}` is not a valid glob: {}", e.kind()))
}

impl App {
    /// A view of `endpoint` sorted by `sort`, showing `top` rows, filtered by `glob`.
    pub fn new(
        endpoint: &str,
        sort: SortKey,
        glob: Option<&str>,
        top: usize,
    ) -> Result<Self, String> {
        let glob = match glob.filter(|g| !g.is_empty()) {
            Some(g) => Some((g.to_owned(), compile(g)?)),
            None => None,
        };
        Ok(Self {
            endpoint: endpoint.to_owned(),
            sort,
            glob,
            editing: None,
            top,
            scroll: 0,
            page: None,
            link: Link::Waiting(None),
            notice: None,
        })
    }

    /// The applied glob.
    pub fn glob(&self) -> Option<&str> {
        self.glob.as_ref().map(|(g, _)| g.as_str())
    }

    /// The `/actors` query string for the current choices.
    pub fn query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("sort", self.sort.name());
        q.append_pair("top", &self.top.to_string());
        if let Some(g) = self.glob() {
            q.append_pair("glob", g);
        }
        q.finish()
    }

    /// Takes the result of a fetch.
    pub fn update(&mut self, fetched: Result<ActorsPage, TopError>) {
        match fetched {
            Ok(page) => {
                self.link = if page.ended {
                    Link::Ended("the run has ended".to_owned())
                } else {
                    Link::Live
                };
                self.page = Some(page);
            }
            Err(e) => {
                self.link = match self.link {
                    Link::Waiting(_) => Link::Waiting(Some(e.to_string())),
                    _ => Link::Ended("the run's endpoint has gone away".to_owned()),
                };
            }
        }
    }

    /// Whether the run is over.
    pub fn ended(&self) -> Option<&str> {
        match &self.link {
            Link::Ended(why) => Some(why),
            _ => None,
        }
    }

    /// The rows to show: the page's, filtered by the glob and in the sort order.
    pub fn rows(&self) -> Vec<&ActorSnapshotRow> {
        let Some(page) = &self.page else {
            return Vec::new();
        };
        let mut rows: Vec<&ActorSnapshotRow> = page
            .actors
            .iter()
            .filter(|r| {
                self.glob
                    .as_ref()
                    .is_none_or(|(_, m)| m.is_match(&r.address))
            })
            .collect();
        let key = |r: &ActorSnapshotRow| -> f64 {
            match self.sort {
                SortKey::Depth => r.mailbox_depth as f64,
                SortKey::Busy => r.busy_s,
                SortKey::Running => r.handler_running_s.map_or(-1.0, |s| s),
                SortKey::Restarts => f64::from(r.restarts),
                SortKey::Handled => r.handled as f64,
            }
        };
        rows.sort_by(|a, b| {
            key(b)
                .total_cmp(&key(a))
                .then_with(|| a.address.cmp(&b.address))
        });
        rows
    }

    /// Reacts to a key.
    pub fn key(&mut self, key: KeyEvent) -> Action {
        if key.kind == KeyEventKind::Release {
            return Action::Redraw;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Action::Quit;
        }
        if let Some(text) = self.editing.as_mut() {
            match key.code {
                KeyCode::Enter => {
                    let text = std::mem::take(text);
                    self.editing = None;
                    return self.apply_glob(&text);
                }
                KeyCode::Esc => self.editing = None,
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Char(c) => text.push(c),
                _ => {}
            }
            return Action::Redraw;
        }
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => Action::Quit,
            KeyCode::Char('s') => {
                let i = SortKey::ALL
                    .iter()
                    .position(|k| *k == self.sort)
                    .unwrap_or(0);
                self.sort = SortKey::ALL[(i + 1) % SortKey::ALL.len()];
                self.scroll = 0;
                Action::Refetch
            }
            KeyCode::Char('/') => {
                self.editing = Some(self.glob().unwrap_or_default().to_owned());
                self.notice = None;
                Action::Redraw
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.scroll = (self.scroll + 1).min(self.rows().len().saturating_sub(1));
                Action::Redraw
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.scroll = self.scroll.saturating_sub(1);
                Action::Redraw
            }
            _ => Action::Redraw,
        }
    }

    fn apply_glob(&mut self, text: &str) -> Action {
        let text = text.trim();
        if text.is_empty() {
            self.glob = None;
        } else {
            match compile(text) {
                Ok(m) => self.glob = Some((text.to_owned(), m)),
                Err(e) => {
                    self.notice = Some(e);
                    return Action::Redraw;
                }
            }
        }
        self.notice = None;
        self.scroll = 0;
        Action::Refetch
    }
}
