"""video_lstm.core.cpu: the CPU's matmul features from /proc/cpuinfo, the line benchmarks print,
the precision `auto` picks, and the measured matmul peaks."""

import subprocess
import sys

import helpers
import pytest

from video_lstm.core import cpu

# Two processors of a Xeon with AVX512_BF16 but no AMX (this project's Intel VMs), cut short.
XEON = """\
processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R)   Processor
flags\t\t: fpu sse2 avx avx2 fma avx512f avx512dq avx512_bf16 avx512_fp16
bogomips\t: 4200.00

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R)   Processor
flags\t\t: fpu sse2 avx avx2 fma avx512f avx512dq avx512_bf16 avx512_fp16
"""
EPYC = """\
processor\t: 0
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse2 avx avx2 fma
"""
SAPPHIRE_RAPIDS_FLAGS = "flags\t\t: avx2 avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n"


def test_parse_cpuinfo_reads_the_model_the_flags_and_the_processors():
    xeon = cpu.parse_cpuinfo(XEON)
    assert xeon == cpu.Features(
        model="Intel(R) Xeon(R) Processor", cores=2, avx2=True, avx512f=True, avx512_bf16=True, amx_bf16=False
    )
    assert xeon.has_bfloat16_units
    epyc = cpu.parse_cpuinfo(EPYC, cores=8)
    assert (epyc.model, epyc.cores, epyc.avx2, epyc.avx512f, epyc.avx512_bf16, epyc.amx_bf16) == (
        "AMD EPYC 7B13",
        8,
        True,
        False,
        False,
        False,
    )
    assert not epyc.has_bfloat16_units


def test_parse_cpuinfo_finds_amx_and_survives_text_without_the_fields():
    amx = cpu.parse_cpuinfo(SAPPHIRE_RAPIDS_FLAGS)
    assert amx.amx_bf16 and amx.has_bfloat16_units and amx.model == "unknown" and amx.cores == 1
    assert cpu.parse_cpuinfo("flags : amx_tile\n").amx_bf16
    empty = cpu.parse_cpuinfo("no colon here\n")
    assert not (empty.avx2 or empty.avx512f or empty.has_bfloat16_units)


def test_features_of_this_machine_agree_with_its_cpuinfo():
    found = cpu.features()
    assert found.model and found.cores >= 1
    try:
        text = open(cpu.CPUINFO).read()
    except OSError:
        return
    parsed = cpu.parse_cpuinfo(text)
    assert (found.avx2, found.avx512f, found.avx512_bf16, found.amx_bf16) == (
        parsed.avx2,
        parsed.avx512f,
        parsed.avx512_bf16,
        parsed.amx_bf16,
    )


def test_describe_names_the_features_it_has_and_those_it_lacks():
    assert (
        cpu.describe(cpu.parse_cpuinfo(XEON))
        == "Intel(R) Xeon(R) Processor, 2 cores: avx2 avx512f avx512_bf16 (no amx)"
    )
    assert cpu.describe(cpu.parse_cpuinfo(EPYC, cores=2)) == (
        "AMD EPYC 7B13, 2 cores: avx2 (no avx512f, no avx512_bf16, no amx)"
    )
    assert cpu.describe(cpu.parse_cpuinfo(SAPPHIRE_RAPIDS_FLAGS)).endswith(": avx2 avx512f avx512_bf16 amx")
    assert cpu.describe().startswith(cpu.features().model)


def test_auto_precision_is_bfloat16_only_where_the_units_measure_faster(monkeypatch):
    faster = cpu.Peaks(float32=98.0, bfloat16=176.0)  # an EPYC with AVX512_BF16: 1.8x
    slower = cpu.Peaks(float32=280.0, bfloat16=210.0)  # this project's Xeon VM with AVX512_BF16: 0.75x
    assert cpu.auto_precision(cpu.parse_cpuinfo(XEON), faster) == "mixed_bfloat16"
    assert cpu.auto_precision(cpu.parse_cpuinfo(SAPPHIRE_RAPIDS_FLAGS), faster) == "mixed_bfloat16"
    assert cpu.auto_precision(cpu.parse_cpuinfo(XEON), slower) == "float32"
    assert cpu.auto_precision(cpu.parse_cpuinfo(XEON), cpu.Peaks(100.0, 129.0)) == "float32"  # under 1.3x
    # No units: float32 without measuring anything.
    monkeypatch.setattr(cpu, "matmul_peaks", lambda *a, **k: pytest.fail("measured on a CPU without units"))
    assert cpu.auto_precision(cpu.parse_cpuinfo(EPYC)) == "float32"


def test_a_bfloat16_run_is_measured_against_the_bfloat16_peak():
    peaks = cpu.Peaks(float32=100.0, bfloat16=250.0)
    assert peaks.for_precision("float32") == 100.0
    assert peaks.for_precision("mixed_bfloat16") == 250.0
    assert peaks.for_precision("bfloat16") == 250.0
    assert peaks.for_precision("auto") == (250.0 if cpu.features().has_bfloat16_units else 100.0)
    assert cpu.header(peaks, cpu.parse_cpuinfo(EPYC, cores=2)) == (
        "cpu: AMD EPYC 7B13, 2 cores: avx2 (no avx512f, no avx512_bf16, no amx)\n"
        "matmul peaks (TensorFlow): float32 100.0 GFLOP/s, bfloat16 250.0 GFLOP/s"
    )


def test_matmul_peaks_measures_both_precisions():
    peaks = cpu.matmul_peaks(sizes=(32, 64), repeats=1)
    assert peaks.float32 > 0 and peaks.bfloat16 > 0


def test_importing_the_module_imports_neither_tensorflow_nor_keras():
    code = (
        "import sys; from video_lstm.core import cpu; cpu.describe(); "
        "print(sorted(set(sys.modules) & {'keras', 'tensorflow'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=helpers.ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
