"""The prepared device check (issues 3 and 4): one short script for a lent GPU.

    python benchmarks/gpu_checks.py --device cuda            # on the GPU machine
    python benchmarks/gpu_checks.py --device cpu --small     # a dry run here

Runs, each timed after a warm-up and checked against the CPU:
  1. optimal_beta_grid on 1e7 points (float64 and float32), max |difference| to the CPU on a
     1e5-point subset grid;
  2. SupCLLoss forward + backward at N p = 8192, d = 512, float32, against bare Z Z^T, with
     repeated and with fresh labels every step; the tiled loss at N p = 32768 (time and peak
     device memory);
  3. a batched free-embedding sweep, K = 64 configurations of 10 x 10 x 2, d = 128.
Prints one JSON line with every figure, for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from ssem_symbolic.harness.train import TrainConfig, train_free_batched
from ssem_symbolic.loss import SupCLLoss
from ssem_symbolic.grid import optimal_beta_grid


def _timed(fn, device, repeat=3):
    fn()
    best = float("inf")
    for _ in range(repeat):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--small", action="store_true", help="dry-run sizes")
    args = ap.parse_args()
    dev = torch.device(args.device)
    side, rows, dim, k_cfg, steps = (300, 1024, 64, 8, 100) if args.small else (
        3163, 8192, 512, 64, 1500)
    out = {"device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu"}

    a = torch.linspace(0, 1, side, dtype=torch.float64, device=dev)[:, None]
    t = torch.logspace(-3, 0.69, side, dtype=torch.float64, device=dev)[None, :]  # to 4.9:
    # inside the float32 solver's checked range (GRID_TAU_RANGE)
    for dtype in (torch.float64, torch.float32):
        secs, b = _timed(lambda: optimal_beta_grid("paper", 10, 8, 2, a.to(dtype), t.to(dtype)),
                         dev)
        sub = (slice(None, None, max(1, side // 316)),) * 2
        ref = optimal_beta_grid("paper", 10, 8, 2, a[sub[0]].cpu().to(dtype),
                                t[:, sub[1]].cpu().to(dtype))
        out[f"grid_{str(dtype)[6:]}"] = {"points": side * side, "seconds": secs,
                                          "points_per_s": side * side / secs,
                                          "max_diff_vs_cpu":
                                              (b[sub].cpu() - ref).abs().max().item()}

    labels = torch.arange(64, device=dev).repeat_interleave(rows // 2 // 64)
    z = torch.randn(rows // 2, 2, dim, device=dev, requires_grad=True)
    zz = torch.randn(rows, dim, device=dev, requires_grad=True)
    ones = torch.ones(rows, rows, device=dev)
    loss = SupCLLoss(0.5, 0.1, "supcon")

    def ours():
        z.grad = None
        loss(z, labels).backward()

    def bare():
        zz.grad = None
        (zz @ zz.T).backward(ones)
    t_ours, _ = _timed(ours, dev, 10)
    t_bare, _ = _timed(bare, dev, 10)
    gen = torch.Generator().manual_seed(1)
    fresh = [torch.randint(0, 64, (rows // 2,), generator=gen).to(dev) for _ in range(4)]
    turn = iter(range(10**9))

    def ours_fresh():
        z.grad = None
        loss(z, fresh[next(turn) % len(fresh)]).backward()
    t_fresh, _ = _timed(ours_fresh, dev, 10)
    out["supcl_loss"] = {"rows": rows, "dim": dim, "seconds": t_ours, "bare_seconds": t_bare,
                         "ratio_to_bare": t_ours / t_bare, "fresh_labels_seconds": t_fresh,
                         "fresh_ratio_to_bare": t_fresh / t_bare}
    big = rows * 4
    zbig = torch.randn(big // 2, 2, dim, device=dev, requires_grad=True)
    lbig = torch.arange(100, device=dev).repeat_interleave(big // 2 // 100 + 1)[:big // 2]
    tiled = SupCLLoss(0.5, 0.1, "supcon", chunk_size=2048)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def ours_tiled():
        zbig.grad = None
        tiled(zbig, lbig).backward()
    t_tiled, _ = _timed(ours_tiled, dev, 3)
    out["supcl_loss_tiled"] = {"rows": big, "dim": dim, "chunk": 2048, "seconds": t_tiled,
                               "peak_device_gib": (torch.cuda.max_memory_allocated() / 2**30
                                                   if dev.type == "cuda" else None)}

    configs = [TrainConfig("free", "paper", (i % 16) / 15, 0.3 + 0.2 * (i // 16), 10, 10, 2,
                           dim=128, steps=steps, seed=i) for i in range(k_cfg)]
    start = time.perf_counter()
    zb, _ = train_free_batched(configs, device=args.device)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    out["batched_sweep"] = {"configs": k_cfg, "steps": steps,
                            "seconds": time.perf_counter() - start}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
