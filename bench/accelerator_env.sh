# Sourced by the accelerator scripts (bench/accelerator_run.sh, bench/accelerator_driver.sh), from
# the repository root: sets START, OUT, PY, SMOKE, LOG, say(); makes Keras importable (installing
# the wheels carried in .whl/ when the machine lacks it) and finds mnist.npz.
START=$(date +%s)
OUT=${OUT:-/tmp/accelerator_out}
mkdir -p "$OUT"
read -ra PY <<< "${PYTHON:-python3}"  # may hold a prefix, e.g. "nice -n 19 python3"
SMOKE=${SMOKE:-0}
LOG="$OUT/run.log"
: > "$LOG"
export PYTHONUNBUFFERED=1 KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false TF_CPP_MIN_LOG_LEVEL=2

say() { echo "[$(( $(date +%s) - START ))s] $*" | tee -a "$LOG"; }

versions() {  # one interpreter start: the check that Keras loads, and what the machine has
    "${PY[@]}" -c "import sys, absl, cv2, jax, keras, numpy; print('python', sys.version.split()[0], 'jax',
jax.__version__, 'keras', keras.__version__, 'numpy', numpy.__version__, 'cv2', cv2.__version__, 'devices',
jax.devices())" 2>&1
}
if ! VERSIONS=$(versions); then
    if ls .whl/*.whl >/dev/null 2>&1; then
        say "installing wheels: $(cd .whl && ls *.whl | tr '\n' ' ')"
        "${PY[@]}" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site .whl/*.whl 2>&1 | tee -a "$LOG" || return 1
        export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
        VERSIONS=$(versions) || { echo "$VERSIONS" | tee -a "$LOG"; return 1; }
    else
        say "keras is missing and there are no wheels in .whl/"; return 1
    fi
else
    export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
if [ -z "${VIDEO_LSTM_DATA_DIR:-}" ] && [ -f .data/mnist.npz ]; then
    export VIDEO_LSTM_DATA_DIR=$PWD/.data
fi

{ nvidia-smi 2>&1 || echo "(no nvidia-smi)"; } | tee -a "$LOG"
echo "$VERSIONS" | tee -a "$LOG"

