//! Whether operations record a graph: the per-thread grad mode and its guards.

use std::cell::Cell;

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether operations on this thread currently record the graph.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}

/// Restores the previous grad mode when dropped. Created by [`no_grad`] and [`enable_grad`].
///
/// Bind it to a named variable: `let _ = no_grad();` drops it at once and has no effect.
#[must_use = "the grad mode is restored when the guard is dropped: bind it with `let _guard = ...`"]
#[derive(Debug)]
pub struct GradModeGuard {
    previous: bool,
    // Not Send: the mode is per thread, so the guard must be dropped on the thread that made it.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl GradModeGuard {
    fn set(enabled: bool) -> Self {
        let previous = GRAD_ENABLED.with(|g| g.replace(enabled));
        GradModeGuard {
            previous,
            _not_send: std::marker::PhantomData,
        }
    }
}

impl Drop for GradModeGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.previous));
    }
}

/// Disables graph recording on this thread until the guard is dropped. Guards nest.
///
/// ```
/// use duograd::autograd::{is_grad_enabled, no_grad};
/// {
///     let _guard = no_grad();
///     assert!(!is_grad_enabled());
/// }
/// assert!(is_grad_enabled());
/// ```
pub fn no_grad() -> GradModeGuard {
    GradModeGuard::set(false)
}

/// Enables graph recording on this thread until the guard is dropped (inside a `no_grad` region).
pub fn enable_grad() -> GradModeGuard {
    GradModeGuard::set(true)
}

/// Runs `f` with graph recording disabled, then restores the previous mode.
///
/// ```
/// use duograd::autograd::{is_grad_enabled, with_no_grad};
/// assert!(!with_no_grad(is_grad_enabled));
/// ```
pub fn with_no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _guard = no_grad();
    f()
}

/// Runs `f` with graph recording set to `enabled`, then restores the previous mode.
pub fn with_grad_mode<R>(enabled: bool, f: impl FnOnce() -> R) -> R {
    let _guard = GradModeGuard::set(enabled);
    f()
}
