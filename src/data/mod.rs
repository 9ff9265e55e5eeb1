//! Data sets and loading (MNIST, 8×8 digits) — in progress.
