#!/usr/bin/env python3
"""PyTorch reference fixtures for duograd.

Generates the committed fixtures the Rust tests compare against:

  tests/fixtures/ops.json               one forward/backward case per op (float64),
                                        plus second-order (Hessian-vector product) cases
  tests/fixtures/optim.json             SGD / Adam / AdamW / RMSprop trajectories on a small
                                        MLP and a clip_grad_norm_ case (float64)
  tests/fixtures/lr_schedulers.json     learning rates of torch.optim.lr_scheduler
                                        schedulers, step by step
  tests/fixtures/torch_mlp.safetensors  state_dict of a tiny float32 nn.Sequential
  tests/fixtures/torch_mlp.json         an input batch and that model's output
  tests/fixtures/torch_lenet.safetensors,
  tests/fixtures/torch_cnn.safetensors  state_dicts of the lenet and cnn presets' networks
                                        (float32; the cnn's BatchNorm statistics trained)
  tests/fixtures/torch_layers.safetensors,
  tests/fixtures/torch_layers.json      Embedding + LayerNorm + Linear + Identity: the
                                        state_dict, an index batch, the output and the
                                        embedding table's gradient
  tests/fixtures/torch_lenet.json,
  tests/fixtures/torch_cnn.json         an input batch [4,1,28,28] and the eval-mode output;
                                        for the cnn also every buffer after one train-mode
                                        forward (dropout off)
  tests/fixtures/init.json              torch.nn.init's fans (2-d, conv and N-d weights)
                                        and calculate_gain for every nonlinearity

How to run (from the repository root):

    pip install -r scripts/requirements-torch.txt
    python3 scripts/torch_reference.py            # writes tests/fixtures/
    python3 scripts/torch_reference.py --out DIR  # writes elsewhere

CI never runs this script and never needs PyTorch: the Rust tests only read the
committed fixture files. Re-run it only when adding or changing a case, and commit
the regenerated files together with the script.

Everything is deterministic: fixed seeds, CPU only, one thread, torch's AVX2 kernels
(ATEN_CPU_CAPABILITY=avx2, also on AVX-512 machines), float64 (float32 only for the
safetensors models). Numbers are written with Python's shortest round-trip float repr,
so no precision is lost.

Tensor format used in every JSON file: {"shape": [d0, d1, ...], "data": [row-major
values]}; a 0-d tensor has shape [] and a one-element data list.

Note on the upstream wheel: the torch wheel on PyPI for linux x86_64 is a CUDA build
whose shared libraries link against the CUDA runtime, so `pip install --no-deps`
alone does not import. The plain `pip install -r scripts/requirements-torch.txt`
(which pulls the nvidia-* runtime wheels, ~3 GB) works; everything here still
runs on the CPU only.
"""

import argparse
import copy
import json
import os
import sys

# The same kernels on every machine: torch picks its vectorized CPU kernels by the CPU's
# instruction set, and softmax/log_softmax differ in the last bit between its AVX2 and
# AVX-512 versions. Set before torch loads; export ATEN_CPU_CAPABILITY to override.
os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

DTYPE = torch.float64
SEED = 20240607

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def tj(t):
    """Tensor -> {"shape", "data"} (row-major, full precision)."""
    t = t.detach()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def check_finite(obj, where):
    if isinstance(obj, torch.Tensor):
        assert torch.isfinite(obj).all(), f"non-finite values in {where}"


def randn(*shape):
    return torch.randn(shape, dtype=DTYPE)


def rand_pos(*shape):
    """Uniform in [0.5, 1.5): safely positive (log, sqrt, negative powers)."""
    return torch.rand(shape, dtype=DTYPE) + 0.5


def away(*shape, margin=0.5):
    """Normal-ish values with |x| >= margin (denominators, abs away from its kink)."""
    r = randn(*shape)
    return torch.where(r >= 0, r + margin, r - margin)


class Const:
    """Marks a case input that does not require grad (its grad is stored as null)."""

    def __init__(self, t):
        self.t = t


CASES = []


def case(name, description, fn, inputs, grad_output=None, **index_lists):
    """Record one op case.

    fn(*inputs) -> output tensor. grads are d/d input of (output * grad_output).sum().
    index_lists are plain (possibly nested) integer lists stored under "indices";
    fn is expected to use the same values.
    """
    assert name not in {c["name"] for c in CASES}, f"duplicate case {name}"
    leaves = []
    for x in inputs:
        if isinstance(x, Const):
            leaves.append(x.t.detach().clone())
        else:
            leaves.append(x.detach().clone().requires_grad_(True))
    out = fn(*leaves)
    assert isinstance(out, torch.Tensor) and out.dtype == DTYPE, name
    check_finite(out, name)
    if grad_output is None:
        grad_output = randn(*out.shape)
    grad_output = grad_output.to(DTYPE).reshape(out.shape)
    diff = [l for l in leaves if l.requires_grad]
    gs = torch.autograd.grad((out * grad_output).sum(), diff, allow_unused=True)
    gs = iter(gs)
    grads = []
    for l in leaves:
        if l.requires_grad:
            g = next(gs)
            if g is None:
                g = torch.zeros_like(l)
            check_finite(g, name)
            grads.append(tj(g))
        else:
            grads.append(None)
    c = {
        "name": name,
        "description": description,
        "inputs": [tj(l) for l in leaves],
        "output": tj(out),
        "grad_output": tj(grad_output),
        "grads": grads,
    }
    if index_lists:
        c["indices"] = index_lists
    CASES.append(c)
    return c


def g(c, i):
    """grad tensor of input i of a recorded case, as a torch tensor."""
    d = c["grads"][i]
    return torch.tensor(d["data"], dtype=DTYPE).reshape(d["shape"])


def inp(c, i):
    d = c["inputs"][i]
    return torch.tensor(d["data"], dtype=DTYPE).reshape(d["shape"])


def go(c):
    d = c["grad_output"]
    return torch.tensor(d["data"], dtype=DTYPE).reshape(d["shape"])


# ---------------------------------------------------------------------------
# ops.json
# ---------------------------------------------------------------------------


def build_op_cases():
    torch.manual_seed(SEED)

    # ---- unary on (3,4) ----------------------------------------------------
    case("neg", "-x, x(3,4)", lambda x: -x, [randn(3, 4)])
    case("exp", "x.exp(), x(3,4)", lambda x: x.exp(), [randn(3, 4)])
    case("log", "x.log(), x(3,4) = rand+0.5", lambda x: x.log(), [rand_pos(3, 4)])
    case("sqrt", "x.sqrt(), x(3,4) = rand+0.5", lambda x: x.sqrt(), [rand_pos(3, 4)])
    case("tanh", "x.tanh(), x(3,4)", lambda x: x.tanh(), [randn(3, 4)])
    case("sigmoid", "x.sigmoid(), x(3,4)", lambda x: x.sigmoid(), [randn(3, 4)])

    xr = away(3, 4, margin=0.1)
    for (i, j) in [(0, 1), (1, 3), (2, 0), (2, 2)]:
        xr[i, j] = 0.0
    xr[0, 0], xr[1, 1] = -abs(xr[0, 0]), -abs(xr[1, 1])  # make sure of negatives
    c = case("relu", "F.relu(x), x(3,4) with exact zeros at (0,1),(1,3),(2,0),(2,2); "
             "torch: relu'(0) = 0", lambda x: F.relu(x), [xr])
    assert (g(c, 0)[inp(c, 0) == 0] == 0).all()

    case("abs", "x.abs(), x(3,4) with |x| >= 0.1 (no zeros)", lambda x: x.abs(),
         [away(3, 4, margin=0.1)])
    case("pow_3", "x ** 3, x(3,4)", lambda x: x ** 3, [randn(3, 4)])
    case("pow_half", "x ** 0.5, x(3,4) = rand+0.5", lambda x: x ** 0.5, [rand_pos(3, 4)])
    case("pow_neg", "x ** -1.5, x(3,4) = rand+0.5", lambda x: x ** -1.5, [rand_pos(3, 4)])

    xc = away(3, 4, margin=0.1)
    for (i, j) in [(0, 2), (1, 0), (2, 3)]:
        xc[i, j] = 0.0
    c = case("clamp_min_0", "x.clamp(min=0), x(3,4) with exact zeros at (0,2),(1,0),(2,3); "
             "torch 2.15: gradient at x == min is 0", lambda x: x.clamp(min=0), [xc])
    assert (g(c, 0)[inp(c, 0) == 0] == 0).all()

    case("square", "x * x (the same tensor used twice), x(3,4)", lambda x: x * x, [randn(3, 4)])

    # ---- binary, same shape --------------------------------------------------
    case("add", "a + b, a,b (3,4)", lambda a, b: a + b, [randn(3, 4), randn(3, 4)])
    case("sub", "a - b, a,b (3,4)", lambda a, b: a - b, [randn(3, 4), randn(3, 4)])
    case("mul", "a * b, a,b (3,4)", lambda a, b: a * b, [randn(3, 4), randn(3, 4)])
    case("div", "a / b, a,b (3,4), |b| >= 0.5", lambda a, b: a / b, [randn(3, 4), away(3, 4)])

    # ---- binary, broadcasting -----------------------------------------------
    case("add_broadcast", "a(3,1) + b(4,) -> (3,4)", lambda a, b: a + b, [randn(3, 1), randn(4)])
    case("sub_broadcast", "a(2,3,4) - b(3,1) -> (2,3,4)", lambda a, b: a - b,
         [randn(2, 3, 4), randn(3, 1)])
    case("mul_broadcast", "a(2,3,4) * b(3,1) -> (2,3,4)", lambda a, b: a * b,
         [randn(2, 3, 4), randn(3, 1)])
    case("div_broadcast", "a(4,) / b(2,3,4) -> (2,3,4), |b| >= 0.5", lambda a, b: a / b,
         [randn(4), away(2, 3, 4)])
    case("add_scalar_tensor", "a(2,3) + b() (0-d tensor) -> (2,3)", lambda a, b: a + b,
         [randn(2, 3), randn()])

    # ---- python scalar on either side ---------------------------------------
    case("scalar_add", "x + 2.5, x(3,4)", lambda x: x + 2.5, [randn(3, 4)])
    case("scalar_rsub", "2.0 - x, x(3,4)", lambda x: 2.0 - x, [randn(3, 4)])
    case("scalar_mul", "3.0 * x, x(3,4)", lambda x: 3.0 * x, [randn(3, 4)])
    case("scalar_div", "x / 4.0, x(3,4)", lambda x: x / 4.0, [randn(3, 4)])
    case("scalar_rdiv", "2.0 / x, x(3,4), |x| >= 0.5", lambda x: 2.0 / x, [away(3, 4)])

    # ---- maximum / minimum with exact ties ----------------------------------
    ties = [(0, 0), (0, 3), (1, 2), (2, 1)]
    for name, fn in [("maximum", torch.maximum), ("minimum", torch.minimum)]:
        a = randn(3, 4)
        b = a + away(3, 4, margin=0.2)  # non-tied entries differ by >= 0.2
        for (i, j) in ties:
            b[i, j] = a[i, j]
        c = case(name, f"torch.{name}(a, b), a,b (3,4); exact ties at {ties}: "
                 "torch splits the gradient 0.5/0.5", fn, [a, b])
        tie = inp(c, 0) == inp(c, 1)
        assert int(tie.sum()) == 4
        assert torch.equal(g(c, 0)[tie], 0.5 * go(c)[tie])
        assert torch.equal(g(c, 1)[tie], 0.5 * go(c)[tie])

    # ---- layout --------------------------------------------------------------
    case("reshape", "x(2,3,4).reshape(4,6)", lambda x: x.reshape(4, 6), [randn(2, 3, 4)])
    case("reshape_infer", "x(2,3,4).reshape(-1,4) -> (6,4)", lambda x: x.reshape(-1, 4),
         [randn(2, 3, 4)])
    case("permute", "x(2,3,4).permute(2,0,1) -> (4,2,3)", lambda x: x.permute(2, 0, 1),
         [randn(2, 3, 4)])
    case("transpose", "x(3,5).t() -> (5,3)", lambda x: x.t(), [randn(3, 5)])
    case("expand", "x(3,1).expand(2,3,4)", lambda x: x.expand(2, 3, 4), [randn(3, 1)])

    # ---- reductions on (2,3,4) ----------------------------------------------
    case("sum_all", "x(2,3,4).sum() -> ()", lambda x: x.sum(), [randn(2, 3, 4)])
    case("sum_dim1_keepdim", "x(2,3,4).sum(1, keepdim=True) -> (2,1,4)",
         lambda x: x.sum(1, keepdim=True), [randn(2, 3, 4)])
    case("sum_dims02", "x(2,3,4).sum((0,2)) -> (3,)", lambda x: x.sum((0, 2)), [randn(2, 3, 4)])
    case("mean_all", "x(2,3,4).mean() -> ()", lambda x: x.mean(), [randn(2, 3, 4)])
    case("mean_dim0", "x(2,3,4).mean(0) -> (3,4)", lambda x: x.mean(0), [randn(2, 3, 4)])

    xm = randn(2, 3, 4)
    # tie between positions 0 and 2 of dim 1 at [0,:,1]; tie between 1 and 2 at [1,:,2]
    top = float(xm.abs().max()) + 0.5
    xm[0, 0, 1] = xm[0, 2, 1] = top
    xm[1, 1, 2] = xm[1, 2, 2] = top
    c = case("max_dim1", "x(2,3,4).max(1).values -> (2,4); ties along dim 1 at [0,{0,2},1] "
             "and [1,{1,2},2]: torch returns (and routes the whole gradient to) the FIRST "
             "maximal index", lambda x: x.max(1).values, [xm])
    gx, gy = g(c, 0), go(c)
    assert gx[0, 0, 1] == gy[0, 1] and gx[0, 2, 1] == 0
    assert gx[1, 1, 2] == gy[1, 2] and gx[1, 2, 2] == 0

    xa = randn(2, 3, 4)
    top = float(xa.max()) + 1.0
    xa[0, 0, 0] = xa[1, 2, 3] = top
    c = case("max_all", "x(2,3,4).max() -> (); the max appears exactly twice "
             "([0,0,0] and [1,2,3]): torch splits the gradient evenly",
             lambda x: x.max(), [xa])
    gx, gy = g(c, 0), go(c)
    assert gx[0, 0, 0] == gx[1, 2, 3] == 0.5 * gy
    assert int((gx != 0).sum()) == 2

    # ---- softmax family ------------------------------------------------------
    case("softmax", "F.softmax(x(3,5), dim=-1)", lambda x: F.softmax(x, dim=-1), [randn(3, 5)])
    case("log_softmax", "F.log_softmax(x(3,5), dim=1)", lambda x: F.log_softmax(x, dim=1),
         [randn(3, 5)])
    xl = torch.stack([randn(4) * 1e4, 1e4 + randn(4)])
    case("softmax_large", "F.softmax(x(2,4), dim=-1); row 0 = randn * 1e4 (output one-hot up "
         "to underflow), row 1 = 1e4 + randn (a naive exp overflows; probabilities are "
         "non-trivial); output must be finite", lambda x: F.softmax(x, dim=-1), [xl])

    # ---- indexing ------------------------------------------------------------
    rows, cols = [0, 1, 1, 3, 1], [2, 0, 0, 4, 0]
    c = case("index_pairs", "x(4,5)[rows, cols] -> (5,); (1,0) is picked three times so "
             "its gradient accumulates", lambda x: x[torch.tensor(rows), torch.tensor(cols)],
             [randn(4, 5)], rows=rows, cols=cols)
    gy = go(c)
    assert g(c, 0)[1, 0] == gy[1] + gy[2] + gy[4]

    idx = [2, 0, 2, 3]
    case("index_select", "x(4,3).index_select(0, index) -> (4,3); row 2 selected twice",
         lambda x: x.index_select(0, torch.tensor(idx)), [randn(4, 3)], index=idx)

    gidx = [[0, 0, 3], [1, 2, 1], [3, 3, 0]]
    case("gather", "x(3,4).gather(1, index) -> (3,3); repeated indices accumulate",
         lambda x: x.gather(1, torch.tensor(gidx)), [randn(3, 4)], index=gidx)

    # ---- matmul ----------------------------------------------------------------
    case("matmul", "a(3,4) @ b(4,5) -> (3,5)", lambda a, b: a @ b, [randn(3, 4), randn(4, 5)])
    case("matmul_at", "a(4,3).t() @ b(4,5) -> (3,5)", lambda a, b: a.t() @ b,
         [randn(4, 3), randn(4, 5)])
    case("matmul_bt", "a(3,4) @ b(5,4).t() -> (3,5)", lambda a, b: a @ b.t(),
         [randn(3, 4), randn(5, 4)])

    # ---- stack / cat -----------------------------------------------------------
    case("stack", "torch.stack([a(2,3), b(2,3)], dim=1) -> (2,2,3)",
         lambda a, b: torch.stack([a, b], dim=1), [randn(2, 3), randn(2, 3)])
    case("cat", "torch.cat([a(2,3), b(4,3)], dim=0) -> (6,3)",
         lambda a, b: torch.cat([a, b], dim=0), [randn(2, 3), randn(4, 3)])
    case("narrow", "x(4,5).narrow(1, 1, 3) -> (4,3)",
         lambda x: x.narrow(1, 1, 3), [randn(4, 5)])
    scatter_idx = [0, 2, 2, 5, 2]
    case("scatter_add", "zeros(6).scatter_add(0, index, src(5)).reshape(2,3); index 2 repeats "
         "three times so its values accumulate",
         lambda src: torch.zeros(6, dtype=DTYPE).scatter_add(0, torch.tensor(scatter_idx), src)
         .reshape(2, 3), [randn(5)], index=scatter_idx)

    # ---- losses ----------------------------------------------------------------
    labels = [1, 0, 3, 3, 2]
    lt = torch.tensor(labels)
    case("cross_entropy_mean", "F.cross_entropy(logits(5,4), labels) (mean) -> ()",
         lambda x: F.cross_entropy(x, lt), [randn(5, 4)], labels=labels)
    case("cross_entropy_sum", "F.cross_entropy(logits(5,4), labels, reduction='sum') -> ()",
         lambda x: F.cross_entropy(x, lt, reduction="sum"), [randn(5, 4)], labels=labels)
    case("cross_entropy_none", "F.cross_entropy(logits(5,4), labels, reduction='none') -> (5,)",
         lambda x: F.cross_entropy(x, lt, reduction="none"), [randn(5, 4)], labels=labels)
    ext = torch.tensor([[1e4, -1e4, -1e4, 1e4],
                        [1e4, -1e4, 1e4, -1e4],
                        [-1e4, -1e4, -1e4, 1e4]], dtype=DTYPE)
    ext_labels = [0, 1, 3]
    case("cross_entropy_extreme", "F.cross_entropy(logits(3,4), labels) (mean), logits "
         "entries exactly +-1e4; row 0: label on one of two tied maxima (loss ln 2), "
         "row 1: label on a -1e4 entry (loss 2e4 + ln 2), row 2: label on the unique max "
         "(loss ~0); loss must be finite",
         lambda x: F.cross_entropy(x, torch.tensor(ext_labels)), [ext], labels=ext_labels)
    case("mse_loss", "F.mse_loss(a(3,4), b(3,4)) (mean) -> (); both inputs differentiable",
         lambda a, b: F.mse_loss(a, b), [randn(3, 4), randn(3, 4)])
    case("nll_loss", "F.nll_loss(F.log_softmax(x(5,4), 1), labels) (mean) -> (); the input is "
         "the raw logits x", lambda x: F.nll_loss(F.log_softmax(x, 1), lt), [randn(5, 4)],
         labels=labels)

    # ---- compositions ----------------------------------------------------------
    mlp = mlp_setup()
    case("mlp_cross_entropy", "F.cross_entropy(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), "
         "labels); inputs x(8,5), w1(6,5), b1(6), w2(3,6), b2(3); grad_output = 1.0",
         mlp_ce, [mlp["x"], mlp["w1"], mlp["b1"], mlp["w2"], mlp["b2"]],
         grad_output=torch.tensor(1.0, dtype=DTYPE), labels=mlp["labels"])

    case("tanh_mlp_mse", "F.mse_loss(F.linear(torch.tanh(F.linear(x, w1, b1)), w2, b2), "
         "target); inputs x(4,3), w1(5,3), b1(5), w2(2,5), b2(2), target(4,2) (no grad)",
         lambda x, w1, b1, w2, b2, target:
             F.mse_loss(F.linear(torch.tanh(F.linear(x, w1, b1)), w2, b2), target),
         [randn(4, 3), randn(5, 3) * 0.5, randn(5) * 0.1, randn(2, 5) * 0.5, randn(2) * 0.1,
          Const(randn(4, 2))])

    # ---- fused product + bias (last, so that the cases above keep their random inputs) ----
    case("linear", "F.linear(x(3,4), w(5,4), b(5)) = x @ w.t() + b -> (3,5)",
         lambda x, w, b: F.linear(x, w, b), [randn(3, 4), randn(5, 4), randn(5)])
    case("addmm_at", "torch.addmm(b(5), a(4,3).t(), c(4,5)) = a.t() @ c + b -> (3,5)",
         lambda a, c, b: torch.addmm(b, a.t(), c), [randn(4, 3), randn(4, 5), randn(5)])

    # ---- convolutional networks (after every case above, whose random inputs stay the same) --
    build_conv_cases()
    # ---- the everyday op surface (after the cases above, whose random inputs stay the same) --
    build_everyday_cases()
    build_layer_cases()


def build_layer_cases():
    """layer_norm and embedding (after the conv cases, whose random inputs stay the same)."""
    case("layer_norm_affine", "F.layer_norm(x(2,3,4), [4], w(4), b(4), eps=1e-5)",
         lambda x, w, b: F.layer_norm(x, [4], w, b, eps=1e-5),
         [randn(2, 3, 4), randn(4), randn(4)])
    case("layer_norm_2d_no_affine", "F.layer_norm(x(3,2,5), [2,5], eps=1e-3)",
         lambda x: F.layer_norm(x, [2, 5], eps=1e-3), [randn(3, 2, 5)])
    case("layer_norm_weight_only", "F.layer_norm(x(4,6), [6], w(6), None)",
         lambda x, w: F.layer_norm(x, [6], w, None), [randn(4, 6), randn(6)])
    emb_index = [[2, 0, 1], [0, 3, 3]]
    case("embedding_padding", "F.embedding(index (2,3), table(4,3), padding_idx=0): rows of "
         "index 0 pass no gradient; index in indices.index",
         lambda t: F.embedding(torch.tensor(emb_index), t, padding_idx=0),
         [randn(4, 3)], index=emb_index)
    case("embedding", "F.embedding(index (2,3), table(4,3)); repeated indices add gradients",
         lambda t: F.embedding(torch.tensor(emb_index), t), [randn(4, 3)], index=emb_index)


# ---------------------------------------------------------------------------
# ops.json: losses (their own seed, after every other op case)
# ---------------------------------------------------------------------------

LOSS_SEED = 20261207
IGNORED = 7  # an ignore_index outside the 4 classes (duograd labels are unsigned)


def probs(*shape):
    """Rows of class probabilities (softmax of normals)."""
    return torch.softmax(randn(*shape), -1)


def unit(*shape):
    """Uniform in [0.05, 0.95]: probabilities away from 0 and 1."""
    return torch.rand(shape, dtype=DTYPE) * 0.9 + 0.05


def build_loss_cases():
    torch.manual_seed(LOSS_SEED)
    labels = [1, 0, 3, 3, 2]
    lt = torch.tensor(labels)
    w = torch.tensor([0.5, 2.0, 1.0, 1.5], dtype=DTYPE)

    # ---- cross-entropy with options --------------------------------------------------
    case("ce_weight_mean", "F.cross_entropy(x(5,4), labels, weight=w(4)) (mean: divided by "
         "the sum of the labels' weights); w constant",
         lambda x, w: F.cross_entropy(x, lt, weight=w), [randn(5, 4), Const(w)], labels=labels)
    case("ce_weight_sum", "F.cross_entropy(x(5,4), labels, weight=w(4), reduction='sum')",
         lambda x, w: F.cross_entropy(x, lt, weight=w, reduction="sum"),
         [randn(5, 4), Const(w)], labels=labels)
    ign = [1, IGNORED, 3, IGNORED, 0]
    it = torch.tensor(ign)
    case("ce_ignore_index_mean", f"F.cross_entropy(x(5,4), labels, ignore_index={IGNORED}) "
         "(mean over the 3 kept rows); ignored rows get gradient 0",
         lambda x: F.cross_entropy(x, it, ignore_index=IGNORED), [randn(5, 4)], labels=ign)
    case("ce_weight_ignore_in_range_none", "F.cross_entropy(x(5,4), labels, weight=w(4), "
         "ignore_index=3, reduction='none'): class 3 is ignored (rows 2 and 3 give 0)",
         lambda x, w: F.cross_entropy(x, lt, weight=w, ignore_index=3, reduction="none"),
         [randn(5, 4), Const(w)], labels=labels)
    case("ce_weight_ignore_mean", f"F.cross_entropy(x(5,4), labels, weight=w(4), "
         f"ignore_index={IGNORED}) (mean: divided by the kept rows' weights)",
         lambda x, w: F.cross_entropy(x, it, weight=w, ignore_index=IGNORED),
         [randn(5, 4), Const(w)], labels=ign)
    case("ce_label_smoothing_mean", "F.cross_entropy(x(5,4), labels, label_smoothing=0.2)",
         lambda x: F.cross_entropy(x, lt, label_smoothing=0.2), [randn(5, 4)], labels=labels)
    case("ce_smoothing_weight_ignore_mean", f"F.cross_entropy(x(5,4), labels, weight=w(4), "
         f"ignore_index={IGNORED}, label_smoothing=0.1)",
         lambda x, w: F.cross_entropy(x, it, weight=w, ignore_index=IGNORED,
                                      label_smoothing=0.1),
         [randn(5, 4), Const(w)], labels=ign)
    case("ce_smoothing_weight_sum", "F.cross_entropy(x(5,4), labels, weight=w(4), "
         "label_smoothing=0.3, reduction='sum')",
         lambda x, w: F.cross_entropy(x, lt, weight=w, label_smoothing=0.3, reduction="sum"),
         [randn(5, 4), Const(w)], labels=labels)
    case("ce_smoothing_ignore_none", f"F.cross_entropy(x(5,4), labels, "
         f"ignore_index={IGNORED}, label_smoothing=0.25, reduction='none')",
         lambda x: F.cross_entropy(x, it, ignore_index=IGNORED, label_smoothing=0.25,
                                   reduction="none"), [randn(5, 4)], labels=ign)
    case("ce_probs_mean", "F.cross_entropy(x(5,4), p(5,4)) with class probabilities p "
         "(constant) (mean: divided by the batch size)",
         lambda x, p: F.cross_entropy(x, p), [randn(5, 4), Const(probs(5, 4))])
    case("ce_probs_weight_smoothing_none", "F.cross_entropy(x(5,4), p(5,4), weight=w(4), "
         "label_smoothing=0.2, reduction='none'); p differentiable",
         lambda x, p, w: F.cross_entropy(x, p, weight=w, label_smoothing=0.2, reduction="none"),
         [randn(5, 4), probs(5, 4), Const(w)])
    case("ce_probs_weight_sum", "F.cross_entropy(x(5,4), p(5,4), weight=w(4), reduction='sum')",
         lambda x, p, w: F.cross_entropy(x, p, weight=w, reduction="sum"),
         [randn(5, 4), probs(5, 4), Const(w)])

    # ---- nll with options -------------------------------------------------------------
    case("nll_weight_ignore_mean", f"F.nll_loss(F.log_softmax(x(5,4), 1), labels, weight=w(4), "
         f"ignore_index={IGNORED}); the input is the raw logits x",
         lambda x, w: F.nll_loss(F.log_softmax(x, 1), it, weight=w, ignore_index=IGNORED),
         [randn(5, 4), Const(w)], labels=ign)
    case("nll_weight_sum", "F.nll_loss(x(5,4), labels, weight=w(4), reduction='sum'); x used "
         "directly as log-probabilities",
         lambda x, w: F.nll_loss(x, lt, weight=w, reduction="sum"),
         [randn(5, 4), Const(w)], labels=labels)

    # ---- binary cross-entropy -----------------------------------------------------------
    case("bce_logits_mean", "F.binary_cross_entropy_with_logits(x(3,4), y(3,4)), y in [0,1] "
         "constant", lambda x, y: F.binary_cross_entropy_with_logits(x, y),
         [randn(3, 4) * 2, Const(torch.rand(3, 4, dtype=DTYPE))])
    case("bce_logits_weight_pos_weight_none", "F.binary_cross_entropy_with_logits(x(3,4), "
         "y(3,4), weight=w(3,1), pos_weight=pw(4), reduction='none'); y differentiable",
         lambda x, y, w, pw: F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw,
                                                                reduction="none"),
         [randn(3, 4), torch.rand(3, 4, dtype=DTYPE), Const(rand_pos(3, 1)),
          Const(rand_pos(4) * 2)])
    case("bce_logits_extreme_sum", "F.binary_cross_entropy_with_logits(x, y, pos_weight=pw(3), "
         "reduction='sum'), x entries +-1e4, +-40 and 0 (exact zeros and 1e4 per element)",
         lambda x, y, pw: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw,
                                                             reduction="sum"),
         [torch.tensor([[1e4, -1e4, 0.0], [40.0, -40.0, 1e4]], dtype=DTYPE),
          Const(torch.tensor([[1.0, 1.0, 0.5], [0.0, 0.25, 0.0]], dtype=DTYPE)),
          Const(torch.tensor([2.0, 0.5, 3.0], dtype=DTYPE))])
    case("bce_mean", "F.binary_cross_entropy(p(3,4), y(3,4)), p in [0.05,0.95]; both "
         "differentiable", lambda p, y: F.binary_cross_entropy(p, y),
         [unit(3, 4), torch.rand(3, 4, dtype=DTYPE)])
    case("bce_weight_none", "F.binary_cross_entropy(p(3,4), y(3,4), weight=w(4), "
         "reduction='none')",
         lambda p, y, w: F.binary_cross_entropy(p, y, weight=w, reduction="none"),
         [unit(3, 4), torch.rand(3, 4, dtype=DTYPE), Const(rand_pos(4))])
    case("bce_clamped_sum", "F.binary_cross_entropy(p, y, reduction='sum'), p entries 0, 1 "
         "and 1e-50: log clamped at -100, gradient (p - y) / max(p (1 - p), 1e-12) = +-1e12; "
         "y constant", lambda p, y: F.binary_cross_entropy(p, y, reduction="sum"),
         [torch.tensor([0.0, 1.0, 1e-50, 0.0, 1.0, 0.5], dtype=DTYPE),
          Const(torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 0.25], dtype=DTYPE))])

    # ---- regression losses --------------------------------------------------------------
    kinks = torch.tensor([[-1.0, 1.0, 0.5, 0.0], [-0.5, 2.0, -3.0, 0.25],
                          [1.5, -1.5, 0.75, -0.1]], dtype=DTYPE)
    case("mse_sum", "F.mse_loss(a(3,4), b(3,4), reduction='sum')",
         lambda a, b: F.mse_loss(a, b, reduction="sum"), [randn(3, 4), randn(3, 4)])
    case("mse_none", "F.mse_loss(a(3,4), b(3,4), reduction='none')",
         lambda a, b: F.mse_loss(a, b, reduction="none"), [randn(3, 4), randn(3, 4)])
    case("l1_mean", "F.l1_loss(a(3,4), b(3,4)); both differentiable",
         lambda a, b: F.l1_loss(a, b), [randn(3, 4), randn(3, 4)])
    case("l1_sum_kinks", "F.l1_loss(x(3,4), 0, reduction='sum'), x with an exact 0 "
         "(gradient 0 there); target constant",
         lambda x, t: F.l1_loss(x, t, reduction="sum"), [kinks, Const(torch.zeros(3, 4, dtype=DTYPE))])
    case("smooth_l1_mean", "F.smooth_l1_loss(a(3,4), b(3,4), beta=0.5)",
         lambda a, b: F.smooth_l1_loss(a, b, beta=0.5), [randn(3, 4), randn(3, 4)])
    case("smooth_l1_kinks_none", "F.smooth_l1_loss(x(3,4), 0, beta=1.0, reduction='none'), "
         "|x| exactly 1 and 0 at some entries; target constant",
         lambda x, t: F.smooth_l1_loss(x, t, beta=1.0, reduction="none"),
         [kinks, Const(torch.zeros(3, 4, dtype=DTYPE))])
    case("smooth_l1_beta0_sum", "F.smooth_l1_loss(a(3,4), b(3,4), beta=0, reduction='sum') "
         "(the L1 loss)", lambda a, b: F.smooth_l1_loss(a, b, beta=0.0, reduction="sum"),
         [randn(3, 4), randn(3, 4)])
    case("huber_mean", "F.huber_loss(a(3,4), b(3,4), delta=0.8)",
         lambda a, b: F.huber_loss(a, b, delta=0.8), [randn(3, 4), randn(3, 4)])
    case("huber_kinks_sum", "F.huber_loss(x(3,4), 0, delta=1.5, reduction='sum'), |x| exactly "
         "1.5 and 0 at some entries; target constant",
         lambda x, t: F.huber_loss(x, t, delta=1.5, reduction="sum"),
         [kinks, Const(torch.zeros(3, 4, dtype=DTYPE))])
    case("kl_div_batchmean", "F.kl_div(log_softmax(x(3,4)), p(3,4), reduction='batchmean'), "
         "the input is the raw x; p constant with an exact 0 (term 0)",
         lambda x, p: F.kl_div(F.log_softmax(x, 1), p, reduction="batchmean"),
         [randn(3, 4), Const(torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.0, 0.5, 0.25, 0.25],
                                           [0.7, 0.1, 0.1, 0.1]], dtype=DTYPE))])
    case("kl_div_mean", "F.kl_div(x(3,4), p(3,4)) (mean over elements); p differentiable",
         lambda x, p: F.kl_div(x, p), [randn(3, 4), probs(3, 4)])
    case("kl_div_log_target_sum", "F.kl_div(x(3,4), t(3,4), reduction='sum', log_target=True); "
         "both differentiable", lambda x, t: F.kl_div(x, t, reduction="sum", log_target=True),
         [randn(3, 4), torch.log(probs(3, 4))])
    case("kl_div_log_target_none", "F.kl_div(x(2,3), t(2,3), reduction='none', "
         "log_target=True)", lambda x, t: F.kl_div(x, t, reduction="none", log_target=True),
         [randn(2, 3), randn(2, 3)])


def first_max_pool_grad(x, grad_output, kernel, stride, padding):
    """The gradient of F.max_pool2d by its definition, one window at a time: each window sends
    its output's gradient to its first maximal element in row-major order (padding is never
    picked: it counts as -inf)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n_, c_, h, w = x.shape
    oh, ow = grad_output.shape[2:]
    grad = torch.zeros_like(x)
    for n in range(n_):
        for c in range(c_):
            for i in range(oh):
                for j in range(ow):
                    best = None
                    for a in range(kh):
                        for b in range(kw):
                            r, q = i * sh - ph + a, j * sw - pw + b
                            inside = 0 <= r < h and 0 <= q < w
                            if inside and (best is None or x[n, c, r, q] > x[n, c][best]):
                                best = (r, q)
                    grad[n, c][best] += grad_output[n, c, i, j]
    return grad


def tied_windows(x, kernel, stride, padding):
    """How many max-pool windows hold their maximum more than once."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = F.pad(x, (pw, pw, ph, ph), value=float("-inf"))
    win = xp.unfold(2, kh, sh).unfold(3, kw, sw).flatten(-2)
    return int(((win == win.max(-1, keepdim=True).values).sum(-1) > 1).sum())


def max_pool_tie_case(name, x, kernel, stride, padding):
    c = case(name, f"F.max_pool2d(x{tuple(x.shape)}, kernel_size={kernel}, stride={stride}, "
             f"padding={padding}); x holds small integers, so many windows have tied maxima: "
             "torch sends each window's gradient to its FIRST maximal element in row-major "
             "order (never to padding, which counts as -inf), and overlapping windows add up",
             lambda x: F.max_pool2d(x, kernel, stride, padding), [x])
    assert tied_windows(inp(c, 0), kernel, stride, padding) >= 4, name
    want = first_max_pool_grad(inp(c, 0), go(c), kernel, stride, padding)
    assert torch.allclose(g(c, 0), want, rtol=0, atol=1e-15), name
    return c


_LENET_LABELS = [3, 1, 4]


def lenet_like(x, w1, b1, w2, b2):
    h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=1)), 2)
    logits = F.linear(torch.flatten(h, 1, -1), w2, b2)
    return F.cross_entropy(logits, torch.tensor(_LENET_LABELS))


def build_conv_cases():
    """Cases of the convolutional-network ops: conv2d, pooling, N-d matmul, flatten/squeeze,
    batch_norm, and a small LeNet-like composite. They draw from the global generator after
    every earlier case, so adding them left those cases' inputs unchanged."""
    # ---- conv2d ---------------------------------------------------------------------------
    case("conv2d", "F.conv2d(x(2,3,7,6), w(4,3,3,3), b(4)) -> (2,4,5,4)",
         lambda x, w, b: F.conv2d(x, w, b), [randn(2, 3, 7, 6), randn(4, 3, 3, 3), randn(4)])
    case("conv2d_stride2_pad1", "F.conv2d(x(2,3,7,6), w(4,3,3,3), b(4), stride=2, padding=1) "
         "-> (2,4,4,3); the last input column is in no window",
         lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
         [randn(2, 3, 7, 6), randn(4, 3, 3, 3), randn(4)])
    case("conv2d_dilation2_pad2_nobias", "F.conv2d(x(2,3,7,6), w(4,3,3,3), None, dilation=2, "
         "padding=2) -> (2,4,7,6)",
         lambda x, w: F.conv2d(x, w, None, dilation=2, padding=2),
         [randn(2, 3, 7, 6), randn(4, 3, 3, 3)])
    case("conv2d_groups2_stride21_pad10", "F.conv2d(x(2,4,7,6), w(6,2,3,3), b(6), stride=(2,1), "
         "padding=(1,0), groups=2) -> (2,6,4,4)",
         lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 0), groups=2),
         [randn(2, 4, 7, 6), randn(6, 2, 3, 3), randn(6)])
    case("conv2d_kernel2x3", "F.conv2d(x(2,3,6,7), w(4,3,2,3), b(4)) -> (2,4,5,5)",
         lambda x, w, b: F.conv2d(x, w, b), [randn(2, 3, 6, 7), randn(4, 3, 2, 3), randn(4)])
    case("conv2d_1x1", "F.conv2d(x(2,3,5,4), w(5,3,1,1), b(5)) -> (2,5,5,4)",
         lambda x, w, b: F.conv2d(x, w, b), [randn(2, 3, 5, 4), randn(5, 3, 1, 1), randn(5)])
    case("conv2d_one_channel_pad2", "F.conv2d(x(1,1,6,6), w(2,1,5,5), b(2), padding=2) -> "
         "(1,2,6,6) (LeNet's first layer in small)",
         lambda x, w, b: F.conv2d(x, w, b, padding=2),
         [randn(1, 1, 6, 6), randn(2, 1, 5, 5), randn(2)])
    case("conv2d_stride3_kernel2", "F.conv2d(x(1,2,8,8), w(3,2,2,2), b(3), stride=3) -> "
         "(1,3,3,3); the stride exceeds the kernel, so rows and columns 2 and 5 (and 7) are in "
         "no window and get a zero gradient",
         lambda x, w, b: F.conv2d(x, w, b, stride=3),
         [randn(1, 2, 8, 8), randn(3, 2, 2, 2), randn(3)])
    case("conv2d_depthwise", "F.conv2d(x(2,3,5,5), w(3,1,3,3), b(3), padding=1, groups=3) -> "
         "(2,3,5,5) (one filter per channel)",
         lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=3),
         [randn(2, 3, 5, 5), randn(3, 1, 3, 3), randn(3)])

    # ---- pooling ----------------------------------------------------------------------------
    case("max_pool2d", "F.max_pool2d(x(2,3,6,8), 2) (stride 2) -> (2,3,3,4)",
         lambda x: F.max_pool2d(x, 2), [randn(2, 3, 6, 8)])
    case("max_pool2d_k3_s2_p1", "F.max_pool2d(x(2,2,7,6), 3, stride=2, padding=1) -> (2,2,4,3); "
         "overlapping windows; every x < 0, so padding read as 0 instead of -inf would win",
         lambda x: F.max_pool2d(x, 3, stride=2, padding=1), [-rand_pos(2, 2, 7, 6)])
    xt = torch.randint(0, 3, (2, 2, 4, 6)).to(DTYPE)
    xt[0, 0, 0:2, 0:2] = 2.0  # a window of four equal values
    max_pool_tie_case("max_pool2d_ties", xt, (2, 2), (2, 2), (0, 0))
    max_pool_tie_case("max_pool2d_ties_overlapping", torch.randint(0, 3, (1, 2, 5, 5)).to(DTYPE),
                      (3, 3), (2, 2), (1, 1))
    case("max_pool2d_kernel2x3", "F.max_pool2d(x(2,2,5,8), (2,3), stride=(1,2)) -> (2,2,4,3)",
         lambda x: F.max_pool2d(x, (2, 3), stride=(1, 2)), [randn(2, 2, 5, 8)])
    case("avg_pool2d", "F.avg_pool2d(x(2,3,6,8), 2) (stride 2) -> (2,3,3,4)",
         lambda x: F.avg_pool2d(x, 2), [randn(2, 3, 6, 8)])
    case("avg_pool2d_k3_s2_p1", "F.avg_pool2d(x(2,2,7,6), 3, stride=2, padding=1) -> (2,2,4,3); "
         "count_include_pad=True (the default): every window divides by 9",
         lambda x: F.avg_pool2d(x, 3, stride=2, padding=1), [randn(2, 2, 7, 6)])
    case("adaptive_avg_pool2d_1x1", "F.adaptive_avg_pool2d(x(2,3,5,4), (1,1)) -> (2,3,1,1)",
         lambda x: F.adaptive_avg_pool2d(x, (1, 1)), [randn(2, 3, 5, 4)])
    case("adaptive_avg_pool2d_3x2", "F.adaptive_avg_pool2d(x(2,2,7,5), (3,2)) -> (2,2,3,2); "
         "window i spans [floor(i*in/out), ceil((i+1)*in/out)): rows [0,3),[2,5),[4,7), "
         "columns [0,3),[2,5) (overlapping)",
         lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [randn(2, 2, 7, 5)])

    # ---- N-d matmul -------------------------------------------------------------------------
    case("matmul_batched", "torch.matmul(a(2,3,4), b(2,4,5)) -> (2,3,5)",
         torch.matmul, [randn(2, 3, 4), randn(2, 4, 5)])
    case("matmul_batched_by_2d", "torch.matmul(a(2,3,4), b(4,5)) -> (2,3,5)",
         torch.matmul, [randn(2, 3, 4), randn(4, 5)])
    case("matmul_2d_by_batched", "torch.matmul(a(3,4), b(2,4,5)) -> (2,3,5)",
         torch.matmul, [randn(3, 4), randn(2, 4, 5)])
    case("matmul_broadcast_batch", "torch.matmul(a(2,1,3,4), b(3,4,5)) -> (2,3,3,5); batch "
         "dims broadcast", torch.matmul, [randn(2, 1, 3, 4), randn(3, 4, 5)])

    # ---- flatten / squeeze / unsqueeze ------------------------------------------------------
    case("flatten_from_1", "torch.flatten(x(2,3,4,5), 1, -1) -> (2,60)",
         lambda x: torch.flatten(x, 1, -1), [randn(2, 3, 4, 5)])
    case("flatten_0_1", "torch.flatten(x(2,3,4,5), 0, 1) -> (6,4,5)",
         lambda x: torch.flatten(x, 0, 1), [randn(2, 3, 4, 5)])
    case("squeeze", "x(3,1,4).squeeze(1) -> (3,4)", lambda x: x.squeeze(1), [randn(3, 1, 4)])
    case("squeeze_negative_dim", "x(2,3,1).squeeze(-1) -> (2,3)", lambda x: x.squeeze(-1),
         [randn(2, 3, 1)])
    case("squeeze_not_size_one", "x(3,2,4).squeeze(1) -> (3,2,4): dim 1 has size 2, so x is "
         "returned unchanged", lambda x: x.squeeze(1), [randn(3, 2, 4)])
    case("unsqueeze", "x(3,4).unsqueeze(1) -> (3,1,4)", lambda x: x.unsqueeze(1), [randn(3, 4)])
    case("unsqueeze_negative_dim", "x(3,4).unsqueeze(-1) -> (3,4,1)",
         lambda x: x.unsqueeze(-1), [randn(3, 4)])

    # ---- batch_norm -------------------------------------------------------------------------
    case("batch_norm_train_4d", "F.batch_norm(x(4,3,3,2), None, None, w(3), b(3), "
         "training=True, eps=1e-5): batch statistics over N, H, W (biased variance)",
         lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, eps=1e-5),
         [randn(4, 3, 3, 2), randn(3), randn(3)])
    case("batch_norm_train_3d", "F.batch_norm(x(4,3,5), None, None, w(3), b(3), training=True, "
         "eps=1e-5): statistics over N and L",
         lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, eps=1e-5),
         [randn(4, 3, 5), randn(3), randn(3)])
    case("batch_norm_train_2d", "F.batch_norm(x(5,4), None, None, w(4), b(4), training=True, "
         "eps=1e-5): statistics over N",
         lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, eps=1e-5),
         [randn(5, 4), randn(4), randn(4)])
    case("batch_norm_train_no_affine", "F.batch_norm(x(6,3), None, None, None, None, "
         "training=True, eps=1e-5) (no weight, no bias)",
         lambda x: F.batch_norm(x, None, None, None, None, training=True, eps=1e-5),
         [randn(6, 3)])
    case("batch_norm_train_running_stats", "F.batch_norm(x(4,3,2,2), running_mean(3), "
         "running_var(3), w(3), b(3), training=True, momentum=0.1, eps=1e-5): the running "
         "statistics (no grad; updated in place, here on copies, so the inputs stored are the "
         "values before) do not change the output, which uses the batch statistics",
         lambda x, rm, rv, w, b: F.batch_norm(x, rm.clone(), rv.clone(), w, b, training=True,
                                              momentum=0.1, eps=1e-5),
         [randn(4, 3, 2, 2), Const(randn(3)), Const(rand_pos(3)), randn(3), randn(3)])
    case("batch_norm_eval", "F.batch_norm(x(3,4,2,2), running_mean(4), running_var(4), w(4), "
         "b(4), training=False, eps=1e-5): normalized with the running statistics (no grad)",
         lambda x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-5),
         [randn(3, 4, 2, 2), Const(randn(4)), Const(rand_pos(4)), randn(4), randn(4)])

    # ---- composite --------------------------------------------------------------------------
    case("lenet_like", "F.cross_entropy(F.linear(torch.flatten(F.max_pool2d(F.relu(F.conv2d("
         "x, w1, b1, padding=1)), 2), 1, -1), w2, b2), labels); inputs x(3,1,8,8), w1(3,1,3,3), "
         "b1(3), w2(5,48), b2(5); grad_output = 1.0", lenet_like,
         [randn(3, 1, 8, 8), randn(3, 1, 3, 3) * 0.5, randn(3) * 0.1, randn(5, 48) * 0.2,
          randn(5) * 0.1], grad_output=torch.tensor(1.0, dtype=DTYPE), labels=_LENET_LABELS)

    # ---- unfold / fold (the patch matrices conv2d is built on) -------------------------------
    case("unfold", "F.unfold(x(2,3,5,6), (2,3), dilation=(1,2), padding=1, stride=(2,1)) -> "
         "(2,18,12): columns are window positions, rows channel-major then kernel row, column",
         lambda x: F.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
         [randn(2, 3, 5, 6)])
    case("fold", "F.fold(p(2,12,12), output_size=(4,5), kernel_size=(2,2)) -> (2,3,4,5); "
         "overlapping patches add up",
         lambda p: F.fold(p, (4, 5), (2, 2)), [randn(2, 12, 12)])
    case("fold_stride2_pad1", "F.fold(p(2,18,6), output_size=(5,4), kernel_size=3, padding=1, "
         "stride=2) -> (2,2,5,4); entries that fall in the padding are dropped",
         lambda p: F.fold(p, (5, 4), 3, padding=1, stride=2), [randn(2, 18, 6)])


# name, equation, operand shapes; tests/common/cases.rs maps the same names to the equations.
EINSUM_CASES = [
    ("einsum_matmul", "ij,jk->ik", [(3, 4), (4, 5)]),
    ("einsum_batched_matmul", "bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("einsum_diagonal", "ii->i", [(4, 4)]),
    ("einsum_trace", "ii->", [(4, 4)]),
    ("einsum_column_sums", "ij->j", [(3, 4)]),
    ("einsum_dot", "i,i->", [(5,), (5,)]),
    ("einsum_outer", "i,j->ij", [(3,), (4,)]),
    ("einsum_transpose", "ij->ji", [(3, 4)]),
    ("einsum_implicit", "ij,jk", [(3, 4), (4, 2)]),
    ("einsum_attention_scores", "bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("einsum_sum_then_contract", "ijk,jl->il", [(2, 3, 4), (3, 5)]),
    ("einsum_chain", "ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("einsum_batch_diagonal", "bii->bi", [(2, 3, 3)]),
    ("einsum_bilinear", "bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("einsum_hadamard", "ij,ij->ij", [(3, 4), (3, 4)]),
    ("einsum_row_dots", "ij,ij->i", [(3, 4), (3, 4)]),
    ("einsum_unused_letter_summed", "ij,jk->", [(2, 3), (3, 4)]),
    ("einsum_ellipsis_transpose", "...ij->...ji", [(2, 3, 4)]),
    ("einsum_ellipsis_broadcast_matmul", "...ij,...jk", [(1, 2, 3), (3, 3, 4)]),
    ("einsum_ellipsis_right_aligned", "bij,...jk->...ik", [(5, 2, 3), (3, 4)]),
    ("einsum_size1_broadcast", "ij,jk->ik", [(2, 1), (3, 4)]),
]


def with_zeros(x, *positions):
    """x with exact zeros at the given positions (kinks where PyTorch picks a derivative)."""
    x = x.clone()
    for p in positions:
        x[p] = 0.0
    return x


def mask(*shape):
    """A random 0/1 mask as float64 (duograd's mask representation)."""
    return (torch.rand(shape, dtype=DTYPE) > 0.5).to(DTYPE)


def build_everyday_cases():
    """Elementwise functions, selection by masks, reductions, shapes and einsum. They draw from
    the global generator after every earlier case, so adding them left those inputs unchanged."""
    # ---- elementwise ------------------------------------------------------------------------
    case("log1p", "x.log1p(), x(3,4) = rand+0.5", lambda x: x.log1p(), [rand_pos(3, 4)])
    case("expm1", "x.expm1(), x(3,4)", lambda x: x.expm1(), [randn(3, 4)])
    case("sin", "x.sin(), x(3,4) * 3", lambda x: x.sin(), [randn(3, 4) * 3])
    case("cos", "x.cos(), x(3,4) * 3", lambda x: x.cos(), [randn(3, 4) * 3])
    case("erf", "torch.erf(x), x(3,4)", torch.erf, [randn(3, 4)])
    c = case("gelu", "F.gelu(x) (exact, erf), x(3,4) with exact zeros at (0,1),(2,2): "
             "gelu'(0) = 0.5", F.gelu, [with_zeros(randn(3, 4) * 2, (0, 1), (2, 2))])
    assert g(c, 0)[0, 1] == 0.5 * go(c)[0, 1]
    case("gelu_tanh", "F.gelu(x, approximate='tanh'), x(3,4) with exact zeros at (1,1),(2,3)",
         lambda x: F.gelu(x, approximate="tanh"),
         [with_zeros(randn(3, 4) * 2, (1, 1), (2, 3))])
    case("silu", "F.silu(x), x(3,4)", F.silu, [randn(3, 4) * 2])
    c = case("leaky_relu", "F.leaky_relu(x, 0.1), x(3,4) with exact zeros at (0,0),(1,2): "
             "torch: the derivative at 0 is the slope",
             lambda x: F.leaky_relu(x, 0.1), [with_zeros(randn(3, 4), (0, 0), (1, 2))])
    assert g(c, 0)[0, 0] == 0.1 * go(c)[0, 0]
    xe = with_zeros(randn(3, 4) * 2, (0, 3), (2, 1))
    xe[1, 1] = 800.0  # exp(800) overflows: the curve must not see it
    c = case("elu", "F.elu(x, alpha=1.3), x(3,4) with exact zeros at (0,3),(2,1) (derivative "
             "alpha there, as torch) and x[1,1] = 800", lambda x: F.elu(x, alpha=1.3), [xe])
    assert abs(g(c, 0)[0, 3] - 1.3 * go(c)[0, 3]) < 1e-15
    xs = randn(3, 4) * 3
    xs[0, 0], xs[2, 3] = 25.0, 900.0
    case("softplus", "F.softplus(x) (beta 1, threshold 20), x(3,4) * 3 with x[0,0] = 25 and "
         "x[2,3] = 900 above the threshold (linear there)", F.softplus, [xs])
    case("softplus_beta2_threshold3", "F.softplus(x, beta=2, threshold=3), x(3,4) * 2: the "
         "entries with 2x > 3 are x itself", lambda x: F.softplus(x, beta=2, threshold=3),
         [randn(3, 4) * 2])
    case("reciprocal", "x.reciprocal(), x(3,4), |x| >= 0.5", lambda x: x.reciprocal(),
         [away(3, 4)])
    case("pow_tensor", "torch.pow(a(3,4), b(4,)) with a = rand+0.5, broadcasting",
         torch.pow, [rand_pos(3, 4), randn(4)])
    a0 = with_zeros(rand_pos(3, 4), (0, 0), (0, 1), (1, 2), (2, 0))
    b0 = randn(3, 4)
    b0[0, 0], b0[0, 1], b0[1, 2], b0[2, 0], b0[2, 2] = 0.0, 2.0, 1.0, 3.0, 0.0
    c = case("pow_tensor_zero_base", "torch.pow(a(3,4), b(3,4)); a = 0 at (0,0),(0,1),(1,2),"
             "(2,0) with b = 0, 2, 1, 3 there, and b = 0 at (2,2): torch's gradients are 0 for "
             "the base where b = 0 and 0 for the exponent where a = 0 and b >= 0",
             torch.pow, [a0, b0])
    assert g(c, 1)[0, 1] == 0 and g(c, 0)[2, 2] == 0
    xc = randn(3, 4)
    xc[0, 0], xc[1, 1], xc[2, 2] = -0.5, 0.8, -0.5
    c = case("clamp", "x.clamp(-0.5, 0.8), x(3,4) with x exactly at the bounds at (0,0),(1,1),"
             "(2,2): torch 2.15 gives gradient 0 at either bound", lambda x: x.clamp(-0.5, 0.8),
             [xc])
    assert g(c, 0)[0, 0] == 0 and g(c, 0)[1, 1] == 0
    case("clamp_crossed", "x.clamp(1.0, -1.0), x(3,4): min > max, so every element is max "
         "and the gradient is 0", lambda x: x.clamp(1.0, -1.0), [randn(3, 4)])
    xm = randn(3, 4)
    xm[1, 0] = 0.3
    case("clamp_max", "x.clamp(max=0.3), x(3,4) with x[1,0] = 0.3 exactly (gradient 0 there)",
         lambda x: x.clamp(max=0.3), [xm])

    # ---- selection ----------------------------------------------------------------------------
    case("where", "torch.where(cond(3,1) != 0, a(3,4), b(4,)) -> (3,4); cond a 0/1 mask (no "
         "grad); both branches differentiable and broadcast",
         lambda c, a, b: torch.where(c != 0, a, b),
         [Const(torch.tensor([[1.0], [0.0], [1.0]], dtype=DTYPE)), randn(3, 4), randn(4)])
    case("where_mask_full", "torch.where(cond(2,3) != 0, a(2,3), b(2,3)), cond random 0/1",
         lambda c, a, b: torch.where(c != 0, a, b), [Const(mask(2, 3)), randn(2, 3), randn(2, 3)])
    case("masked_fill", "x(3,4).masked_fill(mask(4,) != 0, -2.5); mask broadcast over rows",
         lambda x, m: x.masked_fill(m != 0, -2.5),
         [randn(3, 4), Const(torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=DTYPE))])
    a = randn(3, 4)
    b = a.clone()
    b[0] = randn(4)
    b[2, 1:3] = randn(2)  # ties elsewhere
    case("comparison_masks", "a * (1*(a==b) + 2*(a!=b) + 4*(a<b) + 8*(a<=b) + 16*(a>b) + "
         "32*(a>=b)), a,b (3,4) tied at half the entries; the masks carry no gradient (b, "
         "only compared, is a constant)",
         lambda a, b: a * ((a == b) * 1.0 + (a != b) * 2.0 + (a < b) * 4.0 + (a <= b) * 8.0
                           + (a > b) * 16.0 + (a >= b) * 32.0), [a, Const(b)])
    xq = randn(3, 4)
    xq[0, 0] = xq[1, 3] = xq[2, 2] = 0.5
    case("comparison_masks_scalar", "x * (1*(x==0.5) + 2*(x!=0.5) + 4*(x<0.5) + 8*(x<=0.5) + "
         "16*(x>0.5) + 32*(x>=0.5)), x(3,4) equal to 0.5 at three entries",
         lambda x: x * ((x == 0.5) * 1.0 + (x != 0.5) * 2.0 + (x < 0.5) * 4.0
                        + (x <= 0.5) * 8.0 + (x > 0.5) * 16.0 + (x >= 0.5) * 32.0), [xq])

    # ---- reductions -----------------------------------------------------------------------------
    xm = randn(2, 3, 4)
    bottom = -float(xm.abs().max()) - 0.5
    xm[0, 0, 1] = xm[0, 2, 1] = bottom
    xm[1, 1, 2] = xm[1, 2, 2] = bottom
    c = case("min_dim1", "x(2,3,4).min(1).values -> (2,4); ties along dim 1 at [0,{0,2},1] "
             "and [1,{1,2},2]: torch routes the whole gradient to the FIRST minimal index",
             lambda x: x.min(1).values, [xm])
    assert g(c, 0)[0, 2, 1] == 0 and g(c, 0)[0, 0, 1] == go(c)[0, 1]
    c = case("min_dim1_with_indices", "x.min(1) values + 10 * indices (as float), x(2,3,4) "
             "with the ties of min_dim1: the indices are the first minimal ones",
             lambda x: x.min(1).values + 10.0 * x.min(1).indices.to(DTYPE), [xm.clone()])
    xt = randn(2, 3, 4)
    top = float(xt.abs().max()) + 0.5
    xt[1, 0, 0] = xt[1, 0, 2] = top
    case("max_dim2_with_indices_keepdim", "x.max(2, keepdim=True) values + 10 * indices, "
         "x(2,3,4) with ties along dim 2 at [1,0,{0,2}] (the first wins)",
         lambda x: x.max(2, keepdim=True).values
         + 10.0 * x.max(2, keepdim=True).indices.to(DTYPE), [xt])
    xa = randn(2, 3, 4)
    low = float(xa.min()) - 1.0
    xa[0, 1, 0] = xa[1, 0, 3] = low
    c = case("min_all", "x(2,3,4).min() -> (); the min appears exactly twice: torch splits "
             "the gradient evenly", lambda x: x.min(), [xa])
    assert g(c, 0)[0, 1, 0] == 0.5 * go(c)
    xz = randn(3, 4)
    xz[0, 1] = 0.0
    xz[2, 0] = xz[2, 3] = 0.0
    c = case("prod_dim1", "x(3,4).prod(1) -> (3,); row 0 has one zero (its gradient is the "
             "product of the others), row 2 two zeros (all gradients 0)",
             lambda x: x.prod(1), [xz])
    assert g(c, 0)[0, 1] != 0
    case("prod_all", "x(2,3).prod() -> ()", lambda x: x.prod(), [randn(2, 3)])
    case("prod_dim0_keepdim", "x(5,2).prod(0, keepdim=True) -> (1,2) (odd length)",
         lambda x: x.prod(0, keepdim=True), [randn(5, 2)])
    case("var_dim1", "x(3,5).var(1) (correction 1) -> (3,)", lambda x: x.var(1), [randn(3, 5)])
    case("var_all_correction0", "x(3,4).var(correction=0) -> ()",
         lambda x: x.var(correction=0), [randn(3, 4)])
    case("var_dims02_keepdim_correction2", "x(2,3,4).var((0,2), correction=2, keepdim=True) "
         "-> (1,3,1)", lambda x: x.var((0, 2), correction=2, keepdim=True), [randn(2, 3, 4)])
    xs = randn(3, 4)
    xs[1] = 0.7
    c = case("std_dim1", "x(3,4).std(1) -> (3,); row 1 is constant (std 0): torch's gradient "
             "there is 0", lambda x: x.std(1), [xs])
    assert (g(c, 0)[1] == 0).all()
    case("std_all_correction0", "x(2,3).std(correction=0) -> ()",
         lambda x: x.std(correction=0), [randn(2, 3)])
    case("norm_p1", "torch.linalg.vector_norm(x(3,4), 1) -> (); x[1,1] = 0 (gradient 0)",
         lambda x: torch.linalg.vector_norm(x, 1), [with_zeros(randn(3, 4), (1, 1))])
    xn = randn(3, 4)
    xn[1] = 0.0
    c = case("norm_p2_dim1", "torch.linalg.vector_norm(x(3,4), 2, dim=1) -> (3,); row 1 is the "
             "zero vector: torch's gradient there is 0", lambda x: torch.linalg.vector_norm(x, 2, dim=1),
             [xn])
    assert (g(c, 0)[1] == 0).all()
    case("norm_p2_all", "torch.linalg.vector_norm(x(2,3,2)) -> ()",
         lambda x: torch.linalg.vector_norm(x), [randn(2, 3, 2)])
    xi = randn(3, 4)
    xi[0, 0], xi[0, 3], xi[2, 1] = 3.5, -3.5, 3.5
    c = case("norm_inf", "torch.linalg.vector_norm(x(3,4), inf) -> (); |x| = 3.5 is the "
             "largest, three times with both signs: torch splits the gradient evenly (with signs)",
             lambda x: torch.linalg.vector_norm(x, float("inf")), [xi])
    assert abs(g(c, 0)[0, 3] + go(c) / 3) < 1e-15
    xj = randn(2, 4)
    xj[1, 0], xj[1, 2] = -2.5, 2.5
    xj[1, 1], xj[1, 3] = 0.5, -0.5
    case("norm_inf_dim1_keepdim", "torch.linalg.vector_norm(x(2,4), inf, dim=1, keepdim=True) "
         "-> (2,1); row 1 ties at |x| = 2.5", lambda x: torch.linalg.vector_norm(
             x, float("inf"), dim=1, keepdim=True), [xj])
    case("cumsum_dim1", "x(3,5).cumsum(1)", lambda x: x.cumsum(1), [randn(3, 5)])
    case("cumsum_dim0", "x(4,2,3).cumsum(0)", lambda x: x.cumsum(0), [randn(4, 2, 3)])

    # ---- shapes and indexing ----------------------------------------------------------------
    case("repeat", "x(2,3).repeat(2,1,2) -> (2,2,6): a leading axis added, copies summed in "
         "the gradient", lambda x: x.repeat(2, 1, 2), [randn(2, 3)])
    case("repeat_1d", "x(3,).repeat(2,2) -> (2,6)", lambda x: x.repeat(2, 2), [randn(3)])
    case("unsqueeze_front", "x(2,3).unsqueeze(-3) -> (1,2,3)", lambda x: x.unsqueeze(-3),
         [randn(2, 3)])
    case("slice_step2", "x(4,7)[:, 1:6:2] -> (4,3)", lambda x: x[:, 1:6:2], [randn(4, 7)])
    case("slice_negative_start", "x(9,2)[-4::3] -> (2,2)", lambda x: x[-4::3], [randn(9, 2)])
    case("slice_step1", "x(3,5)[:, -4:-1] -> (3,3)", lambda x: x[:, -4:-1], [randn(3, 5)])
    case("split", "torch.split(x(7,3), 3, 0) -> sizes 3,3,1; output cat([p0, 2 p1, 3 p2])",
         lambda x: torch.cat([p * (i + 1) for i, p in enumerate(torch.split(x, 3, 0))], 0),
         [randn(7, 3)])
    case("split_sizes", "torch.split(x(2,5), [1,4], 1); output cat([2 p1, p0], 1)",
         lambda x: torch.cat([torch.split(x, [1, 4], 1)[1] * 2, torch.split(x, [1, 4], 1)[0]], 1),
         [randn(2, 5)])
    case("chunk", "torch.chunk(x(2,5), 4, 1) -> widths 2,2,1 (three pieces); output "
         "cat([p0, 2 p1, 3 p2], 1)",
         lambda x: torch.cat([p * (i + 1) for i, p in enumerate(torch.chunk(x, 4, 1))], 1),
         [randn(2, 5)])
    ia = [0, 2, 2, 4]
    case("index_add", "x(5,3).index_add(0, index, src(4,3)); index 2 twice (accumulates)",
         lambda x, src: x.index_add(0, torch.tensor(ia), src), [randn(5, 3), randn(4, 3)],
         index=ia)
    ib = [1, 0, 1]
    case("index_add_dim1", "x(2,4,3).index_add(1, index, src(2,3,3)); index 1 twice",
         lambda x, src: x.index_add(1, torch.tensor(ib), src), [randn(2, 4, 3), randn(2, 3, 3)],
         index=ib)
    si = [[4, 4], [0, 1], [2, 0]]
    case("scatter_add_dim1", "x(3,5).scatter_add(1, index(3,2), src(3,2)); row 0 adds twice "
         "into column 4",
         lambda x, src: x.scatter_add(1, torch.tensor(si), src), [randn(3, 5), randn(3, 2)],
         index=si)
    sj = [[1, 0, 3], [1, 1, 0]]
    case("scatter_add_dim0", "x(4,3).scatter_add(0, index(2,3), src(2,3)); (1,0) receives twice",
         lambda x, src: x.scatter_add(0, torch.tensor(sj), src), [randn(4, 3), randn(2, 3)],
         index=sj)
    oh = [2, 0, 3, 2]
    case("one_hot", "x(4,4) * F.one_hot(labels, 4) (as float64): the one-hot rows are a "
         "constant", lambda x: x * F.one_hot(torch.tensor(oh), 4).to(DTYPE), [randn(4, 4)],
         labels=oh)

    # ---- einsum (the equations duograd's tests map by case name) ------------------------------
    for name, eq, shapes in EINSUM_CASES:
        case(name, f"torch.einsum('{eq}', " + ", ".join(f"x{i}{tuple(s)}" for i, s in
                                                          enumerate(shapes)) + ")",
             lambda *xs, eq=eq: torch.einsum(eq, *xs), [randn(*s) for s in shapes])


_MLP = {}


def mlp_setup():
    """Fixed data for mlp_cross_entropy / mlp_hvp (independent seed)."""
    if not _MLP:
        gen = torch.Generator().manual_seed(SEED + 1)

        def r(*s, scale=1.0):
            return torch.randn(s, dtype=DTYPE, generator=gen) * scale

        _MLP.update(x=r(8, 5), w1=r(6, 5, scale=0.5), b1=r(6, scale=0.1),
                    w2=r(3, 6, scale=0.5), b2=r(3, scale=0.1),
                    labels=[int(v) for v in torch.randint(0, 3, (8,), generator=gen)])
    return _MLP


def mlp_ce(x, w1, b1, w2, b2):
    labels = torch.tensor(mlp_setup()["labels"])
    return F.cross_entropy(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), labels)


def hvp_case(name, description, loss_fn, names, params, v, **extra):
    ps = [p.detach().clone().requires_grad_(True) for p in params]
    loss = loss_fn(*ps)
    grads = torch.autograd.grad(loss, ps, create_graph=True)
    gv = sum((gi * vi).sum() for gi, vi in zip(grads, v))
    hv = torch.autograd.grad(gv, ps)
    for t in [loss, *grads, *hv]:
        check_finite(t, name)
    c = {"name": name, "description": description, "param_names": names}
    c.update(extra)
    c.update({
        "params": [tj(p) for p in ps],
        "loss": tj(loss),
        "grads": [tj(gi) for gi in grads],
        "v": [tj(vi) for vi in v],
        "hvp": [tj(h) for h in hv],
    })
    return c, ps, grads, hv


def build_second_order():
    gen = torch.Generator().manual_seed(SEED + 2)
    out = []

    x = torch.randn(4, dtype=DTYPE, generator=gen)
    v = torch.randn(4, dtype=DTYPE, generator=gen)
    c, ps, grads, hv = hvp_case(
        "cube", "f(x) = (x ** 3).sum(), x(4,); grad = 3 x^2; hvp = d/dx (grad . v) = 6 x v",
        lambda x: (x ** 3).sum(), ["x"], [x], [v])
    assert torch.allclose(grads[0], 3 * x ** 2) and torch.allclose(hv[0], 6 * x * v)
    out.append(c)

    m = mlp_setup()
    names = ["w1", "b1", "w2", "b2"]
    params = [m[n] for n in names]
    vs = [torch.randn(p.shape, dtype=DTYPE, generator=gen) for p in params]
    c, _, _, _ = hvp_case(
        "mlp_hvp", "the mlp_cross_entropy setup (same x, labels, w1, b1, w2, b2): "
        "loss = F.cross_entropy(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), labels); "
        "grads/v/hvp listed per parameter in param_names order (w1, b1, w2, b2), i.e. the "
        "flattened parameter vector is their concatenation; hvp = d/dtheta (grad(theta) . v), "
        "computed with torch.autograd.grad(create_graph=True)",
        lambda w1, b1, w2, b2: mlp_ce(m["x"], w1, b1, w2, b2), names, params, vs,
        x=tj(m["x"]), labels=m["labels"])
    out.append(c)

    # Convolutional cases (after the ones above, whose draws from gen stay the same).
    shapes = [(2, 2, 6, 5), (3, 2, 3, 3), (3,)]
    params = [torch.randn(s, dtype=DTYPE, generator=gen) * k
              for s, k in zip(shapes, [1, 0.5, 0.1])]
    vs = [torch.randn(s, dtype=DTYPE, generator=gen) for s in shapes]
    c, _, _, _ = hvp_case(
        "conv_tanh_hvp",
        "loss = torch.tanh(F.conv2d(x, w, b, stride=2, padding=1)).pow(2).sum() with x(2,2,6,5), "
        "w(3,2,3,3), b(3) all parameters (param_names order); hvp = d/dtheta (grad(theta) . v)",
        lambda x, w, b: torch.tanh(F.conv2d(x, w, b, stride=2, padding=1)).pow(2).sum(),
        ["x", "w", "b"], params, vs)
    out.append(c)

    x = torch.randn(2, 1, 6, 6, dtype=DTYPE, generator=gen)
    labels = [2, 0]
    shapes = [(2, 1, 3, 3), (2,), (3, 18), (3,)]
    params = [torch.randn(s, dtype=DTYPE, generator=gen) * k
              for s, k in zip(shapes, [0.5, 0.1, 0.3, 0.1])]
    vs = [torch.randn(s, dtype=DTYPE, generator=gen) for s in shapes]

    def conv_pool_ce(w, b, w2, b2):
        h = F.max_pool2d(F.conv2d(x, w, b, padding=1), 2)
        return F.cross_entropy(F.linear(torch.flatten(h, 1, -1), w2, b2), torch.tensor(labels))

    c, _, _, _ = hvp_case(
        "conv_pool_ce_hvp", "loss = F.cross_entropy(F.linear(torch.flatten(F.max_pool2d("
        "F.conv2d(x, w, b, padding=1), 2), 1, -1), w2, b2), labels) with x(2,1,6,6) fixed and "
        "parameters w(2,1,3,3), b(2), w2(3,18), b2(3) (param_names order); hvp = "
        "d/dtheta (grad(theta) . v)",
        conv_pool_ce, ["w", "b", "w2", "b2"], params, vs, x=tj(x), labels=labels)
    out.append(c)

    x = torch.randn(3, 2, 4, 4, dtype=DTYPE, generator=gen)
    shapes = [(3, 2, 3, 3), (3,), (3,), (3,)]
    params = [torch.randn(s, dtype=DTYPE, generator=gen) * k
              for s, k in zip(shapes, [0.5, 0.1, 1.0, 0.1])]
    vs = [torch.randn(s, dtype=DTYPE, generator=gen) for s in shapes]

    def conv_batch_norm(w, b, gamma, beta):
        h = F.batch_norm(F.conv2d(x, w, b, padding=1), None, None, gamma, beta, training=True,
                         eps=1e-5)
        return torch.tanh(h).pow(2).sum()

    c, _, _, _ = hvp_case(
        "conv_batch_norm_hvp", "loss = torch.tanh(F.batch_norm(F.conv2d(x, w, b, padding=1), "
        "None, None, gamma, beta, training=True, eps=1e-5)).pow(2).sum() with x(3,2,4,4) fixed "
        "and parameters w(3,2,3,3), b(3), gamma(3), beta(3) (param_names order); the conv bias "
        "cancels in the batch mean, so its gradient is ~0; hvp = d/dtheta (grad(theta) . v)",
        conv_batch_norm, ["w", "b", "gamma", "beta"], params, vs, x=tj(x))
    out.append(c)
    return out


# ---------------------------------------------------------------------------
# optim.json
# ---------------------------------------------------------------------------

OPT_CONFIGS = [
    ("sgd", "sgd", dict(lr=0.1)),
    ("sgd_momentum", "sgd", dict(lr=0.1, momentum=0.9)),
    ("sgd_nesterov_wd", "sgd", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01,
                                    dampening=0.0)),
    ("sgd_dampening", "sgd", dict(lr=0.1, momentum=0.9, dampening=0.5)),
    ("adam", "adam", dict(lr=0.01)),
    ("adam_wd", "adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    ("adamw", "adamw", dict(lr=0.01)),
    ("adamw_wd_betas", "adamw", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("rmsprop", "rmsprop", dict(lr=0.01)),
    ("rmsprop_centered_momentum_wd", "rmsprop", dict(lr=0.01, alpha=0.9, eps=1e-6,
                                                      weight_decay=0.01, momentum=0.8,
                                                      centered=True)),
    ("rmsprop_momentum", "rmsprop", dict(lr=0.005, momentum=0.5)),
    ("adam_amsgrad_wd", "adam", dict(lr=0.01, amsgrad=True, weight_decay=0.01)),
    ("adamw_amsgrad_maximize", "adamw", dict(lr=0.01, amsgrad=True, maximize=True)),
]
OPT_CLASSES = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
               "rmsprop": torch.optim.RMSprop}
HYPER_KEYS = {
    "sgd": ["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"],
    "adam": ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"],
    "adamw": ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"],
    "rmsprop": ["lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"],
}
N_STEPS = 5


def make_optim_model():
    return torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(),
                               torch.nn.Linear(5, 3)).to(DTYPE)


def sd_json(model):
    return {k: tj(v) for k, v in model.state_dict().items()}


def build_optim():
    torch.manual_seed(SEED + 3)
    base = make_optim_model()
    x = randn(6, 4)
    labels = [int(v) for v in torch.randint(0, 3, (6,))]
    y = torch.tensor(labels)
    names = list(base.state_dict().keys())
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"], names

    configs = []
    for name, kind, kw in OPT_CONFIGS:
        model = copy.deepcopy(base)
        cls = OPT_CLASSES[kind]
        opt = cls(model.parameters(), foreach=False, **kw)
        group = opt.param_groups[0]
        hyper = {}
        for k in HYPER_KEYS[kind]:
            val = group[k]
            if isinstance(val, tuple):
                val = [float(v) for v in val]
            elif not isinstance(val, bool):
                val = float(val)  # e.g. momentum=0 -> 0.0, so every number reads as f64
            hyper[k] = val
        steps = []
        for _ in range(N_STEPS):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            check_finite(loss, name)
            steps.append({"loss": loss.item(), "params": sd_json(model)})
        configs.append({"name": name, "optimizer": kind, "hyper": hyper, "steps": steps})

    # clip_grad_norm_ on the gradients of the initial loss
    model = copy.deepcopy(base)
    model.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    raw = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    max_norm = 0.5
    total = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_norm, norm_type=2.0)
    clipped = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    expect = torch.sqrt(sum((gr ** 2).sum() for gr in raw.values()))
    assert torch.allclose(total, expect) and float(total) > max_norm
    coef = max_norm / (float(total) + 1e-6)
    for n in names:
        assert torch.allclose(clipped[n], raw[n] * coef)
    clip = {
        "description": "grads of the initial loss (at init), then "
                       "torch.nn.utils.clip_grad_norm_(params, max_norm=0.5, norm_type=2); "
                       "torch scales by max_norm / (total_norm + 1e-6) when that is < 1",
        "max_norm": max_norm,
        "norm_type": 2.0,
        "loss": loss.item(),
        "total_norm": float(total),
        "grads": {n: tj(raw[n]) for n in names},
        "clipped_grads": {n: tj(clipped[n]) for n in names},
    }

    return {
        "torch_version": torch.__version__,
        "dtype": "float64",
        "model": "nn.Sequential(nn.Linear(4,5), nn.ReLU(), nn.Linear(5,3)); "
                 "loss = F.cross_entropy(model(x), labels) (mean); each step: zero_grad, "
                 "forward, backward, step; steps[i].loss is the loss before step i+1, "
                 "steps[i].params the parameters after it; optimizers run with foreach=False",
        "param_names": names,
        "init": sd_json(base),
        "x": tj(x),
        "labels": labels,
        "configs": configs,
        "clip_grad_norm": clip,
    }


# ---------------------------------------------------------------------------
# lr_schedulers.json
# ---------------------------------------------------------------------------

def scheduler_cases():
    """(name, base_lr, steps, make(opt) -> scheduler, metrics or None)"""
    S = torch.optim.lr_scheduler
    plateau_metrics = [1.0, 0.9, 0.95, 0.92, 0.91, 0.9, 0.9, 0.89, 0.95, 0.96, 0.97, 0.97,
                       0.5, 0.6, 0.7, 0.8, 0.8, 0.8, 0.8, 0.8]
    return [
        ("step", 0.1, 12, lambda o: S.StepLR(o, step_size=3, gamma=0.5), None),
        ("multistep", 0.1, 12, lambda o: S.MultiStepLR(o, milestones=[2, 5, 9], gamma=0.1),
         None),
        ("exponential", 0.1, 10, lambda o: S.ExponentialLR(o, gamma=0.9), None),
        ("linear", 0.1, 8, lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0,
                                                total_iters=4), None),
        ("cosine", 0.1, 25, lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001), None),
        ("cosine_warmup", 0.1, 12, lambda o: S.SequentialLR(
            o, [S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=3),
                S.CosineAnnealingLR(o, T_max=7, eta_min=0.0)], milestones=[3]), None),
        ("one_cycle", 0.1, 20, lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=20,
                                                      cycle_momentum=False), None),
        ("one_cycle_linear_three_phase", 0.1, 25, lambda o: S.OneCycleLR(
            o, max_lr=0.3, total_steps=25, pct_start=0.4, anneal_strategy="linear",
            div_factor=10.0, final_div_factor=100.0, three_phase=True,
            cycle_momentum=False), None),
        ("plateau_min_rel", 0.1, len(plateau_metrics), lambda o: S.ReduceLROnPlateau(
            o, mode="min", factor=0.5, patience=2, threshold=1e-2, threshold_mode="rel",
            cooldown=1, min_lr=0.02), plateau_metrics),
        ("plateau_max_abs", 0.1, len(plateau_metrics), lambda o: S.ReduceLROnPlateau(
            o, mode="max", factor=0.1, patience=1, threshold=0.01, threshold_mode="abs",
            eps=1e-8), plateau_metrics),
    ]


def build_lr_schedulers():
    cases = []
    for name, base_lr, steps, make, metrics in scheduler_cases():
        p = torch.nn.Parameter(torch.zeros(1, dtype=DTYPE))
        opt = torch.optim.SGD([p], lr=base_lr)
        sched = make(opt)
        initial = opt.param_groups[0]["lr"]
        lrs = []
        for i in range(steps):
            opt.step()
            if metrics is None:
                sched.step()
            else:
                sched.step(metrics[i])
            lrs.append(float(opt.param_groups[0]["lr"]))
        case = {"name": name, "base_lr": base_lr, "initial_lr": float(initial), "lrs": lrs}
        if metrics is not None:
            case["metrics"] = metrics
        cases.append(case)
    return {
        "torch_version": torch.__version__,
        "description": "learning rates of torch.optim.lr_scheduler schedulers on an SGD "
                       "optimizer: initial_lr right after the scheduler is built, lrs[i] the "
                       "optimizer's lr after the (i+1)-th optimizer.step(); scheduler.step() "
                       "(ReduceLROnPlateau: scheduler.step(metrics[i])); the settings are in "
                       "scripts/torch_reference.py, scheduler_cases()",
        "cases": cases,
    }


# ---------------------------------------------------------------------------
# torch_mlp.safetensors / torch_mlp.json
# ---------------------------------------------------------------------------


def build_torch_mlp(out_dir):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    x = torch.randn(2, 4, dtype=torch.float32)
    with torch.no_grad():
        y = model(x)
    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(sd, os.path.join(out_dir, "torch_mlp.safetensors"))
    return {
        "torch_version": torch.__version__,
        "dtype": "float32",
        "model": "nn.Sequential(nn.Linear(4,3), nn.ReLU(), nn.Linear(3,2)) built after "
                 "torch.manual_seed(0); weights in torch_mlp.safetensors "
                 "(safetensors.torch.save_file(model.state_dict())); x drawn with "
                 "torch.randn right after building the model; output = model(x)",
        "state_dict": {k: {"shape": list(v.shape), "dtype": "F32"} for k, v in sd.items()},
        "params": {k: tj(v) for k, v in sd.items()},
        "x": tj(x),
        "output": tj(y),
    }


# ---------------------------------------------------------------------------
# torch_lenet / torch_cnn: the convolutional models of the training presets
# ---------------------------------------------------------------------------

nn = torch.nn


def lenet():
    """LeNet-5 as the `lenet` preset builds it (input [N,1,28,28])."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def cnn():
    """The `cnn` preset's network (input [N,1,28,28])."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(1152, 128), nn.BatchNorm1d(128), nn.ReLU(),
        nn.Dropout(0.25), nn.Linear(128, 10))


DTYPE_NAMES = {torch.float32: "F32", torch.int64: "I64"}


def image_batch(n):
    """[n,1,28,28] float32 values that are multiples of 1/64 (exact, and short in JSON)."""
    return torch.round(torch.randn(n, 1, 28, 28) * 64) / 64


def save_state_dict(model, path):
    from safetensors.torch import save_file

    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(sd, path)
    return {k: {"shape": list(v.shape), "dtype": DTYPE_NAMES[v.dtype]} for k, v in sd.items()}


def build_torch_lenet(out_dir):
    torch.manual_seed(SEED + 4)
    model = lenet()
    x = image_batch(4)
    model.eval()
    with torch.no_grad():
        y = model(x)
    state = save_state_dict(model, os.path.join(out_dir, "torch_lenet.safetensors"))
    return {
        "torch_version": torch.__version__,
        "dtype": "float32",
        "model": "nn.Sequential(nn.Conv2d(1,6,5,padding=2), nn.ReLU(), nn.MaxPool2d(2), "
                 "nn.Conv2d(6,16,5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), "
                 "nn.Linear(400,120), nn.ReLU(), nn.Linear(120,84), nn.ReLU(), "
                 "nn.Linear(84,10)) with PyTorch's default initialization; weights in "
                 "torch_lenet.safetensors (safetensors.torch.save_file(model.state_dict())); "
                 "x (multiples of 1/64) drawn right after building the model; output = "
                 "model(x) in eval mode",
        "state_dict": state,
        "x": tj(x),
        "output": tj(y),
    }


def build_torch_layers(out_dir):
    torch.manual_seed(SEED + 6)
    model = torch.nn.Sequential(torch.nn.Embedding(10, 6, padding_idx=0), torch.nn.LayerNorm(6),
                                torch.nn.Linear(6, 3), torch.nn.Identity())
    with torch.no_grad():  # a trained-looking affine, not the ones/zeros of a fresh LayerNorm
        model[1].weight.copy_(torch.rand(6) + 0.5)
        model[1].bias.copy_(torch.randn(6) * 0.1)
    x = torch.tensor([[1, 0, 9, 3], [0, 5, 5, 2]])
    y = model(x)
    y.backward(torch.ones_like(y))
    state = save_state_dict(model, os.path.join(out_dir, "torch_layers.safetensors"))
    return {
        "torch_version": torch.__version__,
        "dtype": "float32",
        "model": "nn.Sequential(nn.Embedding(10, 6, padding_idx=0), nn.LayerNorm(6), "
                 "nn.Linear(6, 3), nn.Identity()), LayerNorm weight/bias set to random values; "
                 "weights in torch_layers.safetensors; output = model(x) for the index tensor x; "
                 "embedding_grad = the table's gradient of output.sum()",
        "state_dict": state,
        "x": tj(x.to(DTYPE)),
        "output": tj(y.detach()),
        "embedding_grad": tj(model[0].weight.grad),
    }


WARMUP_FORWARDS = 10


def build_torch_cnn(out_dir):
    torch.manual_seed(SEED + 5)
    model = cnn()
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        # Affine parameters and running statistics away from their initial 1s and 0s, so that
        # a loader that skipped any of them would change the output.
        for m in norms:
            m.weight.uniform_(0.5, 1.5)
            m.bias.normal_(0.0, 0.2)
        model.train()
        for _ in range(WARMUP_FORWARDS):
            model(image_batch(8) * 0.8 + 0.3)
    state = save_state_dict(model, os.path.join(out_dir, "torch_cnn.safetensors"))
    x = image_batch(4)
    model.eval()
    with torch.no_grad():
        y = model(x)

    # One train-mode forward from the saved state, dropout switched off (its draws cannot be
    # reproduced outside PyTorch, and the second BatchNorm1d's statistics depend on them).
    trained = copy.deepcopy(model)
    trained.train()
    for m in trained.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    with torch.no_grad():
        y_train = trained(x)
    buffers = {}
    for name, b in trained.named_buffers():
        buffers[name] = int(b) if b.dtype == torch.int64 else tj(b)
    tracked = [v for k, v in buffers.items() if k.endswith("num_batches_tracked")]
    assert tracked == [WARMUP_FORWARDS + 1] * 4, tracked
    return {
        "torch_version": torch.__version__,
        "dtype": "float32 (num_batches_tracked int64, as in every PyTorch state_dict)",
        "model": "nn.Sequential(nn.Conv2d(1,32,3,padding=1), nn.BatchNorm2d(32), nn.ReLU(), "
                 "nn.MaxPool2d(2), nn.Conv2d(32,64,3,padding=1), nn.BatchNorm2d(64), nn.ReLU(), "
                 "nn.MaxPool2d(2), nn.Conv2d(64,128,3,padding=1), nn.BatchNorm2d(128), "
                 "nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.25), "
                 "nn.Linear(1152,128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.25), "
                 "nn.Linear(128,10)); default initialization, then every BatchNorm's weight "
                 "drawn from U(0.5,1.5) and bias from N(0,0.2), then ten train-mode "
                 "forwards on random batches (so running_mean/running_var are not 0/1 and "
                 "num_batches_tracked is 10); weights in torch_cnn.safetensors "
                 "(safetensors.torch.save_file(model.state_dict())); x (multiples of 1/64) "
                 "drawn after saving; output = model(x) in eval mode",
        "state_dict": state,
        "x": tj(x),
        "output": tj(y),
        "train_forward": {
            "description": "from the saved state, one forward of x in train mode with the "
                           "Dropout layers in eval mode (identity), BatchNorm momentum 0.1 "
                           "and eps 1e-5 (the defaults): output, and every buffer after it "
                           "(running statistics updated with the unbiased batch variance, "
                           "num_batches_tracked 10 -> 11)",
            "output": tj(y_train),
            "buffers": buffers,
        },
    }


# ---------------------------------------------------------------------------
# init.json: fans and gains of torch.nn.init
# ---------------------------------------------------------------------------

INIT_SHAPES = [[3, 5], [10, 4], [16, 3, 5, 5], [8, 2, 3], [6, 4, 3, 3, 2], [7, 1], [1, 9, 1, 1],
               [32, 4, 0, 3]]
GAIN_CASES = [("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
              ("conv_transpose1d", None), ("conv_transpose2d", None),
              ("conv_transpose3d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
              ("relu", 0.3), ("leaky_relu", None), ("leaky_relu", 0.2),
              ("leaky_relu", 5 ** 0.5), ("leaky_relu", -0.5), ("selu", None)]


def build_init():
    from torch.nn import init
    fans = []
    for shape in INIT_SHAPES:
        w = torch.empty(shape)
        fan_in, fan_out = init._calculate_fan_in_and_fan_out(w)
        fans.append({"shape": shape, "fan_in": fan_in, "fan_out": fan_out,
                     "fan_in_mode": init._calculate_correct_fan(w, "fan_in"),
                     "fan_out_mode": init._calculate_correct_fan(w, "fan_out")})
    low_rank = []
    for shape in [[5], []]:
        try:
            init._calculate_fan_in_and_fan_out(torch.empty(shape))
            raise AssertionError(f"fans of {shape} did not raise")
        except ValueError as e:
            low_rank.append({"shape": shape, "error": str(e)})
    gains = [{"nonlinearity": n, "param": p, "gain": init.calculate_gain(n, p)}
             for n, p in GAIN_CASES]
    trunc = [truncated_normal_moments(*c) for c in TRUNC_CASES]
    return {"torch_version": torch.__version__, "fans": fans, "low_rank": low_rank,
            "gains": gains, "trunc_normal": trunc}


TRUNC_CASES = [(0.0, 1.0, -2.0, 2.0), (0.5, 2.0, -1.0, 1.5), (1.0, 0.5, 0.0, 4.0)]


def truncated_normal_moments(mean, std, a, b):
    """Mean and standard deviation of N(mean, std^2) truncated to [a, b] (closed form)."""
    n = torch.distributions.Normal(torch.tensor(0.0, dtype=DTYPE), torch.tensor(1.0, dtype=DTYPE))
    al = torch.tensor((a - mean) / std, dtype=DTYPE)
    be = torch.tensor((b - mean) / std, dtype=DTYPE)
    pa, pb = n.log_prob(al).exp(), n.log_prob(be).exp()
    z = n.cdf(be) - n.cdf(al)
    m = mean + std * (pa - pb) / z
    var = std ** 2 * (1 + (al * pa - be * pb) / z - ((pa - pb) / z) ** 2)
    return {"mean": mean, "std": std, "a": a, "b": b,
            "truncated_mean": float(m), "truncated_std": float(var.sqrt())}


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------


def dumps(obj):
    return json.dumps(obj, allow_nan=False, separators=(",", ":"))


def write_json(path, top):
    """Top-level object with one list element (case/config) per line: small, diffable."""
    parts = []
    for k, v in top.items():
        if isinstance(v, list) and v and isinstance(v[0], dict):
            body = ",\n".join("  " + dumps(e) for e in v)
            parts.append(f"{json.dumps(k)}: [\n{body}\n]")
        else:
            parts.append(f"{json.dumps(k)}: {dumps(v)}")
    text = "{\n" + ",\n".join(parts) + "\n}\n"
    json.loads(text)  # sanity
    with open(path, "w") as f:
        f.write(text)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures"),
                    help="output directory (default: tests/fixtures)")
    args = ap.parse_args()
    out_dir = os.path.normpath(args.out)
    os.makedirs(out_dir, exist_ok=True)

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    build_op_cases()
    build_loss_cases()
    ops = {
        "torch_version": torch.__version__,
        "dtype": "float64",
        "cases": CASES,
        "second_order": build_second_order(),
    }
    write_json(os.path.join(out_dir, "ops.json"), ops)
    write_json(os.path.join(out_dir, "optim.json"), build_optim())
    write_json(os.path.join(out_dir, "lr_schedulers.json"), build_lr_schedulers())
    write_json(os.path.join(out_dir, "torch_mlp.json"), build_torch_mlp(out_dir))
    write_json(os.path.join(out_dir, "torch_lenet.json"), build_torch_lenet(out_dir))
    write_json(os.path.join(out_dir, "torch_cnn.json"), build_torch_cnn(out_dir))
    write_json(os.path.join(out_dir, "torch_layers.json"), build_torch_layers(out_dir))
    write_json(os.path.join(out_dir, "init.json"), build_init())

    for f in ["ops.json", "optim.json", "lr_schedulers.json", "torch_mlp.json", "torch_mlp.safetensors",
              "torch_lenet.json", "torch_lenet.safetensors", "torch_cnn.json",
              "torch_cnn.safetensors", "torch_layers.json", "torch_layers.safetensors",
              "init.json"]:
        p = os.path.join(out_dir, f)
        print(f"wrote {p} ({os.path.getsize(p)} bytes)")
    print(f"{len(CASES)} op cases, {len(ops['second_order'])} second-order cases, "
          f"{len(OPT_CONFIGS)} optimizer configs")


if __name__ == "__main__":
    sys.exit(main())
