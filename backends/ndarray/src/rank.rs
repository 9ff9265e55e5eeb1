//! Fixed-rank dispatch: ndarray iterates much faster over `Ix1`..`Ix3` than over `IxDyn`, so hot
//! loops convert their dynamic-rank views first.

use ndarray::{ArrayBase, Dimension, IxDyn, RawData};

/// Runs `$body` with the type `$d` bound to the fixed-rank dimension for `$rank` (`Ix1`, `Ix2`,
/// `Ix3`), or to `IxDyn` for any other rank.
macro_rules! with_rank {
    ($rank:expr, $d:ident => $body:expr) => {
        match $rank {
            1 => {
                type $d = ndarray::Ix1;
                $body
            }
            2 => {
                type $d = ndarray::Ix2;
                $body
            }
            3 => {
                type $d = ndarray::Ix3;
                $body
            }
            _ => {
                type $d = ndarray::IxDyn;
                $body
            }
        }
    };
}
pub(crate) use with_rank;

/// Converts a dynamic-rank array to the rank `D` picked by [`with_rank!`] (which matches).
pub(crate) fn fixed<S: RawData, D: Dimension>(x: ArrayBase<S, IxDyn>) -> ArrayBase<S, D> {
    x.into_dimensionality::<D>().expect("rank matches")
}
