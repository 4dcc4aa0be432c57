"""SupCLLoss untiled against tiled (chunk_size): time and peak memory, side by side in ONE run.

    python benchmarks/supcl_tiled.py [--rows 16384] [--big 65536] [--repeat 3] [--loss NAME|PATH]

Each case runs in its own process (forward + backward, float32, d = 128, CPU, convention
supcon unless --loss names another (a preset or a spec file: the sigmoid form tiles too),
labels from 100 classes redrawn each step), so peak RSS (ru_maxrss) is that case's
alone. Targets (issue 15): tiled within 1.6x the untiled time at 16,384 rows; peak memory under
4 GB at 65,536 rows (the untiled loss would need several (M, M) float matrices: 17 GB each).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time


def case(rows: int, chunk: int | None, repeat: int, convention: str = "supcon") -> dict:
    import torch

    from ssem_symbolic.loss import SupCLLoss

    torch.manual_seed(0)
    n = rows // 2
    z = torch.randn(n, 2, 128, requires_grad=True)
    gen = torch.Generator().manual_seed(1)
    loss = SupCLLoss(0.5, 0.1, convention, chunk_size=chunk if chunk else None)
    if chunk == 0:  # untiled, whatever the size
        loss.chunk_size = None
        import ssem_symbolic.loss._losses as losses
        losses.AUTO_TILE_ROWS = 10**12
    times = []
    for _ in range(repeat):
        labels = torch.randint(0, 100, (n,), generator=gen)
        start = time.perf_counter()
        loss(z, labels).backward()
        times.append(time.perf_counter() - start)
        z.grad = None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    return {"rows": rows, "chunk": chunk, "median_s": statistics.median(times),
            "peak_rss_mib": peak}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=16384)
    ap.add_argument("--big", type=int, default=65536)
    ap.add_argument("--chunk", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--loss", default="supcon")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        rows, chunk = (int(x) for x in args.case.split(","))
        print(json.dumps(case(rows, chunk, args.repeat, args.loss)))
        return
    results = []
    for rows, chunk, repeat in ((args.rows, 0, args.repeat), (args.rows, args.chunk, args.repeat),
                                (args.big, args.chunk, 1)):
        done = subprocess.run([sys.executable, __file__, "--case", f"{rows},{chunk}",
                               "--repeat", str(repeat), "--loss", args.loss],
                              capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout))
        r = results[-1]
        print(f"rows {r['rows']:>6}  {'untiled' if not chunk else f'chunk {chunk}':>10}  "
              f"{r['median_s']:8.2f} s  peak RSS {r['peak_rss_mib'] / 1024:6.2f} GiB",
              flush=True)
    print(f"tiled / untiled time at {args.rows} rows: "
          f"{results[1]['median_s'] / results[0]['median_s']:.2f}x")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
