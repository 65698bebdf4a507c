#!/usr/bin/env python3
"""Python peers of the qdq CPU benchmark: TensorFlow and PyTorch on the tensors qdq_bench uses.

  peers.py tf    --threads 1|all [options]   (run with the project venv: tensorflow-cpu)
  peers.py torch --threads 1,all [options]   (run with the bench venv: torch, see bench/requirements.txt)

TensorFlow: tf.quantization.quantize_and_dequantize_v2 (QuantizeAndDequantizeV4) with the range given and
computed, tf.raw_ops.QuantizeAndDequantizeV4Grad, and the forward + gradient through tf.GradientTape, each
eager (tensors already on the CPU) and inside a traced tf.function. TF's thread pools are fixed when TF
starts, so each thread count is its own process (bench/run.sh runs both).
PyTorch: torch.fake_quantize_per_tensor_affine / _per_channel_affine (scale and zero point given, or from
torch.aminmax / amin+amax), their backward (torch.autograd.grad on a kept graph), and torch.aminmax alone.

Tensors: element i of x is (splitmix64(i + 2^40) >> 40) * 2^-23 - 1, exactly as qdq_bench builds it (the
gradient uses seed 2); a size-n case uses the first n elements. Timing: one warm-up call, then --reps
repetitions of k calls each (k such that a repetition lasts at least --min-time), median and minimum per call;
a case stops repeating once it has spent --budget seconds. Output: CSV rows with qdq_bench's columns.
"""

import argparse
import math
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

GIVEN_MIN, GIVEN_MAX = -0.75, 0.75
AXES = ("first", "middle", "last")
CSV_HEADER = ("run_id,source,kernel,dtype,log2n,n,threads,cores,axis,depth,shape,streams,limits,seconds_median,"
              "seconds_min,reps,gbps,ratio,note,wall_s")


# ---------------------------------------------------------------------------------------------------------------
# The test tensors (bench_common.h: test_value).

def test_values(seed, n, dtype):
    out = np.empty(n, dtype)
    step = 1 << 22
    m64 = np.uint64(0xFFFFFFFFFFFFFFFF)
    for b in range(0, n, step):
        e = min(n, b + step)
        z = np.arange(b, e, dtype=np.uint64) + np.uint64(seed << 40)
        with np.errstate(over="ignore"):
            z = (z + np.uint64(0x9E3779B97F4A7C15)) & m64
            z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & m64
            z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & m64
        z = z ^ (z >> np.uint64(31))
        out[b:e] = ((z >> np.uint64(40)).astype(np.float64) * (1.0 / 8388608.0) - 1.0).astype(dtype)
    return out


_DATA_DIR = None


def values(seed, cap, dtype):
    """test_values(seed, cap) as dtype, kept as a float64 .npy in --data-dir to be built once per run."""
    path = os.path.join(_DATA_DIR, f"values_seed{seed}_n{cap}.npy") if _DATA_DIR else None
    if path and os.path.exists(path):
        v = np.load(path)
    else:
        v = test_values(seed, cap, np.float64)
        if path:
            tmp = path + f".{os.getpid()}.tmp.npy"
            np.save(tmp, v)
            os.replace(tmp, path)
    return v if dtype == np.float64 else v.astype(dtype)


def given_min(c):
    return -0.5 - 0.5 * (c % 7) / 7.0


def given_max(c):
    return 0.5 + 0.5 * (c % 5) / 5.0


def axis_shape(axis, n, d):
    """The per-axis views of qdq_bench: first [d, n/d], middle [o, d, i] with o ~ i, last [n/d, d]."""
    if d > n or n % d:
        return None
    rest = n // d
    if axis == "first":
        return (d, rest), 0
    if axis == "last":
        return (rest, d), 1
    o = 1 << (int(math.log2(rest)) // 2)
    return (o, d, rest // o), 1


def axis_cases(n, depths):
    """(axis, depth, shape, axis index) of every per-axis view of n elements that exists."""
    for axis in AXES:
        for d in depths:
            sh = axis_shape(axis, n, d)
            if sh:
                yield (axis, d) + sh


def quant_params(lo, hi):
    """Spec 4.3 for signed 8 bits (in double; only the peers' scale for PyTorch / XNNPACK-like use)."""
    s_min = -128.0 / lo if -128.0 * lo > 0 else float("inf")
    s_max = 127.0 / hi if 127.0 * hi > 0 else float("inf")
    if s_min < s_max:
        return s_min, lo / -128.0
    return s_max, hi / 127.0


# ---------------------------------------------------------------------------------------------------------------
# Timing.

class Timer:
    def __init__(self, reps, min_time, budget):
        self.reps, self.min_time, self.budget = reps, min_time, budget

    def measure(self, fn):
        t0 = time.perf_counter()
        fn()  # warm-up
        warm = time.perf_counter() - t0
        if warm > self.budget:  # maybe one-time set-up: a second call decides
            t0 = time.perf_counter()
            fn()
            warm = time.perf_counter() - t0
            if warm > self.budget:  # too slow to repeat: this call is the figure
                return warm, warm, 1
        if warm < 1e-3:  # calibrate the batch on a few calls, not on a first call's extra costs
            t0 = time.perf_counter()
            for _ in range(10):
                fn()
            warm = (time.perf_counter() - t0) / 10
        k = max(1, min(100000, int(math.ceil(self.min_time / max(warm, 1e-7)))))
        times, spent = [], 0.0
        for _ in range(self.reps):
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            dt = time.perf_counter() - t0
            times.append(dt / k)
            spent += dt
            if spent > self.budget:
                break
        return statistics.median(times), min(times), len(times)


class Writer:
    def __init__(self, path, run_id, source, cores, quiet=False):
        self.f = open(path, "w") if path else None
        if self.f:
            self.f.write(CSV_HEADER + "\n")
        self.run_id, self.source, self.cores, self.quiet = run_id, source, cores, quiet
        self.group = None
        self.last = time.perf_counter()

    def row(self, kernel, dtype, log2n, threads, shape, streams, limits, result, axis="none", depth=1, note=""):
        now = time.perf_counter()
        wall, self.last = now - self.last, now
        n = 1 << log2n
        esize = 4 if dtype == "f32" else 8
        group = (dtype, log2n, threads)
        if group != self.group and not self.quiet:
            self.group = group
            print(f"-- {self.source} {dtype} 2^{log2n} ({n} elements), {threads} thread{'s' if threads != '1' else ''}",
                  flush=True)
        label = kernel + (f" axis={axis} depth={depth}" if axis != "none" else "")
        if isinstance(result, str):
            med = mn = float("nan")
            reps, gbps = 0, float("nan")
            note = "skipped: " + result
            if not self.quiet:
                print(f"          {label:44s} {note}", flush=True)
        else:
            med, mn, reps = result
            gbps = streams * n * esize / med * 1e-9
            if not self.quiet:
                print(f"          {label:44s} {med * 1e6:12.3f} us {gbps:9.2f}  {note}", flush=True)
        cores = 1 if threads == "1" else self.cores
        shape_s = "[" + ",".join(str(s) for s in shape) + "]"
        if self.f:
            self.f.write(f"{self.run_id},{self.source},{kernel},{dtype},{log2n},{n},{threads},{cores},{axis},{depth},"
                         f"\"{shape_s}\",{streams:g},{limits},{med:.9g},{mn:.9g},{reps},{gbps:.6g},,\"{note}\",{wall:.3f}\n")
            self.f.flush()


def safe(timer, fn):
    try:
        return timer.measure(fn)
    except Exception as e:  # a peer that rejects a case is reported, not fatal
        msg = str(e).strip().splitlines()
        return (msg[0] if msg else type(e).__name__).replace('"', "'")[:160]


# ---------------------------------------------------------------------------------------------------------------
# TensorFlow.

def run_tf(args, writer, timer):
    import tensorflow as tf

    threads = args.threads[0]
    if len(args.threads) != 1:
        sys.exit("peers.py tf: one --threads value per process (TF fixes its thread pools at start)")
    if threads == "1":
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.get_logger().setLevel("ERROR")
    qdq = tf.quantization.quantize_and_dequantize_v2
    raw = tf.raw_ops

    for dtype in args.dtypes:
        npt = np.float32 if dtype == "f32" else np.float64
        tft = tf.float32 if dtype == "f32" else tf.float64
        cap = 1 << max(args.sizes)
        x_all = values(1, cap, npt)
        g_all = values(2, cap, npt)
        lo = tf.constant(GIVEN_MIN, tft)
        hi = tf.constant(GIVEN_MAX, tft)
        zero = tf.constant(0.0, tft)
        for log2n in args.sizes:
            n = 1 << log2n
            with tf.device("/CPU:0"):
                x = tf.constant(x_all[:n])
                g = tf.constant(g_all[:n])

            def fwd_given(x_):
                return qdq(x_, lo, hi, range_given=True)

            def fwd_computed(x_):
                return qdq(x_, zero, zero, range_given=False)

            def grad(g_, x_):
                return raw.QuantizeAndDequantizeV4Grad(gradients=g_, input=x_, input_min=lo, input_max=hi, axis=-1)[0]

            def tape(g_, x_):
                with tf.GradientTape() as t:
                    t.watch(x_)
                    y = qdq(x_, lo, hi, range_given=True)
                return t.gradient(y, x_, output_gradients=g_)

            cases = [("fwd_given", 2, "memcpy", fwd_given, (x,)),
                     ("fwd_computed", 2, "memcpy", fwd_computed, (x,)),
                     ("grad", 3, "stream3", grad, (g, x)),
                     ("tape", 5, "memcpy+stream3", tape, (g, x))]
            for mode in ("eager", "function"):
                for name, streams, limits, f, a in cases:
                    fn = f if mode == "eager" else tf.function(f)
                    r = safe(timer, lambda: fn(*a))
                    writer.row(f"tf_{mode}_{name}", dtype, log2n, threads, (n,), streams, limits, r)

            if log2n in args.axis_sizes:
                for axis, d, shape, ax in axis_cases(n, args.axis_depths):
                    xs = tf.reshape(x, shape)
                    gs = tf.reshape(g, shape)
                    mins = tf.constant([given_min(c) for c in range(d)], tft)
                    maxs = tf.constant([given_max(c) for c in range(d)], tft)
                    zeros = tf.zeros([d], tft)
                    nb = tf.constant(8, tf.int32)

                    def a_given(x_, ax=ax, mins=mins, maxs=maxs):
                        return qdq(x_, mins, maxs, range_given=True, axis=ax)

                    def a_given_v3(x_, ax=ax, mins=mins, maxs=maxs, nb=nb):
                        return raw.QuantizeAndDequantizeV3(input=x_, input_min=mins, input_max=maxs, num_bits=nb,
                                                           range_given=True, axis=ax)

                    def a_computed(x_, ax=ax, zeros=zeros):
                        return qdq(x_, zeros, zeros, range_given=False, axis=ax)

                    def a_grad(g_, x_, ax=ax, mins=mins, maxs=maxs):
                        return raw.QuantizeAndDequantizeV4Grad(gradients=g_, input=x_, input_min=mins,
                                                               input_max=maxs, axis=ax)[0]

                    for mode in ("eager", "function"):
                        wrap = (lambda f: f) if mode == "eager" else tf.function
                        # TF 2.21's V2/V4 rejects non-scalar given ranges; V3 (same kernel) accepts them.
                        fg = wrap(a_given)
                        note = ""
                        try:
                            fg(xs)
                        except Exception:
                            fg, note = wrap(a_given_v3), "QuantizeAndDequantizeV3: V4 rejects per-axis given ranges"
                        r = safe(timer, lambda: fg(xs))
                        writer.row(f"tf_{mode}_fwd_given", dtype, log2n, threads, shape, 2, "memcpy", r, axis, d,
                                   note)
                        fc = wrap(a_computed)
                        r = safe(timer, lambda: fc(xs))
                        writer.row(f"tf_{mode}_fwd_computed", dtype, log2n, threads, shape, 2, "memcpy", r, axis,
                                   d)
                        fgr = wrap(a_grad)
                        r = safe(timer, lambda: fgr(gs, xs))
                        writer.row(f"tf_{mode}_grad", dtype, log2n, threads, shape, 3, "stream3", r, axis, d)
            del x, g


# ---------------------------------------------------------------------------------------------------------------
# PyTorch.

def run_torch(args, writer, timer):
    import torch

    cores = os.cpu_count() or 1
    torch.set_grad_enabled(True)
    scale_f, inv_f = quant_params(GIVEN_MIN, GIVEN_MAX)
    for dtype in args.dtypes:
        npt = np.float32 if dtype == "f32" else np.float64
        cap = 1 << max(args.sizes)
        x_all = torch.from_numpy(values(1, cap, npt))
        g_all = torch.from_numpy(values(2, cap, npt))
        for log2n in args.sizes:
            n = 1 << log2n
            x = x_all[:n]
            g = g_all[:n]
            for threads in args.threads:
                torch.set_num_threads(1 if threads == "1" else cores)
                zp0 = torch.zeros((), dtype=torch.int32)

                def fq_given():
                    return torch.fake_quantize_per_tensor_affine(x, inv_f, 0, -128, 127)

                def aminmax():
                    return torch.aminmax(x)

                def fq_computed():
                    mn, mx = torch.aminmax(x)
                    # The spec's scale choice with tensor ops (no host sync): step = max(-min/128, max/127).
                    step = torch.maximum(mn / -128.0, mx / 127.0).float()
                    return torch.fake_quantize_per_tensor_affine(x, step, zp0, -128, 127)

                xr = x.detach().clone().requires_grad_(True)
                try:
                    y = torch.fake_quantize_per_tensor_affine(xr, inv_f, 0, -128, 127)
                except Exception:
                    y = None

                def fq_grad():
                    return torch.autograd.grad(y, xr, g, retain_graph=True)[0]

                rows = [("torch_fq_given", 2, "memcpy", fq_given),
                        ("torch_fq_computed", 2, "memcpy", fq_computed),
                        ("torch_aminmax", 1, "memcpy", aminmax),
                        ("torch_fq_grad", 3, "stream3", fq_grad)]
                for name, streams, limits, fn in rows:
                    r = safe(timer, fn)
                    note = "backward only (grad * saved mask)" if name == "torch_fq_grad" else ""
                    writer.row(name, dtype, log2n, threads, (n,), streams, limits, r, note=note)
                del xr, y

                if log2n in args.axis_sizes:
                    for axis, d, shape, ax in axis_cases(n, args.axis_depths):
                        xs = x.reshape(shape)
                        gs = g.reshape(shape)
                        other = tuple(i for i in range(len(shape)) if i != ax)
                        steps = torch.tensor([quant_params(given_min(c), given_max(c))[1] for c in range(d)],
                                             dtype=torch.float32)
                        zps = torch.zeros(d, dtype=torch.int32)

                        def c_given(xs=xs, ax=ax, steps=steps, zps=zps):
                            return torch.fake_quantize_per_channel_affine(xs, steps, zps, ax, -128, 127)

                        def c_computed(xs=xs, ax=ax, zps=zps, other=other):
                            mn = torch.amin(xs, dim=other)
                            mx = torch.amax(xs, dim=other)
                            step = torch.maximum(mn / -128.0, mx / 127.0).float()
                            return torch.fake_quantize_per_channel_affine(xs, step, zps, ax, -128, 127)

                        xsr = xs.detach().clone().requires_grad_(True)
                        try:
                            ys = torch.fake_quantize_per_channel_affine(xsr, steps, zps, ax, -128, 127)
                        except Exception:
                            ys = None

                        def c_grad(ys=ys, xsr=xsr, gs=gs):
                            return torch.autograd.grad(ys, xsr, gs, retain_graph=True)[0]

                        for name, streams, limits, fn in (("torch_fq_given", 2, "memcpy", c_given),
                                                          ("torch_fq_computed", 2, "memcpy", c_computed),
                                                          ("torch_fq_grad", 3, "stream3", c_grad)):
                            r = safe(timer, fn)
                            writer.row(name, dtype, log2n, threads, shape, streams, limits, r, axis, d)
                        del xsr, ys


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("framework", choices=("tf", "torch"))
    p.add_argument("--threads", default="1,all", help="1, all or both (torch only)")
    p.add_argument("--quick", action="store_true", help="float32, sizes 10,12,16,20,22, per-axis at 16 and 22")
    p.add_argument("--sizes", help="log2 sizes, e.g. 10,12,20")
    p.add_argument("--axis-sizes", help="log2 sizes at which per-axis cases run")
    p.add_argument("--axis-depths", default="64", help="per-axis depths (default 64)")
    p.add_argument("--dtypes", help="f32,f64")
    p.add_argument("--reps", type=int)
    p.add_argument("--min-time", type=float)
    p.add_argument("--budget", type=float)
    p.add_argument("--csv")
    p.add_argument("--run-id", default=time.strftime("%Y%m%dT%H%M%S"))
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--data-dir", help="where to keep the generated tensors (.npy) for the next peer process")
    args = p.parse_args()

    def ints(s):
        return [int(v[2:] if v.startswith("2^") else v) for v in s.split(",") if v]

    args.threads = [t for t in args.threads.split(",") if t]
    if any(t not in ("1", "all") for t in args.threads):
        p.error("--threads takes 1 and/or all")
    args.sizes = ints(args.sizes) if args.sizes else ([10, 12, 16, 20, 22] if args.quick else list(range(10, 27, 2)))
    args.axis_sizes = (ints(args.axis_sizes) if args.axis_sizes is not None
                       else ([16, 22] if args.quick else [12, 16, 20, 24]))
    args.axis_depths = ints(args.axis_depths)
    args.dtypes = args.dtypes.split(",") if args.dtypes else (["f32"] if args.quick else ["f32", "f64"])
    reps = args.reps or (5 if args.quick else 7)
    min_time = args.min_time or (0.003 if args.quick else 0.005)
    budget = args.budget or (0.15 if args.quick else 0.6)
    timer = Timer(reps, min_time, budget)
    global _DATA_DIR
    _DATA_DIR = args.data_dir
    writer = Writer(args.csv, args.run_id, args.framework, os.cpu_count() or 1, args.quiet)
    if args.framework == "tf":
        run_tf(args, writer, timer)
    else:
        run_torch(args, writer, timer)


if __name__ == "__main__":
    main()
