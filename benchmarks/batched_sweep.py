"""K free-embedding configurations trained as one batched tensor program against the same K
trained one by one, in ONE run; checks that both give the same embeddings.

    python benchmarks/batched_sweep.py [--configs 16] [--steps 1500]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

from ssem_symbolic.harness.train import TrainConfig, train_free_batched


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", type=int, default=16)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--loss", default="paper")
    args = ap.parse_args()
    configs = [TrainConfig("free", args.loss, alpha=(i % 8) / 7, tau=0.2 + 0.1 * (i // 8),
                           steps=args.steps, seed=i) for i in range(args.configs)]
    start = time.perf_counter()
    one_by_one = [train_free_batched([c])[0][0] for c in configs]
    t_loop = time.perf_counter() - start
    start = time.perf_counter()
    batched, _ = train_free_batched(configs)
    t_batch = time.perf_counter() - start
    diff = max((b - s).abs().max().item() for b, s in zip(batched, one_by_one))
    print(f"{args.configs} free-embedding configurations ({args.loss}, m,k,p = 3,4,2, d = 24, "
          f"{args.steps} Adam steps, float64); {platform.machine()}, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"one by one: {t_loop:.2f} s   batched: {t_batch:.2f} s   "
          f"speed-up {t_loop / t_batch:.1f}x")
    print(f"max |embedding difference| batched vs one by one: {diff:.1e}")
    print(json.dumps({"loop_s": t_loop, "batched_s": t_batch, "speedup": t_loop / t_batch,
                      "max_diff": diff}))


if __name__ == "__main__":
    main()
