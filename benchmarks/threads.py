"""Threads for the cross-check's many small problems: torch's default (a thread per core)
against one thread in this process, and against worker processes of one thread each, side by
side in one run on the same plan (the records are the same; only the time differs).

    python benchmarks/threads.py --size tiny [--jobs 2] [--busy 2]

``--busy N`` starts N busy-looping processes beside it first, the loaded machine a user
often has. Prints one JSON line per mode and the ratios to the default.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import time
from pathlib import Path


def _spin() -> None:
    while True:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="tiny", choices=("tiny", "quick"))
    ap.add_argument("--loss", default="paper")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--busy", type=int, default=0)
    args = ap.parse_args()

    import torch

    from ssem_symbolic.harness.sweep import default_plan, run
    from ssem_symbolic.spec import get_spec

    busy = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for proc in busy:
        proc.start()
    plan = default_plan((get_spec(args.loss),), args.size)
    run(plan, Path(tempfile.mkdtemp()), progress=False, jobs=1, threads=1)  # warm the caches
    modes = {"default threads": dict(jobs=1, threads=None),
             "one thread": dict(jobs=1, threads=1),
             f"{args.jobs} processes x 1 thread": dict(jobs=args.jobs, threads=1)}
    seconds = {}
    for name, kw in modes.items():
        start = time.perf_counter()
        run(plan, Path(tempfile.mkdtemp()), progress=False, **kw)
        seconds[name] = time.perf_counter() - start
        print(json.dumps({"mode": name, "seconds": round(seconds[name], 1),
                          "size": args.size, "busy": args.busy,
                          "torch_default_threads": torch.get_num_threads()}), flush=True)
    base = seconds["default threads"]
    print(json.dumps({"ratio_to_default": {k: round(v / base, 2) for k, v in seconds.items()}}))
    for proc in busy:
        proc.terminate()


if __name__ == "__main__":
    main()
