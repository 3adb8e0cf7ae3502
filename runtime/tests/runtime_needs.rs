//! What `System::new` needs of the tokio runtime: a runtime without its time driver is
//! refused with a typed error, quietly, and the panic hook the user installed is left
//! in place. (Its own test binary: it installs a panic hook, which is process-wide.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gauntlet_runtime::actor::{System, SystemError};

#[test]
fn a_runtime_without_timers_is_refused_quietly_and_one_with_them_is_accepted() {
    let hook_calls = Arc::new(AtomicUsize::new(0));
    let counter = hook_calls.clone();
    std::panic::set_hook(Box::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    }));

    let no_timers = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let err = no_timers.block_on(async { System::new("s").unwrap_err() });
    assert!(matches!(err, SystemError::NoTimeDriver), "{err:?}");
    assert!(err.to_string().contains("enable_time()"), "{err}");
    assert_eq!(
        hook_calls.load(Ordering::SeqCst),
        0,
        "the probe's caught panic reached the user's panic hook"
    );

    // The control: the same runtime with timers (and without IO) is accepted.
    let timers = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    timers.block_on(async {
        let system = System::new("s").expect("a runtime with timers is enough");
        assert!(
            system
                .shutdown(std::time::Duration::from_secs(5))
                .await
                .graceful
        );
    });

    // The user's hook is back in place and sees later panics.
    let _ = std::panic::catch_unwind(|| panic!("after the probe"));
    assert_eq!(hook_calls.load(Ordering::SeqCst), 1);
    let _ = std::panic::take_hook();
}
