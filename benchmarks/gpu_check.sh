#!/usr/bin/env bash
# The GPU check of issue 20: CUDA correctness, the benchmarks on the GPU and the headline, in under 8 minutes on one
# H100, everything written under OUT_DIR (summary.md first).
#
#   bash benchmarks/gpu_check.sh OUT_DIR
#
# Steps, in order of importance, each with its own time limit, each logged to OUT_DIR/<step>.log; a failed or timed-out
# step does not stop the next. A global deadline (GPU_CHECK_SECONDS, default 450) shortens or skips the last steps
# rather than overrun, and summary.md says which, with each step's seconds. GPU_CHECK_STEPS (comma-separated, default
# all) runs a subset, e.g. a second run of the steps the deadline skipped: GPU_CHECK_STEPS=bench-cnn,bench-scaling.
#   warm         the fused (Triton) kernels of every activation compiled in parallel processes, filling the
#                TorchInductor/Triton caches that the later steps then read (saves minutes of serial compiling)
#   correctness  pytest tests/gpu: the catalog on CUDA in every dtype, gradcheck, fused vs un-fused, many-at-once vs
#                one-at-a-time (MLP, CNN), the CUDA engine vs the NumPy engine, host syncs per epoch
#   headline     benchmarks/gpu_headline.py: the catalog × 10 seeds, MNIST MLP, 20 epochs (target < 60 s on one
#                H100), and ten CIFAR-10-shaped CNNs, seconds labelled with the card
#   bench-*      `make bench`'s sections that take a device, with --device cuda, one process each: kernels
#                (bandwidth vs a copy, target >= 70 %), mlp (vs the DataLoader idiom and Keras), cnn (stacked), scaling
#                (with the plot). The user's-command, diagnostics and Ray sections run on the CPU and are left out: no
#                CPU figure enters a GPU table.
#
# Python: $PYTHON, else the first of python3 and .venv/bin/python whose torch sees CUDA. actlab is used from that
# interpreter; where `import actlab` fails, `pip install -e .` is tried (it keeps an installed torch >= 2.2), then
# PYTHONPATH=src. Nothing reinstalls torch. MNIST: $ACTLAB_DATA, else ../shared/datasets, else shared/datasets; without
# the files the MLP figures come from random MNIST-shaped data, and say so.
#
# Exit status: 0 the correctness tests passed (benchmark steps may have failed or run out of time: see summary.md),
# or there is no CUDA device (one line says so, also in OUT_DIR/summary.md; nothing long runs); 1 a correctness step
# failed or could not run; 2 usage, or actlab cannot be imported.
set -euo pipefail
START=$(date +%s)

if [[ $# -ne 1 || "$1" == -* ]]; then
    echo "usage: bash benchmarks/gpu_check.sh OUT_DIR" >&2
    exit 2
fi
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
SUMMARY="$OUT/summary.md"

# --- which Python: the first whose torch sees a GPU --------------------------------------------------------------
# probe PYTHON: prints "cuda" or "cpu" and torch's version; fails where torch cannot be imported.
probe() {
    command -v "$1" >/dev/null 2>&1 &&
        "$1" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu", torch.__version__)' 2>/dev/null
}
if [[ -n "${PYTHON:-}" ]]; then
    candidates=("$PYTHON")
else
    candidates=(python3)
    [[ -x "$REPO/.venv/bin/python" ]] && candidates+=("$REPO/.venv/bin/python")
fi
PY=""
why="no Python with torch (tried: ${candidates[*]})"
for candidate in "${candidates[@]}"; do
    found=$(probe "$candidate") || continue
    if [[ "$found" == cuda* ]]; then
        PY=$candidate
        break
    fi
    [[ "$why" == "no Python with torch"* ]] && why="torch ${found#cpu } ($candidate) sees none"
done
if [[ -z "$PY" ]]; then
    line="no CUDA device found ($why): GPU check not run"
    echo "$line"
    printf '# GPU check\n\n%s on %s, %s.\n' "$line" "$(hostname)" "$(date -u '+%Y-%m-%d %H:%M UTC')" >"$SUMMARY"
    exit 0
fi

# --- the time budget and the steps' bookkeeping -------------------------------------------------------------------
TOTAL=${GPU_CHECK_SECONDS:-450}
SELECTED=",${GPU_CHECK_STEPS:-warm,correctness,headline,bench-kernels,bench-mlp,bench-cnn,bench-scaling},"
NAMES=()
STATUSES=()
SECONDS_TAKEN=()
LIMITS=()
KINDS=()

remaining() { echo $((START + TOTAL - $(date +%s))); }

# limit_for BUDGET: the step's time limit, its budget or what is left of the deadline (less a margin), if smaller.
limit_for() {
    local left=$(($(remaining) - 10))
    echo $(($1 < left ? $1 : left))
}

record() { # name kind status seconds limit
    NAMES+=("$1")
    KINDS+=("$2")
    STATUSES+=("$3")
    SECONDS_TAKEN+=("$4")
    LIMITS+=("$5")
}

# run_step NAME KIND LIMIT CMD...: CMD under `timeout LIMIT`, output in OUT/NAME.log; never stops the script.
run_step() {
    local name=$1 kind=$2 limit=$3
    shift 3
    local log="$OUT/$name.log"
    if [[ "$SELECTED" != *",$name,"* ]]; then
        record "$name" "$kind" "not selected (GPU_CHECK_STEPS)" 0 "$limit"
        return 0
    fi
    if ((limit < 20)); then
        record "$name" "$kind" "skipped: out of time" 0 "$limit"
        echo "[gpu_check] $name: skipped, ${limit}s left" >&2
        return 0
    fi
    echo "[gpu_check] $name: up to ${limit}s ($(date '+%H:%M:%S'))" >&2
    rm -f -- "$OUT/$name"* # an earlier run's outputs of this step must not pass for this run's
    local started rc=0
    started=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1 || rc=$?
    local taken=$(($(date +%s) - started)) status
    case $rc in
        0) status=$([[ $kind == correctness ]] && echo passed || echo done) ;;
        124 | 137) status="timed out after ${limit}s" ;;
        *) status="failed (exit $rc)" ;;
    esac
    record "$name" "$kind" "$status" "$taken" "$limit"
    echo "[gpu_check] $name: $status in ${taken}s" >&2
}

# --- actlab, pytest, the data -------------------------------------------------------------------------------------
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=10 PIP_RETRIES=1
export KERAS_BACKEND=${KERAS_BACKEND:-torch}
export PYTHONUNBUFFERED=1 # a step stopped by its time limit leaves in its log what it printed
SETUP_LOG="$OUT/setup.log"
: >"$SETUP_LOG"
importable() { "$PY" -c "import $1" >>"$SETUP_LOG" 2>&1; }
# what the steps import: actlab's trainer and harness, and through them pydantic, scikit-learn (digits), matplotlib
ACTLAB_MODULES="actlab.experiments.oneoff, actlab.train.trainer, actlab.report.plots, sklearn.datasets"
SETUP_NOTES=()
if ! importable "$ACTLAB_MODULES"; then
    echo "== import actlab failed: pip install -e . (keeps the installed torch)" >>"$SETUP_LOG"
    timeout 120 "$PY" -m pip install --quiet -e . >>"$SETUP_LOG" 2>&1 || true
    if ! importable "$ACTLAB_MODULES"; then
        echo "== still not importable: PYTHONPATH=src" >>"$SETUP_LOG"
        export PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}"
        SETUP_NOTES+=("actlab used from src/ (PYTHONPATH): \`pip install -e .\` failed, see setup.log")
    else
        SETUP_NOTES+=("actlab installed with \`pip install -e .\` into $PY")
    fi
fi
if ! importable "$ACTLAB_MODULES"; then
    missing=$("$PY" -c "import $ACTLAB_MODULES" 2>&1 | tail -n 1)
    line="actlab cannot be imported by $PY ($missing; see setup.log): GPU check not run"
    echo "$line"
    printf '# GPU check\n\n%s.\n' "$line" >"$SUMMARY"
    exit 2
fi
if ! importable pytest; then
    echo "== pytest missing: pip install pytest" >>"$SETUP_LOG"
    timeout 60 "$PY" -m pip install --quiet pytest >>"$SETUP_LOG" 2>&1 || true
fi
PYTEST_ARGS=(-q -p no:cacheprovider -rfEs --junitxml="$OUT/correctness.xml")
if ! importable hypothesis; then # tests/conftest.py needs it; tests/gpu needs none of its fixtures
    PYTEST_ARGS+=(--noconftest)
    SETUP_NOTES+=("hypothesis not installed: pytest ran with --noconftest")
fi
if importable xdist; then
    PYTEST_ARGS+=(-n 4)
fi
if ! KERAS_BACKEND=torch importable keras; then
    SETUP_NOTES+=("Keras not installed: the MLP table has no Keras row (c)")
fi

DATA=${ACTLAB_DATA:-}
if [[ -n "$DATA" && -d "$DATA" ]]; then
    DATA=$(cd "$DATA" && pwd) # absolute: every step is handed the same folder
elif [[ -z "$DATA" ]]; then
    for dir in "$REPO/../shared/datasets" "$REPO/shared/datasets"; do
        if [[ -d "$dir" ]]; then
            DATA=$(cd "$dir" && pwd)
            break
        fi
    done
fi
MNIST=""
for dir in "$DATA/mnist" "$DATA"; do
    if [[ -n "$DATA" && -f "$dir/train-images-idx3-ubyte.gz" && -f "$dir/train-labels-idx1-ubyte.gz" &&
        -f "$dir/t10k-images-idx3-ubyte.gz" && -f "$dir/t10k-labels-idx1-ubyte.gz" ]]; then
        MNIST=$dir
        break
    fi
done
DATA_ARGS=()
if [[ -n "$DATA" ]]; then
    export ACTLAB_DATA="$DATA"
    DATA_ARGS=(--data-dir "$DATA")
fi

# One compile cache for every step (TorchInductor's FX graphs and Triton's kernels), outside OUT_DIR.
CACHE="${TMPDIR:-/tmp}/actlab-gpu-check-cache"
export TORCHINDUCTOR_CACHE_DIR="${TORCHINDUCTOR_CACHE_DIR:-$CACHE/inductor}"
export TRITON_CACHE_DIR="${TRITON_CACHE_DIR:-$CACHE/triton}"
export TORCHINDUCTOR_FX_GRAPH_CACHE=1 TORCHINDUCTOR_AUTOGRAD_CACHE=1

{
    echo "python: $PY"
    "$PY" -c 'import sys, torch; print("python", sys.version.split()[0]); print("torch", torch.__version__)' 2>&1 || true
    "$PY" -c 'import torch; print("CUDA", torch.version.cuda, "device", torch.cuda.get_device_name())' 2>&1 || true
    "$PY" -c 'import triton; print("triton", triton.__version__)' 2>&1 || echo "triton: not importable"
    command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi 2>&1 || echo "nvidia-smi: not found"
} >"$OUT/env.txt"
CARD=$("$PY" -c 'import torch; print(torch.cuda.get_device_name())' 2>/dev/null || echo "unknown GPU")

# --- the steps ----------------------------------------------------------------------------------------------------
WARM_PROCESSES=${GPU_CHECK_WARM_PROCESSES:-6}
warm() {
    local i pids=() failed=0
    for ((i = 0; i < WARM_PROCESSES; i++)); do
        TORCHINDUCTOR_COMPILE_THREADS=1 "$PY" -c '
import sys, time, torch
from actlab import names
from benchmarks.activation_kernels import compile_fused
processes, index = int(sys.argv[1]), int(sys.argv[2])
chosen = names()[index::processes]
started = time.perf_counter()
compile_fused(chosen, torch.device("cuda"))
print(f"process {index}: {len(chosen)} activations in {time.perf_counter() - started:.1f} s")
' "$WARM_PROCESSES" "$i" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || failed=1
    done
    return $failed
}
export -f warm
export PY WARM_PROCESSES

run_step warm warm-up "$(limit_for 75)" bash -c warm
run_step correctness correctness "$(limit_for 180)" "$PY" -m pytest "${PYTEST_ARGS[@]}" tests/gpu
if [[ "${STATUSES[-1]}" == passed ]] && ! grep -Eq '[0-9]+ passed' "$OUT/correctness.log" 2>/dev/null; then
    STATUSES[-1]="failed (no test ran)"
fi

limit=$(limit_for 150)
run_step headline headline "$limit" "$PY" -m benchmarks.gpu_headline -o "$OUT/headline.md" --device cuda \
    --budget $((limit > 30 ? limit - 15 : 15)) ${DATA_ARGS[@]+"${DATA_ARGS[@]}"}

# bench SECTION: one `make bench` section on the GPU; without the MNIST files, on random MNIST-shaped data (noted).
bench() {
    local section=$1 output="$OUT/bench-$1.md"
    if [[ -n "$MNIST" ]]; then
        "$PY" -m benchmarks.bench --device cuda --sections "$section" -o "$output" --data-dir "$DATA"
    else
        "$PY" -c '
import sys
from benchmarks import bench, gpu_headline
# bench.prepare(dataset, preprocessing, train_subset, test_subset, data_dir): random data of the sizes asked for
bench.prepare = lambda *a, **k: gpu_headline.synthetic_mnist(a[2] or 60_000, a[3] or 10_000)
bench.main(sys.argv[1:])
' --device cuda --sections "$section" -o "$output"
        {
            echo
            echo "> No MNIST files on this machine: these figures come from random MNIST-shaped data (same shapes and"
            echo "> timings as MNIST; no accuracies)."
        } >>"$output"
    fi
}
export -f bench
export OUT MNIST DATA
for section in kernels mlp cnn scaling; do
    case $section in
        kernels) budget=90 ;;
        mlp) budget=120 ;;
        cnn) budget=45 ;;
        scaling) budget=60 ;;
    esac
    run_step "bench-$section" benchmark "$(limit_for $budget)" bash -c "bench $section"
done

# --- summary.md ---------------------------------------------------------------------------------------------------
# ran NAME: whether the step ran in this run (its files are this run's, not an earlier run's in the same OUT_DIR).
ran() {
    local i
    for i in "${!NAMES[@]}"; do
        if [[ "${NAMES[$i]}" == "$1" && "${STATUSES[$i]}" != "not selected"* && "${STATUSES[$i]}" != skipped* ]]; then
            return 0
        fi
    done
    return 1
}
failed_correctness=0
for i in "${!NAMES[@]}"; do
    if [[ "${KINDS[$i]}" == correctness && "${STATUSES[$i]}" != passed && "${STATUSES[$i]}" != "not selected"* ]]; then
        failed_correctness=1
    fi
done
{
    echo "# GPU check on $CARD"
    echo
    echo "\`bash benchmarks/gpu_check.sh\` on $(hostname), $(date -u '+%Y-%m-%d %H:%M UTC'), $(($(date +%s) - START)) s" \
        "in all (deadline ${TOTAL} s). Python: \`$PY\`; versions and \`nvidia-smi\` in env.txt."
    if [[ -n "$MNIST" ]]; then
        echo "MNIST from $MNIST."
    else
        echo "**No MNIST files** (looked in \$ACTLAB_DATA, ../shared/datasets, shared/datasets): MLP figures come" \
            "from random MNIST-shaped data."
    fi
    for note in "${SETUP_NOTES[@]+"${SETUP_NOTES[@]}"}"; do
        echo "- $note"
    done
    echo
    echo "Every GPU figure is a ratio of timings taken in one process on this card, or seconds labelled with it; no" \
        "CPU figure is mixed in."
    echo
    echo "| step | kind | status | seconds | limit | log |"
    echo "|---|---|---|---|---|---|"
    for i in "${!NAMES[@]}"; do
        echo "| ${NAMES[$i]} | ${KINDS[$i]} | ${STATUSES[$i]} | ${SECONDS_TAKEN[$i]} | ${LIMITS[$i]} | ${NAMES[$i]}.log |"
    done
    echo
    echo "## Correctness"
    echo
    if ran correctness && [[ -f "$OUT/correctness.log" ]]; then
        echo '```'
        grep -E '^(FAILED|ERROR)' "$OUT/correctness.log" | head -40 || true
        tail -n 1 "$OUT/correctness.log"
        echo '```'
    else
        echo "Not run."
    fi
    echo
    if ran headline && [[ -f "$OUT/headline.md" ]]; then
        cat "$OUT/headline.md"
    else
        echo "## Headline"
        echo
        if ran headline; then echo "Not produced: see headline.log."; else echo "Not run (see the table above)."; fi
    fi
    echo
    echo "## Benchmarks (targets; the full tables in bench-*.md)"
    for section in kernels mlp cnn scaling; do
        file="$OUT/bench-$section.md"
        echo
        if ran "bench-$section" && [[ -f "$file" ]]; then
            echo "### bench-$section.md"
            echo
            if [[ $section == kernels ]]; then # its table has a row per activation: the targets only here
                grep -E '^(- |Targets|> No MNIST)' "$file" || echo "(no target lines: see the file)"
            else
                grep -E '^(\||- |Targets|> No MNIST)' "$file" || echo "(no table: see the file)"
            fi
        else
            if ran "bench-$section"; then
                echo "### bench-$section: not produced (see bench-$section.log)"
            else
                echo "### bench-$section: not run (see the table above)"
            fi
        fi
    done
} >"$SUMMARY"

echo "GPU check: $SUMMARY"
if ((failed_correctness)); then
    echo "GPU check: a correctness step failed" >&2
    exit 1
fi
exit 0
