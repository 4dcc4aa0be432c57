"""Grid-solve throughput of optimal_beta_grid, side by side with the alternatives, in ONE run.

    python benchmarks/grid_solve.py [--points 1000000] [--loss paper] [--mp-subset 200]

Measures, on the same (alpha, tau) grid (alpha in [0, 1] linear, tau in [1e-3, 10] log):
  1. optimal_beta_grid, CPU float64 and float32 (kernels generated beforehand, timed apart);
  2. the scalar mpmath solver (derive.optimal_beta) on a random subset, extrapolated per point;
  3. SymPy's plain lambdify (numpy, unstabilised f', f'') in the same safeguarded Newton:
     how many points it can solve at all, and its time;
  4. CUDA float64 and float32, when a GPU is present.
Accuracy of 1 and 3 is checked against the mpmath subset. Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import time
import warnings

import numpy as np
import sympy as sp
import torch

from ssem_symbolic.forms import ARGS
from ssem_symbolic.ssem import derive, optimal_beta
from ssem_symbolic.grid import kernels, optimal_beta_grid


def _best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        if isinstance(out, torch.Tensor) and out.is_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times), out


def _plain_sympy_newton(loss, m, k, p, a, t, iters=200):
    """The same safeguarded Newton on SymPy's plain numpy lambdify of f', f''."""
    d = derive(loss)
    f1 = sp.lambdify(ARGS, d.dloss, "numpy")
    f2 = sp.lambdify(ARGS, d.d2loss, "numpy")
    ac = sp.lambdify((sp.Symbol("tau", positive=True), *ARGS[3:]), d.alpha_c, "numpy")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        collapsed = a <= ac(t, m, k, p)
        x, lo, hi = np.full_like(a, 0.5), np.zeros_like(a), np.ones_like(a)
        for _ in range(iters):
            g, h = f1(x, a, t, m, k, p), f2(x, a, t, m, k, p)
            hi = np.where(g > 0, x, hi)
            lo = np.where(g > 0, lo, x)
            nxt = x - g / h
            bad = ~((nxt > lo) & (nxt < hi)) | ~(h > 0)
            x = np.where(bad, (lo + hi) / 2, nxt)
        finite = np.isfinite(f1(np.full_like(a, 0.5), a, t, m, k, p))
        f = sp.lambdify(ARGS, d.loss, "numpy")
        a32, t32 = a.astype(np.float32), t.astype(np.float32)
        finite32 = np.isfinite(f(np.float32(0.5), a32, t32, np.float32(m), np.float32(k),
                                 np.float32(p)))
    return np.where(collapsed, 1.0, x), finite, finite32


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--loss", default="paper")
    ap.add_argument("--batch", default="10,8,2", help="m,k,p")
    ap.add_argument("--mp-subset", type=int, default=200)
    args = ap.parse_args()
    m, k, p = (int(v) for v in args.batch.split(","))
    side = int(round(math.sqrt(args.points)))
    alpha = torch.linspace(0, 1, side, dtype=torch.float64)[:, None]
    tau = torch.logspace(-3, 1, side, dtype=torch.float64)[None, :]
    n = side * side
    rows, out = [], {"points": n, "loss": args.loss, "batch": [m, k, p],
                     "machine": f"{platform.processor() or platform.machine()}, "
                                f"{torch.get_num_threads()} threads, torch {torch.__version__}"}

    start = time.perf_counter()
    kernels(args.loss, torch.float64).terms, kernels(args.loss, torch.float64).alpha_c
    kernels(args.loss, torch.float32).terms, kernels(args.loss, torch.float32).alpha_c
    out["kernel_generation_s"] = time.perf_counter() - start

    t64, b64 = _best(lambda: optimal_beta_grid(args.loss, m, k, p, alpha, tau))
    t32, b32 = _best(lambda: optimal_beta_grid(args.loss, m, k, p, alpha.float(), tau.float()))
    rows += [("optimal_beta_grid, CPU float64", t64, n / t64),
             ("optimal_beta_grid, CPU float32", t32, n / t32)]

    rnd = random.Random(0)
    subset = [(rnd.randrange(side), rnd.randrange(side)) for _ in range(args.mp_subset)]
    start = time.perf_counter()
    ref = [float(optimal_beta(args.loss, m, k, p, alpha[i, 0].item(), tau[0, j].item()))
           for i, j in subset]
    t_mp = (time.perf_counter() - start) / len(subset)
    rows.append((f"mpmath scalar loop ({len(subset)} points, extrapolated)", t_mp * n, 1 / t_mp))
    err64 = max(abs(b64[i, j].item() - r) for (i, j), r in zip(subset, ref))
    err32 = max((abs(b32[i, j].item() - r) for (i, j), r in zip(subset, ref)
                 if tau[0, j].item() >= 1e-2), default=0.0)

    a_np, t_np = (x.numpy() for x in torch.broadcast_tensors(alpha, tau))
    start = time.perf_counter()
    b_plain, finite, finite32 = _plain_sympy_newton(args.loss, m, k, p, a_np, t_np)
    t_plain = time.perf_counter() - start
    rows.append(("SymPy plain lambdify (numpy), same Newton", t_plain, n / t_plain))
    plain_err = [abs(b_plain[i, j] - r) for (i, j), r in zip(subset, ref)]
    plain_ok = sum(1 for e in plain_err if e <= 1e-10)

    if torch.cuda.is_available():
        ac, tc = alpha.cuda(), tau.cuda()
        optimal_beta_grid(args.loss, m, k, p, ac, tc)  # warm-up
        tg64, bg = _best(lambda: optimal_beta_grid(args.loss, m, k, p, ac, tc))
        tg32, _ = _best(lambda: optimal_beta_grid(args.loss, m, k, p, ac.float(), tc.float()))
        rows += [(f"optimal_beta_grid, CUDA float64 ({torch.cuda.get_device_name()})", tg64,
                  n / tg64), ("optimal_beta_grid, CUDA float32", tg32, n / tg32)]
        out["cuda_vs_cpu_max_diff"] = (bg.cpu() - b64).abs().max().item()

    print(f"{n} points, loss {args.loss}, m,k,p = {m},{k},{p}; {out['machine']}")
    print(f"kernel generation (once per spec and dtype, not timed below): "
          f"{out['kernel_generation_s']:.2f} s")
    print(f"{'method':<62} {'time for all':>13} {'points/s':>12}")
    for name, secs, rate in rows:
        print(f"{name:<62} {secs:>12.3f}s {rate:>12.3g}")
    speedup = t_mp * n / t64
    print(f"\nfloat64 grid vs scalar mpmath, per point: {speedup:,.0f}x")
    print(f"max |beta - mpmath| on the subset: float64 {err64:.2e}, float32 (tau >= 1e-2) "
          f"{err32:.2e}")
    print(f"SymPy plain lambdify: f'(0.5) non-finite at {int((~finite).sum())} of {n} points; "
          f"within 1e-10 of mpmath at {plain_ok} of {len(subset)} subset points; its f(0.5) in "
          f"float32 is non-finite at {int((~finite32).sum())} points (for tau up to "
          f"{t_np[~finite32].max() if (~finite32).any() else float('nan'):.3g})")
    out.update({"rows": rows, "speedup_vs_mpmath": speedup, "err64": err64, "err32": err32,
                "plain_nonfinite": int((~finite).sum()),
                "plain_nonfinite_f32_loss": int((~finite32).sum()), "plain_ok_subset": plain_ok,
                "subset": len(subset)})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
