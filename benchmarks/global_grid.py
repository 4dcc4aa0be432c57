"""Throughput of the global-optimum grid solver, side by side with the SSEM beta* grid solver
it builds on, in ONE run (target: 1e6 points in under 5 s, float64, on a 2-core CPU).

    python benchmarks/global_grid.py [--points 1000000]

Grid: alpha in [0, 1] linear x tau in [1e-2, 10] log, batch 3 x 4 x 2. For paper (SSEM holds
everywhere) and supcon-split (off SSEM at small alpha and tau). Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from ssem_symbolic.grid import global_optimum_grid
from ssem_symbolic.grid import optimal_beta_grid


def _best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    args = ap.parse_args()
    side = int(math.isqrt(args.points))
    a = torch.linspace(0, 1, side, dtype=torch.float64)[:, None]
    t = torch.logspace(-2, 1, side, dtype=torch.float64)[None, :]
    rows = []
    for loss in ("paper", "supcon-split"):
        global_optimum_grid(loss, 3, 4, 2, a[:4], t[:, :4])  # generate the kernels first
        t_beta, _ = _best(lambda: optimal_beta_grid(loss, 3, 4, 2, a, t))
        t_glob, g = _best(lambda: global_optimum_grid(loss, 3, 4, 2, a, t))
        off = int(sum((g.regime == i).sum() for i, r in enumerate(g.regimes) if "view" not in r))
        rows.append({"loss": loss, "points": side * side, "beta_grid_s": round(t_beta, 3),
                     "global_grid_s": round(t_glob, 3), "ratio": round(t_glob / t_beta, 2),
                     "off_ssem_points": off, "unsolved": g.unsolved,
                     "threads": torch.get_num_threads()})
    print(f"{'loss':<14}{'points':>10}{'beta grid':>11}{'global':>9}{'ratio':>7}"
          f"{'off SSEM':>10}{'unsolved':>10}")
    for r in rows:
        print(f"{r['loss']:<14}{r['points']:>10}{r['beta_grid_s']:>10.2f}s"
              f"{r['global_grid_s']:>8.2f}s{r['ratio']:>7.2f}{r['off_ssem_points']:>10}"
              f"{r['unsolved']:>10}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
