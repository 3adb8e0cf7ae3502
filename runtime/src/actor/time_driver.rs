//! Whether the current tokio runtime can make timers.
//!
//! Actors need tokio's time driver (stop deadlines, restart backoff, `send_after`,
//! shutdown). Without it every timer panics where it is created ("A Tokio 1.x context
//! was found, but timers are disabled"), which used to happen once per actor, in its
//! stop path. [`System::new`](super::System::new) checks once instead and refuses the
//! runtime with a typed error.
//!
//! tokio 1.54 has no way to ask (tokio-rs/tokio#8361 proposes `Handle::has_time_driver`),
//! so the check creates a timer and catches the panic. While it does, a panic hook that
//! stays silent on this thread stands in for the installed one, so the caught panic
//! prints nothing; the installed hook is put back afterwards and keeps reporting other
//! threads' panics meanwhile. Under `panic = "abort"` the panic cannot be caught: a
//! runtime without timers then aborts in `System::new`, with tokio's message, rather than
//! later in every actor.

use std::cell::Cell;
use std::sync::{Arc, Mutex};
use std::time::Duration;

thread_local! {
    /// Set on the thread that is probing, so the stand-in hook keeps quiet only there.
    static PROBING: Cell<bool> = const { Cell::new(false) };
}

/// One probe at a time, so concurrent probes put the installed hook back in order.
static HOOKS: Mutex<()> = Mutex::new(());

/// Whether the current runtime has its time driver. Call inside a runtime.
pub(crate) fn is_enabled() -> bool {
    if std::thread::panicking() {
        // Hooks cannot be swapped while unwinding; let the first timer tell.
        return true;
    }
    let _one_at_a_time = super::cell::lock(&HOOKS);
    let installed = Arc::new(std::panic::take_hook());
    let fallback = installed.clone();
    std::panic::set_hook(Box::new(move |info| {
        if !PROBING.with(Cell::get) {
            fallback.as_ref()(info);
        }
    }));
    PROBING.with(|p| p.set(true));
    let enabled = std::panic::catch_unwind(|| drop(tokio::time::sleep(Duration::ZERO))).is_ok();
    PROBING.with(|p| p.set(false));
    drop(std::panic::take_hook());
    match Arc::try_unwrap(installed) {
        Ok(hook) => std::panic::set_hook(hook),
        Err(shared) => std::panic::set_hook(Box::new(move |info| shared.as_ref()(info))),
    }
    enabled
}
