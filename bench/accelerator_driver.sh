#!/usr/bin/env bash
# The package's own trainer on an accelerator machine (JAX, no TensorFlow): the user's command,
#   KERAS_BACKEND=jax python -m video_lstm.train --flagfile=configs/paper_composite_conditional.flags
# for a wall-clock budget, then python -m video_lstm.evaluate on the fixed 10,000-sequence test set.
#
#   OUT=/tmp/driver bash bench/accelerator_driver.sh            # GPU: TRAIN_SECONDS + about 2 minutes
#   SMOKE=1 OUT=/tmp/driver bash bench/accelerator_driver.sh    # tiny shapes, about 90 s on a CPU
#
# The budget ends training with SIGTERM (`timeout -s TERM`): the trainer saves a checkpoint and
# exits; were it killed instead, the newest checkpoint (every CHECKPOINT_EVERY steps) is evaluated.
# Environment:
#   OUT               what comes back: run.log, config.json, data.json, metrics.json, samples.png,
#                     the TensorBoard event files (the training curve)
#   RUN_DIR           the log_dir (default /tmp/driver_run; its checkpoints are GBs, not in OUT)
#   FLAGFILE          default configs/paper_composite_conditional.flags
#   EXTRA_FLAGS       more training flags, after the flagfile's (e.g. "--optimizer=adam --feed=scheduled")
#   TRAIN_SECONDS     training budget (default 300)
#   PRECISION         default mixed_bfloat16 (the faster at batch 16 in bench/accelerator.py)
#   CHECKPOINT_EVERY  default 10000 steps
#   EVAL_SEQUENCES    default 10000
#   PYTHON            interpreter (default python3)
set -uo pipefail
cd "$(dirname "$0")/.."
source bench/accelerator_env.sh || exit 1

RUN=${RUN_DIR:-/tmp/driver_run}
FLAGFILE=${FLAGFILE:-configs/paper_composite_conditional.flags}
EXTRA=()
if [ "$SMOKE" = 1 ]; then
    FLAGFILE=configs/quickstart.flags
    EXTRA=(--units=16 --batch_size=4 --frame_size=32 --num_digits=1 --jit_compile=false --log_every=5 --image_every=20)
    TRAIN_SECONDS=${TRAIN_SECONDS:-60}
    CHECKPOINT_EVERY=${CHECKPOINT_EVERY:-5}
    EVAL_SEQUENCES=${EVAL_SEQUENCES:-16}
    PRECISION=${PRECISION:-float32}
fi
TRAIN_SECONDS=${TRAIN_SECONDS:-300}
read -ra MORE <<< "${EXTRA_FLAGS:-}"
EXTRA+=("${MORE[@]}")

say "training $FLAGFILE for ${TRAIN_SECONDS} s into $RUN"
timeout -k 60 -s TERM "$TRAIN_SECONDS" "${PY[@]}" -m video_lstm.train --flagfile="$FLAGFILE" --log_dir="$RUN" \
    --steps=1000000000 --checkpoint_every="${CHECKPOINT_EVERY:-10000}" --precision="${PRECISION:-mixed_bfloat16}" \
    "${EXTRA[@]}" 2>&1 | tee -a "$LOG"
TRAIN_RC=${PIPESTATUS[0]}
say "training exit $TRAIN_RC (124: the budget ended it; the lines above say whether SIGTERM saved a checkpoint)"

say "evaluating the newest checkpoint on ${EVAL_SEQUENCES:-10000} test sequences"
"${PY[@]}" -m video_lstm.evaluate --log_dir="$RUN" --eval_sequences="${EVAL_SEQUENCES:-10000}" 2>&1 | tee -a "$LOG"
EVAL_RC=${PIPESTATUS[0]}
for name in config.json data.json; do cp "$RUN/$name" "$OUT/" 2>/dev/null; done
cp "$RUN"/samples*.png "$OUT/" 2>/dev/null
cp "$RUN"/metrics*.json "$OUT/" 2>/dev/null
(cd "$RUN" && find . -name 'events.out.tfevents*' -size -20M -exec cp --parents {} "$OUT/" \;) 2>/dev/null
ls "$RUN/checkpoints" | tee -a "$LOG"
say "evaluation exit $EVAL_RC; files: $(cd "$OUT" && find . -type f | tr '\n' ' ')"
[ "$EVAL_RC" = 0 ]
