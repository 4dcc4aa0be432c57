"""Wall time of the dataset-level `ssem guide` (issue 14; target: C = 1000, n = 1300, B = 256
under 5 s, process start included), and the float64 mixture objective, vectorised against its
per-group loop, side by side in one run.

Run: python benchmarks/dataset_guide.py  -- 3 runs of each command (median, worst), then the
objective's cost per evaluation for the ImageNet shape (best of 5 x 200 calls).
"""

import statistics
import subprocess
import sys
import time

import numpy as np

CASES = {
    "ImageNet shape, supcon": ["--loss", "supcon", "--num-classes", "1000",
                               "--instances-per-class", "1300", "--batch-size", "256"],
    "CIFAR-100 shape, supcon": ["--loss", "supcon", "--num-classes", "100",
                                "--instances-per-class", "500", "--batch-size", "512"],
    "CIFAR-100 shape, paper (Laplace weights)": [
        "--loss", "paper", "--num-classes", "100", "--instances-per-class", "500",
        "--batch-size", "512"],
}


def command_times() -> None:
    for name, argv in CASES.items():
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "ssem_symbolic", "guide", *argv, "--tau", "0.1",
                            "--json"], check=True, capture_output=True)
            runs.append(time.perf_counter() - start)
        print(f"{name:<42} median {statistics.median(runs):6.2f} s   worst {max(runs):6.2f} s")


def objective_ratio() -> None:
    from ssem_symbolic.optimum import uniform_objective
    from ssem_symbolic.setting import mixture
    from ssem_symbolic.setting import polyhedron
    from ssem_symbolic.spec import PRESETS

    spec = PRESETS["supcon"]
    make = uniform_objective(spec, polyhedron(1000, 1300, 2),
                             mixture(spec, 1000, 1300, 2, 256), "0.01", 256)
    obj = make(0.1, np)
    x = np.array([0.99, 0.9, -0.001])

    def best(fn) -> float:
        out = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(200):
                fn(x)
            out.append((time.perf_counter() - start) / 200)
        return min(out)

    vec = best(obj.parts)
    loop = best(obj._parts_loop)
    print(f"objective (value, gradient, Hessian), {len(obj.groups)} groups: vectorised "
          f"{vec * 1e6:.0f} us, per-group loop {loop * 1e6:.0f} us, ratio {loop / vec:.1f}x")


if __name__ == "__main__":
    command_times()
    objective_ratio()
