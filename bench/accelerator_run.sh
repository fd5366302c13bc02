#!/usr/bin/env bash
# One prepared run for an accelerator machine (JAX and PyTorch there, no
# TensorFlow, no Keras): the speed benchmark, then a timed training run.
#
#   OUT=/tmp/acc bash bench/accelerator_run.sh           # GPU: about 9 minutes in all
#   SMOKE=1 OUT=/tmp/acc bash bench/accelerator_run.sh   # tiny shapes, under a minute on a CPU
#
# Environment:
#   OUT            where everything lands (default /tmp/accelerator_out): bench.json,
#                  metrics.json, curve.json, samples.png, run.log
#   TRAIN_SECONDS  training budget (default 360; 4 with SMOKE=1)
#   BENCH_SECONDS  the benchmark starts no configuration after this (default 140)
#   TOTAL_SECONDS  hard wall-clock budget of the whole script (default 540): the
#                  training budget shrinks so that eval and writing still fit
#   TRAIN_BATCH    training batch (default 16, the paper's)
#   PRECISION      training precision: auto (the faster in the benchmark at
#                  TRAIN_BATCH), float32 or mixed_bfloat16
#   BATCHES        benchmark batch sizes (default 16,64,80,256)
#   PYTHON         interpreter (default python3)
# Keras and the packages the machine lacks come as wheels in .whl/ (installed
# only if importing absl, cv2, jax or keras fails: video_lstm.flags and
# pipelines.digits need absl and cv2); mnist.npz from $VIDEO_LSTM_DATA_DIR or .data/.
set -uo pipefail
cd "$(dirname "$0")/.."
source bench/accelerator_env.sh || exit 1

CACHE=${JAX_CACHE_DIR:-/tmp/jax_cache}
if [ "$SMOKE" = 1 ]; then
    BENCH_ARGS=(--smoke)
    TRAIN_ARGS=(--smoke --eval_sequences=64)
    TRAIN_BATCH=${TRAIN_BATCH:-2}  # the benchmark's smoke batch, so that PRECISION=auto has rows
    TRAIN_SECONDS=${TRAIN_SECONDS:-4}
    TOTAL_SECONDS=${TOTAL_SECONDS:-300}
else
    BENCH_ARGS=(--batches="${BATCHES:-16,64,80,256}" --max_seconds="${BENCH_SECONDS:-140}")
    TRAIN_ARGS=()
    TRAIN_SECONDS=${TRAIN_SECONDS:-360}
    TOTAL_SECONDS=${TOTAL_SECONDS:-540}
fi
DEADLINE=$(( START + TOTAL_SECONDS ))

say "benchmark"
timeout -k 15 -s INT $(( TOTAL_SECONDS / 3 + 30 )) "${PY[@]}" bench/accelerator.py "${BENCH_ARGS[@]}" \
    --cache_dir="$CACHE" --json="$OUT/bench.json" 2>&1 | tee -a "$LOG"
BENCH_RC=${PIPESTATUS[0]}
say "benchmark exit $BENCH_RC"

say "training (budget ${TRAIN_SECONDS} s, deadline in $(( DEADLINE - $(date +%s) )) s)"
timeout -k 15 -s INT $(( DEADLINE - $(date +%s) + 20 )) "${PY[@]}" bench/accelerator_train.py "${TRAIN_ARGS[@]}" \
    --out="$OUT" --train_seconds="$TRAIN_SECONDS" --deadline="$DEADLINE" \
    --batch="${TRAIN_BATCH:-16}" --precision="${PRECISION:-auto}" --bench_json="$OUT/bench.json" \
    --cache_dir="$CACHE" 2>&1 | tee -a "$LOG"
TRAIN_RC=${PIPESTATUS[0]}
say "training exit $TRAIN_RC; files: $(cd "$OUT" && ls | tr '\n' ' ')"
[ "$BENCH_RC" = 0 ] && [ "$TRAIN_RC" = 0 ]
