"""Train with an implementation's own loss (a preset), log the run, then read the log with
`ssem diagnose` and print what the collapse monitor says.

    python examples/train_presets.py [--convention supcontrast] [--alpha 0] [--temperature 0.1]
                                     [--steps 1000] [--log run.csv] [--out run.png]

The network is a small MLP on scikit-learn's bundled digits (no download). Every step draws a
fresh class-balanced batch (--classes of the 10 digits, --per-class images each, two augmented
views: pixel shifts and noise) and takes one Adam step on SupCLLoss in the chosen convention,
whose value is what SupContrast's SupConLoss would print (supcontrast: scaled by
temperature / base_temperature). The monitor watches the same loss object, so it reads alpha,
the temperature and the convention from it, and it knows the sampler, so it predicts the
dataset-level optimum (the digits' training split has about 125 images per class; the
prediction takes the limit of many images per class). Only the public API is used.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ssem_symbolic.cli import main as ssem
from ssem_symbolic.harness import digits_views
from ssem_symbolic.infra import atomic_write
from ssem_symbolic.loss import CollapseMonitor, SupCLLoss
from ssem_symbolic.setting import Dataset, balanced


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--convention", default="supcontrast")
    ap.add_argument("--alpha", type=float, default=0.0)
    ap.add_argument("--temperature", type=float, default=0.1)
    ap.add_argument("--classes", type=int, default=8, help="m classes per batch")
    ap.add_argument("--per-class", type=int, default=8, help="k images per class")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=32, help="embedding dimension")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log", default="run.csv", help="the training log (CSV: step,loss)")
    ap.add_argument("--out", default="run.png", help="ssem diagnose's plot (PNG)")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(args.seed)
    m, k, p = args.classes, args.per_class, 2
    net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, args.dim))
    criterion = SupCLLoss(args.alpha, args.temperature, args.convention)
    monitor = CollapseMonitor(criterion, dataset=Dataset(10, None, p, balanced(m, k)))
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    rows, report = ["step,loss"], None
    for step in range(args.steps):
        digits = tuple(torch.randperm(10, generator=gen)[:m].tolist())  # m of the 10 digits
        x, labels = digits_views(m, k, p, gen, train=True, classes=digits)
        z = net(x)
        loss = criterion(z, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        rows.append(f"{step},{loss.item():.6f}")
        if step % 100 == 0 or step == args.steps - 1:
            report = monitor(z.detach(), labels, loss=loss.detach())
            print(f"step {step:4d}  loss {loss.item():.4f}  gap to the dataset floor "
                  f"{report['gap']:+.4f}  within {report['within']:.3f} (predicted "
                  f"{report['prediction']['within']:.3f})  effective rank "
                  f"{report['effective_rank']:.1f}")
    atomic_write(Path(args.log), ("\n".join(rows) + "\n").encode())
    print(f"wrote {args.log}\n")
    status = ssem(["diagnose", args.log, "--loss", args.convention, "--dataset", "10:inf",
                   "--sampler", f"balanced:{m}:{k}", "--alpha", f"{args.alpha:g}", "--tau",
                   f"{args.temperature:g}", "--dim", str(args.dim), "--out", args.out])
    print("\nthe monitor, last step:")
    for verdict in report["verdicts"]:
        print(f"  {verdict}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
