"""Know the CPU: its matmul units and what its matmuls measure, decided at run time.

The machines this project runs on differ from VM to VM (an Intel Xeon with
AVX512_BF16, an AMD EPYC with AVX2 only), and so do the meaning of a
benchmark figure and the faster precision. Hence:

- `features()`: the CPU's model name, logical cores and the matmul-relevant
  instruction sets (AVX2, AVX512F, AVX512_BF16, AMX), from /proc/cpuinfo on
  Linux (`parse_cpuinfo` reads its text), all False elsewhere;
- `describe()`: that as one line; `header(peaks)`: it and the peaks, the two
  lines printed beside every benchmark figure;
- `matmul_peaks()`: the measured float32 and bfloat16 GFLOP/s of large
  matmuls under TensorFlow (`matmul_gflops`, the one implementation; the
  roofline of a bfloat16 run is the bfloat16 peak, `Peaks.for_precision`);
- `auto_precision()`: what `--precision=auto` resolves to: "mixed_bfloat16"
  where the CPU has bfloat16 units *and* its bfloat16 matmuls measure at least
  `BFLOAT16_GAIN` times its float32 ones, else "float32". Units alone do not
  decide: on a 2-core Intel Xeon VM with AVX512_BF16 (no AMX), TensorFlow's
  bfloat16 matmul measured 180-240 GFLOP/s against 230-300 in float32, and the
  paper-size step ran 0.92x in mixed_bfloat16 (docs/benchmarks.md).

Importing this module imports neither TensorFlow nor Keras.
"""

import dataclasses
import os
import platform
import time

CPUINFO = "/proc/cpuinfo"
# (field of Features, /proc/cpuinfo flags that set it, the name describe() prints)
FLAGS = (
    ("avx2", ("avx2",), "avx2"),
    ("avx512f", ("avx512f",), "avx512f"),
    ("avx512_bf16", ("avx512_bf16",), "avx512_bf16"),
    ("amx_bf16", ("amx_bf16", "amx_tile"), "amx"),
)
BFLOAT16_PRECISIONS = ("mixed_bfloat16", "bfloat16")
BFLOAT16_GAIN = 1.3  # --precision=auto: mixed_bfloat16 only where its matmuls are this much faster


@dataclasses.dataclass(frozen=True)
class Features:
    """What a CPU offers a matmul. `has_bfloat16_units`: AVX512_BF16 or AMX."""

    model: str
    cores: int
    avx2: bool = False
    avx512f: bool = False
    avx512_bf16: bool = False
    amx_bf16: bool = False

    @property
    def has_bfloat16_units(self):
        return self.avx512_bf16 or self.amx_bf16


def usable_cores():
    """The logical cores this process may run on (its affinity where the system says)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def parse_cpuinfo(text, cores=None):
    """`Features` from the text of /proc/cpuinfo (its first processor's model name and flags).

    `cores` defaults to the number of processors the text lists. Lines other than
    `model name` and `flags` are ignored; text without them gives the model name
    "unknown" and no feature.
    """
    model, flags, processors = None, None, 0
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip()
        if key == "processor":
            processors += 1
        elif key == "model name" and model is None:
            model = " ".join(value.split())
        elif key == "flags" and flags is None:
            flags = set(value.split())
    flags = flags or set()
    found = {field: any(flag in flags for flag in names) for field, names, _ in FLAGS}
    return Features(model=model or "unknown", cores=cores or processors or 1, **found)


def features():
    """This machine's `Features` (/proc/cpuinfo on Linux; elsewhere the processor's name only)."""
    try:
        with open(CPUINFO) as f:
            text = f.read()
    except OSError:
        text = ""
    found = parse_cpuinfo(text, cores=usable_cores())
    if found.model == "unknown":
        found = dataclasses.replace(found, model=platform.processor() or platform.machine() or "unknown")
    return found


def describe(found=None):
    """One line naming the CPU, its cores and which matmul features it has and lacks, e.g.
    `Intel(R) Xeon(R) Processor, 2 cores: avx2 avx512f avx512_bf16 (no amx)`."""
    found = found or features()
    have = [name for field, _, name in FLAGS if getattr(found, field)]
    lack = [f"no {name}" for field, _, name in FLAGS if not getattr(found, field)]
    words = have + ([f"({', '.join(lack)})"] if lack else [])
    return f"{found.model}, {found.cores} cores: {' '.join(words)}"


def auto_precision(found=None, peaks=None):
    """What `--precision=auto` means on this CPU: "mixed_bfloat16" where it has bfloat16 units
    (AVX512_BF16 or AMX) and its bfloat16 matmuls measure at least `BFLOAT16_GAIN` times its
    float32 ones (`peaks`, measured here if None: a few seconds, only on a CPU with the units),
    else "float32"."""
    if not (found or features()).has_bfloat16_units:
        return "float32"
    peaks = peaks or matmul_peaks()
    return "mixed_bfloat16" if peaks.bfloat16 >= BFLOAT16_GAIN * peaks.float32 else "float32"


@dataclasses.dataclass(frozen=True)
class Peaks:
    """Measured matmul GFLOP/s of this machine, float32 and bfloat16."""

    float32: float
    bfloat16: float

    def for_precision(self, precision):
        """The peak a run of `precision` (a `--precision` value) is measured against."""
        if precision == "auto":
            precision = auto_precision(peaks=self)
        return self.bfloat16 if precision in BFLOAT16_PRECISIONS else self.float32

    def describe(self):
        return f"matmul peaks (TensorFlow): float32 {self.float32:.1f} GFLOP/s, bfloat16 {self.bfloat16:.1f} GFLOP/s"


def header(peaks, found=None):
    """The two lines every benchmark figure is printed under: `describe()` and `peaks.describe()`."""
    return f"cpu: {describe(found)}\n{peaks.describe()}"


DEFAULT_SIZES = (1024, 2048)


def matmul_gflops(dtype="float32", sizes=DEFAULT_SIZES, repeats=3, budget_s=10.0):
    """Best GFLOP/s of (n, n) @ (n, n) matmuls of `dtype` under TensorFlow, eager and XLA.

    Each size in `sizes` (ascending) is run by `tf.matmul` and by it under
    `jit_compile` (on some CPUs only XLA's bfloat16 dot uses the bfloat16
    units), a warm-up call then up to `repeats` timed calls; the fastest call
    counts. Once `budget_s` seconds are spent (a CPU without units for `dtype`
    can be ten times slower), each runner times one call only and no larger
    size is started: every size begun is timed by both runners.
    """
    import tensorflow as tf  # here: keeps TensorFlow out of `import video_lstm.core.cpu`

    deadline = time.perf_counter() + budget_s
    best = 0.0
    for n in sizes:
        if best and time.perf_counter() > deadline:
            break
        a = tf.cast(tf.random.uniform((n, n)), dtype)
        b = tf.cast(tf.random.uniform((n, n)), dtype)
        for fn in (tf.matmul, tf.function(tf.matmul, jit_compile=True)):
            fn(a, b).numpy()  # warm-up (and XLA's compile)
            for _ in range(repeats):
                start = time.perf_counter()
                fn(a, b).numpy()
                best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
                if time.perf_counter() > deadline:
                    break
    return best


def matmul_peaks(sizes=DEFAULT_SIZES, repeats=3, budget_s=10.0):
    """`Peaks`: `matmul_gflops` in float32 and in bfloat16 (a few seconds each)."""
    return Peaks(
        float32=matmul_gflops("float32", sizes, repeats, budget_s),
        bfloat16=matmul_gflops("bfloat16", sizes, repeats, budget_s),
    )
