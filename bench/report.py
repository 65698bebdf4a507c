#!/usr/bin/env python3
"""Merges one run of the qdq CPU benchmark (qdq_bench's CSV and the Python peers' CSVs), and writes:

  <out>/<name>.csv   every case with its GB/s and its ratio to the matching copy limit of the same run
  <out>/<name>.txt   the tables and the target checks (also printed)
  <out>/<name>.png   GB/s against size, one line per kernel and peer, the copy limits drawn (needs matplotlib)

Ratios: a case's GB/s (its logical bytes: each input and output element once) over the GB/s of its matching
limit measured by qdq_bench in the same run, for the same dtype, size and thread count: memcpy for a forward
pass, the in-place read-modify-write stream for an in-place one, the 2-input 1-output stream for a gradient,
both added for a forward + gradient. Figures from different runs are never mixed: every file must carry the
same run id.

usage: report.py --run-id ID [--out DIR] [--name NAME] CSV...
"""

import argparse
import csv
import math
import os
import sys
from collections import defaultdict

LIMITS = ("memcpy", "copy_loop", "copy_stream", "inplace_rmw", "stream3")
ESIZE = {"f32": 4, "f64": 8}


def fnum(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return float("nan")


def ok(v):
    return v is not None and not math.isnan(v)


def load(paths, run_id):
    rows = []
    for p in paths:
        if not os.path.exists(p):
            print(f"report: {p} is missing, skipped", file=sys.stderr)
            continue
        with open(p, newline="") as f:
            for r in csv.DictReader(f):
                if r["run_id"] != run_id:
                    sys.exit(f"report: {p} holds run {r['run_id']}, not {run_id}: figures from different runs "
                             "are never compared")
                for k in ("log2n", "n", "cores", "depth", "reps"):
                    r[k] = int(r[k]) if r[k] not in ("", None) else 0
                for k in ("streams", "seconds_median", "seconds_min", "gbps"):
                    r[k] = fnum(r[k])
                rows.append(r)
    return rows


class Run:
    def __init__(self, rows):
        # The placement cases (kernel@placement, see qdq_bench's kPlacements) have their own table and no
        # part in the others.
        self.placement_rows = [r for r in rows if "@" in r["kernel"]]
        rows = [r for r in rows if "@" not in r["kernel"]]
        # The slice table's divisions: seconds per slice on one core, per dtype (qdq_bench's slice_divisions).
        self.floor_rows = [r for r in rows if r["kernel"] == "slice_divisions"]
        self.division_floor = {r["dtype"]: r["seconds_median"] / r["depth"] for r in self.floor_rows
                               if ok(r["seconds_median"]) and r["depth"]}
        rows = [r for r in rows if r["kernel"] != "slice_divisions"]
        self.rows = rows
        self.limit = {}  # (dtype, log2n, threads, kernel) -> row
        for r in rows:
            if r["source"] == "cpp" and r["kernel"] in LIMITS and r["axis"] == "none":
                self.limit[(r["dtype"], r["log2n"], r["threads"], r["kernel"])] = r
        self.index = {}
        for r in rows:
            self.index[(r["source"], r["kernel"], r["dtype"], r["log2n"], r["threads"], r["axis"], r["depth"])] = r
        for r in rows:
            r["ratio"] = self.ratio(r)
        for r in self.placement_rows + self.floor_rows:
            r["ratio"] = float("nan")

    def limit_gbps(self, dtype, log2n, threads, limits):
        t = b = 0.0
        for name in limits.split("+"):
            lr = self.limit.get((dtype, log2n, threads, name))
            if not lr or not ok(lr["seconds_median"]):
                return float("nan")
            t += lr["seconds_median"]
            b += lr["streams"] * lr["n"] * ESIZE[dtype]
        return b / t * 1e-9

    def ratio(self, r):
        if not r["limits"] or not ok(r["gbps"]):
            return float("nan")
        return r["gbps"] / self.limit_gbps(r["dtype"], r["log2n"], r["threads"], r["limits"])

    def get(self, source, kernel, dtype, log2n, threads, axis="none", depth=1):
        r = self.index.get((source, kernel, dtype, log2n, threads, axis, depth))
        return r if r and ok(r["seconds_median"]) else None

    def sizes(self, dtype=None, threads=None, source=None):
        return sorted({r["log2n"] for r in self.rows if (dtype is None or r["dtype"] == dtype)
                       and (threads is None or r["threads"] == threads) and (source is None or r["source"] == source)})

    def values(self, key):
        seen = []
        for r in self.rows:
            if r[key] not in seen:
                seen.append(r[key])
        return seen


# ---------------------------------------------------------------------------------------------------------------
# Tables.

ORDER = ["memcpy", "copy_loop", "copy_stream", "inplace_rmw", "stream3",
         "qdq_fwd_given", "qdq_fwd_computed", "qdq_fwd_given_inplace", "qdq_fwd_computed_inplace", "qdq_grad",
         "plain_fwd_given", "plain_fwd_computed", "plain_grad",
         "eigen_fwd_given", "eigen_fwd_computed", "eigen_grad", "xnnpack_qs8_roundtrip",
         "tf_eager_fwd_given", "tf_eager_fwd_computed", "tf_eager_grad", "tf_eager_tape",
         "tf_function_fwd_given", "tf_function_fwd_computed", "tf_function_grad", "tf_function_tape",
         "torch_fq_given", "torch_fq_computed", "torch_aminmax", "torch_fq_grad"]


def order_key(r):
    k = r["kernel"]
    return (ORDER.index(k) if k in ORDER else len(ORDER), k)


def cell(r, run):
    if not r:
        return "-"
    ratio = r["ratio"]
    return f"{r['gbps']:.1f} ({ratio:.2f})" if ok(ratio) else f"{r['gbps']:.1f}"


def per_tensor_tables(run, out):
    for dtype in run.values("dtype"):
        for threads in ("all", "1"):
            sizes = run.sizes(dtype, threads)
            if not sizes:
                continue
            kernels = sorted({(r["kernel"], r["source"]) for r in run.rows if r["dtype"] == dtype
                              and r["threads"] == threads and r["axis"] == "none"},
                             key=lambda ks: order_key({"kernel": ks[0]}))
            out(f"\n{dtype}, {'all cores' if threads == 'all' else '1 thread'}, per-tensor: GB/s (ratio to its "
                "matching copy: memcpy; inplace_rmw for in-place; stream3 for gradients)")
            w = 15
            out(f"{'kernel':28s}" + "".join(f"{'2^' + str(k):>{w}s}" for k in sizes))
            for kernel, source in kernels:
                cells = [cell(run.get(source, kernel, dtype, k, threads), run) for k in sizes]
                out(f"{kernel:28s}" + "".join(f"{c:>{w}s}" for c in cells))


def per_axis_tables(run, out):
    """Per-axis cases: GB/s and time relative to the same kernel per-tensor (same run, size, threads)."""
    for dtype in run.values("dtype"):
        for threads in ("all", "1"):
            rows = [r for r in run.rows if r["dtype"] == dtype and r["threads"] == threads and r["axis"] != "none"]
            if not rows:
                continue
            sizes = sorted({r["log2n"] for r in rows})
            out(f"\n{dtype}, {'all cores' if threads == 'all' else '1 thread'}, per-axis: GB/s [time / the same "
                "kernel per-tensor]")
            keys = []
            for r in sorted(rows, key=lambda r: (order_key(r), ("first", "middle", "last").index(r["axis"]),
                                                 r["depth"])):
                key = (r["source"], r["kernel"], r["axis"], r["depth"])
                if key not in keys:
                    keys.append(key)
            w = 17
            out(f"{'kernel':24s} {'axis':6s} {'depth':>5s}" + "".join(f"{'2^' + str(k):>{w}s}" for k in sizes))
            for source, kernel, axis, depth in keys:
                cells = []
                for k in sizes:
                    r = run.get(source, kernel, dtype, k, threads, axis, depth)
                    if not r:
                        cells.append("-")
                        continue
                    base = run.get(source, kernel, dtype, k, threads)
                    rel = r["seconds_median"] / base["seconds_median"] if base else float("nan")
                    cells.append(f"{r['gbps']:.1f} [{rel:.2f}]" if ok(rel) else f"{r['gbps']:.1f}")
                out(f"{kernel:24s} {axis:6s} {depth:5d}" + "".join(f"{c:>{w}s}" for c in cells))


# Worst placement over "aligned" beyond which a case counts as stalling. An output 16 bytes off a cache line splits
# every vector store in two: up to 1.5x (float32) and 1.65x (float64) at this size (L1), the hardware's price.
PLACEMENT_LIMIT = 2.0


def placement_tables(run, out):
    """Each placement case's time over the same case with the benchmark's 2 MiB-aligned buffers (same run)."""
    rows = run.placement_rows
    if not rows:
        return
    times = {}
    for r in rows:
        kernel, where = r["kernel"].split("@", 1)
        times[(r["dtype"], kernel, r["axis"], r["depth"], r["shape"], where)] = r["seconds_median"]
    places = [p for p in dict.fromkeys(r["kernel"].split("@", 1)[1] for r in rows) if p != "aligned"]
    for dtype in dict.fromkeys(r["dtype"] for r in rows):
        cases = list(dict.fromkeys(k[1:5] for k in times if k[0] == dtype))
        if not cases:
            continue
        k = rows[0]["log2n"]
        out(f"\n{dtype}, 1 thread, 2^{k}, buffer placement: time with the buffers at other offsets / time at "
            "'aligned' (the 2 MiB-aligned buffers of every other case; us at 'aligned')")
        w = 9
        out(f"{'kernel':18s} {'shape':12s} {'axis':6s} {'aligned':>9s}" + "".join(f"{p:>{w}s}" for p in places))
        worst = (0.0, None)
        for kernel, axis, depth, shape in cases:
            base = times.get((dtype, kernel, axis, depth, shape, "aligned"))
            cells = []
            for p in places:
                t = times.get((dtype, kernel, axis, depth, shape, p))
                rel = t / base if ok(t) and ok(base) else float("nan")
                cells.append(f"{rel:.2f}" if ok(rel) else "-")
                if ok(rel) and rel > worst[0]:
                    worst = (rel, f"{kernel} {shape} axis={axis} at {p}")
            b = f"{base * 1e6:.3f}" if ok(base) else "-"
            out(f"{kernel:18s} {shape:12s} {axis:6s} {b:>9s}" + "".join(f"{c:>{w}s}" for c in cells))
        if worst[1]:
            tag = "[MET]   " if worst[0] <= PLACEMENT_LIMIT else "[MISSED]"
            out(f"{tag} ({dtype}, our own check) every placement within {PLACEMENT_LIMIT}x of 'aligned': worst "
                f"{worst[0]:.2f}x ({worst[1]})")


# ---------------------------------------------------------------------------------------------------------------
# Target checks (the lead's report): float32, all cores, one run.

def verdict(values, test):
    vals = [v for v in values if ok(v[1])]
    if not vals:
        return "[NOT MEASURED]"
    return "[MET]   " if all(test(v) for _, v in vals) else "[MISSED]"


def targets(run, out, dtype="f32", threads="all"):
    out(f"\nTarget checks ({dtype}, {'all cores' if threads == 'all' else '1 thread'}, this run):")
    sizes = run.sizes(dtype, threads, "cpp")

    def series(kernel, min_log2, f):
        res = []
        for k in sizes:
            if k < min_log2:
                continue
            r = run.get("cpp", kernel, dtype, k, threads)
            res.append((k, f(r) if r else float("nan")))
        return res

    def fmt(vals, suffix="x"):
        return ", ".join(f"2^{k} {v:.2f}{suffix}" for k, v in vals if ok(v)) or "no size measured"

    s = series("qdq_fwd_given", 20, lambda r: r["ratio"])
    out(f"{verdict(s, lambda v: v >= 0.95)} forward, range given >= 0.95x memcpy at >= 2^20: {fmt(s)}")
    s = series("qdq_fwd_computed", 22, lambda r: 1.5 * r["ratio"])
    out(f"{verdict(s, lambda v: v >= 0.9)} forward, range computed >= 0.9x the two-pass bound (1.5x memcpy time) "
        f"at >= 2^22: {fmt(s)}")
    s = series("qdq_grad", 20, lambda r: r["ratio"])
    out(f"{verdict(s, lambda v: v >= 0.9)} gradient >= 0.9x the 3-stream copy at >= 2^20: {fmt(s)}")

    # Per-axis within 1.15x of per-tensor time, every axis and depth measured.
    rel = []
    for r in run.rows:
        if (r["source"] != "cpp" or not r["kernel"].startswith("qdq_") or r["dtype"] != dtype
                or r["threads"] != threads or r["axis"] == "none"):
            continue
        base = run.get("cpp", r["kernel"], dtype, r["log2n"], threads)
        if base and ok(r["seconds_median"]):
            rel.append((r, r["seconds_median"] / base["seconds_median"]))
    too_slow = [r for r in run.rows if r["source"] == "cpp" and r["kernel"].startswith("qdq_")
                and r["dtype"] == dtype and r["threads"] == threads and r["axis"] != "none"
                and r["note"].startswith("skipped")]
    if too_slow:
        out(f"[MISSED] per-axis: {len(too_slow)} cases not timed (predicted too slow), counted as missed: "
            + ", ".join(f"{r['kernel'].replace('qdq_', '')} {r['axis']} d{r['depth']} 2^{r['log2n']}"
                        for r in too_slow[:12]) + (" ..." if len(too_slow) > 12 else ""))
    if rel:
        bad = [x for x in rel if x[1] > 1.15]
        worst = max(rel, key=lambda x: x[1])
        w = worst[0]
        tag = "[MET]   " if not bad and not too_slow else "[MISSED]"
        out(f"{tag} per-axis time <= 1.15x per-tensor: {len(rel) - len(bad)} of {len(rel)} timed cases within; worst "
            f"{worst[1]:.2f}x ({w['kernel']} axis={w['axis']} depth={w['depth']} 2^{w['log2n']})")
        # Forward cases whose slices' divisions alone, spread over every core the case had, take more than
        # the 0.15x of the per-tensor time the target allows: out of reach with TF's arithmetic.
        floor = run.division_floor.get(dtype)
        if bad and floor:
            beyond = []
            for r, v in bad:
                if not r["kernel"].startswith("qdq_fwd"):
                    continue  # the gradient has no slice table
                base = run.get("cpp", r["kernel"], dtype, r["log2n"], threads)
                if r["depth"] * floor / max(r["cores"], 1) > 0.15 * base["seconds_median"]:
                    beyond.append(r)
            out(f"           {len(beyond)} of the {len(bad)} cases over 1.15x are out of reach: their slices' three "
                f"divisions alone ({floor * 1e9:.2f} ns a slice on one core in this run, spread over every core) "
                "take more than 0.15x the per-tensor time"
                + (": " + ", ".join(f"{r['kernel'].replace('qdq_', '')} {r['axis']} d{r['depth']} 2^{r['log2n']}"
                                    for r in beyond[:12]) + (" ..." if len(beyond) > 12 else "") if beyond else ""))
        by_kernel = defaultdict(list)
        for r, v in rel:
            by_kernel[(r["kernel"], r["log2n"])].append(v)
        for (kernel, k), vs in sorted(by_kernel.items()):
            out(f"           {kernel:18s} 2^{k}: worst {max(vs):.2f}x, median {sorted(vs)[len(vs) // 2]:.2f}x over "
                f"{len(vs)} axis/depth cases")
    else:
        out("[NOT MEASURED] per-axis time <= 1.15x per-tensor")

    # Small tensors: no slower than 1.5x the single-thread matching copy + 1 us.
    checks = []
    for kernel, limit in (("qdq_fwd_given", "memcpy"), ("qdq_fwd_computed", "memcpy"), ("qdq_grad", "stream3")):
        for k in (10, 12):
            r = run.get("cpp", kernel, dtype, k, threads)
            lim = run.limit.get((dtype, k, "1", limit))
            if r and lim:
                bound = 1.5 * lim["seconds_median"] + 1e-6
                checks.append((kernel, k, r["seconds_median"], bound))
    if checks:
        tag = "[MET]   " if all(t <= b for _, _, t, b in checks) else "[MISSED]"
        out(f"{tag} small tensors (2^10, 2^12) <= 1.5x single-thread copy + 1 us (memcpy; stream3 for the "
            "gradient): " + ", ".join(f"{kern.replace('qdq_', '')} 2^{k} {t * 1e6:.2f}/{b * 1e6:.2f} us"
                                      for kern, k, t, b in checks))
    else:
        out("[NOT MEASURED] small tensors (2^10, 2^12)")



def peers(run, out, dtype="f32", threads="all"):
    """qdq's speed-up over each peer (peer time / qdq time) on the same tensors, same run."""
    sizes = run.sizes(dtype, threads, "cpp")
    pairs = {"fwd_given": [("cpp", "plain_fwd_given"), ("cpp", "eigen_fwd_given"), ("cpp", "xnnpack_qs8_roundtrip"),
                           ("tf", "tf_eager_fwd_given"), ("tf", "tf_function_fwd_given"),
                           ("torch", "torch_fq_given")],
             "fwd_computed": [("cpp", "plain_fwd_computed"), ("cpp", "eigen_fwd_computed"),
                              ("tf", "tf_eager_fwd_computed"), ("tf", "tf_function_fwd_computed"),
                              ("torch", "torch_fq_computed")],
             "grad": [("cpp", "plain_grad"), ("cpp", "eigen_grad"), ("tf", "tf_eager_grad"),
                      ("tf", "tf_function_grad"), ("torch", "torch_fq_grad")]}
    psizes = [k for k in sizes if k in (10, 12) or k >= 20]
    if not psizes:
        return
    out(f"\nPeers ({dtype}, {'all cores' if threads == 'all' else '1 thread'}): qdq speed-up = peer time / qdq time "
        "(> 1: qdq faster)")
    w = 10
    out(f"{'qdq kernel':18s} {'peer':26s}" + "".join(f"{'2^' + str(k):>{w}s}" for k in psizes))
    for op, peers in pairs.items():
        for source, peer in peers:
            cells = []
            for k in psizes:
                q = run.get("cpp", "qdq_" + op, dtype, k, threads)
                p = run.get(source, peer, dtype, k, threads)
                cells.append(f"{p['seconds_median'] / q['seconds_median']:.2f}x" if q and p else "-")
            if any(c != "-" for c in cells):
                out(f"{'qdq_' + op:18s} {peer:26s}" + "".join(f"{c:>{w}s}" for c in cells))


# ---------------------------------------------------------------------------------------------------------------
# Plot.

STYLE = {
    "memcpy": ("black", "-", 3.0), "copy_loop": ("dimgray", ":", 1.5), "copy_stream": ("gray", "--", 2.0),
    "inplace_rmw": ("silver", "-.", 2.0), "stream3": ("black", "-", 3.0),
    "qdq_fwd_given": ("tab:red", "-", 2.2), "qdq_fwd_computed": ("tab:red", "--", 2.2),
    "qdq_fwd_given_inplace": ("tab:pink", "-", 1.6), "qdq_grad": ("tab:red", "-", 2.2),
    "plain_fwd_given": ("tab:olive", "-", 1.3), "plain_fwd_computed": ("tab:olive", "--", 1.3),
    "plain_grad": ("tab:olive", "-", 1.3),
    "eigen_fwd_given": ("tab:green", "-", 1.3), "eigen_fwd_computed": ("tab:green", "--", 1.3),
    "eigen_grad": ("tab:green", "-", 1.3), "xnnpack_qs8_roundtrip": ("tab:purple", "-", 1.3),
    "tf_eager_fwd_given": ("tab:orange", "-", 1.3), "tf_eager_fwd_computed": ("tab:orange", "--", 1.3),
    "tf_function_fwd_given": ("tab:brown", "-", 1.3), "tf_function_fwd_computed": ("tab:brown", "--", 1.3),
    "tf_eager_grad": ("tab:orange", "-", 1.3), "tf_function_grad": ("tab:brown", "-", 1.3),
    "tf_eager_tape": ("tab:orange", ":", 1.3),
    "torch_fq_given": ("tab:blue", "-", 1.3), "torch_fq_computed": ("tab:blue", "--", 1.3),
    "torch_fq_grad": ("tab:blue", "-", 1.3), "torch_aminmax": ("tab:cyan", ":", 1.3),
}
FORWARD = ["memcpy", "copy_stream", "inplace_rmw", "qdq_fwd_given", "qdq_fwd_computed", "qdq_fwd_given_inplace",
           "plain_fwd_given", "plain_fwd_computed", "eigen_fwd_given", "eigen_fwd_computed", "xnnpack_qs8_roundtrip",
           "tf_eager_fwd_given", "tf_eager_fwd_computed", "tf_function_fwd_given", "tf_function_fwd_computed",
           "torch_fq_given", "torch_fq_computed"]
GRADIENT = ["stream3", "qdq_grad", "plain_grad", "eigen_grad", "tf_eager_grad", "tf_function_grad",
            "torch_fq_grad"]


def plot(run, path, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report: matplotlib is not installed here (bench/requirements.txt): no plot", file=sys.stderr)
        return False
    panels = [(d, kind) for d in run.values("dtype") for kind in ("forward", "gradient")]
    threads_list = [t for t in ("1", "all") if any(r["threads"] == t for r in run.rows)]
    fig, axes = plt.subplots(len(panels), len(threads_list), figsize=(7.5 * len(threads_list), 5.2 * len(panels)),
                             squeeze=False)
    for i, (dtype, kind) in enumerate(panels):
        for j, threads in enumerate(threads_list):
            ax = axes[i][j]
            for kernel in (FORWARD if kind == "forward" else GRADIENT):
                pts = sorted((r["log2n"], r["gbps"]) for r in run.rows
                             if r["kernel"] == kernel and r["dtype"] == dtype and r["threads"] == threads
                             and r["axis"] == "none" and ok(r["gbps"]))
                if not pts:
                    continue
                color, ls, lw = STYLE.get(kernel, ("gray", "-", 1.0))
                ax.plot([2 ** k for k, _ in pts], [v for _, v in pts], ls, color=color, lw=lw, label=kernel,
                        marker="o" if kernel.startswith("qdq_") else None, ms=3)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("elements")
            ax.set_ylabel("GB/s (inputs + outputs)")
            ax.set_title(f"{kind}, {dtype}, {'all cores' if threads == 'all' else '1 thread'}")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7, ncol=2, loc="best")
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def write_csv(run, path):
    cols = ["run_id", "source", "kernel", "dtype", "log2n", "n", "threads", "cores", "axis", "depth", "shape",
            "streams", "limits", "seconds_median", "seconds_min", "reps", "gbps", "ratio", "note", "wall_s"]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in run.rows + run.placement_rows + run.floor_rows:
            w.writerow({**r, "ratio": f"{r['ratio']:.4f}" if ok(r["ratio"]) else ""})


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csvs", nargs="+")
    p.add_argument("--run-id", required=True)
    p.add_argument("--out", default="build/bench")
    p.add_argument("--name", default="qdq_bench")
    p.add_argument("--meta", help="a text file about the machine and its load, printed first")
    args = p.parse_args()

    run = Run(load(args.csvs, args.run_id))
    if not run.rows and not run.placement_rows:
        sys.exit("report: no results")
    os.makedirs(args.out, exist_ok=True)
    lines = []

    def out(s=""):
        print(s)
        lines.append(s)

    out(f"qdq CPU benchmark, run {args.run_id}")
    if args.meta and os.path.exists(args.meta):
        with open(args.meta) as f:
            for line in f.read().splitlines():
                out(line)
    skipped = [r for r in run.rows + run.placement_rows if r["note"].startswith("skipped")]
    per_tensor_tables(run, out)
    per_axis_tables(run, out)
    placement_tables(run, out)
    for dtype in run.values("dtype"):
        if dtype == "f32":
            targets(run, out, dtype, "all")
        for threads in ("all", "1"):
            peers(run, out, dtype, threads)
    if skipped:
        out(f"\nSkipped cases ({len(skipped)}):")
        for r in skipped[:40]:
            out(f"  {r['source']} {r['kernel']} {r['dtype']} 2^{r['log2n']} t={r['threads']} axis={r['axis']} "
                f"depth={r['depth']}: {r['note']}")
    csv_path = os.path.join(args.out, args.name + ".csv")
    write_csv(run, csv_path)
    txt_path = os.path.join(args.out, args.name + ".txt")
    with open(txt_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    png_path = os.path.join(args.out, args.name + ".png")
    made = plot(run, png_path, f"qdq CPU benchmark, run {args.run_id}")
    print(f"\nreport: wrote {csv_path}, {txt_path}" + (f", {png_path}" if made else ""))


if __name__ == "__main__":
    main()
