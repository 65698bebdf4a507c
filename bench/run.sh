#!/usr/bin/env bash
# The qdq CPU benchmark in one command: builds qdq_bench, runs it (qdq's kernels, the copy limits, the
# plain-loop, Eigen and XNNPACK peers), then the TensorFlow and PyTorch peers on the same tensors, and merges
# everything into build/bench/qdq_bench{,_quick}[_custom].{csv,txt,png}: the tables, the target checks and the
# plot (_custom: a run with --sizes, --dtypes, --axis-sizes or -- ARGS).
#
#   bench/run.sh            full run: float32 and float64, 2^10 .. 2^26, 1 thread and all cores (~10 min)
#   bench/run.sh --quick    float32, 2^10, 2^12, 2^16, 2^20, 2^22, per-axis at 2^16 and 2^22 (~1 min)
#   options: --sizes=10,12,...  --axis-sizes=...  --dtypes=f32,f64  (log2 sizes; for qdq_bench and the peers)
#            --no-peers (qdq_bench only)  --no-tf  --no-torch  --no-build
#            -- ARGS    extra arguments for qdq_bench alone (e.g. -- --reps=9 --benchmark_filter=qdq_)
#
# Needs the project build (scripts/setup.sh or scripts/configure.sh). PyTorch and matplotlib live in their own
# venv, .venv-bench (bench/requirements.txt), created here on first use; TensorFlow is the project venv's.
# The machine should be otherwise idle: the load average is recorded before and after the run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH"

quick=0 peers=1 build=1 torch=1 tf=1
extra=() common=()
while (($#)); do
    case $1 in
        --quick) quick=1 ;;
        --no-peers) peers=0 ;;
        --no-build) build=0 ;;
        --no-torch) torch=0 ;;
        --no-tf) tf=0 ;;
        --sizes=* | --axis-sizes=* | --dtypes=*) common+=("$1") ;;
        --) shift; extra=("$@"); break ;;
        -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

out=build/bench
name=qdq_bench
mode=()
if ((quick)); then
    name=qdq_bench_quick
    mode=(--quick)
fi
# A run with other sizes or arguments does not overwrite the standard results.
if ((${#common[@]} + ${#extra[@]})); then
    name=${name}_custom
fi
run_id=$(date +%Y%m%dT%H%M%S)-$$
raw=$out/raw-$name
say() { printf '\n== [%3ds] %s\n' "$SECONDS" "$*"; }

# ---- Build.
if ((build)); then
    say "building qdq_bench"
    [[ -f build/build.ninja ]] || scripts/configure.sh
    # The bench folder is added at configure time: configure again if this build has no qdq_bench yet.
    if ! grep -q 'bench/qdq_bench' build/build.ninja; then
        cmake -S . -B build -DQDQ_BUILD_BENCHMARKS=ON >/dev/null
    fi
    cmake --build build --target qdq_bench -j 2
fi
bench_bin=build/bench/qdq_bench
[[ -x $bench_bin ]] || { echo "bench/run.sh: $bench_bin is missing (build it first)" >&2; exit 1; }

# ---- The bench venv (PyTorch, matplotlib), refilled when bench/requirements.txt changes.
bench_py=.venv-bench/bin/python
stamp=.venv-bench/.requirements.sha256
want=$(sha256sum bench/requirements.txt | cut -d' ' -f1)
if [[ ! -x $bench_py || ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
    say "installing the bench venv .venv-bench (bench/requirements.txt; about 2.3 GB of wheels)"
    if python3 -m venv .venv-bench && .venv-bench/bin/python -m pip install -q --upgrade pip &&
        .venv-bench/bin/python -m pip install -q --no-deps -r bench/requirements.txt; then
        echo "$want" >"$stamp"
    else
        echo "bench/run.sh: could not install .venv-bench: no PyTorch peer, no plot" >&2
        torch=0
    fi
fi
report_py=$bench_py
[[ -x $report_py ]] || report_py=.venv/bin/python

# ---- Run.
rm -rf "$raw"
mkdir -p "$raw"
meta=$raw/meta.txt
{
    echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores," \
        "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$meta"
load1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
    echo "bench/run.sh: warning: load average $load1: other work is running, figures will be noisy" >&2
fi

say "qdq_bench ${mode[*]} ${common[*]} ${extra[*]}"
"$bench_bin" "${mode[@]}" "${common[@]}" --csv="$raw/cpp.csv" --run-id="$run_id" "${extra[@]}"

csvs=("$raw/cpp.csv")
if ((peers)); then
    if ((tf)); then
        for t in 1 all; do
            say "TensorFlow peers, threads $t"
            if .venv/bin/python bench/peers.py tf --threads $t "${mode[@]}" "${common[@]}" --csv "$raw/tf_$t.csv" --run-id "$run_id" --data-dir "$raw"; then
                csvs+=("$raw/tf_$t.csv")
            else
                echo "bench/run.sh: the TensorFlow peer failed (threads $t), left out" >&2
            fi
        done
    fi
    if ((torch)); then
        say "PyTorch peers"
        if "$bench_py" bench/peers.py torch --threads 1,all "${mode[@]}" "${common[@]}" --csv "$raw/torch.csv" --run-id "$run_id" --data-dir "$raw"; then
            csvs+=("$raw/torch.csv")
        else
            echo "bench/run.sh: the PyTorch peer failed, left out" >&2
        fi
    fi
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$meta"

rm -f "$raw"/values_*.npy
say "report"
"$report_py" bench/report.py --run-id "$run_id" --out "$out" --name "$name" --meta "$meta" "${csvs[@]}"
printf "\n== [%3ds] done\n" "$SECONDS"
