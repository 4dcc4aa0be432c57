"""Run SupCLLoss(gather=True) on WORLD gloo processes and save each rank's value and gradient.

    python tests/helpers/distributed_worker.py WORLD OUT_DIR

Rank r holds instances SPLITS[WORLD][r] of one global batch (sizes differ across ranks).
"""

import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

#: the presets and a spec file of the sigmoid form
CONVENTIONS = ("paper", "supcon", "supcon-split",
               str(Path(__file__).resolve().parents[2] / "examples" / "specs"
                   / "supervised-sigmoid.toml"))
SPLITS = {2: (5, 4), 4: (3, 2, 2, 2)}


def global_batch():
    gen = torch.Generator().manual_seed(7)
    z = torch.randn(9, 2, 6, generator=gen, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2])
    return z, labels


def run(rank: int, world: int, out: str) -> None:
    from ssem_symbolic.losses import SupCLLoss

    dist.init_process_group("gloo", init_method=f"file://{out}/rendezvous", rank=rank,
                            world_size=world)
    z, labels = global_batch()
    start = sum(SPLITS[world][:rank])
    rows = slice(start, start + SPLITS[world][rank])
    results = {}
    for convention in CONVENTIONS:
        for chunk in (None, 4):
            mine = z[rows].clone().requires_grad_()
            loss = SupCLLoss(0.3, 0.5, convention, chunk_size=chunk, gather=True)
            value = loss(mine, labels[rows])
            value.backward()
            results[(convention, chunk)] = (value.detach(), mine.grad)
    try:  # rank 1 with another embedding dimension: every rank gets the same clear error
        bad = z[rows, :, : 6 if rank != 1 else 5]
        SupCLLoss(0.3, 0.5, gather=True)(bad, labels[rows])
        results["mismatch"] = "no error"
    except ValueError as exc:
        results["mismatch"] = str(exc)
    torch.save(results, f"{out}/rank{rank}.pt")
    dist.destroy_process_group()


if __name__ == "__main__":
    world, out = int(sys.argv[1]), sys.argv[2]
    Path(out).mkdir(parents=True, exist_ok=True)
    mp.spawn(run, args=(world, out), nprocs=world, join=True)
