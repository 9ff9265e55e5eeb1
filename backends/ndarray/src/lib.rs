//! The ndarray backend for duograd (work in progress).
