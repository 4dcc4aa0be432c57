"""How alpha_c moves with the embedding dimension d, on free embeddings in R^d.

    python examples/alpha_c_by_dim.py [--loss supcon] [--tau 0.5] [--dims 2,3,4,6,8,11,24]
                                      [--steps 1500] [--out alpha_c_by_dim.json]

A 3 x 4 x 2 batch. For each d, alpha_c is located from training alone (the cross-check's
locator: a scan, then the quadratic through the spreading points extrapolated to 0), beside
the relaxed alpha_c and the rank the optimum needs on either side of it. Writes the records
as JSON (atomically) and prints a table.
"""

from __future__ import annotations

import argparse
import json

from ssem_symbolic.harness.dimension import alpha_c_by_dim
from ssem_symbolic.infra import atomic_write


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loss", default="supcon")
    ap.add_argument("--tau", type=float, default=0.5)
    ap.add_argument("--dims", default="2,3,4,6,8,11,24")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--out", default="alpha_c_by_dim.json")
    args = ap.parse_args()
    dims = [int(d) for d in args.dims.split(",")]
    out = alpha_c_by_dim(args.loss, 3, 4, 2, args.tau, dims, steps=args.steps)
    atomic_write(args.out, (json.dumps(out, indent=1) + "\n").encode())
    print(f"{out['loss']}, 3 x 4 x 2, tau {out['tau']}: relaxed alpha_c {out['relaxed']:.4f}; "
          f"rank needed {out['rank_needed']['below']} below it, {out['rank_needed']['above']} "
          "above it")
    print(f"{'d':>4}  {'alpha_c(d)':>12}  {'+-':>8}  verdict against the relaxed")
    for r in out["rows"]:
        located = "-" if r["located"] is None else f"{r['located']:.4f}"
        unc = "-" if r["uncertainty"] is None else f"{r['uncertainty']:.4f}"
        print(f"{r['dim']:>4}  {located:>12}  {unc:>8}  {r['verdict']}"
              + ("" if r["realisable"] else "  (d below the rank above alpha_c)")
              + (f"  [{r['note']}]" if r["note"] else ""))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
