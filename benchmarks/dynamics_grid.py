"""Reduced trajectories over an (alpha, tau) grid: the generated torch kernel advancing every
point at once (`grid.dynamics_grid`) against `Dynamics.run` point by point, side by side in
ONE run, as a ratio.

    python benchmarks/dynamics_grid.py [--points 20] [--steps 1000]

supcon on a 3 x 4 x 2 batch, a --points x --points grid of alpha in [0.05, 0.95] and tau in
[0.2, 2], gradient descent with lr 0.5 from a start at 1e-6 of complete collapse, float64 on
the CPU (threads as torch sets them). Both sides start after their one-time set-up (the
kernel's generation, each point's symbolic gradient), which is timed apart. The largest
difference between the two trajectories' final points is printed beside.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from ssem_symbolic.dynamics import Dynamics
from ssem_symbolic.grid import dynamics_grid


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=20)
    ap.add_argument("--steps", type=int, default=1000)
    args = ap.parse_args()
    alphas = np.linspace(0.05, 0.95, args.points)
    taus = np.linspace(0.2, 2.0, args.points)
    a = torch.tensor(alphas)[:, None]
    t = torch.tensor(taus)[None, :]
    start = (1 - 1e-6,) * 3
    t0 = time.perf_counter()
    dynamics_grid("supcon", 3, 4, 2, a[:1], t[:, :1], lr=0.5, steps=1, start=start)
    setup_grid = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = dynamics_grid("supcon", 3, 4, 2, a, t, lr=0.5, steps=args.steps, start=start)
    grid_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    dyns = [[Dynamics("supcon", 3, 4, 2, repr(float(x)), repr(float(y))) for y in taus]
            for x in alphas]
    setup_loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    gap = 0.0
    for i, row in enumerate(dyns):
        for j, dyn in enumerate(row):
            end = dyn.run(np.array(start), rule="gd", steps=args.steps, lr=0.5).x[-1]
            gap = max(gap, float(np.abs(end - out.final[i, j].numpy()).max()))
    loop_s = time.perf_counter() - t0
    points = args.points ** 2
    print(f"{points} points x {args.steps} steps: grid kernel {grid_s:.3f} s (set-up "
          f"{setup_grid:.2f} s), point by point {loop_s:.3f} s (set-up {setup_loop:.2f} s); "
          f"ratio {loop_s / grid_s:.1f}x; largest difference of the final points {gap:.1e}")
    print(json.dumps({"points": points, "steps": args.steps, "grid_s": grid_s,
                      "loop_s": loop_s, "ratio": loop_s / grid_s, "max_gap": gap,
                      "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
