//! Every route against a naive `f64` product, on random shapes, strides, layouts, biases,
//! element types and thread counts.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use super::*;

/// Every route that computes something.
const ROUTES: [Route; 7] = [
    Route::Thin,
    Route::Narrow,
    Route::NarrowTransposed,
    Route::Blocked(Kernel::Avx512),
    Route::Blocked(Kernel::Avx2),
    Route::Fallback,
    Route::FallbackBands,
];

/// How an `r × c` operand is stored.
#[derive(Clone, Copy, Debug)]
enum Storage {
    RowMajor,
    ColMajor,
    /// Rows `extra` values further apart than its width, from `offset` on: a sub-block of a
    /// larger row-major array.
    RowBlock {
        extra: usize,
        offset: usize,
    },
    /// Columns `extra` values further apart than its height, from `offset` on.
    ColBlock {
        extra: usize,
        offset: usize,
    },
    /// Every `step`-th value of every `step`-th row of a row-major array.
    Scattered {
        step: usize,
    },
    /// The transpose, stored as given, viewed through `StridedMatrix::t`.
    Transposed(Basic),
}

/// The storages a transposed view is taken of.
#[derive(Clone, Copy, Debug)]
enum Basic {
    RowMajor,
    ColMajor,
    RowBlock { extra: usize },
}

fn storage() -> impl Strategy<Value = Storage> {
    prop_oneof![
        Just(Storage::RowMajor),
        Just(Storage::ColMajor),
        (1..6usize, 0..4usize).prop_map(|(extra, offset)| Storage::RowBlock { extra, offset }),
        (1..6usize, 0..4usize).prop_map(|(extra, offset)| Storage::ColBlock { extra, offset }),
        (2..4usize).prop_map(|step| Storage::Scattered { step }),
        prop_oneof![
            Just(Basic::RowMajor),
            Just(Basic::ColMajor),
            (1..4usize).prop_map(|extra| Basic::RowBlock { extra }),
        ]
        .prop_map(Storage::Transposed),
    ]
}

/// Sides: 1 often (thin products), the kernels' tile sides and their neighbours, anything up
/// to 130; for `k` also lengths that cross the kernels' `k` blocks (192 and 400 long).
fn side(long: bool) -> impl Strategy<Value = usize> {
    let mut edges = vec![
        2, 5, 6, 7, 8, 9, 12, 13, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65,
    ];
    if long {
        edges.extend([191, 193, 257, 401, 513]);
    }
    prop_oneof![
        2 => Just(1usize),
        3 => proptest::sample::select(edges),
        3 => 1..=130usize,
    ]
}

/// An `r × c` operand stored: its values, the offset of `(0, 0)` and the strides of the
/// matrix stored, which is the operand's transpose if `transposed`.
struct Stored {
    data: Vec<f64>,
    offset: usize,
    strides: (usize, usize),
    transposed: bool,
}

impl Stored {
    /// The `r × c` operand, reading `buffer` (`data` in another type).
    fn view<'a, E: Copy>(&self, buffer: &'a [E], r: usize, c: usize) -> StridedMatrix<'a, E> {
        let (rs, cs) = self.strides;
        let buffer = &buffer[self.offset..];
        if self.transposed {
            StridedMatrix::new(buffer, c, r, rs, cs).t()
        } else {
            StridedMatrix::new(buffer, r, c, rs, cs)
        }
    }
}

/// `r × c` values (from `values`) stored as `storage`.
fn store(r: usize, c: usize, storage: Storage, values: &mut impl FnMut() -> f64) -> Stored {
    // (buffer length, offset of (0, 0), row stride, column stride)
    let (len, offset, rs, cs) = match storage {
        Storage::RowMajor => (r * c, 0, c, 1),
        Storage::ColMajor => (r * c, 0, 1, r),
        Storage::RowBlock { extra, offset } => (offset + r * (c + extra), offset, c + extra, 1),
        Storage::ColBlock { extra, offset } => (offset + c * (r + extra), offset, 1, r + extra),
        Storage::Scattered { step } => (r * step * c * step, 0, c * step * step, step),
        Storage::Transposed(basic) => {
            let inner = match basic {
                Basic::RowMajor => Storage::RowMajor,
                Basic::ColMajor => Storage::ColMajor,
                Basic::RowBlock { extra } => Storage::RowBlock { extra, offset: 1 },
            };
            return Stored {
                transposed: true,
                ..store(c, r, inner, values)
            };
        }
    };
    // Values everywhere, also between the elements (read by no correct route).
    Stored {
        data: (0..len.max(1)).map(|_| values()).collect(),
        offset,
        strides: (rs, cs),
        transposed: false,
    }
}

/// One random product.
#[derive(Clone, Debug)]
struct Case {
    m: usize,
    k: usize,
    n: usize,
    a: Storage,
    b: Storage,
    layout: Layout,
    bias: bool,
    threads: usize,
    seed: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        (side(false), side(true), side(false)),
        (storage(), storage()),
        prop_oneof![Just(Layout::RowMajor), Just(Layout::ColMajor)],
        any::<bool>(),
        1..=2usize,
        any::<u64>(),
    )
        .prop_map(|((m, k, n), (a, b), layout, bias, threads, seed)| Case {
            m,
            k,
            n,
            a,
            b,
            layout,
            bias,
            threads,
            seed,
        })
}

/// Values in [-1, 1) from a seed (xorshift), exactly representable in `f32`.
fn generator(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f64 / (1u64 << 23) as f64 - 1.0
    }
}

/// Runs `case` in `E` on every route this CPU can run, against the triple loop; counts the
/// routes run in `ran`.
fn check<E: Element>(case: &Case, ran: &mut BTreeMap<String, usize>) -> Result<(), TestCaseError> {
    let Case { m, k, n, .. } = *case;
    let mut values = generator(case.seed);
    let (a_stored, b_stored) = (
        store(m, k, case.a, &mut values),
        store(k, n, case.b, &mut values),
    );
    let bias: Vec<f64> = (0..n).map(|_| values() * 4.0).collect();
    let convert = |v: &[f64]| v.iter().map(|&x| E::of(x)).collect::<Vec<E>>();
    let (a_e, b_e) = (convert(&a_stored.data), convert(&b_stored.data));
    let bias_e = convert(&bias);
    let (a, b) = (a_stored.view(&a_e, m, k), b_stored.view(&b_e, k, n));
    let bias = case.bias.then_some(&bias_e[..]);
    // The exact product of the values as stored in `E`, and Σ|a||b| for each output.
    let mut want = vec![(0.0f64, 0.0f64); m * n];
    for i in 0..m {
        for j in 0..n {
            let (mut sum, mut size) = (0.0, 0.0);
            for p in 0..k {
                let (x, y) = (a.get(i, p).as_f64(), b.get(p, j).as_f64());
                sum += x * y;
                size += (x * y).abs();
            }
            want[i * n + j] = (sum, size);
        }
    }
    let eps = E::epsilon().as_f64();
    let index = |i: usize, j: usize| match case.layout {
        Layout::RowMajor => i * n + j,
        Layout::ColMajor => j * m + i,
    };
    let chosen = chosen_route(a, b, case.layout);
    prop_assert!(
        why_not(a, b, case.layout, chosen).is_none(),
        "matmul's own route {chosen:?} refused: {:?}",
        why_not(a, b, case.layout, chosen)
    );
    // What `route` gives for any profile this CPU covers, it can run.
    let detected = CpuFeatures::detect();
    for cpu in [CpuFeatures::AVX512, CpuFeatures::AVX2, CpuFeatures::NONE] {
        let covered = (!cpu.avx512 || detected.avx512) && (!cpu.avx2_fma || detected.avx2_fma);
        for threads in [1, 2] {
            let elem = ElemKind::of::<E>().unwrap();
            let shape = (m, k, n);
            let r = route(
                shape,
                a.strides(),
                b.strides(),
                case.layout,
                elem,
                threads,
                cpu,
            );
            prop_assert!(
                !covered || why_not(a, b, case.layout, r).is_none(),
                "route gives {:?} on {:?}, which cannot run: {:?}",
                r,
                cpu,
                why_not(a, b, case.layout, r)
            );
        }
    }
    let dispatched = match bias {
        Some(bias) => matmul_bias(a, b, bias, case.layout),
        None => matmul(a, b, case.layout),
    };
    let mut outputs = vec![(format!("matmul ({chosen:?})"), dispatched)];
    for route in ROUTES {
        if why_not(a, b, case.layout, route).is_some() {
            continue;
        }
        *ran.entry(format!("{route:?} {}", E::NAME)).or_default() += 1;
        let got = matmul_with_route(a, b, bias, case.layout, route, case.threads);
        if let Some(bias) = bias {
            // The bias is added last, whatever the route: bit for bit the product plus it.
            let plain = matmul_with_route(a, b, None, case.layout, route, case.threads);
            for i in 0..m {
                for (j, &value) in bias.iter().enumerate() {
                    let at = index(i, j);
                    prop_assert_eq!(
                        got[at].to_f64().unwrap().to_bits(),
                        (plain[at] + value).to_f64().unwrap().to_bits(),
                        "{:?} ({}, {}) with bias",
                        route,
                        i,
                        j
                    );
                }
            }
        }
        outputs.push((format!("{route:?}"), got));
    }
    for (what, got) in &outputs {
        prop_assert_eq!(got.len(), m * n, "{}", what);
        for i in 0..m {
            for j in 0..n {
                let (mut value, size) = want[i * n + j];
                let mut tol = (k + 2) as f64 * eps * size + f64::MIN_POSITIVE;
                if let Some(bias) = bias {
                    value += bias[j].as_f64();
                    tol += eps * value.abs();
                }
                let g = got[index(i, j)].as_f64();
                prop_assert!(
                    (g - value).abs() <= tol,
                    "{} in {}: ({}, {}) = {} instead of {} (tolerance {:e})",
                    what,
                    E::NAME,
                    i,
                    j,
                    g,
                    value,
                    tol
                );
            }
        }
    }
    Ok(())
}

/// Every route the CPU can run, in both element types it takes, against the triple loop; each
/// must have run at least once over the cases.
#[test]
fn every_route_matches_the_triple_loop() {
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    });
    let ran = std::cell::RefCell::new(BTreeMap::new());
    runner
        .run(&case(), |case| {
            let mut ran = ran.borrow_mut();
            check::<f32>(&case, &mut ran)?;
            check::<f64>(&case, &mut ran)
        })
        .unwrap();
    let ran = ran.into_inner();
    eprintln!("routes run: {ran:?}");
    let cpu = CpuFeatures::detect();
    for route in ROUTES {
        let runs_here = match route {
            Route::Narrow | Route::NarrowTransposed => {
                cfg!(target_arch = "x86_64") && cpu.runs(Kernel::Avx2)
            }
            Route::Blocked(kernel) => cfg!(target_arch = "x86_64") && cpu.runs(kernel),
            _ => true,
        };
        if !runs_here {
            eprintln!("skipped {route:?}: this CPU cannot run it");
            continue;
        }
        assert!(
            ran.keys()
                .any(|key| key.starts_with(&format!("{route:?} "))),
            "{route:?} never ran: {ran:?}"
        );
    }
}

/// `matmul_with_route` refuses, naming the route and the reason, what a route cannot do.
#[test]
fn impossible_routes_are_refused() {
    let data = [1.0f64; 64];
    let a = StridedMatrix::row_major(&data, 4, 4);
    let refusal = |route: Route, a: StridedMatrix<'_, f64>, b: StridedMatrix<'_, f64>| {
        let caught =
            std::panic::catch_unwind(|| matmul_with_route(a, b, None, Layout::RowMajor, route, 1));
        let payload = caught.expect_err("refused");
        payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default()
    };
    let message = refusal(Route::Thin, a, a);
    assert!(
        message.contains("Thin cannot compute this 4x4x4 product: it needs a side of 1"),
        "{message}"
    );
    let message = refusal(Route::Empty, a, a);
    assert!(message.contains("Empty cannot compute"), "{message}");
    for route in [
        Route::Narrow,
        Route::NarrowTransposed,
        Route::Blocked(Kernel::Avx2),
        Route::Blocked(Kernel::Avx512),
    ] {
        let message = refusal(route, a, a);
        assert!(
            message.contains("f32 products only, not f64"),
            "{route:?}: {message}"
        );
    }
    let cpu = CpuFeatures::detect();
    let data32 = [1.0f32; 64];
    let a32 = StridedMatrix::row_major(&data32, 2, 32);
    let b32 = StridedMatrix::row_major(&data32, 32, 2);
    let a2 = StridedMatrix::row_major(&data32, 2, 2);
    for (kernel, what) in [(Kernel::Avx512, "AVX-512F"), (Kernel::Avx2, "AVX2")] {
        let run = || matmul_with_route(a32, b32, None, Layout::RowMajor, Route::Blocked(kernel), 1);
        if cfg!(target_arch = "x86_64") && cpu.runs(kernel) {
            assert_eq!(run(), [32.0; 4]);
            eprintln!("not checked: this CPU runs {kernel:?}, so it is not refused");
        } else {
            let message = std::panic::catch_unwind(run)
                .expect_err("refused")
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default();
            assert!(message.contains(what), "{kernel:?}: {message}");
        }
    }
    if cfg!(target_arch = "x86_64") && cpu.avx2_fma {
        // 32 columns: too wide for the dot products.
        let wide = StridedMatrix::col_major(&data32, 2, 32);
        let caught = std::panic::catch_unwind(|| {
            matmul_with_route(a2, wide, None, Layout::RowMajor, Route::Narrow, 1)
        });
        let message = caught
            .expect_err("refused")
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(message.contains("at most 15 columns"), "{message}");
    }
}
