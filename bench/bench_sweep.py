"""Robustness sweeps: how long the Robustness page's default sweep takes, per method.

Run: .venv/bin/python bench/bench_sweep.py [--repeats 3] [--levels 8] [--side 256] [--threads all,1]

The requirement: "a sweep of 5 methods x 8 levels on a 256x256 image
finishes in under 30 s on this 2-core machine (U-Net included)". For every
degradation in ``segcore.synthetic.DEGRADATIONS`` this times

    sweep(DEFAULT_SWEEP_PRESETS, degradation, levels_between(low, high, 8), shape=(256, 256))

- cold: the first sweep in a fresh Python process (a child process per
  degradation), which pays the imports of scikit-learn and torch and the
  loading of the U-Net weights, as the app's first visit to the page does;
- warm: the median of ``--repeats`` sweeps in this process after a warm-up.

Both are measured for each torch thread count in ``--threads`` ("all" is
torch's default, one per core): the children get it as OMP_NUM_THREADS
(which also reaches scikit-learn), this process through
``torch.set_num_threads``. On two cores shared with another busy process,
two torch threads wait on each other and the U-Net can run many times
slower than with one.

Per-method columns are the sum of the methods' own ``seconds`` over the
levels (what ``segcore.segment`` measured); "rest" is the sweep's total
minus those: drawing the scene, degrading it and scoring. Ratios are shares
of the total of the same run, since this shared machine's absolute times
drift.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

# Run as a script from a checkout: make the repository's segcore importable.
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.common import machine  # noqa: E402
from segcore.robustness import DEFAULT_SWEEP_PRESETS, levels_between, sweep  # noqa: E402
from segcore.synthetic import DEGRADATIONS  # noqa: E402

LIMIT_SECONDS = 30.0
SHORT_NAMES = {"Otsu threshold": "Otsu", "Local threshold (mean)": "Local", "Region growing (auto seeds)": "RegGrow",
               "K-means (K=2)": "K-means", "U-Net (nuclei)": "U-Net"}


def timed_sweep(degradation: str, n_levels: int, side: int) -> dict:
    """One sweep: its wall time and each method's summed seconds."""
    low, high = DEGRADATIONS[degradation]["range"]
    levels = levels_between(low, high, n_levels)
    start = time.perf_counter()
    result = sweep(DEFAULT_SWEEP_PRESETS, degradation, levels, shape=(side, side))
    total = time.perf_counter() - start
    per_method = {method: sum(row["seconds"] for row in result.rows if row["method"] == method)
                  for method in DEFAULT_SWEEP_PRESETS}
    failed = sum(1 for row in result.rows if "error" in row)
    return {"total": total, "methods": per_method, "runs": len(result.rows), "failed": failed}


def cold_child(degradation: str, n_levels: int, side: int) -> None:
    """Print one cold sweep of this fresh process as JSON (run by the parent)."""
    print(json.dumps(timed_sweep(degradation, n_levels, side)))


def cold_sweep(degradation: str, n_levels: int, side: int, threads: int | None) -> dict:
    command = [sys.executable, __file__, "--cold-child", degradation, "--levels", str(n_levels), "--side", str(side)]
    env = {key: value for key, value in os.environ.items() if key != "OMP_NUM_THREADS"}
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    child = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return json.loads(child.stdout.strip().splitlines()[-1])


def warm_sweep(degradation: str, n_levels: int, side: int, repeats: int) -> dict:
    runs = [timed_sweep(degradation, n_levels, side) for _ in range(repeats)]
    middle = sorted(runs, key=lambda run: run["total"])[len(runs) // 2]  # the median run, kept whole
    return {**middle, "spread": (min(r["total"] for r in runs), max(r["total"] for r in runs))}


def row_text(label: str, degradation: str, run: dict) -> str:
    methods = run["methods"]
    rest = run["total"] - sum(methods.values())
    cells = " ".join(f"{methods[m]:8.2f}" for m in DEFAULT_SWEEP_PRESETS)
    unet_share = methods["U-Net (nuclei)"] / run["total"]
    verdict = "ok" if run["total"] < LIMIT_SECONDS else "OVER"
    failed = f"  {run['failed']} failed" if run["failed"] else ""
    return (f"{label:10} {degradation:12} {cells} {rest:8.2f} {run['total']:8.2f} {unet_share:7.0%}  "
            f"{verdict}{failed}")


def thread_setting(text: str) -> int | None:
    return None if text == "all" else int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--levels", type=int, default=8)
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--threads", default="all,1", help="torch thread counts to compare, e.g. all,1")
    parser.add_argument("--cold-child", metavar="DEGRADATION", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold_child:
        cold_child(args.cold_child, args.levels, args.side)
        return

    settings = [thread_setting(text) for text in args.threads.split(",")]
    n_runs = len(DEFAULT_SWEEP_PRESETS) * args.levels
    print(f"sweep of {len(DEFAULT_SWEEP_PRESETS)} methods x {args.levels} levels = {n_runs} runs on "
          f"{args.side}x{args.side}; requirement: under {LIMIT_SECONDS:g} s; seconds per column")
    header = " ".join(f"{SHORT_NAMES[m]:>8}" for m in DEFAULT_SWEEP_PRESETS)
    print(f"{'run':10} {'degradation':12} {header} {'rest':>8} {'total s':>8} {'U-Net %':>7}")
    totals: dict[str, list[float]] = {}
    for threads in settings:
        name = "all" if threads is None else str(threads)
        for degradation in DEGRADATIONS:
            run = cold_sweep(degradation, args.levels, args.side, threads)
            totals.setdefault(f"cold, torch threads {name}", []).append(run["total"])
            print(row_text(f"cold t={name}", degradation, run), flush=True)

    import torch  # imported once here, so the warm rows below do not pay for it

    for threads in settings:
        name = "all" if threads is None else str(threads)
        torch.set_num_threads(threads or os.cpu_count())
        timed_sweep("noise", 2, args.side)  # warm-up: imports, model loading, thread pool
        for degradation in DEGRADATIONS:
            run = warm_sweep(degradation, args.levels, args.side, args.repeats)
            totals.setdefault(f"warm, torch threads {name}", []).append(run["total"])
            low, high = run["spread"]
            print(row_text(f"warm t={name}", degradation, run) + f"  (range {low:.2f}-{high:.2f} s)", flush=True)

    for label, values in totals.items():
        verdict = "met" if max(values) < LIMIT_SECONDS else "NOT met"
        print(f"slowest sweep, {label}: {max(values):.2f} s (requirement {verdict})")
    print(f"machine: {machine()}, torch {torch.__version__} "
          f"(default {os.cpu_count()} threads; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')} here), "
          f"python {platform.python_version()}; medians of {args.repeats} warm sweeps")


if __name__ == "__main__":
    main()
