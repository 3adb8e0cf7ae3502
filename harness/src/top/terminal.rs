//! The live loop of `gauntlet top` on a real terminal: fetch, draw, wait for a key or
//! the next refresh; until `q` or the end of the run.

use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event};

use super::TopError;
use super::app::{Action, App};
use super::client::Client;
use super::view::render;

/// How the view ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The user left.
    Quit,
    /// The run ended (how we know).
    RunEnded(String),
}

/// Runs the view on the terminal until the user quits or the run ends; the terminal
/// is restored either way.
pub fn run(client: &Client, mut app: App, refresh: Duration) -> Result<Ending, TopError> {
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, client, &mut app, refresh);
    ratatui::try_restore()?;
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    client: &Client,
    app: &mut App,
    refresh: Duration,
) -> Result<Ending, TopError> {
    let mut next_fetch = Instant::now();
    loop {
        if Instant::now() >= next_fetch {
            app.update(client.actors(&app.query()));
            next_fetch = Instant::now() + refresh;
        }
        terminal.draw(|f| render(f, app))?;
        if let Some(why) = app.ended() {
            return Ok(Ending::RunEnded(why.to_owned()));
        }
        let wait = next_fetch.saturating_duration_since(Instant::now());
        if event::poll(wait)? {
            // A resize needs nothing but the redraw at the top of the loop.
            if let Event::Key(key) = event::read()? {
                match app.key(key) {
                    Action::Quit => return Ok(Ending::Quit),
                    Action::Refetch => next_fetch = Instant::now(),
                    Action::Redraw => {}
                }
            }
        }
    }
}
