"""A 10,000-step reduced trajectory against simulating the same steps on free unit embeddings,
side by side in ONE run (target: the reduced trajectory under 0.5 s, and the simulation at
least 100x slower).

    python benchmarks/dynamics.py [--steps 10000] [--sim-steps 1000]

supcon on a 3 x 4 x 2 batch, alpha 0.3, tau 0.5, gradient descent with lr 0.5 from a start
near complete collapse. The reduced side is `Dynamics.run` (the loss recorded at every step,
as the CLI does); the simulation is SupCLLoss's forward and backward on 24 embeddings in
float64 (one thread), the step and the renormalisation, --sim-steps of them, scaled to
--steps (its cost per step does not depend on the step). Medians of 3 repeats.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from ssem_symbolic.dynamics import Dynamics
from ssem_symbolic.loss import supcl_loss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--sim-steps", type=int, default=1000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    dyn = Dynamics("supcon", 3, 4, 2, "0.3", "0.5")
    labels = torch.arange(3).repeat_interleave(4)
    x0 = np.full(3, 1 - 1e-6)

    def reduced():
        dyn.run(x0, rule="gd", steps=args.steps, lr=0.5)

    def simulated():
        gen = torch.Generator().manual_seed(0)
        X = torch.nn.functional.normalize(torch.randn(12, 2, 24, generator=gen,
                                                      dtype=torch.float64), dim=-1)
        for _ in range(args.sim_steps):
            Xr = X.clone().requires_grad_()
            supcl_loss(Xr, labels, 0.3, 0.5, "supcon").backward()
            X = torch.nn.functional.normalize((Xr - 0.5 * Xr.grad).detach(), dim=-1)

    times = {"reduced": [], "simulated": []}
    for _ in range(3):
        for name, fn in (("reduced", reduced), ("simulated", simulated)):
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    red = statistics.median(times["reduced"])
    sim = statistics.median(times["simulated"]) * args.steps / args.sim_steps
    print(f"reduced, {args.steps} steps:   {red:.3f} s")
    print(f"simulated, {args.steps} steps: {sim:.3f} s (from {args.sim_steps} steps)")
    print(f"ratio: {sim / red:.0f}x")
    print(json.dumps({"reduced_s": red, "simulated_s": sim, "ratio": sim / red}))


if __name__ == "__main__":
    main()
