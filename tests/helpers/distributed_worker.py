"""Train one step of a DistributedDataParallel model with SupCLLoss(gather=True) on WORLD gloo
processes, and save each rank's loss value and parameter gradients.

    python tests/helpers/distributed_worker.py WORLD OUT_DIR

Rank r holds instances SPLITS[WORLD][r] of one global batch (sizes differ across ranks); the
model is a Linear layer from inputs of dimension 5 to features of dimension 6.
"""

import os
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
    """(inputs (9, 2, 5), labels (9,)): the global batch, float64."""
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(9, 2, 5, generator=gen, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2])
    return x, labels


def model():
    """The same Linear(5, 6) on every rank and in the single process (float64)."""
    torch.manual_seed(3)
    return torch.nn.Linear(5, 6).double()


def run(rank: int, world: int, out: str) -> None:
    torch.set_num_threads(1)
    from torch.nn.parallel import DistributedDataParallel

    from ssem_symbolic.loss import SupCLLoss

    dist.init_process_group("gloo", init_method=f"file://{out}/rendezvous", rank=rank,
                            world_size=world)
    x, labels = global_batch()
    start = sum(SPLITS[world][:rank])
    rows = slice(start, start + SPLITS[world][rank])
    results = {}
    for convention in CONVENTIONS:
        for chunk in (None, 4):
            net = DistributedDataParallel(model())
            loss = SupCLLoss(0.3, 0.5, convention, chunk_size=chunk, gather=True)
            value = loss(net(x[rows]), labels[rows])
            value.backward()
            results[(convention, chunk)] = (value.detach(),
                                            [q.grad.clone() for q in net.parameters()])
    z = model()(x).detach()
    try:  # rank 1 with another embedding dimension: every rank gets the same clear error
        bad = z[rows, :, : 6 if rank != 1 else 5]
        SupCLLoss(0.3, 0.5, gather=True)(bad, labels[rows])
        results["mismatch"] = "no error"
    except ValueError as exc:
        results["mismatch"] = str(exc)
    try:  # rank 1 with an empty batch: every rank gets the same clear error, none hangs
        mine = z[rows] if rank != 1 else z[:0]
        SupCLLoss(0.3, 0.5, gather=True)(mine, labels[rows] if rank != 1 else labels[:0])
        results["empty"] = "no error"
    except ValueError as exc:
        results["empty"] = str(exc)
    torch.save(results, f"{out}/rank{rank}.pt")
    dist.barrier()  # every rank has saved its results
    # and leaves without gloo's teardown, which now and then never returns under torch 2.13
    # (about 1 run in 4 of 4 ranks on 2 loaded cores, with this package's code old and new:
    # every rank had saved, and one hung in the process group's destructor)
    os._exit(0)


if __name__ == "__main__":
    world, out = int(sys.argv[1]), sys.argv[2]
    Path(out).mkdir(parents=True, exist_ok=True)
    mp.spawn(run, args=(world, out), nprocs=world, join=True)
