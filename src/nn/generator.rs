//! [`Generator`]: a shared random-number generator whose position can be saved and restored,
//! as PyTorch's `torch.Generator` with `get_state`/`set_state`.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use rand::SeedableRng;
use rand_chacha::ChaCha12Rng;

/// A seeded random-number generator shared by handle: clones draw from one stream, so a layer
/// that owns a generator and a training loop holding a clone see the same position.
///
/// It is ChaCha12, the algorithm of `rand`'s `StdRng`, and `Generator::new(seed)` draws exactly
/// what `StdRng::seed_from_u64(seed)` draws; unlike `StdRng`, its position can be read
/// ([`Generator::state`]) and restored ([`Generator::set_state`]), which is what lets a
/// checkpointed run continue with the same random numbers.
///
/// ```
/// use duograd::nn::Generator;
/// use rand::Rng;
///
/// let g = Generator::new(7);
/// let saved = g.state();
/// let first: Vec<u32> = g.with_rng(|rng| (0..5).map(|_| rng.random()).collect());
/// g.set_state(&saved);
/// let again: Vec<u32> = g.with_rng(|rng| (0..5).map(|_| rng.random()).collect());
/// assert_eq!(first, again);
/// ```
#[derive(Clone)]
pub struct Generator(Arc<Mutex<ChaCha12Rng>>);

/// Where a [`Generator`] stands: its seed, stream and the number of 32-bit words drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GeneratorState {
    /// The 256-bit ChaCha key.
    pub seed: [u8; 32],
    /// The ChaCha stream number.
    pub stream: u64,
    /// How many 32-bit words of the stream have been consumed.
    pub word_pos: u128,
}

impl Generator {
    /// A generator seeded from `seed` (the stream of `StdRng::seed_from_u64(seed)`).
    pub fn new(seed: u64) -> Self {
        Generator(Arc::new(Mutex::new(ChaCha12Rng::seed_from_u64(seed))))
    }

    /// Restarts the generator from `seed`, as if it had just been made with it.
    pub fn manual_seed(&self, seed: u64) {
        *self.lock() = ChaCha12Rng::seed_from_u64(seed);
    }

    /// The current position.
    pub fn state(&self) -> GeneratorState {
        let rng = self.lock();
        GeneratorState {
            seed: rng.get_seed(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos(),
        }
    }

    /// Moves the generator to `state`: what it draws next is what it drew after `state` was
    /// read.
    pub fn set_state(&self, state: &GeneratorState) {
        let mut rng = ChaCha12Rng::from_seed(state.seed);
        rng.set_stream(state.stream);
        rng.set_word_pos(state.word_pos);
        *self.lock() = rng;
    }

    /// Runs `f` with the generator (locked for the call).
    pub fn with_rng<R>(&self, f: impl FnOnce(&mut ChaCha12Rng) -> R) -> R {
        f(&mut self.lock())
    }

    /// Whether both handles share one generator.
    pub fn same_as(&self, other: &Generator) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ChaCha12Rng> {
        // A panic while drawing leaves the generator valid: keep using it.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Generator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Generator(word_pos {})", self.state().word_pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::RngCore;

    #[test]
    fn draws_what_std_rng_draws_from_the_same_seed() {
        let g = Generator::new(42);
        let mut std = StdRng::seed_from_u64(42);
        let ours: Vec<u64> = g.with_rng(|r| (0..9).map(|_| r.next_u64()).collect());
        let theirs: Vec<u64> = (0..9).map(|_| std.next_u64()).collect();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn a_restored_state_continues_mid_block_and_mid_word() {
        let g = Generator::new(3);
        // An odd number of words: the position falls inside a 64-bit draw's pair and inside
        // ChaCha's 16-word block.
        g.with_rng(|r| {
            r.next_u64();
            r.next_u32();
        });
        let saved = g.state();
        let expected: Vec<u64> = g.with_rng(|r| (0..40).map(|_| r.next_u64()).collect());
        let other = Generator::new(99);
        other.set_state(&saved);
        let got: Vec<u64> = other.with_rng(|r| (0..40).map(|_| r.next_u64()).collect());
        assert_eq!(got, expected);
        assert_eq!(saved.word_pos, 3);
    }
}
