"""Wall time of `ssem explain`, process start included (target: < 3 s for B = 512, C = 100).

    python benchmarks/explain_latency.py [--repeat 5]

Cases: a labels file of B = 512 instances drawn uniformly from C = 100 classes (seed 0; 99
classes present, 11 distinct class sizes, so no floor: the exact solver takes 8), with and
without --dim 128; a balanced 100 x 5 x 2 batch (B = 500) with --dim 128; the dataset of 100
classes under a balanced sampler of 64 x 8. Median and worst of --repeat runs each, after one
warm-up run (the derivation cache filled, as on a machine that has run ssem once).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(0)
    fd, labels = tempfile.mkstemp(suffix=".txt")
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(str(rng.randrange(100)) for _ in range(512)) + "\n")
    base = [sys.executable, "-m", "ssem_symbolic", "explain", "--loss", "supcon", "--alpha",
            "0.3", "--tau", "0.1", "--value", "5.0", "--json"]
    cases = {
        "labels B=512 C=100": [*base, "--labels", labels],
        "labels B=512 C=100 --dim 128": [*base, "--labels", labels, "--dim", "128"],
        "balanced 100x5x2 --dim 128": [*base, "--classes", "100", "--per-class", "5", "--dim",
                                       "128"],
        "dataset 100:500 balanced:64:8": [*base, "--dataset", "100:500", "--sampler",
                                          "balanced:64:8"],
    }
    for name, cmd in cases.items():
        subprocess.run(cmd, check=True, capture_output=True)  # warm-up
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times.append(time.perf_counter() - t)
        print(f"{name:<32} median {statistics.median(times):6.2f} s  worst {max(times):6.2f} s")
    os.unlink(labels)


if __name__ == "__main__":
    main()
