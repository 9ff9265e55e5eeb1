//! A per-thread cache of large freed tensor buffers, handed back out to the next allocation of
//! the same length.
//!
//! glibc's `malloc` serves a request of 128 KiB or more with fresh pages from the OS and gives
//! them back on `free`, until the program first frees a block larger than that (then it raises
//! the limit). A training loop whose activations and gradients are that large but whose batches
//! are made once (a full-batch loop, or one over pre-built tensors) would therefore fault in
//! (and zero) every page of them again at each step. Buffers recycled here are also the ones
//! most recently written, so they are likely still in cache.
//!
//! Backends give the buffers of dropped tensors back with [`recycle`]
//! ([`Backend::recycle`](duograd_backend::Backend::recycle)); the kernels that make large outputs
//! take theirs with [`take`]. Only buffers of at least [`MIN_BYTES`] (smaller ones `malloc`
//! reuses well) and at most [`MAX_BUFFER_BYTES`] are kept, at most [`MAX_BUFFERS`] of them and
//! [`MAX_BYTES`] in all per thread, the oldest freed first.
//!
//! ```
//! use duograd_cpu::buffers;
//! let v: Vec<f32> = Vec::with_capacity(1 << 16); // 256 KiB
//! let address = v.as_ptr();
//! buffers::recycle(v);
//! let again: Vec<f32> = buffers::take(1 << 16);
//! assert_eq!((again.len(), again.as_ptr()), (0, address)); // the same buffer, emptied
//! ```

use std::any::Any;
use std::cell::RefCell;

use duograd_backend::Element;

/// The smallest buffer kept, in bytes: glibc's default threshold for serving a request from
/// fresh pages.
pub const MIN_BYTES: usize = 128 << 10;

/// The most buffers kept per thread.
pub const MAX_BUFFERS: usize = 64;

/// The most bytes kept per thread: room for what one training step of a small convolutional
/// network frees and the next one asks for again (at batch 128, one 32-channel 28×28 map of
/// `f32` is 12.8 MB, and a step makes a dozen of them).
pub const MAX_BYTES: usize = 256 << 20;

/// The largest buffer kept, in bytes: a training step's buffers are well below it, and keeping
/// an evaluation's occasional huge one would hold its memory and push out the step's.
pub const MAX_BUFFER_BYTES: usize = MAX_BYTES / 8;

/// One kept buffer: an empty `Vec<E>` of capacity `len` (`bytes` bytes), for some `E`.
struct Kept {
    len: usize,
    bytes: usize,
    vec: Box<dyn Any>,
}

#[derive(Default)]
struct Cache {
    /// Oldest first.
    kept: Vec<Kept>,
    bytes: usize,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// An empty `Vec<E>` with room for `len` values: the most recently recycled buffer of exactly
/// that capacity, if this thread kept one, else a fresh allocation.
pub fn take<E: 'static>(len: usize) -> Vec<E> {
    if len * size_of::<E>() >= MIN_BYTES {
        // `try_with`: a thread being torn down has no cache any more.
        let found = CACHE
            .try_with(|cache| {
                let mut cache = cache.borrow_mut();
                let at = cache
                    .kept
                    .iter()
                    .rposition(|k| k.len == len && k.vec.is::<Vec<E>>())?;
                let kept = cache.kept.remove(at);
                cache.bytes -= kept.bytes;
                kept.vec.downcast::<Vec<E>>().ok()
            })
            .ok()
            .flatten();
        if let Some(vec) = found {
            return *vec;
        }
    }
    Vec::with_capacity(len)
}

/// [`take`], filled with zeros.
pub fn take_zeroed<E: Element>(len: usize) -> Vec<E> {
    let mut vec = take(len);
    vec.resize(len, E::zero());
    vec
}

/// Keeps `vec`'s buffer (its values dropped) for a later [`take`] on this thread, if it is at
/// least [`MIN_BYTES`] and at most [`MAX_BUFFER_BYTES`] large; else, or if this thread is
/// exiting, frees it.
pub fn recycle<E: 'static>(mut vec: Vec<E>) {
    let (len, bytes) = (vec.capacity(), vec.capacity() * size_of::<E>());
    if !(MIN_BYTES..=MAX_BUFFER_BYTES).contains(&bytes) {
        return;
    }
    vec.clear();
    let kept = Kept {
        len,
        bytes,
        vec: Box::new(vec),
    };
    let _ = CACHE.try_with(|cache| {
        let mut cache = cache.borrow_mut();
        cache.bytes += kept.bytes;
        cache.kept.push(kept);
        while cache.kept.len() > MAX_BUFFERS || cache.bytes > MAX_BYTES {
            let oldest = cache.kept.remove(0);
            cache.bytes -= oldest.bytes;
        }
    });
}

/// Frees every buffer this thread keeps.
pub fn clear() {
    let _ = CACHE.try_with(|cache| *cache.borrow_mut() = Cache::default());
}

/// The number of buffers and of bytes this thread keeps.
pub fn kept() -> (usize, usize) {
    CACHE
        .try_with(|cache| {
            let cache = cache.borrow();
            (cache.kept.len(), cache.bytes)
        })
        .unwrap_or((0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIG: usize = MIN_BYTES / 4; // f32 values in the smallest buffer kept

    #[test]
    fn a_recycled_buffer_goes_to_the_next_request_of_its_length_and_type() {
        clear();
        let v = vec![1.0f32; BIG];
        let address = v.as_ptr();
        recycle(v);
        assert_eq!(kept(), (1, MIN_BYTES));
        // Another length or element type gets a fresh buffer and leaves the kept one.
        let other = take::<f32>(BIG + 1);
        assert_ne!(other.as_ptr(), address);
        assert_eq!(take::<f64>(BIG / 2).capacity(), BIG / 2);
        assert_eq!(kept().0, 1);
        let again = take::<f32>(BIG);
        assert_eq!(
            (again.as_ptr(), again.len(), again.capacity()),
            (address, 0, BIG)
        );
        assert_eq!(kept(), (0, 0));
        let zeros = {
            recycle(again);
            take_zeroed::<f32>(BIG)
        };
        assert_eq!(zeros.as_ptr(), address);
        assert!(zeros.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn small_buffers_are_not_kept_and_the_cache_is_bounded() {
        clear();
        recycle(vec![0.0f32; BIG - 1]);
        assert_eq!(kept(), (0, 0));
        for _ in 0..MAX_BUFFERS + 5 {
            recycle(Vec::<f32>::with_capacity(BIG));
        }
        assert_eq!(kept(), (MAX_BUFFERS, MAX_BUFFERS * MIN_BYTES));
        // Large buffers push the oldest out to stay within the byte budget.
        let huge = MAX_BYTES / 4 / 4; // f32 values in a quarter of the budget
        for _ in 0..5 {
            recycle(Vec::<f32>::with_capacity(huge));
        }
        let (_, bytes) = kept();
        assert!(bytes <= MAX_BYTES, "{bytes} bytes kept");
        assert_eq!(take::<f32>(huge).capacity(), huge);
        clear();
        assert_eq!(kept(), (0, 0));
    }
}
