//! duograd's worker threads, shared by the `f32` matrix product and the batch gather: the calling
//! thread works too, shares go to whichever thread is free, and idle workers poll briefly before
//! sleeping.
//!
//! In a training loop short products alternate with single-threaded kernels, so what matters is
//! the latency of handing out a share: a worker that is still spinning picks it up at once,
//! while a sleeping thread must first be woken by the OS scheduler, which takes far longer. The
//! calling thread does not wait idle while the workers run: it takes shares too.
//!
//! Between jobs the workers can also do a [`background`] job in small parts (the data loader
//! gathers the next batch so): a worker looks for a posted job before each part, so a product
//! waits at most one part for it.

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
    spawn_workers(&mut workers, threads);
    let epoch = SHARED.epoch.load(Ordering::SeqCst) + 1;
    // SAFETY: (the lifetime erasure) a share runs only after a claim of this epoch succeeds,
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

/// Starts workers until there are `threads - 1` (or no more can be had: then the threads there
/// are do all the shares).
fn spawn_workers(workers: &mut Vec<Worker>, threads: usize) {
    while workers.len() < threads.saturating_sub(1) {
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
            Err(_) => break,
        }
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
        if polls.is_multiple_of(64) {
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
    let new_job = |seen| SHARED.epoch.load(Ordering::Acquire) != seen;
    loop {
        while !poll(
            || new_job(seen) || BACKGROUND_PENDING.load(Ordering::Acquire),
            SPIN,
        ) {
            sleeping.store(true, Ordering::SeqCst);
            if SHARED.epoch.load(Ordering::SeqCst) == seen
                && !BACKGROUND_PENDING.load(Ordering::SeqCst)
            {
                thread::park(); // may also return spuriously: the loop checks again
            }
            sleeping.store(false, Ordering::SeqCst);
        }
        if !new_job(seen) {
            // Nothing posted: one part of the background job, then look again.
            help_in_background();
            continue;
        }
        let posted = *SHARED.posted.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(posted) = posted {
            seen = posted.epoch;
            claim_and_run(posted);
        }
    }
}

/// A job for idle workers, in parts claimed one at a time (see [`background`]).
struct BackgroundJob {
    parts: usize,
    claimed: AtomicUsize,
    finished: AtomicUsize,
    panicked: AtomicBool,
    job: Box<dyn Fn(usize) + Send + Sync>,
}

impl BackgroundJob {
    /// Claims and runs the next part; `false` if none was left.
    fn run_one(&self) -> bool {
        let part = self.claimed.fetch_add(1, Ordering::AcqRel);
        if part >= self.parts {
            return false;
        }
        if panic::catch_unwind(AssertUnwindSafe(|| (self.job)(part))).is_err() {
            self.panicked.store(true, Ordering::SeqCst);
        }
        self.finished.fetch_add(1, Ordering::Release);
        true
    }
}

/// The background job idle workers help with. [`BACKGROUND_PENDING`] changes only under its
/// lock.
static BACKGROUND: Mutex<Option<Arc<BackgroundJob>>> = Mutex::new(None);
/// Whether [`BACKGROUND`] may hold parts to claim: what idle workers poll, without the lock.
static BACKGROUND_PENDING: AtomicBool = AtomicBool::new(false);

/// Runs one part of the background job, if it has one left; otherwise takes the job down.
fn help_in_background() {
    let job = BACKGROUND
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    match job {
        Some(job) if job.run_one() => {}
        job => take_down(job.as_ref()),
    }
}

/// Empties the background slot if it still holds `job` (or holds nothing): a newer job posted
/// meanwhile stays.
fn take_down(job: Option<&Arc<BackgroundJob>>) {
    let mut slot = BACKGROUND.lock().unwrap_or_else(PoisonError::into_inner);
    let unchanged = slot
        .as_ref()
        .is_none_or(|now| job.is_some_and(|job| Arc::ptr_eq(now, job)));
    if unchanged {
        *slot = None;
        BACKGROUND_PENDING.store(false, Ordering::SeqCst);
    }
}

/// A job started by [`background`]: [`Background::wait`] finishes it; dropping it unfinished
/// cancels the parts not yet started (the job owns what it works on, so nothing is left
/// dangling).
pub(crate) struct Background {
    job: Arc<BackgroundJob>,
}

/// Starts `job(i)` for every `i` in `0..parts`, done by idle workers one part at a time while
/// the caller goes on; [`Background::wait`] runs what they have not claimed on the calling
/// thread and waits for the rest. With `threads` 1 (or one CPU) no worker helps: `wait` does it
/// all.
///
/// One background job is offered to the workers at a time: a newer one takes them from an
/// older one, whose `wait` then does what is left.
pub(crate) fn background(
    parts: usize,
    threads: usize,
    job: impl Fn(usize) + Send + Sync + 'static,
) -> Background {
    let job = Arc::new(BackgroundJob {
        parts,
        claimed: AtomicUsize::new(0),
        finished: AtomicUsize::new(0),
        panicked: AtomicBool::new(false),
        job: Box::new(job),
    });
    let threads = usable(threads);
    if threads > 1 && parts > 0 {
        {
            let mut slot = BACKGROUND.lock().unwrap_or_else(PoisonError::into_inner);
            *slot = Some(Arc::clone(&job));
            BACKGROUND_PENDING.store(true, Ordering::SeqCst);
        }
        // Busy means another thread's job is running, so the workers are awake.
        if let Ok(mut workers) = WORKERS.try_lock() {
            spawn_workers(&mut workers, threads);
            for worker in workers.iter() {
                // Paired with the worker's store of `sleeping` then load of the pending flag.
                if worker.sleeping.load(Ordering::SeqCst) {
                    worker.thread.unpark();
                }
            }
        }
    }
    Background { job }
}

impl Background {
    /// Runs the parts no worker has claimed, then waits until every part has finished.
    ///
    /// # Panics
    /// If a part panicked (after every part has finished).
    pub(crate) fn wait(self) {
        while self.job.run_one() {}
        let parts = self.job.parts;
        while !poll(|| self.job.finished.load(Ordering::Acquire) == parts, SPIN) {}
        if self.job.panicked.load(Ordering::SeqCst) {
            panic!("duograd: a part of a background job panicked");
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // No part starts after this, and the workers stop looking at the job.
        self.job.claimed.fetch_max(self.job.parts, Ordering::AcqRel);
        take_down(Some(&self.job));
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

    /// Every part of a background job runs exactly once, whether the workers or `wait` run it,
    /// with foreground jobs posted meanwhile, and on one thread as on several.
    #[test]
    fn a_background_job_runs_every_part_once() {
        for threads in [1, 2, 4] {
            for parts in [0, 1, 7, 100] {
                let counts: Arc<Vec<AtomicUsize>> =
                    Arc::new((0..parts).map(|_| AtomicUsize::new(0)).collect());
                let seen = Arc::clone(&counts);
                let job = background(parts, threads, move |i| {
                    seen[i].fetch_add(1, Ordering::Relaxed);
                    thread::sleep(Duration::from_micros(20));
                });
                let foreground = AtomicUsize::new(0);
                run(8, threads, &|_| {
                    foreground.fetch_add(1, Ordering::Relaxed);
                });
                job.wait();
                assert_eq!(foreground.load(Ordering::Relaxed), 8);
                for (i, count) in counts.iter().enumerate() {
                    assert_eq!(
                        count.load(Ordering::Relaxed),
                        1,
                        "part {i} of {parts} on {threads} threads"
                    );
                }
            }
        }
    }

    /// Dropping a background job unfinished starts no more of its parts; the next job runs whole.
    #[test]
    fn a_dropped_background_job_stops_and_the_next_runs() {
        let started = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&started);
        let job = background(1000, 2, move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
            thread::sleep(Duration::from_micros(50));
        });
        drop(job);
        let at_drop = started.load(Ordering::SeqCst);
        thread::sleep(Duration::from_millis(5));
        // At most the part a worker had begun when it was dropped.
        assert!(started.load(Ordering::SeqCst) <= at_drop + 1);
        assert!(started.load(Ordering::SeqCst) < 1000);
        let done = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&done);
        background(10, 2, move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        })
        .wait();
        assert_eq!(done.load(Ordering::SeqCst), 10);
    }

    /// A panicking part makes `wait` panic once every part is done.
    #[test]
    fn a_panicking_background_part_panics_wait() {
        let done = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&done);
        let job = background(6, 2, move |i| {
            if i == 2 {
                panic!("part 2");
            }
            seen.fetch_add(1, Ordering::SeqCst);
        });
        assert!(panic::catch_unwind(AssertUnwindSafe(|| job.wait())).is_err());
        assert_eq!(done.load(Ordering::SeqCst), 5);
    }
}
