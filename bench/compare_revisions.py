r"""Training speed of this checkout against another git revision, in one run.

    python bench/compare_revisions.py --base=HEAD~1                 # paper size, batch 16
    python bench/compare_revisions.py --base=main --rounds=3 --batches=16,64

Checks the base revision out into a temporary worktree, then runs
`bench/train_speed.py` (ours only: no baselines, no variants) of each tree in
turn, `--rounds` times, in fresh processes, so that both see the same machine
and a noisy neighbour slows both alike. Prints each tree's median sequences/s
per batch size and the ratio this/base; `--json` writes the rows.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_tree(tree, config, batches, steps, repeats):
    """{batch: sequences/s} of `ours` from one train_speed.py process of `tree`."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [
            sys.executable, os.path.join(tree, "bench", "train_speed.py"), f"--configs={config}",
            f"--batches={','.join(map(str, batches))}", "--contenders=", "--variants=",
            f"--steps={steps}", f"--repeats={repeats}", f"--json={out.name}",
        ]
        env = {**os.environ, "PYTHONPATH": tree}
        result = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(f"train_speed.py of {tree} failed:\n{result.stderr[-3000:]}")
        rows = json.load(open(out.name))
    return {row["batch"]: row["ours_seq_per_s"] for row in rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--config", default="paper", help="train_speed.py configuration")
    parser.add_argument("--batches", default="16")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    base = tempfile.mkdtemp(prefix="base-tree-")
    subprocess.run(["git", "worktree", "add", "--detach", base, args.base], cwd=ROOT, check=True,
                   capture_output=True)
    try:
        speeds = {"this": {b: [] for b in batches}, "base": {b: [] for b in batches}}
        for round_ in range(args.rounds):
            for name, tree in (("base", base), ("this", ROOT)) if round_ % 2 else (("this", ROOT), ("base", base)):
                for batch, value in run_tree(tree, args.config, batches, args.steps, args.repeats).items():
                    speeds[name][batch].append(value)
                    print(f"round {round_ + 1} {name:>4} batch {batch}: {value:.2f} sequences/s", flush=True)
        rows = []
        for batch in batches:
            this, other = (statistics.median(speeds[k][batch]) for k in ("this", "base"))
            rows.append({"config": args.config, "batch": batch, "base": args.base, "this_seq_per_s": this,
                         "base_seq_per_s": other, "ratio": this / other,
                         "rounds": {k: speeds[k][batch] for k in speeds}})
            print(f"{args.config} batch {batch}: this {this:.2f}, {args.base} {other:.2f} sequences/s, "
                  f"ratio {this / other:.3f}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=2)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", base], cwd=ROOT, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
