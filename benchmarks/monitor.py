"""What CollapseMonitor adds to a training step, as a ratio to the loss alone, side by side in
ONE run.

    python benchmarks/monitor.py [--rows 2048] [--dim 128] [--repeat 20]

A step is SupCLLoss forward + backward on rows = N * 2 embeddings (float32, CPU). Labels are
fresh every step, drawn by a class-balanced sampler (--classes classes of the dataset's 100,
N / --classes instances each), so the label pattern is rebuilt every step, as in training.
"loss + monitor" also calls the monitor on the step's features, labels and loss value
(dataset-level prediction: the Dataset of 100 classes and its sampler), as constructed by
default (the effective rank on every 8th call); "loss + monitor, rank every call" measures
the effective rank on every call too (rank_every=1). Each case has its own SupCLLoss: a
watched loss keeps the batch's class sums in its forward pass (an O(M d) pass while the unit
rows are in cache), which the monitor then reads, so that work is in the watched steps and
not in the loss alone. The monitor's first
call solves the dataset-level optimum and the composition's references; it is made before
timing starts (a run pays it once). Times are medians over interleaved repeats in shuffled
order; the minimum is printed beside.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time

import torch

from ssem_symbolic.loss import CollapseMonitor, SupCLLoss
from ssem_symbolic.setting import Dataset, balanced


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2048)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--classes", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    torch.manual_seed(0)
    rng = random.Random(0)
    views, n = 2, args.rows // 2
    k = n // args.classes
    data = Dataset(100, 500, views, balanced(args.classes, k))
    loss = SupCLLoss(0.3, 0.1, "supcon")  # alone: no monitor has asked it to keep statistics
    monitor = CollapseMonitor(SupCLLoss(0.3, 0.1, "supcon"), dataset=data)
    every_call = CollapseMonitor(SupCLLoss(0.3, 0.1, "supcon"), dataset=data, rank_every=1)
    z = torch.randn(n, views, args.dim, requires_grad=True)

    def fresh_labels():
        ids = rng.sample(range(100), args.classes)
        return torch.tensor(ids).repeat_interleave(k)

    def loss_only():
        labels = fresh_labels()
        z.grad = None
        value = loss(z, labels)
        value.backward()

    def watched(mon):
        def step():  # the monitor's own loss: it keeps the class sums in its forward pass
            labels = fresh_labels()
            z.grad = None
            value = mon.loss(z, labels)
            value.backward()
            mon(z.detach(), labels, loss=value.detach())
        return step

    cases = {"loss alone": loss_only, "loss + monitor": watched(monitor),
             "loss + monitor, rank every call": watched(every_call)}
    times: dict = {name: [] for name in cases}
    for fn in cases.values():
        fn()  # the one-time solves (dataset-level optimum, the composition's floor); warm-up
    for _ in range(args.repeat):
        order = list(cases)
        rng.shuffle(order)
        for name in order:
            t = time.perf_counter()
            cases[name]()
            times[name].append(time.perf_counter() - t)
    base = statistics.median(times["loss alone"])
    rows = []
    for name, ts in times.items():
        med = statistics.median(ts)
        rows.append({"case": name, "median_ms": 1e3 * med, "min_ms": 1e3 * min(ts),
                     "ratio": med / base})
        print(f"{name:<32} median {1e3 * med:8.2f} ms  min {1e3 * min(ts):8.2f} ms  "
              f"ratio {med / base:.3f}")
    print(json.dumps({"rows": args.rows, "dim": args.dim, "torch": torch.__version__,
                      "threads": torch.get_num_threads(), "machine": platform.processor(),
                      "results": rows}))


if __name__ == "__main__":
    main()
