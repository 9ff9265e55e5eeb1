//! The nalgebra backend for duograd (work in progress).
