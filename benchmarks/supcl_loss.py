"""SupCLLoss forward + backward against pytorch-metric-learning's SupConLoss and the bare
matrix products, side by side in ONE run.

    python benchmarks/supcl_loss.py [--rows 2048] [--dim 128] [--repeat 20]

rows = N * p embeddings (p = 2 views), float32, CPU. "fresh labels": the labels change every
step (drawn from --classes classes), as in real training; the other SupCLLoss rows repeat one
label pattern. "bare" is Z Z^T forward and its backward (the two products every
similarity-based loss needs, with an all-ones upstream gradient). Times are medians over
interleaved repeats in shuffled order, so machine noise and cache effects hit every row alike;
the minimum of each row is printed beside (noise only adds time, so the minimum is the cost
least disturbed by other processes).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time

import torch

from ssem_symbolic.loss import SupCLLoss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2048)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--classes", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    from pytorch_metric_learning.losses import SupConLoss

    torch.manual_seed(0)
    views = 2
    n = args.rows // views
    labels = torch.arange(args.classes).repeat_interleave(n // args.classes)
    z = torch.randn(n, views, args.dim, requires_grad=True)
    flat_labels = labels.repeat_interleave(views)
    zz = torch.randn(args.rows, args.dim, requires_grad=True)
    ones = torch.ones(args.rows, args.rows)

    def run(loss_fn):
        def step():
            z.grad = None
            loss_fn().backward()
        return step

    def bare():
        zz.grad = None
        (zz @ zz.T).backward(ones)

    pml = SupConLoss(temperature=0.1)
    cases = {"bare Z Z^T fwd+bwd": bare,
             "pml SupConLoss": run(lambda: pml(z.reshape(args.rows, args.dim), flat_labels))}
    # modules built once, as in training (masks and weights cached per label pattern)
    mods = {name: SupCLLoss(a, 0.1, loss) for name, (a, loss) in {
        "SupCLLoss supcon (alpha 0)": (0.0, "supcon"),
        "SupCLLoss supcon (alpha 0.5)": (0.5, "supcon"),
        "SupCLLoss paper (alpha 0.5)": (0.5, "paper")}.items()}
    # tau learned (a logit_scale parameter, its gradient computed too)
    mods["SupCLLoss supcon, learned tau"] = SupCLLoss(0.5, "learnable:0.01", "supcon")
    for name, mod in mods.items():
        cases[name] = run(lambda mod=mod: mod(z, labels))
    # real training: new labels every step (drawn beforehand, so drawing is not timed)
    gen = torch.Generator().manual_seed(1)
    fresh = [torch.randint(0, args.classes, (n,), generator=gen) for _ in range(8)]
    for name, (a, loss) in {"SupCLLoss supcon, fresh labels": (0.5, "supcon"),
                            "SupCLLoss paper, fresh labels": (0.5, "paper"),
                            "SupCLLoss split, fresh labels": (0.5, "supcon-split")}.items():
        mod, turn = SupCLLoss(a, 0.1, loss), iter(range(10**9))
        cases[name] = run(lambda mod=mod, turn=turn: mod(z, fresh[next(turn) % len(fresh)]))
    # the families beyond a flat batch: CLIP across the two views as modalities (an image
    # against the texts: an N x N product, a quarter of bare's), and SupCon summed over two
    # label levels (three terms, each with its own cached label pattern)
    from ssem_symbolic.spec import LossSpec

    pairs = dict(denominator=["view", "class", "other"], sup=["view", "class"],
                 self_=["view"], mean="anchors")
    clip = SupCLLoss(1.0, 0.1, LossSpec("clip", **pairs, contrast="cross-modal"))
    cases["SupCLLoss clip (cross-modal)"] = run(lambda: clip(z))
    levels = SupCLLoss(0.5, 0.1, LossSpec("two-level", **pairs, levels={"superclass": 1}))
    supers = labels // 4
    cases["SupCLLoss two-level"] = run(lambda: levels(z, labels, superclasses=supers))
    times = {name: [] for name in cases}
    for fn in cases.values():
        fn()  # warm-up
    order = list(cases.items())
    rnd = random.Random(0)
    for _ in range(args.repeat):
        rnd.shuffle(order)  # no case always runs right after pml's large allocations
        for name, fn in order:
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    low = {name: min(ts) for name, ts in times.items()}
    bare_t, pml_t = med["bare Z Z^T fwd+bwd"], med["pml SupConLoss"]
    bare_min = low["bare Z Z^T fwd+bwd"]
    print(f"rows {args.rows}, d {args.dim}, float32 CPU, {torch.get_num_threads()} threads, "
          f"{platform.machine()}, torch {torch.__version__}; median and minimum of "
          f"{args.repeat}")
    print(f"{'case':<32} {'median':>10} {'/ bare':>8} {'pml /':>8} {'min':>10} {'/ bare':>8}")
    for name, t in med.items():
        print(f"{name:<32} {t * 1e3:>8.2f}ms {t / bare_t:>8.2f} {pml_t / t:>8.2f} "
              f"{low[name] * 1e3:>8.2f}ms {low[name] / bare_min:>8.2f}")
    print(json.dumps({"median_s": med, "min_s": low}))


if __name__ == "__main__":
    main()
