import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_train_speed_smoke_writes_rows(tmp_path):
    out = tmp_path / "speed.json"
    result = subprocess.run(
        [sys.executable, "bench/train_speed.py", "--smoke", f"--json={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(out.read_text())
    assert rows[0]["config"] == "smoke_b2"
    assert rows[0]["ours_seq_per_s"] > 0 and rows[0]["pipeline_seq_per_s"] > 0
    assert "ours seq/s" in result.stdout
