#!/usr/bin/env python3
"""Bit-exact comparison of the qdq CLI against the installed TensorFlow (CPU, eager).

For each seeded random case it runs tf.quantization.quantize_and_dequantize_v2 (QuantizeAndDequantizeV4), its
gradient through tf.GradientTape, and tf.raw_ops.QuantizeAndDequantizeV4Grad, then `qdq forward` and `qdq grad`
on the same .npy files, and compares bit for bit (any NaN equals any NaN; the sign of zero counts).
Cases where TF raises must make qdq exit with status 1 and leave no output file.

Only the by-design differences of the spec (sections 4.5 and 9) are excluded from the bit-exact count:
  (a) NaN inside a range computed from the data (TF's result depends on the reduction order);
  (b) hardening: inputs qdq rejects although TF accepts (checked: qdq must exit 1);
  (c) the floor-based HALF_TO_EVEN form, if the installed TF uses it (detected at start);
  (d) an axis below -rank: TF's Python wrapper wraps it modulo rank, qdq rejects it (checked: exit 1).
Two more are decisions in README.md, listed separately (--strict counts them as failures):
  (e) a computed max over zeros of both signs: TF keeps one of them by reduction order, qdq orders -0 below +0;
  (f) subnormals: TF's CPU kernels run with FTZ/DAZ (a subnormal read or produced is 0), qdq is IEEE.
      Excluded per slice (forward) or per element (gradient) where a subnormal input, range, scale, step or
      output is involved.
TF 2.21 rejects every non-scalar input_min/input_max when range_given, which makes per-axis given ranges
unusable in V2/V4 (a regression of its new scalar check). Those cases are compared against TF run per
channel (the per-tensor kernel on each slice, which is what the per-axis kernel does) and, for HALF_TO_EVEN,
against QuantizeAndDequantizeV3, which still accepts them; they are reported in their own line.
Everything else that differs is a failure: a repro is printed and the exit status is 1.
"""

import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

try:
    import tensorflow as tf  # noqa: E402
except ImportError as e:  # pragma: no cover
    print(f"compare_with_tf: cannot import tensorflow: {e}", file=sys.stderr)
    sys.exit(2)

UINT = {np.float32: np.uint32, np.float64: np.uint64}
MANT = {np.float32: 23, np.float64: 52}


# ---------------------------------------------------------------------------------------------------------------
# A loop-free reference of the spec (in T arithmetic, no FTZ), used to build exact ties and to explain failures.

def q_bounds(signed, nb, narrow):
    if signed:
        return (-(1 << (nb - 1)) + (1 if narrow else 0)), (1 << (nb - 1)) - 1
    return 0, (1 << nb) - 1


def q_params(T, signed, nb, narrow, mn, mx):
    """ComputeQuantizationRange (spec 4.3) per channel: returns adjusted min, max, scale, inverse scale."""
    min_q, max_q = q_bounds(signed, nb, narrow)
    tminq, tmaxq, big = T(min_q), T(max_q), T(np.finfo(T).max)
    mn = np.asarray(mn, T)
    mx = np.asarray(mx, T)
    with np.errstate(all="ignore"):
        s_min = np.where(tminq * mn > 0, tminq / mn, big).astype(T)
        s_max = np.where(tmaxq * mx > 0, tmaxq / mx, big).astype(T)
        use_min = s_min < s_max
        scale = np.where(use_min, s_min, s_max).astype(T)
        inv = np.where(use_min, mn / tminq, mx / tmaxq).astype(T)
        new_min = np.where(use_min, mn, tminq * inv).astype(T)
        new_max = np.where(use_min, tmaxq * inv, mx).astype(T)
    return new_min, new_max, scale, inv


def round_t(v, mode, form):
    T = v.dtype.type
    with np.errstate(all="ignore"):
        if mode == "HALF_UP":
            return np.floor(v + T(0.5))
        if form == "rint":
            return np.rint(v)
        r = np.floor(v + T(0.5))  # the older floor-based HALF_TO_EVEN functor (spec 4.5)
        even = T(2) * np.floor(T(0.5) * v + T(0.5))
        return np.where(r - v == T(0.5), even, r).astype(T)


def layout(shape, axis):
    """(outer, depth, inner) of the per-axis view; per-tensor is one channel."""
    if axis is None:
        return 1, 1, int(np.prod(shape, dtype=np.int64))
    return (int(np.prod(shape[:axis], dtype=np.int64)), int(shape[axis]),
            int(np.prod(shape[axis + 1:], dtype=np.int64)))


def ref_forward(x, mn, mx, c, form="rint"):
    """Spec forward; axis must be valid and non-negative (or None). NaNs are skipped by the computed range."""
    T = x.dtype.type
    o, d, i = layout(x.shape, c.axis_nn)
    x3 = x.reshape(o, d, i)
    if x.size == 0:
        return x.copy()
    with np.errstate(all="ignore"), _quiet():
        if c.range_given:
            lo, hi = np.asarray(mn, T).reshape(-1), np.asarray(mx, T).reshape(-1)
        else:
            lo, hi = np.nanmin(x3, axis=(0, 2)).astype(T), np.nanmax(x3, axis=(0, 2)).astype(T)
        lo, hi, scale, inv = q_params(T, c.signed, c.num_bits, c.narrow, lo, hi)
        lo, hi, scale, inv = (a.reshape(1, d, 1) for a in (lo, hi, scale, inv))
        y = x3
        if c.range_given:
            y = np.where(hi < y, hi, y)
            y = np.where(y < lo, lo, y)
        out = (round_t((y * scale).astype(T), c.round_mode, form) * inv).astype(T)
    return out.reshape(x.shape)


class _quiet:
    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *a):
        self._w.__exit__(*a)


# ---------------------------------------------------------------------------------------------------------------
# Helpers

def bits_equal(a, b):
    """Elementwise: same bit pattern, or both NaN."""
    T = a.dtype.type
    with np.errstate(all="ignore"):
        return (a.view(UINT[T]) == b.view(UINT[T])) | (np.isnan(a) & np.isnan(b))


def hexbits(v):
    v = np.asarray(v)
    return "0x%0*x" % (v.dtype.itemsize * 2, int(v.view(UINT[v.dtype.type])))


def fmt(v):
    v = np.asarray(v)
    return f"{v.item()!r} ({hexbits(v)})"


def has_subnormal(*arrays):
    for a in arrays:
        a = np.asarray(a)
        if a.size and a.dtype.type in UINT:
            t = np.finfo(a.dtype).tiny
            with np.errstate(all="ignore"):
                if np.any((a != 0) & (np.abs(a) < t)):
                    return True
    return False


def num_arg(v):
    """A scalar as the CLI's number argument; it parses it as a double and casts, so repr() of the double is exact."""
    f = float(v)
    if np.isnan(f):
        return "nan"
    if np.isinf(f):
        return "inf" if f > 0 else "-inf"
    return repr(f)


def tf_error_text(e):
    msg = getattr(e, "message", None) or str(e)
    msg = msg.split("}} ", 1)[-1]
    return msg.split(" [Op:", 1)[0].strip()


# ---------------------------------------------------------------------------------------------------------------
# Case generation

class Case:
    """One random case; gen_case() sets the attributes."""


def rand_shape(rng):
    if rng.random() < 0.015:  # a few large tensors
        n = int(rng.integers(10_000, 100_001))
        if rng.random() < 0.5:
            return (n,)
        d = int(rng.integers(1, 65))
        return (max(1, n // d), d)
    rank = int(rng.choice(7, p=[0.08, 0.22, 0.22, 0.16, 0.12, 0.10, 0.10]))
    target = 10 ** rng.uniform(0, np.log10(2000))
    m = max(1, int(round(target ** (1.0 / max(rank, 1)) * 1.5)))
    dims = [int(rng.integers(1, m + 1)) for _ in range(rank)]
    while int(np.prod(dims)) > 2048:
        dims[int(np.argmax(dims))] //= 2
    if rank and rng.random() < 0.04:
        dims[int(rng.integers(rank))] = 0
    return tuple(dims)


def rand_num_bits(rng, signed):
    u = rng.random()
    if u < 0.72:
        return 8 if rng.random() < 0.2 else int(rng.integers(1, 17))
    if u < 0.85:
        return int(rng.integers(23, 33))
    if u < 0.975:
        return int(rng.integers(52, 62 if signed else 63))
    return int(rng.choice([0, -1, 62 if signed else 63, 64, 100]))


def magnitude(rng, T):
    u = rng.random()
    if u < 0.03:
        return float(np.finfo(T).tiny) * 10 ** rng.uniform(0, 3)
    if u < 0.06:
        return float(np.finfo(T).max) * 10 ** rng.uniform(-4, -0.5)
    return 10 ** rng.uniform(-3, 3)


def rand_ranges(rng, T, depth, m, signed, nb, narrow):
    """(lo, hi) per channel with lo <= hi."""
    kind = rng.choice(["sym", "asym", "pos", "neg", "equal", "pow2", "zero", "inf"],
                      p=[0.22, 0.24, 0.12, 0.08, 0.06, 0.22, 0.03, 0.03])
    a = m * rng.uniform(0.2, 2.0, depth)
    b = m * rng.uniform(0.2, 2.0, depth)
    if kind == "sym":
        lo, hi = -a, a
    elif kind == "asym":
        lo, hi = np.minimum(-a * rng.uniform(0, 1.5, depth), b), np.maximum(-a * rng.uniform(0, 1.5, depth), b)
        lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    elif kind == "pos":
        lo, hi = (np.zeros(depth) if rng.random() < 0.5 else np.minimum(a, b) * 0.5), np.maximum(a, b)
    elif kind == "neg":
        lo, hi = -np.maximum(a, b), (np.zeros(depth) if rng.random() < 0.5 else -np.minimum(a, b) * 0.5)
    elif kind == "equal":
        lo = hi = rng.choice([-1, 1]) * a
    elif kind == "pow2":  # scale an exact power of two: exact ties are easy to hit
        min_q, max_q = q_bounds(signed, max(1, min(nb, 60)), narrow)
        e = np.ldexp(1.0, (np.round(np.log2(m)) - min(nb, 60) + 1 + rng.integers(-2, 3, depth)).astype(int))
        lo, hi = min_q * e, max_q * e
    elif kind == "zero":
        lo = hi = np.zeros(depth)
    else:
        lo = np.where(rng.random(depth) < 0.5, -np.inf, -a)
        hi = np.where(rng.random(depth) < 0.5, np.inf, a)
    with np.errstate(all="ignore"):
        lo, hi = np.asarray(lo, dtype=np.float64).astype(T), np.asarray(hi, dtype=np.float64).astype(T)
    return np.minimum(lo, hi), np.maximum(lo, hi), str(kind)


def exact_ties(rng, T, n, scale, inv, kmin, kmax):
    """n values x with fl(x * scale) == k + 0.5 exactly where possible (k in [kmin, kmax))."""
    kmin, kmax = max(kmin, -(1 << 40)), min(kmax, 1 << 40)
    if kmax <= kmin:
        kmax = kmin + 1
    k = rng.integers(kmin, kmax, n).astype(np.float64)
    t = (k + 0.5).astype(T)
    with np.errstate(all="ignore"):
        x0 = (t.astype(np.float64) / float(scale)).astype(T)
        best = x0.copy()
        found = np.zeros(n, bool)
        for steps in (0, 1, -1, 2, -2, 3, -3):
            cand = x0
            for _ in range(abs(steps)):
                cand = np.nextafter(cand, T(np.inf) if steps > 0 else T(-np.inf)).astype(T)
            ok = (~found) & ((cand * T(scale)).astype(T) == t)
            best = np.where(ok, cand, best)
            found |= ok
        # A third of them one ulp off the tie, to catch rounding done in the wrong precision.
        off = rng.random(n) < 0.33
        best = np.where(off, np.nextafter(best, np.where(rng.random(n) < 0.5, T(np.inf), T(-np.inf))), best)
    return best.astype(T)


def sprinkle(rng, T, a, p_nan, p_inf, p_den, p_zero, p_huge):
    flat = a.reshape(-1)
    if flat.size == 0:
        return
    fi = np.finfo(T)

    def put(vals):
        pos = rng.integers(0, flat.size, len(vals))
        flat[pos] = np.asarray(vals, T)

    if rng.random() < p_zero:
        put([0.0, -0.0][: int(rng.integers(1, 3))] * int(rng.integers(1, 3)))
    if rng.random() < p_inf:
        put(list(rng.choice([np.inf, -np.inf], int(rng.integers(1, 3)))))
    if rng.random() < p_nan:
        put([np.nan] * int(rng.integers(1, 3)))
    if rng.random() < p_den:
        sub = [fi.smallest_subnormal, -fi.smallest_subnormal, fi.tiny * 0.5, -fi.tiny * rng.uniform(0.01, 0.99)]
        put(list(rng.choice(np.asarray(sub, T), int(rng.integers(1, 4)))))
    if rng.random() < p_huge:
        put(list(rng.choice(np.asarray([fi.max, -fi.max, fi.max / 3, fi.tiny, -fi.tiny], T), int(rng.integers(1, 3)))))


def gen_case(seed, idx):
    rng = np.random.default_rng([seed, idx])
    c = Case()
    c.idx = idx
    T = np.float32 if rng.random() < 0.5 else np.float64
    c.T = T
    shape = rand_shape(rng)
    rank = len(shape)
    c.shape = shape

    # Axis as the Python API takes it; axis_nn is the valid non-negative axis qdq and TF agree on (or None).
    c.axis, c.axis_nn, c.axis_kind = None, None, "none"
    u = rng.random()
    if rank == 0:
        if u < 0.06:
            c.axis, c.axis_kind = int(rng.choice([-1, 0, 1])), "invalid"
    elif u < 0.60:
        c.axis = int(rng.integers(-rank, rank))
        c.axis_nn, c.axis_kind = c.axis % rank, "valid"
    elif u < 0.625:
        c.axis, c.axis_kind = int(rng.integers(rank, rank + 3)), "invalid"
    elif u < 0.65:
        c.axis, c.axis_kind = int(rng.integers(-rank - 3, -rank)), "wrap"

    c.signed = bool(rng.random() < 0.7)
    c.num_bits = rand_num_bits(rng, c.signed)
    c.range_given = bool(rng.random() < 0.5)
    c.round_mode = "HALF_UP" if rng.random() < 0.5 else "HALF_TO_EVEN"
    c.narrow = bool(rng.random() < 0.3)
    nb_ok = 0 < c.num_bits < (62 if c.signed else 63)
    nb_eff = c.num_bits if nb_ok else 8

    # The axis TF acts on: the valid one, or the one the Python wrapper wraps to.
    c.axis_eff = c.axis_nn if c.axis_kind == "valid" else (c.axis % rank if c.axis_kind == "wrap" else None)
    o, depth, i = layout(shape, c.axis_eff)
    m = magnitude(rng, T)
    lo, hi, c.range_kind = rand_ranges(rng, T, depth, m, c.signed, nb_eff, c.narrow)

    # Data, built as (outer, depth, inner).
    dk = str(rng.choice(["normal", "uniform", "ties", "grid", "ints", "const", "allneg", "zeros"],
                        p=[0.24, 0.18, 0.30, 0.10, 0.06, 0.04, 0.06, 0.02]))
    c.data_kind = dk
    x3 = np.empty((o, depth, i), T)
    n_ch = o * i
    with np.errstate(all="ignore"):
        for ch in range(depth):
            l, h = float(lo[ch]), float(hi[ch])
            w = (h - l) if np.isfinite(h - l) and h > l else m
            if dk == "normal":
                v = rng.normal(0, m, n_ch)
            elif dk == "uniform":
                v = rng.uniform(l - 0.25 * w if np.isfinite(l) else -m, h + 0.25 * w if np.isfinite(h) else m, n_ch)
            elif dk in ("ties", "grid"):
                if not np.isfinite(l) or not np.isfinite(h):
                    l, h = -m, m
                if not c.range_given and h <= l:
                    l, h = -m, m
                alo, ahi, sc, inv = (a.item() for a in q_params(T, c.signed, nb_eff, c.narrow, T(l), T(h)))
                min_q, max_q = q_bounds(c.signed, nb_eff, c.narrow)
                if np.isfinite(sc) and sc > 0 and np.isfinite(inv) and inv != 0:
                    kmin, kmax = (int(np.floor(max(min_q, alo * sc))), int(np.floor(min(max_q, ahi * sc))))
                    if dk == "ties":
                        v = exact_ties(rng, T, n_ch, sc, inv, kmin, kmax)
                    else:
                        k = rng.integers(max(kmin, -(1 << 40)), max(min(kmax, 1 << 40), kmin + 1) + 1, n_ch)
                        v = (k.astype(T) * T(inv)).astype(T)
                else:
                    v = rng.uniform(l, h, n_ch) if h > l else np.full(n_ch, l)
                if not c.range_given and n_ch >= 2:  # pin the computed range to [l, h]
                    v = np.asarray(v, np.float64)
                    v[rng.integers(n_ch)] = l
                    v[rng.integers(n_ch)] = h
            elif dk == "ints":
                v = rng.integers(-300, 300, n_ch).astype(np.float64)
            elif dk == "const":
                v = np.full(n_ch, rng.choice([0.0, -0.0, -3.5, 1.0, m, -m]))
            elif dk == "allneg":
                v = -np.abs(rng.normal(0, m, n_ch))
                v[rng.random(n_ch) < 0.2] = rng.choice([0.0, -0.0])
            else:  # zeros of both signs: TF's max over them is order-dependent
                v = np.where(rng.random(n_ch) < 0.5, -0.0, 0.0)
            x3[:, ch, :] = np.asarray(v, np.float64).astype(T).reshape(o, i)
    x = x3.reshape(shape)  # (outer, depth, inner) is the row-major order of shape around the axis
    sprinkle(rng, T, x, p_nan=0.06, p_inf=0.06, p_den=0.05, p_zero=0.15, p_huge=0.04)
    c.x = np.array(x, T, order="C")

    # Forward min/max. With range_given=False TF never reads them; the gradient still uses them.
    if not c.range_given:
        u = rng.random()
        if u < 0.3:
            lo, hi = np.zeros(depth, T), np.zeros(depth, T)
        elif u < 0.6 and c.x.size:
            with np.errstate(all="ignore"), _quiet():
                q = np.nanquantile(c.x.astype(np.float64), [0.2, 0.8]) if np.any(np.isfinite(c.x)) else [0, 0]
            lo, hi = np.full(depth, q[0], T), np.full(depth, q[1], T)
    per_tensor = c.axis_kind not in ("valid", "wrap")
    c.min_kind = "ok"
    if per_tensor:
        fmin, fmax = np.asarray(lo[0], T).reshape(()), np.asarray(hi[0], T).reshape(())
        u = rng.random()
        if u < 0.03:
            fmin, fmax, c.min_kind = fmin.reshape(1), fmax.reshape(1), "pt_1elem"
        elif u < 0.04:
            fmin, fmax, c.min_kind = fmin.reshape(1, 1), fmax.reshape(1, 1), "pt_1elem"
        elif u < 0.06:
            fmin, fmax, c.min_kind = np.repeat(fmin, 2), np.repeat(fmax, 2), "pt_n_elem"
        elif u < 0.065:
            fmin, fmax, c.min_kind = np.zeros(0, T), np.zeros(0, T), "pt_n_elem"
        elif c.range_given and u < 0.08:
            fmin, fmax, c.min_kind = fmax, fmin, "pt_swapped"  # min > max unless equal
        elif c.range_given and u < 0.085:
            fmin, c.min_kind = np.asarray(np.nan, T).reshape(()), "pt_nan"
    else:
        fmin, fmax = lo.copy(), hi.copy()
        u = rng.random()
        if u < 0.03:
            fmin, fmax, c.min_kind = np.append(fmin, T(0)), np.append(fmax, T(1)), "pa_wrong_len"
        elif u < 0.045:
            fmin, fmax, c.min_kind = fmin.reshape(-1, 1), fmax.reshape(-1, 1), "pa_rank2"
        elif u < 0.055:
            fmin, fmax, c.min_kind = np.asarray(fmin[0] if depth else 0, T).reshape(()), \
                np.asarray(fmax[0] if depth else 0, T).reshape(()), "pa_rank0"
        elif u < 0.075 and depth:
            j = int(rng.integers(depth))
            if rng.random() < 0.5:
                fmin[j], fmax[j] = fmax[j] + abs(fmax[j]) + 1, fmin[j]
                c.min_kind = "pa_min_gt_max"
            else:
                fmin[j], c.min_kind = T(np.nan), "pa_nan"
    c.fmin, c.fmax = np.array(fmin, T, order="C"), np.array(fmax, T, order="C")

    # Gradient inputs: the forward's min/max and axis (so the tape's gradient is comparable), sometimes changed.
    c.g = rng.normal(0, 10 ** rng.uniform(-2, 2), c.x.shape).astype(T)
    sprinkle(rng, T, c.g, p_nan=0.08, p_inf=0.08, p_den=0.04, p_zero=0.15, p_huge=0.03)
    c.gmin, c.gmax, c.gaxis_cli = c.fmin, c.fmax, c.axis
    c.grad_kind = "same"
    if rng.random() < 0.12:
        kinds = ["swap", "nan", "inf", "gshape", "axis_invalid"] + (
            ["vec1"] if per_tensor else ["wrong_len", "rank2", "rank0"])
        gk = str(rng.choice(kinds))
        c.grad_kind = gk
        gmin, gmax = c.fmin.copy(), c.fmax.copy()
        if gk == "swap":
            gmin, gmax = gmax, gmin
        elif gk == "nan" and gmin.size:
            gmin.reshape(-1)[int(rng.integers(gmin.size))] = np.nan
        elif gk == "inf" and gmin.size:
            gmin.reshape(-1)[int(rng.integers(gmin.size))] = -np.inf
            gmax.reshape(-1)[int(rng.integers(gmax.size))] = np.inf
        elif gk == "gshape":
            c.g = np.zeros(c.x.shape + (2,), T)
        elif gk == "axis_invalid":
            c.gaxis_cli = rank + int(rng.integers(0, 2))
        elif gk == "vec1":
            gmin, gmax = gmin.reshape(-1)[:1].copy(), gmax.reshape(-1)[:1].copy()
            if gmin.size == 0:
                gmin, gmax = np.zeros(1, T), np.ones(1, T)
        elif gk == "wrong_len":
            gmin, gmax = np.append(gmin.reshape(-1), T(0)), np.append(gmax.reshape(-1), T(1))
        elif gk == "rank2":
            gmin, gmax = gmin.reshape(-1, 1), gmax.reshape(-1, 1)
        elif gk == "rank0":
            gmin = np.asarray(gmin.reshape(-1)[0] if gmin.size else 0, T).reshape(())
            gmax = np.asarray(gmax.reshape(-1)[0] if gmax.size else 1, T).reshape(())
        c.gmin, c.gmax = np.array(gmin, T, order="C"), np.array(gmax, T, order="C")

    # How the CLI is called: numbers for scalar ranges sometimes, default flags sometimes left out.
    c.numbers = bool(rng.random() < 0.35)
    c.omit_defaults = bool(rng.random() < 0.5)
    c.eq_form = bool(rng.random() < 0.1)
    c.want_minmax_bp = bool(rng.random() < 0.3)
    return c


# ---------------------------------------------------------------------------------------------------------------
# TensorFlow side

QDQ = tf.quantization.quantize_and_dequantize_v2
TF_ERRORS = (tf.errors.OpError, ValueError, ZeroDivisionError, TypeError)


def tf_forward(c, x=None, mn=None, mx=None, axis="case"):
    x = c.x if x is None else x
    mn = c.fmin if mn is None else mn
    mx = c.fmax if mx is None else mx
    axis = c.axis if axis == "case" else axis
    try:
        y = QDQ(tf.constant(x), tf.constant(mn), tf.constant(mx), signed_input=c.signed, num_bits=c.num_bits,
                range_given=c.range_given, round_mode=c.round_mode, narrow_range=c.narrow, axis=axis)
        return "ok", y.numpy()
    except TF_ERRORS as e:
        return "reject", f"{type(e).__name__}: {tf_error_text(e)}"


def tf_per_channel(c):
    """Per-axis given range run as TF's per-tensor kernel on each slice (what the per-axis kernel does per channel)."""
    out = np.empty_like(c.x)
    ax = c.axis_nn
    for ch in range(c.x.shape[ax]):
        sl = [slice(None)] * c.x.ndim
        sl[ax] = ch
        status, y = tf_forward(c, np.array(c.x[tuple(sl)], c.T), c.fmin[ch], c.fmax[ch], axis=None)
        if status != "ok":
            return status, y
        out[tuple(sl)] = y
    return "ok", out


def tf_v3(c):
    try:
        y = tf.raw_ops.QuantizeAndDequantizeV3(input=c.x, input_min=c.fmin, input_max=c.fmax, num_bits=c.num_bits,
                                               signed_input=c.signed, range_given=True, narrow_range=c.narrow,
                                               axis=c.axis_nn)
        return "ok", y.numpy()
    except TF_ERRORS as e:
        return "reject", f"{type(e).__name__}: {tf_error_text(e)}"


def raw_grad_axis(c):
    a = c.gaxis_cli
    if a is None:
        return -1
    rank = c.x.ndim
    if rank == 0:
        return max(a, 0)  # the Python API fails on a rank-0 input with any axis; 0 makes the raw op reject too
    if a < 0:
        return a % rank  # what the Python API does; only the "wrap" cases reach below -rank
    return a


def tf_raw_grad(c):
    try:
        r = tf.raw_ops.QuantizeAndDequantizeV4Grad(gradients=c.g, input=c.x, input_min=c.gmin, input_max=c.gmax,
                                                   axis=raw_grad_axis(c))
        return "ok", tuple(t.numpy() for t in r)
    except TF_ERRORS as e:
        return "reject", f"{type(e).__name__}: {tf_error_text(e)}"


def tf_tape_grad(c):
    xt, mnt, mxt = tf.constant(c.x), tf.constant(c.fmin), tf.constant(c.fmax)
    try:
        with tf.GradientTape() as tape:
            tape.watch([xt, mnt, mxt])
            y = QDQ(xt, mnt, mxt, signed_input=c.signed, num_bits=c.num_bits, range_given=c.range_given,
                    round_mode=c.round_mode, narrow_range=c.narrow, axis=c.axis)
        r = tape.gradient(y, [xt, mnt, mxt], output_gradients=tf.constant(c.g))
        return "ok", tuple(t.numpy() for t in r)
    except TF_ERRORS as e:
        return "reject", f"{type(e).__name__}: {tf_error_text(e)}"


def detect_half_to_even_form():
    """rint (IEEE ties-to-even) or the older floor-based functor (spec 4.5), measured on this TF build."""
    res = {}
    for T, nb, mant in ((np.float32, 25, 23), (np.float64, 54, 52)):
        lo = 1 << mant
        # Signed nb bits with range [-2^(nb-1), 2^(nb-2)]: the min side decides, scale = 1 and inverse = 1 exactly.
        mn, mx = T(-(2.0 ** (nb - 1))), T(2.0 ** (nb - 2))
        for n in (1, 3, 8, 64, 1001):
            odd = (lo + 1 + 2 * np.arange(n) * 977 % lo).astype(T)
            y = QDQ(tf.constant(odd), mn, mx, range_given=True, num_bits=nb).numpy()
            res.setdefault("odd_exact", []).append(bool(np.all(y == odd)))
            z = QDQ(tf.constant(np.full(n, -0.3, T)), mn, mx, range_given=True, num_bits=nb).numpy()
            res.setdefault("neg_zero", []).append(bool(np.all(np.signbit(z))))
    if all(res["odd_exact"]) and all(res["neg_zero"]):
        return "rint", "IEEE round-half-to-even (rint): -0.3*scale -> -0, odd integers >= 2^23 (f32) / 2^52 (f64) exact"
    if not any(res["odd_exact"]) and not any(res["neg_zero"]):
        return "floor", "floor-based: -0.3*scale -> +0, odd integers in [2^23, 2^24) come out one higher"
    return "mixed", f"mixed (depends on size): {res}"


# ---------------------------------------------------------------------------------------------------------------
# qdq CLI side

def write_npy(path, a):
    np.save(path, np.array(a, order="C"), allow_pickle=False)


def range_arg(c, d, name, a):
    if c.numbers and a.ndim == 0:
        return num_arg(a)
    p = os.path.join(d, name + ".npy")
    write_npy(p, a)
    return p


def flag(c, args, name, value, default=None):
    if c.omit_defaults and default is not None and value == default:
        return
    if c.eq_form:
        args.append(f"--{name}={value}")
    else:
        args += [f"--{name}", str(value)]


def bool_s(b):
    return "true" if b else "false"


def prepare_cli(c, d, qdq):
    os.makedirs(d, exist_ok=True)
    write_npy(os.path.join(d, "x.npy"), c.x)
    fwd = [qdq, "forward"]
    flag(c, fwd, "input", os.path.join(d, "x.npy"))
    flag(c, fwd, "input-min", range_arg(c, d, "fmin", c.fmin))
    flag(c, fwd, "input-max", range_arg(c, d, "fmax", c.fmax))
    flag(c, fwd, "output", os.path.join(d, "y.npy"))
    flag(c, fwd, "signed-input", bool_s(c.signed), "true")
    flag(c, fwd, "num-bits", c.num_bits, 8)
    flag(c, fwd, "range-given", bool_s(c.range_given), "false")
    flag(c, fwd, "round-mode", c.round_mode, "HALF_TO_EVEN")
    flag(c, fwd, "narrow-range", bool_s(c.narrow), "false")
    if c.axis is not None:
        flag(c, fwd, "axis", c.axis)
    write_npy(os.path.join(d, "g.npy"), c.g)
    grd = [qdq, "grad"]
    flag(c, grd, "gradients", os.path.join(d, "g.npy"))
    flag(c, grd, "input", os.path.join(d, "x.npy"))
    flag(c, grd, "input-min", range_arg(c, d, "gmin", c.gmin))
    flag(c, grd, "input-max", range_arg(c, d, "gmax", c.gmax))
    flag(c, grd, "output", os.path.join(d, "dx.npy"))
    if c.gaxis_cli is not None:
        flag(c, grd, "axis", c.gaxis_cli)
    if c.want_minmax_bp:
        flag(c, grd, "output-min-backprop", os.path.join(d, "dmin.npy"))
        flag(c, grd, "output-max-backprop", os.path.join(d, "dmax.npy"))
    return fwd, grd


def run_cli(args, outputs):
    """Runs one CLI call; returns (rc, stderr, [arrays or None], problems)."""
    p = subprocess.run(args, capture_output=True, text=True)
    problems = []
    arrays = []
    d = os.path.dirname(outputs[0])
    leftovers = [f for f in os.listdir(d) if ".tmp-" in f]
    if leftovers:
        problems.append(f"temporary files left behind: {leftovers}")
    for o in outputs:
        if p.returncode == 0:
            try:
                arrays.append(np.load(o, allow_pickle=False))
            except Exception as e:  # noqa: BLE001
                arrays.append(None)
                problems.append(f"cannot read output {o}: {e}")
        else:
            arrays.append(None)
            if os.path.exists(o):
                problems.append(f"exit {p.returncode} but output {os.path.basename(o)} exists")
    if p.returncode not in (0, 1):
        problems.append(f"exit status {p.returncode} (expected 0 or 1)")
    if p.returncode == 1 and not p.stderr.startswith("qdq: "):
        problems.append(f"error message not prefixed 'qdq: ': {p.stderr!r}")
    return p.returncode, p.stderr.strip(), arrays, problems


def run_case_cli(c, d, fwd, grd):
    f = run_cli(fwd, [os.path.join(d, "y.npy")])
    outs = [os.path.join(d, "dx.npy")]
    if c.want_minmax_bp:
        outs += [os.path.join(d, "dmin.npy"), os.path.join(d, "dmax.npy")]
    g = run_cli(grd, outs)
    return f, g


# ---------------------------------------------------------------------------------------------------------------
# Comparison

class Tally:
    def __init__(self):
        self.n = {}

    def add(self, key):
        self.n[key] = self.n.get(key, 0) + 1

    def get(self, key):
        return self.n.get(key, 0)


def slices_with(x, axis_nn, pred):
    """Boolean mask over elements: True where the element's slice satisfies pred(slice values)."""
    o, d, i = layout(x.shape, axis_nn)
    x3 = x.reshape(o, d, i)
    flags = np.array([bool(pred(x3[:, ch, :])) for ch in range(d)], bool)
    return np.broadcast_to(flags.reshape(1, d, 1), (o, d, i)).reshape(x.shape)


def mixed_zero_max(s):
    v = s[~np.isnan(s)]
    if v.size == 0:
        return False
    # Under TF's DAZ a subnormal compares as a zero of its sign.
    v = np.where(np.abs(v) < np.finfo(v.dtype).tiny, np.copysign(v.dtype.type(0), v), v)
    if v.max() != 0:
        return False
    z = v[v == 0]
    return bool(np.any(np.signbit(z)) and np.any(~np.signbit(z)))


def subnormal(a):
    a = np.asarray(a)
    with np.errstate(all="ignore"):
        return (a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny)


def slice_params(c):
    """The [outer, depth, inner] layout of a case, its data as that view, each slice's raw range (given, or
    the NaN-skipping min/max) and the spec's scale and step for it."""
    o, d, i = layout(c.x.shape, c.axis_nn)
    x3 = c.x.reshape(o, d, i)
    if c.range_given:
        lo, hi = c.fmin.reshape(-1), c.fmax.reshape(-1)
    else:
        lo, hi = np.nanmin(x3, axis=(0, 2)), np.nanmax(x3, axis=(0, 2))
    _, _, sc, inv = q_params(c.T, c.signed, c.num_bits, c.narrow, lo, hi)
    return (o, d, i), x3, lo, hi, sc, inv


def ftz_forward_mask(c):
    """Elements of slices that TF's FTZ/DAZ can change: subnormal data, range, scale, step or outputs."""
    none = np.zeros(c.x.shape, bool)
    if c.axis_kind not in ("valid", "none") or not 0 < c.num_bits < (62 if c.signed else 63) or not c.x.size:
        return none
    try:
        with _quiet(), np.errstate(all="ignore"):
            (o, d, i), x3, lo, hi, sc, inv = slice_params(c)
            ref = ref_forward(c.x, c.fmin, c.fmax, c).reshape(o, d, i)
            flag = (subnormal(x3).any(axis=(0, 2)) | subnormal(lo) | subnormal(hi) | subnormal(sc) | subnormal(inv)
                    | subnormal(ref).any(axis=(0, 2)))
            return np.broadcast_to(flag.reshape(1, d, 1), (o, d, i)).reshape(c.x.shape)
    except Exception:  # noqa: BLE001
        return none


def ftz_grad_mask(c):
    """Gradient elements TF's FTZ/DAZ can change: a subnormal gradient, input, or bound of its channel."""
    try:
        ax = raw_grad_axis(c)
        o, d, i = layout(c.x.shape, None if ax == -1 else ax)
        chan = (subnormal(c.gmin.reshape(-1)) | subnormal(c.gmax.reshape(-1))).reshape(1, -1, 1)
        m = subnormal(c.g) | subnormal(c.x)
        return m | np.broadcast_to(chan, (o, d, i)).reshape(c.x.shape)
    except Exception:  # noqa: BLE001
        return np.zeros(c.x.shape, bool)


def expected_hardening(c):
    """Why qdq must reject a forward TF accepts (spec section 9), or None."""
    if not c.range_given:
        return None
    if c.min_kind == "pt_n_elem":
        return "per-tensor min/max not one element"
    if c.min_kind in ("pa_min_gt_max", "pa_nan"):
        return "per-axis given min > max or NaN"
    if c.min_kind in ("pa_rank2", "pa_rank0"):
        return "per-axis min/max not rank 1"
    return None


def describe(c):
    ax = "None" if c.axis is None else c.axis
    return (f"case {c.idx}: {np.dtype(c.T).name} shape {list(c.x.shape)} axis={ax} signed_input={c.signed} "
            f"num_bits={c.num_bits} range_given={c.range_given} round_mode={c.round_mode} "
            f"narrow_range={c.narrow} [data {c.data_kind}, range {c.range_kind}, min/max {c.min_kind}, "
            f"grad {c.grad_kind}]")


def short(a, n=8):
    a = np.asarray(a)
    flat = a.reshape(-1)
    s = np.array2string(flat[:n], precision=9, separator=", ")
    return f"shape {list(a.shape)} {s}{' ...' if flat.size > n else ''}"


def diagnose(c, grad=False):
    """Likely causes of a failure, most specific first (used to group failures in the summary)."""
    notes = []
    if not grad and c.range_given and c.min_kind == "pt_1elem":
        notes.append("per-tensor given range held in a 1-element non-scalar tensor: TF 2.21 rejects it "
                     "('input_min must be a scalar.'), the spec and qdq's API accept it")
    arrays = [c.x, c.fmin, c.fmax] + ([c.g, c.gmin, c.gmax] if grad else [])
    if has_subnormal(*arrays):
        notes.append("subnormal inputs (TF's CPU kernels run with FTZ/DAZ: subnormals read and written as 0)")
    if grad and (np.any(np.isnan(c.gmin)) or np.any(np.isnan(c.gmax))):
        notes.append("NaN in the gradient's input_min/input_max (TF: x >= NaN is false, gradient 0)")
    if grad and np.any(np.isnan(c.x)):
        notes.append("NaN in the gradient's input (TF: not in range, gradient 0)")
    if (not grad and not c.range_given and c.axis_kind in ("valid", "none") and c.x.size
            and np.any(slices_with(c.x, c.axis_nn, mixed_zero_max))):
        notes.append("a slice whose max is a zero of both signs (TF's max reduction keeps one by order)")
    if not grad and c.axis_kind in ("valid", "none") and 0 < c.num_bits < (62 if c.signed else 63) and c.x.size:
        with _quiet(), np.errstate(all="ignore"):
            try:
                _, _, _, _, sc, inv = slice_params(c)
                if has_subnormal(sc, inv):
                    notes.append("subnormal scale or inverse scale (TF flushes it to 0: FTZ/DAZ)")
                if has_subnormal(ref_forward(c.x, c.fmin, c.fmax, c)):
                    notes.append("subnormal outputs in the spec reference (TF flushes them to 0: FTZ)")
                if np.any(sc == np.finfo(c.T).max):
                    notes.append("a slice with an unconstrained side: scale = numeric_limits<T>::max() "
                                 "(zero range, unsigned with max <= 0, ...)")
            except Exception:  # noqa: BLE001
                pass
    return notes


def report_values(c, tfv, qv, label):
    lines = []
    if tfv.shape != qv.shape or tfv.dtype != qv.dtype:
        return [f"  {label}: TF {tfv.dtype} {list(tfv.shape)} vs qdq {qv.dtype} {list(qv.shape)}"]
    eq = bits_equal(tfv, qv)
    bad = np.flatnonzero(~eq.reshape(-1))
    lines.append(f"  {label}: {bad.size} of {eq.size} elements differ")
    ref = None
    if label == "forward" and c.axis_kind in ("valid", "none"):
        try:
            ref = ref_forward(c.x, c.fmin, c.fmax, c).reshape(-1)
        except Exception:  # noqa: BLE001
            ref = None
    for k in bad[:4]:
        idx = np.unravel_index(k, tfv.shape) if tfv.ndim else ()
        line = (f"    at {list(map(int, idx))}: x={fmt(c.x.reshape(-1)[k])}"
                + (f" g={fmt(c.g.reshape(-1)[k])}" if label != "forward" and c.g.shape == c.x.shape else "")
                + f"  TF={fmt(tfv.reshape(-1)[k])}  qdq={fmt(qv.reshape(-1)[k])}")
        if ref is not None:
            line += f"  spec-ref={fmt(ref[k])}"
        lines.append(line)
    return lines


def minimal_forward_repro(c, tfv, qv, qdq, tmp):
    """Shrinks a forward mismatch to a 1-D per-tensor case (the failing element and its slice's range)."""
    bad = np.flatnonzero(~bits_equal(tfv, qv).reshape(-1))
    if bad.size == 0 or c.axis_kind not in ("valid", "none"):
        return None
    k = int(bad[0])
    o, d, i = layout(c.x.shape, c.axis_nn)
    ch = (k // i) % d
    s = c.x.reshape(o, d, i)[:, ch, :].reshape(-1)
    xk = c.x.reshape(-1)[k]
    cands = []
    if c.range_given:
        mn, mx = c.fmin.reshape(-1)[ch if c.fmin.size > 1 else 0], c.fmax.reshape(-1)[ch if c.fmax.size > 1 else 0]
        cands.append((np.array([xk], c.T), mn, mx))
    else:
        fin = s[~np.isnan(s)]
        if fin.size:
            cands.append((np.array([xk, fin.min(), fin.max()], c.T), c.T(0), c.T(0)))
            cands.append((np.array([fin.min(), fin.max(), xk], c.T), c.T(0), c.T(0)))
        cands.append((s.copy(), c.T(0), c.T(0)))
    for xs, mn, mx in cands:
        mn, mx = np.asarray(mn, c.T).reshape(()), np.asarray(mx, c.T).reshape(())
        st, ty = tf_forward(c, xs, mn, mx, axis=None)
        if st != "ok":
            continue
        d2 = os.path.join(tmp, f"min{c.idx}")
        os.makedirs(d2, exist_ok=True)
        write_npy(os.path.join(d2, "x.npy"), xs)
        write_npy(os.path.join(d2, "mn.npy"), mn)
        write_npy(os.path.join(d2, "mx.npy"), mx)
        args = [qdq, "forward", "--input", os.path.join(d2, "x.npy"), "--input-min", os.path.join(d2, "mn.npy"),
                "--input-max", os.path.join(d2, "mx.npy"), "--output", os.path.join(d2, "y.npy"),
                "--signed-input", bool_s(c.signed), "--num-bits", str(c.num_bits),
                "--range-given", bool_s(c.range_given), "--round-mode", c.round_mode,
                "--narrow-range", bool_s(c.narrow)]
        rc, err, arrs, _ = run_cli(args, [os.path.join(d2, "y.npy")])
        if rc == 0 and not np.all(bits_equal(ty, arrs[0])):
            j = int(np.flatnonzero(~bits_equal(ty, arrs[0]))[0])
            return (f"  minimal repro: x = np.array({[float(v) for v in xs]!r}, np.{np.dtype(c.T).name}), "
                    f"input_min={float(mn)!r}, input_max={float(mx)!r}, axis=None, same attrs\n"
                    f"    element {j}: TF={fmt(ty[j])} qdq={fmt(arrs[0][j])}")
    return None


def minimal_grad_repro(c, tfv, qv):
    bad = np.flatnonzero(~bits_equal(tfv, qv).reshape(-1))
    if bad.size == 0:
        return None
    k = int(bad[0])
    ax = raw_grad_axis(c)
    if ax == -1:
        mn, mx = c.gmin.reshape(-1)[0], c.gmax.reshape(-1)[0]
    else:
        o, d, i = layout(c.x.shape, ax)
        ch = (k // i) % d
        mn, mx = c.gmin.reshape(-1)[ch], c.gmax.reshape(-1)[ch]
    return (f"  minimal repro: gradients={fmt(c.g.reshape(-1)[k])} input={fmt(c.x.reshape(-1)[k])} "
            f"input_min={fmt(mn)} input_max={fmt(mx)} (per-tensor): TF={fmt(tfv.reshape(-1)[k])} "
            f"qdq={fmt(qv.reshape(-1)[k])}")


# ---------------------------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qdq", default="/work/main/build/bin/qdq", help="path of the qdq CLI")
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--jobs", type=int, default=2, help="parallel CLI calls")
    ap.add_argument("--max-repros", type=int, default=12)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--only", type=int, nargs="*", help="run only these case numbers")
    ap.add_argument("--details", help="write every failing case's repro to this file")
    ap.add_argument("--allow", action="append", default=[], choices=["scalar-range"],
                    help="also exclude scalar-range: TF 2.21 rejecting a 1-element non-scalar per-tensor given "
                         "range, which qdq accepts (no decision on it yet)")
    ap.add_argument("--strict", action="store_true",
                    help="count the README's decided differences (subnormals, zeros of both signs) as failures")
    args = ap.parse_args()
    # Differences the README decides on (qdq is IEEE on subnormals; its min/max order -0 below +0).
    args.allow = set(args.allow) | (set() if args.strict else {"ftz", "mixed-zero"})

    if not os.access(args.qdq, os.X_OK):
        print(f"compare_with_tf: qdq CLI not found or not executable: {args.qdq}", file=sys.stderr)
        return 2
    t0 = time.time()
    form, form_text = detect_half_to_even_form()
    qdq_version = subprocess.run([args.qdq, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"TensorFlow {tf.__version__} (CPU, eager); qdq {qdq_version}")
    print(f"TF HALF_TO_EVEN form: {form_text}")

    tmp = tempfile.mkdtemp(prefix="qdq_tf_")
    fwd_t, grad_t, tape_t, info = Tally(), Tally(), Tally(), Tally()
    failures = []  # (case, lines)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs))
    pending = []

    msg_examples = {}

    def note_messages(kind, tf_text, q_err):
        tf_msg = tf_text.split(": ", 1)[-1]
        q_msg = q_err.split("INVALID_ARGUMENT: ", 1)[-1] if "INVALID_ARGUMENT: " in q_err else None
        if q_msg is None:
            info.add(f"{kind} rejections without 'INVALID_ARGUMENT: ' in qdq's message")
        elif q_msg == tf_msg:
            info.add(f"{kind} rejections with TF's exact message")
        else:
            info.add(f"{kind} rejections with another message")
            msg_examples.setdefault((kind, tf_msg[:60]), (tf_msg, q_err))

    def compare_forward(c, ref_status, ref_val, f_rc, f_err, f_arr, via, lines):
        hard = expected_hardening(c)
        if ref_status == "ok" and f_rc == 0:
            qv = f_arr[0]
            if qv.dtype != ref_val.dtype or qv.shape != ref_val.shape:
                lines += report_values(c, ref_val, qv, "forward" + via)
                return "differ"
            eq = bits_equal(ref_val, qv)
            excl = np.zeros(eq.shape, bool)
            kind = None
            if not c.range_given and c.axis_kind in ("valid", "none") and c.x.size:
                nan_sl = slices_with(c.x, c.axis_nn, lambda s_: np.any(np.isnan(s_)))
                if nan_sl.any():
                    excl |= nan_sl
                    kind = "a"
            if form != "rint" and c.axis_kind in ("valid", "none"):
                try:
                    aff = ~bits_equal(ref_forward(c.x, c.fmin, c.fmax, c, "rint"),
                                      ref_forward(c.x, c.fmin, c.fmax, c, "floor"))
                    if np.any(aff & ~eq):
                        excl |= aff
                        kind = kind or "c"
                except Exception:  # noqa: BLE001
                    pass
            if "mixed-zero" in args.allow and not c.range_given and c.axis_kind in ("valid", "none") and c.x.size:
                mz = slices_with(c.x, c.axis_nn, mixed_zero_max)
                if np.any(mz & ~eq & ~excl):
                    excl |= mz
                    kind = kind or "e"
            if "ftz" in args.allow:
                fz = ftz_forward_mask(c)
                if np.any(fz & ~eq & ~excl):
                    excl |= fz
                    kind = kind or "f"
            if not np.all(eq | excl):
                lines += report_values(c, ref_val, qv, "forward" + via)
                rep = minimal_forward_repro(c, ref_val, qv, args.qdq, tmp) if not via else None
                if rep:
                    lines.append(rep)
                return "differ"
            if hard:
                lines.append(f"  forward: qdq accepted although the spec (section 9) says reject: {hard}")
                return "differ"
            if kind:
                return f"excluded_{kind}"
            return "peraxis_exact" if via else "exact"
        if ref_status == "ok":
            if c.axis_kind == "wrap" and f_rc == 1:
                return "excluded_d"
            if hard and f_rc == 1:
                return "excluded_b"
            lines.append(f"  forward{via}: TF accepted, qdq exit {f_rc}: {f_err}")
            return "differ"
        if f_rc != 0:
            note_messages("forward", ref_val, f_err)
            return "both_reject"
        if "scalar-range" in args.allow and c.range_given and c.min_kind == "pt_1elem":
            return "excluded_g"
        lines.append(f"  forward{via}: TF rejects ({ref_val}) but qdq exit 0")
        return "differ"

    def finish(item):
        c, d, fut, tfres = item
        (f_rc, f_err, f_arr, f_prob), (g_rc, g_err, g_arr, g_prob) = fut.result()
        lines = [f"  forward CLI: {p}" for p in f_prob] + [f"  grad CLI: {p}" for p in g_prob]
        failed = bool(lines)

        # ---- forward, against TF (or TF per channel where TF 2.21 rejects per-axis given ranges)
        fwd_status, fwd_val, oracle = tfres["fwd"]
        if oracle is not None:
            ost, oval, v3 = oracle
            outcome = compare_forward(c, ost, oval, f_rc, f_err, f_arr, " (vs TF per channel)", lines)
            if v3 is not None:
                info.add("per-axis given, HALF_TO_EVEN: V3 == TF per channel" if v3 else
                         "per-axis given, HALF_TO_EVEN: V3 != TF per channel")
        else:
            outcome = compare_forward(c, fwd_status, fwd_val, f_rc, f_err, f_arr, "", lines)
        fwd_t.add(outcome)
        failed |= outcome == "differ"

        # ---- raw gradient
        g_status, g_val = tfres["grad"]
        if g_status == "ok" and g_rc == 0:
            parts = [("grad", g_val[0], g_arr[0])]
            if c.want_minmax_bp:
                parts += [("grad min backprop", g_val[1], g_arr[1]), ("grad max backprop", g_val[2], g_arr[2])]
            gout = "exact"
            fz = ftz_grad_mask(c) if "ftz" in args.allow else None
            for label, tv, qv in parts:
                if qv is None:
                    gout = "differ"
                    lines.append(f"  {label}: no output")
                elif (label == "grad" and fz is not None and tv.shape == qv.shape and tv.dtype == qv.dtype
                      and not np.all(bits_equal(tv, qv)) and np.all(bits_equal(tv, qv) | fz)):
                    gout = "excluded_f"
                elif tv.shape != qv.shape or tv.dtype != qv.dtype or not np.all(bits_equal(tv, qv)):
                    gout = "differ"
                    lines += report_values(c, tv, qv, label)
                    if label == "grad" and tv.shape == qv.shape and tv.dtype == qv.dtype:
                        rep = minimal_grad_repro(c, tv, qv)
                        if rep:
                            lines.append(rep)
        elif g_status == "ok":
            if c.axis_kind == "wrap" and c.grad_kind == "same" and g_rc == 1:
                gout = "excluded_d"
            else:
                gout = "differ"
                lines.append(f"  grad: TF accepted, qdq exit {g_rc}: {g_err}")
        elif g_rc != 0:
            gout = "both_reject"
            note_messages("grad", g_val, g_err)
        else:
            gout = "differ"
            lines.append(f"  grad: TF rejects ({g_val}) but qdq exit 0")
        grad_t.add(gout)
        failed |= gout == "differ"

        # ---- tape gradient (only where the raw op saw the same inputs)
        tp = tfres.get("tape")
        if tp is not None:
            t_status, t_val = tp
            if t_status == "ok" and g_status == "ok":
                same = all(np.all(bits_equal(a_, b_)) for a_, b_ in zip(t_val, g_val))
                info.add("GradientTape == raw V4Grad" if same else "GradientTape != raw V4Grad")
            if t_status == "ok" and g_rc == 0:
                teq = bits_equal(t_val[0], g_arr[0])
                tout = "exact" if np.all(teq) else "differ"
                if tout == "differ" and "ftz" in args.allow and np.all(teq | ftz_grad_mask(c)):
                    tout = "excluded_f"
                if tout == "differ":
                    lines += report_values(c, t_val[0], g_arr[0], "tape grad")
            elif t_status == "ok":
                tout = "excluded_d" if c.axis_kind == "wrap" and g_rc == 1 else "differ"
                if tout == "differ":
                    lines.append(f"  tape grad: TF accepted, qdq exit {g_rc}: {g_err}")
            elif g_rc != 0:
                tout = "both_reject"
            else:
                tout = "differ"
                lines.append(f"  tape grad: TF rejects ({t_val}) but qdq exit 0")
            tape_t.add(tout)
            failed |= tout == "differ"

        if failed:
            failures.append((c, lines, diagnose(c, grad=(outcome != "differ"))))
        elif not args.keep:
            shutil.rmtree(d, ignore_errors=True)

    idxs = args.only if args.only else range(args.cases)
    for n, idx in enumerate(idxs):
        c = gen_case(args.seed, idx)
        tfres = {}
        fst, fval = tf_forward(c)
        oracle = None
        if (fst != "ok" and c.range_given and c.axis_kind == "valid" and c.min_kind == "ok"
                and "input_min must be a scalar" in fval):
            ost, oval = tf_per_channel(c)
            v3 = None
            if c.round_mode == "HALF_TO_EVEN" and ost == "ok":
                s3, y3 = tf_v3(c)
                v3 = s3 == "ok" and bool(np.all(bits_equal(y3, oval)))
            oracle = (ost, oval, v3)
        tfres["fwd"] = (fst, fval, oracle)
        tfres["grad"] = tf_raw_grad(c)
        if c.grad_kind == "same" and fst == "ok":
            tfres["tape"] = tf_tape_grad(c)
        d = os.path.join(tmp, f"c{idx}")
        fwd, grd = prepare_cli(c, d, args.qdq)
        pending.append((c, d, pool.submit(run_case_cli, c, d, fwd, grd), tfres))
        while pending and pending[0][2].done():
            finish(pending.pop(0))
        if n and n % 500 == 0:
            print(f"  ... {n} cases, {time.time() - t0:.0f} s", flush=True)
    for item in pending:
        finish(item)
    pool.shutdown()

    # ---- report
    def render(c, lines, notes):
        out = ["FAIL " + describe(c),
               "  x: " + short(c.x) + f"   input_min: {short(c.fmin, 4)}   input_max: {short(c.fmax, 4)}"]
        out += lines
        out += ["  note: " + nt for nt in notes]
        return "\n".join(out)

    failures.sort(key=lambda f: f[0].idx)
    for c, lines, notes in failures[: args.max_repros]:
        print("\n" + render(c, lines, notes))
    if len(failures) > args.max_repros:
        print(f"\n... and {len(failures) - args.max_repros} more failing cases"
              + ("" if args.details else " (--details FILE writes them all)"))
    if args.details:
        with open(args.details, "w") as f:
            for c, lines, notes in failures:
                f.write(render(c, lines, notes) + "\n\n")
    if failures:
        by_note = Tally()
        for _, _, notes in failures:
            by_note.add(notes[0] if notes else "no diagnosis")
        print("\nFailing cases by first diagnosis:")
        for k, v in sorted(by_note.n.items(), key=lambda kv: -kv[1]):
            print(f"  {v:5d}  {k}")
        print("Failing case numbers (rerun with --only N ...): " + " ".join(str(f[0].idx) for f in failures))

    total = len(idxs)
    print(f"\nSummary ({total} cases, seed {args.seed}, {time.time() - t0:.1f} s)")
    for name, t in (("forward", fwd_t), ("grad (raw V4Grad)", grad_t), ("grad (GradientTape)", tape_t)):
        n = sum(t.n.values())
        print(f"  {name:20s} {n:5d} compared: bit-exact {t.get('exact')}, both reject {t.get('both_reject')}"
              + (f", per-axis given vs TF per channel bit-exact {t.get('peraxis_exact')}" if name == "forward" else "")
              + f", excluded a={t.get('excluded_a')} b={t.get('excluded_b')} c={t.get('excluded_c')} "
              f"d={t.get('excluded_d')}"
              + "".join(f" {k}={t.get('excluded_' + k)}" for k, a in (("e", "mixed-zero"), ("f", "ftz"),
                                                                       ("g", "scalar-range")) if a in args.allow)
              + f", DIFFER {t.get('differ')}")
    for k, v in sorted(info.n.items()):
        print(f"  info: {k}: {v}")
    for (kind, _), (tf_msg, q_err) in sorted(msg_examples.items())[:8]:
        print(f"  info: {kind} message differs: TF '{tf_msg}' / qdq '{q_err}'")
    print("  excluded kinds: a = NaN in a computed range; b = hardening reject (qdq exit 1 checked); "
          "c = floor-form HALF_TO_EVEN; d = axis < -rank (TF wraps, qdq rejects; exit 1 checked)"
          + ("; e = a computed max over zeros of both signs (TF: reduction order; qdq: -0 < +0)"
             if "mixed-zero" in args.allow else "")
          + ("; f = subnormals (TF: FTZ/DAZ; qdq: IEEE)" if "ftz" in args.allow else "")
          + ("; g = 1-element non-scalar per-tensor range (TF 2.21 rejects)" if "scalar-range" in args.allow else ""))
    n_fail = len(failures)
    print(f"  failing cases: {n_fail}")
    if args.keep:
        print(f"  files kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
