//! How many threads duograd's kernels may use.
//!
//! The matrix product ([`crate::gemm`]) and the batch gather of duograd's `DataLoader`
//! ([`crate::rows`]) run on several threads. The count is read once from the `DUOGRAD_THREADS`
//! environment variable (a positive integer), and defaults to the number of CPUs the process may
//! use; [`set_num_threads`] changes it at run time.
//!
//! 1 keeps all this work on the calling thread. Above 1, batches of 32K values or more are
//! gathered, and large matrix products computed ([`crate::gemm::threads_for`]), on duograd's
//! own worker pool: the calling thread plus workers started on first use, at most one thread
//! per CPU. These are the only threads duograd starts.
//!
//! ```
//! duograd_cpu::threads::set_num_threads(1); // e.g. to measure single-core speed
//! assert_eq!(duograd_cpu::threads::num_threads(), 1);
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) mod pool;

/// The environment variable [`num_threads`] starts from.
pub const ENV_VAR: &str = "DUOGRAD_THREADS";

/// 0 = not decided yet.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// The number of threads a kernel may use (at least 1).
///
/// On first use this reads `DUOGRAD_THREADS`; a value that is not a positive integer is
/// reported on standard error (naming the value) and the default is used instead.
pub fn num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let n = threads_from_env(std::env::var(ENV_VAR).ok().as_deref());
            // Another thread may have decided meanwhile; keep whichever came first.
            match THREADS.compare_exchange(0, n, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => n,
                Err(current) => current,
            }
        }
        n => n,
    }
}

/// Lets kernels use up to `threads` threads from now on.
///
/// # Panics
/// If `threads` is 0.
pub fn set_num_threads(threads: usize) {
    assert!(
        threads > 0,
        "set_num_threads: the thread count must be at least 1, got 0"
    );
    THREADS.store(threads, Ordering::Relaxed);
}

/// The thread count `DUOGRAD_THREADS=value` asks for, or the machine's parallelism.
fn threads_from_env(value: Option<&str>) -> usize {
    let default = || std::thread::available_parallelism().map_or(1, |n| n.get());
    match value.map(str::trim) {
        None | Some("") => default(),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                let n = default();
                eprintln!(
                    "duograd: ignoring {ENV_VAR}={text:?} (not a positive integer); using {n} threads"
                );
                n
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values() {
        let default = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(threads_from_env(Some("3")), 3);
        assert_eq!(threads_from_env(Some(" 1 ")), 1);
        assert_eq!(threads_from_env(None), default);
        assert_eq!(threads_from_env(Some("")), default);
        assert_eq!(threads_from_env(Some("0")), default);
        assert_eq!(threads_from_env(Some("two")), default);
    }
}
