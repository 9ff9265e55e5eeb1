//! Sliding windows: the convolution patch matrix (`im2col`), its adjoint (`col2im`) and max
//! pooling, on every view of the input, for windows with stride, padding, dilation and
//! non-square kernels. All exact: they only move values, and `col2im`'s sums are of small
//! integers.

use crate::window::Window2d;
use crate::{composed, Backend};

use super::support::{assert_exact, mixed, numel, store, ties, who, Lcg};
use super::views::views;

/// Windows over small inputs that cover every parameter: plain, strided, padded, dilated,
/// non-square, a 1×1 kernel, a kernel as large as the padded input, and a batch of 3.
fn windows() -> Vec<Window2d> {
    vec![
        Window2d::new([2, 3, 5, 6], [3, 3]),
        Window2d::new([1, 2, 7, 6], [3, 3])
            .stride([2, 2])
            .padding([1, 1]),
        Window2d::new([2, 1, 7, 6], [3, 3])
            .dilation([2, 2])
            .padding([2, 2]),
        Window2d::new([1, 4, 7, 6], [3, 3])
            .stride([2, 1])
            .padding([1, 0]),
        Window2d::new([3, 2, 4, 5], [2, 3]),
        Window2d::new([2, 3, 4, 4], [1, 1]),
        Window2d::new([1, 2, 3, 3], [5, 5]).padding([1, 1]),
        Window2d::new([2, 2, 9, 8], [2, 2]).stride([2, 2]),
    ]
}

/// The input coordinate `(y, x)` that tap `(i, j)` of the window at `(oy, ox)` reads, or `None`
/// in the padding.
fn source(w: &Window2d, oy: usize, ox: usize, i: usize, j: usize) -> Option<(usize, usize)> {
    let y = (oy * w.stride[0] + i * w.dilation[0]) as isize - w.padding[0] as isize;
    let x = (ox * w.stride[1] + j * w.dilation[1]) as isize - w.padding[1] as isize;
    let inside = (0..w.input[2] as isize).contains(&y) && (0..w.input[3] as isize).contains(&x);
    inside.then_some((y as usize, x as usize))
}

/// The patch matrix by its definition, from row-major `data`.
fn im2col_reference(data: &[f64], w: &Window2d) -> Vec<f64> {
    let [n, c, h, wd] = w.input;
    let [kh, kw] = w.kernel;
    let [oh, ow] = w.output_size();
    let mut out = Vec::new();
    for ci in 0..c {
        for i in 0..kh {
            for j in 0..kw {
                for ni in 0..n {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            out.push(match source(w, oy, ox, i, j) {
                                Some((y, x)) => data[((ni * c + ci) * h + y) * wd + x],
                                None => 0.0,
                            });
                        }
                    }
                }
            }
        }
    }
    out
}

/// `col2im` by its definition: each patch entry added at the position it was read from.
fn col2im_reference(cols: &[f64], w: &Window2d) -> Vec<f64> {
    let [n, c, h, wd] = w.input;
    let [kh, kw] = w.kernel;
    let [oh, ow] = w.output_size();
    let mut out = vec![0.0; n * c * h * wd];
    let mut k = 0;
    for ci in 0..c {
        for i in 0..kh {
            for j in 0..kw {
                for ni in 0..n {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            if let Some((y, x)) = source(w, oy, ox, i, j) {
                                out[((ni * c + ci) * h + y) * wd + x] += cols[k];
                            }
                            k += 1;
                        }
                    }
                }
            }
        }
    }
    out
}

/// `im2col` gives the patch matrix of its definition for every window and every view of the
/// input, and so does the composed default.
pub fn im2col_matches_definition<B: Backend>() {
    for (seed, w) in windows().iter().enumerate() {
        let shape = w.input;
        let data = mixed::<B::Elem>(numel(&shape), 7000 + seed as u64);
        for v in views::<B>(&data, &shape) {
            let want = im2col_reference(&v.data, w);
            let dims = [w.patch_len(), w.positions()];
            let what = format_args!("im2col of {} {shape:?} with {w:?}", v.kind);
            assert_exact::<B>(&B::im2col(&v.x, w), &dims, &want, &what);
            assert_exact::<B>(&composed::im2col::<B>(&v.x, w), &dims, &want, &what);
        }
    }
}

/// `col2im` adds every patch entry back where it came from (overlapping windows accumulate,
/// padding entries are dropped), from a patch matrix made in any way, and so does the composed
/// default.
pub fn col2im_matches_definition<B: Backend>() {
    for (seed, w) in windows().iter().enumerate() {
        let dims = [w.patch_len(), w.positions()];
        let mut g = Lcg::new(seed as u64);
        // Small integers: sums are exact in any order.
        let cols: Vec<f64> = (0..numel(&dims)).map(|_| g.below(9) as f64 - 4.0).collect();
        let want = col2im_reference(&cols, w);
        for v in views::<B>(&cols, &dims) {
            let what = format_args!("col2im of {} {dims:?} with {w:?}", v.kind);
            assert_exact::<B>(
                &B::col2im(&v.x, w),
                &w.input,
                &col2im_reference(&v.data, w),
                &what,
            );
            assert_exact::<B>(
                &composed::col2im::<B>(&v.x, w),
                &w.input,
                &col2im_reference(&v.data, w),
                &what,
            );
        }
        let x = store::<B>(&cols, &dims);
        assert_exact::<B>(
            &B::col2im(&x, w),
            &w.input,
            &want,
            "col2im of a stored matrix",
        );
    }
}

/// Max pooling of a window as PyTorch's kernel: the first of tied maxima, a NaN propagating
/// (the last NaN of the window), the padding never taken, the index row-major into the input.
fn max_pool_reference(data: &[f64], w: &Window2d) -> (Vec<f64>, Vec<usize>) {
    let [n, c, h, wd] = w.input;
    let [kh, kw] = w.kernel;
    let [oh, ow] = w.output_size();
    let (mut values, mut indices) = (Vec::new(), Vec::new());
    for plane in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                // From -inf at the first tap inside the input; a later value replaces the
                // maximum only if it is larger or NaN.
                let (mut v, mut at) = (f64::NEG_INFINITY, usize::MAX);
                for i in 0..kh {
                    for j in 0..kw {
                        let Some((y, x)) = source(w, oy, ox, i, j) else {
                            continue;
                        };
                        let here = (plane * h + y) * wd + x;
                        if at == usize::MAX {
                            at = here;
                        }
                        if data[here] > v || data[here].is_nan() {
                            (v, at) = (data[here], here);
                        }
                    }
                }
                values.push(v);
                indices.push(at);
            }
        }
    }
    (values, indices)
}

/// `max_pool2d` against its definition on every view, with ties, NaN and -∞ in the data.
pub fn max_pool2d_matches_definition<B: Backend>() {
    let pools = [
        Window2d::new([2, 3, 6, 6], [2, 2]).stride([2, 2]),
        Window2d::new([1, 2, 7, 6], [3, 3])
            .stride([2, 2])
            .padding([1, 1]),
        Window2d::new([2, 1, 7, 7], [3, 2])
            .stride([1, 2])
            .padding([1, 1]),
        Window2d::new([1, 2, 7, 6], [2, 2]).dilation([2, 2]),
        Window2d::new([3, 2, 5, 5], [2, 2]).stride([2, 2]),
        // Rows of more than 16 outputs (a CPU kernel's vector of them), one of them odd.
        Window2d::new([1, 2, 4, 40], [2, 2]).stride([2, 2]),
        Window2d::new([2, 1, 5, 35], [2, 2]).stride([2, 2]),
    ];
    for (seed, w) in pools.iter().enumerate() {
        let shape = w.input;
        let mut data = ties(numel(&shape), 8000 + seed as u64);
        let mut g = Lcg::new(seed as u64);
        for _ in 0..3 {
            let at = g.below(data.len());
            data[at] = f64::NAN;
            let at = g.below(data.len());
            data[at] = f64::NEG_INFINITY;
        }
        let (want, want_at) = max_pool_reference(&data, w);
        for v in views::<B>(&data, &shape) {
            let (want, want_at) = match v.data == data {
                true => (want.clone(), want_at.clone()),
                false => max_pool_reference(&v.data, w),
            };
            let what = format!("max_pool2d of {} {shape:?} with {w:?}", v.kind);
            let (values, at) = B::max_pool2d(&v.x, w);
            assert_exact::<B>(&values, &w.pooled_shape(), &want, &what);
            assert_eq!(at, want_at, "{}: indices of {what}", who::<B>());
            // The gradient: each output's gradient added where it took its value.
            let g: Vec<f64> = (0..at.len()).map(|k| (k % 5) as f64 - 2.0).collect();
            let mut scattered = vec![0.0; numel(&shape)];
            for (&i, &gv) in at.iter().zip(&g) {
                scattered[i] += gv;
            }
            let grad = store::<B>(&g, &w.pooled_shape());
            let back = B::max_pool2d_backward(&grad, &at, w);
            assert_exact::<B>(
                &back,
                &shape,
                &scattered,
                format!("max_pool2d_backward of {what}"),
            );
            let (values, at) = composed::max_pool2d::<B>(&v.x, w);
            assert_exact::<B>(
                &values,
                &w.pooled_shape(),
                &want,
                format!("composed {what}"),
            );
            assert_eq!(at, want_at, "{}: indices of composed {what}", who::<B>());
        }
    }
}

/// A convolution's sizes for the conformance checks: its window and output channels.
fn convolutions() -> Vec<(Window2d, usize)> {
    vec![
        (Window2d::new([2, 3, 5, 6], [3, 3]), 4),
        (
            Window2d::new([1, 2, 7, 6], [3, 3])
                .stride([2, 2])
                .padding([1, 1]),
            3,
        ),
        (
            Window2d::new([2, 1, 7, 6], [3, 3])
                .dilation([2, 2])
                .padding([2, 2]),
            2,
        ),
        (
            Window2d::new([3, 4, 7, 6], [2, 3])
                .stride([2, 1])
                .padding([1, 0]),
            5,
        ),
        (Window2d::new([2, 3, 4, 4], [1, 1]), 6),
        // Large enough for a kernel to split the batch among threads.
        (Window2d::new([16, 8, 12, 12], [3, 3]).padding([1, 1]), 16),
    ]
}

/// `(value, scale)` of each output of the convolution, by its definition: the sum of
/// `w · x` over the taps, and the sum of their magnitudes.
fn conv_reference(x: &[f64], w: &[f64], o: usize, win: &Window2d) -> (Vec<f64>, Vec<f64>) {
    let [n, c, h, wd] = win.input;
    let [kh, kw] = win.kernel;
    let [oh, ow] = win.output_size();
    let (mut out, mut scale) = (Vec::new(), Vec::new());
    for ni in 0..n {
        for oi in 0..o {
            for oy in 0..oh {
                for ox in 0..ow {
                    let (mut s, mut m) = (0.0, 0.0);
                    for ci in 0..c {
                        for i in 0..kh {
                            for j in 0..kw {
                                if let Some((y, xx)) = source(win, oy, ox, i, j) {
                                    let t = w[((oi * c + ci) * kh + i) * kw + j]
                                        * x[((ni * c + ci) * h + y) * wd + xx];
                                    (s, m) = (s + t, m + t.abs());
                                }
                            }
                        }
                    }
                    out.push(s);
                    scale.push(m);
                }
            }
        }
    }
    (out, scale)
}

/// `conv2d` and its two gradients against the definitions, on every view of the operands, and
/// the composed defaults too. The gradients are checked through the adjoint identities
/// `<conv(x, w), g> = <x, dx(g, w)> = <w, dw(g, x)>` element by element: `dx` against the sum of
/// `w · g` over the outputs that read each input, `dw` against the sum of `g · x`.
pub fn conv2d_and_gradients_match_definition<B: Backend>() {
    for (seed, (win, o)) in convolutions().into_iter().enumerate() {
        let [n, c, h, wd] = win.input;
        let [kh, kw] = win.kernel;
        let [oh, ow] = win.output_size();
        let wshape = [o, c, kh, kw];
        let gshape = [n, o, oh, ow];
        let x = mixed::<B::Elem>(numel(&win.input), 9000 + seed as u64)
            .into_iter()
            .map(|v| if v.is_finite() { v } else { 0.5 })
            .collect::<Vec<_>>();
        let w = mixed::<B::Elem>(numel(&wshape), 9100 + seed as u64)
            .into_iter()
            .map(|v| if v.is_finite() { v } else { -0.5 })
            .collect::<Vec<_>>();
        let g = mixed::<B::Elem>(numel(&gshape), 9200 + seed as u64)
            .into_iter()
            .map(|v| if v.is_finite() { v } else { 0.25 })
            .collect::<Vec<_>>();
        let (want, scale) = conv_reference(&x, &w, o, &win);
        // With a bias: each output channel's value added to its outputs.
        let bias: Vec<f64> = (0..o).map(|i| i as f64 - 1.5).collect();
        let per_channel = numel(&gshape) / n.max(1) / o.max(1);
        let biased: Vec<f64> = want
            .iter()
            .enumerate()
            .map(|(i, v)| v + bias[i / per_channel % o])
            .collect();
        let biased_scale: Vec<f64> = scale
            .iter()
            .enumerate()
            .map(|(i, v)| v + bias[i / per_channel % o].abs())
            .collect();
        let (xs, ws, bs) = (
            store::<B>(&x, &win.input),
            store::<B>(&w, &wshape),
            store::<B>(&bias, &[o]),
        );
        for (op, y) in [
            ("conv2d with bias", B::conv2d(&xs, &ws, Some(&bs), &win)),
            (
                "composed conv2d with bias",
                composed::conv2d::<B>(&xs, &ws, Some(&bs), &win),
            ),
        ] {
            super::support::assert_close::<B>(
                &y,
                &gshape,
                &biased,
                Some(&biased_scale),
                format!("{op}, {win:?}"),
            );
        }
        // dx[n, c, y, x] = Σ over (o, oy, ox, i, j) reading it of w · g; dw likewise.
        let (mut dx, mut dx_scale) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        let (mut dw, mut dw_scale) = (vec![0.0; w.len()], vec![0.0; w.len()]);
        let (mut db, mut db_scale) = (vec![0.0; o], vec![0.0; o]);
        for ni in 0..n {
            for oi in 0..o {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let gv = g[((ni * o + oi) * oh + oy) * ow + ox];
                        db[oi] += gv;
                        db_scale[oi] += gv.abs();
                        for ci in 0..c {
                            for i in 0..kh {
                                for j in 0..kw {
                                    if let Some((y, xx)) = source(&win, oy, ox, i, j) {
                                        let xi = ((ni * c + ci) * h + y) * wd + xx;
                                        let wi = ((oi * c + ci) * kh + i) * kw + j;
                                        dx[xi] += w[wi] * gv;
                                        dx_scale[xi] += (w[wi] * gv).abs();
                                        dw[wi] += x[xi] * gv;
                                        dw_scale[wi] += (x[xi] * gv).abs();
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let what = |op: &str, kind: &dyn std::fmt::Display| {
            format!("{op} of {kind} operands, {win:?}, {o} outputs")
        };
        for (vx, vw) in views::<B>(&x, &win.input)
            .iter()
            .zip(views::<B>(&w, &wshape).iter().cycle())
        {
            if vx.data != x || vw.data != w {
                continue; // an expanded view holds other data
            }
            let y = B::conv2d(&vx.x, &vw.x, None, &win);
            super::support::assert_close::<B>(
                &y,
                &gshape,
                &want,
                Some(&scale),
                what("conv2d", &vx.kind),
            );
            let y = composed::conv2d::<B>(&vx.x, &vw.x, None, &win);
            super::support::assert_close::<B>(
                &y,
                &gshape,
                &want,
                Some(&scale),
                what("composed conv2d", &vx.kind),
            );
            let dw_got = B::conv2d_backward_weight(&store::<B>(&g, &gshape), &vx.x, &win);
            super::support::assert_close::<B>(
                &dw_got,
                &wshape,
                &dw,
                Some(&dw_scale),
                what("conv2d_backward_weight", &vx.kind),
            );
        }
        for vg in views::<B>(&g, &gshape) {
            if vg.data != g {
                continue;
            }
            let wt = store::<B>(&w, &wshape);
            let dx_got = B::conv2d_backward_input(&vg.x, &wt, &win);
            super::support::assert_close::<B>(
                &dx_got,
                &win.input,
                &dx,
                Some(&dx_scale),
                what("conv2d_backward_input", &vg.kind),
            );
            let dx_got = composed::conv2d_backward_input::<B>(&vg.x, &wt, &win);
            super::support::assert_close::<B>(
                &dx_got,
                &win.input,
                &dx,
                Some(&dx_scale),
                what("composed conv2d_backward_input", &vg.kind),
            );
            let xs = store::<B>(&x, &win.input);
            let dw_got = B::conv2d_backward_weight(&vg.x, &xs, &win);
            super::support::assert_close::<B>(
                &dw_got,
                &wshape,
                &dw,
                Some(&dw_scale),
                what("conv2d_backward_weight", &vg.kind),
            );
            let dw_got = composed::conv2d_backward_weight::<B>(&vg.x, &xs, &win);
            super::support::assert_close::<B>(
                &dw_got,
                &wshape,
                &dw,
                Some(&dw_scale),
                what("composed conv2d_backward_weight", &vg.kind),
            );
            let (dw_got, db_got) = B::conv2d_backward_weight_and_bias(&vg.x, &xs, &win);
            super::support::assert_close::<B>(
                &dw_got,
                &wshape,
                &dw,
                Some(&dw_scale),
                what("conv2d_backward_weight_and_bias (weight)", &vg.kind),
            );
            super::support::assert_close::<B>(
                &db_got,
                &[o],
                &db,
                Some(&db_scale),
                what("conv2d_backward_weight_and_bias (bias)", &vg.kind),
            );
        }
    }
}
