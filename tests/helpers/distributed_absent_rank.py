"""Two gloo processes; rank 1 never calls the loss. Rank 0 calls SupCLLoss(gather=True,
gather_timeout=2) and writes what it raised to OUT_DIR/rank0.txt.

    python tests/helpers/distributed_absent_rank.py OUT_DIR
"""

import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def run(rank: int, out: str) -> None:
    from ssem_symbolic.loss import SupCLLoss

    dist.init_process_group("gloo", init_method=f"file://{out}/rendezvous", rank=rank,
                            world_size=2)
    if rank == 1:  # a rank that skipped this step's loss
        time.sleep(4)
        return
    z = torch.randn(4, 2, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    try:
        SupCLLoss(0.3, 0.5, gather=True, gather_timeout=2)(z, torch.tensor([0, 1, 0, 1]))
        message = "no error"
    except RuntimeError as exc:
        message = str(exc)
    Path(out, "rank0.txt").write_text(message)


if __name__ == "__main__":
    out = sys.argv[1]
    Path(out).mkdir(parents=True, exist_ok=True)
    mp.spawn(run, args=(out,), nprocs=2, join=True)
