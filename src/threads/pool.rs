//! duograd's worker threads, shared by the `f32` matrix product and the batch gather: the calling
//! thread works too, shares go to whichever thread is free, and idle workers poll briefly before
//! sleeping.
//!
//! In a training loop products of 0.1–0.5 ms alternate with single-threaded kernels, so what
//! matters is the latency of handing out a share: a worker that is still spinning picks it up in
//! well under a microsecond, while waking a sleeping thread costs tens of microseconds. A rayon
//! pool (the `gemm` crate's) also left the calling thread blocked; here it works.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long an idle worker polls for work before it sleeps: longer than the gaps between the
/// products of one training step, short enough that an idle program stops using the CPU at once.
const SPIN: Duration = Duration::from_micros(200);

/// A job: `job(i)` is its `i`-th share.
type Job<'a> = dyn Fn(usize) + Sync + 'a;

/// The job being run, with its lifetime erased (see the SAFETY comment in [`run`]).
#[derive(Clone, Copy)]
struct Posted {
    /// Counts jobs, so that a worker never runs a share of a finished job.
    epoch: u64,
    parts: usize,
    job: *const Job<'static>,
}

// SAFETY: `job` points to a `Sync` closure, which `run` keeps alive while a share can run.
unsafe impl Send for Posted {}

/// Bits of [`Shared::claims`] that count claimed shares; the bits above hold the epoch.
const INDEX_BITS: u32 = 16;
/// The most shares a job may have.
pub(crate) const MAX_PARTS: usize = 1 << INDEX_BITS;

/// What the calling thread and the workers share.
struct Shared {
    posted: Mutex<Option<Posted>>,
    /// `epoch << INDEX_BITS | shares claimed so far`: whoever is free (the caller included)
    /// claims the next share, so a worker that is slow to wake never delays a product, it just
    /// finds nothing left to do.
    claims: AtomicU64,
    /// The epoch of the latest job: what idle workers poll, without taking the lock.
    epoch: AtomicU64,
    /// Shares of the current job finished.
    finished: AtomicUsize,
    /// A share panicked; [`run`] panics in turn.
    panicked: AtomicBool,
}

static SHARED: Shared = Shared {
    posted: Mutex::new(None),
    claims: AtomicU64::new(0),
    epoch: AtomicU64::new(0),
    finished: AtomicUsize::new(0),
    panicked: AtomicBool::new(false),
};

/// One worker thread, and whether it is asleep (then it must be unparked).
struct Worker {
    thread: Thread,
    sleeping: Arc<AtomicBool>,
}

/// The workers, created on first need. Its lock is held for a whole [`run`]: a second caller
/// (another thread of the program) runs its shares by itself rather than wait.
static WORKERS: Mutex<Vec<Worker>> = Mutex::new(Vec::new());

/// `threads`, but at most one per CPU: more would only make the polling workers take turns
/// with the threads doing the work.
pub(crate) fn usable(threads: usize) -> usize {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let cpus = *CPUS.get_or_init(|| thread::available_parallelism().map_or(1, |n| n.get()));
    threads.min(cpus)
}

/// Calls `job(i)` once for every `i` in `0..parts` (at most [`MAX_PARTS`]), on the calling
/// thread and up to `threads - 1` workers (fewer if the machine has fewer CPUs), and returns
/// when all calls have returned.
///
/// # Panics
/// If a share panics (after every share has finished).
pub(crate) fn run(parts: usize, threads: usize, job: &Job<'_>) {
    assert!(parts <= MAX_PARTS, "pool::run: {parts} shares is too many");
    let threads = usable(threads);
    let mut workers = match WORKERS.try_lock() {
        Ok(workers) if parts > 1 && threads > 1 => workers,
        // One share, one thread, or the pool busy with another thread's product.
        _ => return (0..parts).for_each(job),
    };
    while workers.len() < threads - 1 {
        let sleeping = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&sleeping);
        let seen = SHARED.epoch.load(Ordering::SeqCst);
        let spawned = thread::Builder::new()
            .name(format!("duograd-worker-{}", workers.len() + 1))
            .spawn(move || work(seen, &flag));
        match spawned {
            Ok(handle) => workers.push(Worker {
                thread: handle.thread().clone(),
                sleeping,
            }),
            // No more threads to be had: the threads there are do all the shares.
            Err(_) => break,
        }
    }
    let epoch = SHARED.epoch.load(Ordering::SeqCst) + 1;
    // SAFETY (of the lifetime erasure): a share runs only after a claim of this epoch succeeds,
    // this function returns only once every claimed share has finished, and no claim of this
    // epoch can succeed after all shares are claimed; so `job` outlives every call.
    let erased: *const Job<'static> =
        unsafe { std::mem::transmute::<&Job<'_>, &'static Job<'static>>(job) };
    let posted = Posted {
        epoch,
        parts,
        job: erased,
    };
    // The claims before the job: a worker that reads this job finds its claims open.
    SHARED.finished.store(0, Ordering::SeqCst);
    SHARED.claims.store(epoch << INDEX_BITS, Ordering::SeqCst);
    *SHARED.posted.lock().unwrap_or_else(PoisonError::into_inner) = Some(posted);
    SHARED.epoch.store(epoch, Ordering::SeqCst);
    for worker in workers.iter().take(threads - 1) {
        // Paired with the worker's store of `sleeping` then load of `epoch` (all SeqCst): either
        // it sees the new epoch, or this sees it asleep and wakes it.
        if worker.sleeping.load(Ordering::SeqCst) {
            worker.thread.unpark();
        }
    }
    claim_and_run(posted);
    while !poll(|| SHARED.finished.load(Ordering::Acquire) == parts, SPIN) {}
    drop(workers);
    if SHARED.panicked.swap(false, Ordering::SeqCst) {
        panic!("duograd: a share of a parallel kernel panicked");
    }
}

/// Claims and runs shares of `posted` until none is left (or a newer job replaced it).
fn claim_and_run(posted: Posted) {
    let mut claims = SHARED.claims.load(Ordering::Acquire);
    loop {
        let index = (claims & (MAX_PARTS as u64 - 1)) as usize;
        if claims >> INDEX_BITS != posted.epoch || index >= posted.parts {
            return;
        }
        match SHARED.claims.compare_exchange_weak(
            claims,
            claims + 1,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                // SAFETY: share `index` of this epoch is claimed and not finished, so `run` is
                // still waiting and the job alive.
                let job = unsafe { &*posted.job };
                if panic::catch_unwind(AssertUnwindSafe(|| job(index))).is_err() {
                    SHARED.panicked.store(true, Ordering::SeqCst);
                }
                SHARED.finished.fetch_add(1, Ordering::Release);
                claims = SHARED.claims.load(Ordering::Acquire);
            }
            Err(now) => claims = now,
        }
    }
}

/// Polls `done` for `spin`, giving up the CPU between polls now and then (so that a busy
/// machine's other threads, the one this waits for included, can run); then returns `false`.
fn poll(done: impl Fn() -> bool, spin: Duration) -> bool {
    let start = Instant::now();
    let mut polls = 0u32;
    loop {
        if done() {
            return true;
        }
        polls = polls.wrapping_add(1);
        if polls % 64 == 0 {
            if start.elapsed() >= spin {
                return false;
            }
            thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// A worker's loop: wait for a job newer than `seen`, and help with it.
fn work(mut seen: u64, sleeping: &AtomicBool) {
    loop {
        while !poll(|| SHARED.epoch.load(Ordering::Acquire) != seen, SPIN) {
            sleeping.store(true, Ordering::SeqCst);
            if SHARED.epoch.load(Ordering::SeqCst) == seen {
                thread::park(); // may also return spuriously: the loop checks again
            }
            sleeping.store(false, Ordering::SeqCst);
        }
        let posted = *SHARED.posted.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(posted) = posted {
            seen = posted.epoch;
            claim_and_run(posted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every share runs exactly once, for any number of shares and threads, and from several
    /// calling threads at once (all but one of which find the pool busy).
    #[test]
    fn every_share_runs_once() {
        let callers: Vec<_> = (0..3)
            .map(|caller| {
                thread::spawn(move || {
                    for parts in 0..12 {
                        for threads in 1..=4 {
                            let counts: Vec<AtomicUsize> =
                                (0..parts).map(|_| AtomicUsize::new(0)).collect();
                            run(parts, threads, &|i| {
                                counts[i].fetch_add(1, Ordering::Relaxed);
                            });
                            for (i, count) in counts.iter().enumerate() {
                                assert_eq!(
                                    count.load(Ordering::Relaxed),
                                    1,
                                    "caller {caller}, share {i} of {parts} on {threads} threads"
                                );
                            }
                        }
                    }
                })
            })
            .collect();
        for caller in callers {
            caller.join().unwrap();
        }
    }

    /// A panicking share makes `run` panic once all shares are done, and the pool still works.
    #[test]
    fn a_panicking_share_panics_the_caller() {
        let done = AtomicUsize::new(0);
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            run(4, 2, &|i| {
                if i == 3 {
                    panic!("share 3");
                }
                done.fetch_add(1, Ordering::Relaxed);
            })
        }));
        assert!(result.is_err());
        assert_eq!(done.load(Ordering::Relaxed), 3);
        let after = AtomicUsize::new(0);
        run(4, 2, &|_| {
            after.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(after.load(Ordering::Relaxed), 4);
    }
}
