"""Train a small network on scikit-learn's digits with SupCLLoss, and watch for class collapse.

    python examples/train_digits.py [--alpha 0.2] [--temperature 0.5] [--convention paper]
                                    [--epochs 20] [--steps 50] [--device auto|cpu|cuda]
                                    [--out digits.png]

Every step draws a fresh balanced batch (m classes x k images x p augmented views: pixel
shifts and noise). After every epoch the collapse monitor reads a held-out batch and prints
the measured within-class variance next to the toolkit's prediction for this batch geometry.
The plot shows both over the epochs.
"""

from __future__ import annotations

import argparse

import torch

import ssem_symbolic as ss
from ssem_symbolic.loss import collapse_monitor
from ssem_symbolic.loss import resolve_device
from ssem_symbolic.harness import digits_views


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alpha", type=float, default=0.2)
    ap.add_argument("--temperature", type=float, default=0.5)
    ap.add_argument("--convention", default="paper")
    ap.add_argument("--classes", type=int, default=3, help="m classes per batch")
    ap.add_argument("--per-class", type=int, default=4, help="k images per class")
    ap.add_argument("--views", type=int, default=2, help="p augmented views per image")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--steps", type=int, default=50, help="steps per epoch")
    ap.add_argument("--dim", type=int, default=24, help="embedding dimension")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="digits.png", help="the plot (PNG)")
    args = ap.parse_args(argv)

    device = resolve_device(args.device)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    m, k, p = args.classes, args.per_class, args.views
    net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, args.dim)).to(device)
    criterion = ss.SupCLLoss(alpha=args.alpha, temperature=args.temperature,
                             convention=args.convention)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    held_out = digits_views(m, k, p, torch.Generator().manual_seed(10_000), train=False)

    history = []
    for epoch in range(1, args.epochs + 1):
        for _ in range(args.steps):
            x, labels = digits_views(m, k, p, gen, train=True)  # new images every step
            loss = criterion(net(x.to(device)), labels.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        with torch.no_grad():
            x, labels = held_out
            report = collapse_monitor(net(x.to(device)), labels.to(device),
                                         alpha=args.alpha, temperature=args.temperature,
                                         convention=args.convention)
        history.append(report)
        print(f"epoch {epoch:3d}  loss {loss.item():.4f}  within {report['within']:.4f}  "
              f"predicted {report['predicted_within']:.4f}  view sim "
              f"{report['view_similarity']:.3f}  simplex dist "
              f"{report['simplex_distance']:.3f}")
    print(history[-1]["verdict"])
    _plot(history, args)
    print(f"wrote {args.out}")
    return 0


def _plot(history: list[dict], args) -> None:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ssem_symbolic.infra import atomic_write

    epochs = range(1, len(history) + 1)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(epochs, [h["within"] for h in history], "o-", label="measured (held-out batch)")
    ax.axhline(history[-1]["predicted_within"], color="black", ls="--",
               label="predicted optimum (free embeddings)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("within-class variance")
    ax.set_title(f"{args.convention}: alpha = {args.alpha:g}, temperature = "
                 f"{args.temperature:g}, m x k x p = {args.classes} x {args.per_class} x "
                 f"{args.views}", fontsize=9)
    ax.legend(fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    atomic_write(args.out, buf.getvalue())


if __name__ == "__main__":
    raise SystemExit(main())
