"""Wall time of `ssem threshold`, `ssem optimum` (target: < 2 s) and `ssem regimes` (target:
< 5 s), process start included.

Run: python benchmarks/cli_latency.py [PREFIX]  -- measures a cold derivation cache (first call on a
fresh machine) and a warm one, side by side, 5 runs each; prints the median and the worst.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

CASES = {
    "threshold --tau": [
        "threshold", "--loss", "paper", "--classes", "10", "--per-class", "10", "--tau", "0.5",
        "--json"],
    "threshold --alpha": [
        "threshold", "--loss", "supcon", "--classes", "10", "--per-class", "10", "--alpha", "0.5",
        "--json"],
    "optimum": [
        "optimum", "--loss", "paper", "--classes", "3", "--per-class", "4", "--alpha", "0.5",
        "--tau", "0.5", "--json"],
    "optimum tau=1e-3": [
        "optimum", "--loss", "supcon", "--classes", "10", "--per-class", "10", "--alpha", "0.5",
        "--tau", "0.001", "--json"],
    # issue 10: the cases that took 109 s and > 300 s before
    "threshold 100x100 tau=1e-4": [
        "threshold", "--loss", "paper", "--classes", "100", "--per-class", "100", "--tau",
        "1e-4", "--json"],
    "optimum alpha=1 tau=2e-4": [
        "optimum", "--loss", "paper", "--classes", "3", "--per-class", "4", "--alpha", "1",
        "--tau", "2e-4", "--json"],
    "optimum tau=1e-100": [
        "optimum", "--loss", "paper", "--classes", "3", "--per-class", "4", "--alpha", "0.5",
        "--tau", "1e-100", "--json"],
    # issue 12: the global optimum off SSEM (target < 2 s) and the regimes (target < 5 s)
    "optimum off SSEM": [
        "optimum", "--loss", "supcon-split", "--classes", "3", "--per-class", "4", "--alpha",
        "0", "--tau", "0.3", "--json"],
    "regimes --tau": [
        "regimes", "--loss", "supcon-split", "--classes", "3", "--per-class", "4", "--tau",
        "0.3", "--json"],
    "regimes --alpha": [
        "regimes", "--loss", "supcon-split", "--classes", "3", "--per-class", "4", "--alpha",
        "0.1", "--json"],
    # issue 13: imbalanced batches (targets: <= 4 distinct sizes < 3 s; 100 classes in two
    # size groups < 10 s), beside the balanced optimum of a batch of the same size
    "optimum balanced 3x4": [
        "optimum", "--loss", "paper", "--class-sizes", "3x4", "--alpha", "0.3", "--tau", "0.5",
        "--json"],
    "optimum sizes 5,3,2,2": [
        "optimum", "--loss", "paper", "--class-sizes", "5,3,2,2", "--alpha", "0.3", "--tau",
        "0.5", "--json"],
    "optimum sizes 6,4,3,2 supcon": [
        "optimum", "--loss", "supcon", "--class-sizes", "6,4,3,2", "--alpha", "0.2", "--tau",
        "0.3", "--json"],
    "optimum 10x10,90x2 tau=0.1": [
        "optimum", "--loss", "supcon", "--class-sizes", "10x10,90x2", "--alpha", "0.5",
        "--tau", "0.1", "--json"],
    "optimum 10x10,90x2 alpha=0": [
        "optimum", "--loss", "paper", "--class-sizes", "10x10,90x2", "--alpha", "0",
        "--tau", "0.2", "--json"],
}


def timed(argv, env):
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ssem_symbolic", *argv], check=True, env=env,
                   capture_output=True)
    return time.perf_counter() - t


def main(repeats: int = 5) -> None:
    only = sys.argv[1] if len(sys.argv) > 1 else ""  # a prefix of the case names
    print(f"{'case':<28}{'cold median':>12}{'warm median':>12}{'warm worst':>12}")
    for name, argv in CASES.items():
        if not name.startswith(only):
            continue
        cold = []
        for _ in range(repeats):
            env = dict(os.environ, SSEM_CACHE_DIR=tempfile.mkdtemp())
            cold.append(timed(argv, env))
        env = dict(os.environ, SSEM_CACHE_DIR=tempfile.mkdtemp())
        timed(argv, env)
        warm = [timed(argv, env) for _ in range(repeats)]
        print(f"{name:<28}{statistics.median(cold):>11.2f}s{statistics.median(warm):>11.2f}s"
              f"{max(warm):>11.2f}s")


if __name__ == "__main__":
    main()
