"""The cross-check's outputs: a text table, report.md and the two plots, written atomically."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from ..infra import atomic_write
from ..report import phase_map, validity_note
from ..setting import Batch
from ..grid import kernels, optimal_beta_grid
from ..spec import spec_from_dict
from .crosscheck import CrossCheck
from .errors import GROUPS, LAST
from .refine import FLOOR as POINT_FLOOR
from .threshold import FLOOR

_COLUMNS = ("trainer", "loss", "alpha", "tau", "beta*", "SSEM", "regime", "pred within",
            "meas within", "tol within", "pred view", "meas view", "residual", "loss gap",
            "verdict")


def _row(rec: dict) -> tuple[str, ...]:
    c, pr, me = rec["config"], rec["predicted"], rec["measured"]
    valid = ({True: "valid", False: "fails", None: "?"}[pr["ssem_valid"]]
             if "ssem_valid" in pr else "-")
    gap = me.get("loss_gap")
    regime = pr["regime"] + (" (SSEM only)" if pr.get("model") == "ssem" else "")
    trainer = c["trainer"] + (f" [{','.join(map(str, c['sizes']))}]" if "sizes" in c else "")
    if "sampler" in c:
        trainer += f" [{c['classes']}x{c['per_class']}, {c['sampler']}]"
    beta = "-" if "beta_star" not in pr else f"{pr['beta_star']:.4f}"
    tau = f"{c['tau']:.3g}" if "clamp" not in c else f"learned {me['tau']:.3g}"
    return (trainer, c["loss"], f"{c['alpha']:.4g}", tau,
            beta, valid, regime, f"{pr['predicted_within']:.4f}",
            f"{me['within']:.4f}".replace("-0.0000", "0.0000"),
            f"{me['tolerance']['within']:.1e}"
            if "tolerance" in me else "-", f"{pr.get('view_similarity', 1.0):.4f}",
            f"{me['view_similarity']:.4f}", f"{me['residual']:.2g}",
            "-" if gap is None else f"{gap:+.1e}", rec["verdict"])


def _threshold_row(t: dict) -> tuple[str, ...]:
    """One located threshold: alpha_c at a tau, or tau_c at an alpha (its uncertainty and
    difference then relative, in log tau)."""
    def num(x, fmt):
        return "-" if x is None else format(x, fmt)
    fixed = f"tau = {t['tau']:g}" if t["axis"] == "alpha" else f"alpha = {t['alpha']:g}"
    rel = "" if t["axis"] == "alpha" else " (rel.)"
    return (t["loss"], f"{t['axis']}_c at {fixed}", "x".join(map(str, t["batch"])),
            num(t["derived"], ".5f"), num(t["located"], ".5f"),
            num(t["uncertainty"], ".1e") + rel, num(t["difference"], "+.1e"),
            num(t["tolerance"], ".1e"),
            t["verdict"] + (f" ({t['note']})" if t["located"] is None and t.get("note")
                            else ""))


_T_COLUMNS = ("loss", "threshold", "m x k x p", "derived", "located (training)",
              "uncertainty", "difference", "tolerance", "verdict")


def table(result: CrossCheck) -> str:
    """Plain-text tables: predicted against measured, and the located thresholds."""
    def fmt(header, rows):
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
        return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])
    parts = [fmt(_COLUMNS, [_row(r) for r in result.points])]
    if result.thresholds:
        parts.append(fmt(_T_COLUMNS, [_threshold_row(t) for t in result.thresholds]))
    parts.append(fmt(_S_COLUMNS, summary(result)))
    counts = ", ".join(f"{n} {v}" for v, n in sorted(result.counts().items()))
    parts.append(f"verdicts (points): {counts}")
    return "\n\n".join(parts)


def work_line(result: CrossCheck) -> str:
    """The plan's work: the units' total and longest wall time, and what that makes on N
    workers (an executor running whole units, one per CPU)."""
    import os

    from .sweep import timing

    t = timing(result.points + result.thresholds, os.cpu_count() or 1)
    if not t["total"]:
        return ""
    return (f"Work: {t['total']:.0f} s of units in all, the longest {t['longest']:.0f} s; on "
            f"N workers about max({t['longest']:.0f}, {t['total']:.0f} / N) s.")


_S_COLUMNS = ("loss", "points agreeing", "thresholds agreeing", "largest within-class "
              "deviation (judged free points)", "largest threshold deviation")


def summary(result: CrossCheck) -> list[tuple[str, ...]]:
    """Per convention: points agreeing, thresholds agreeing, the largest |measured - predicted|
    within-class variance over its judged free-embedding points (not ``unconverged``), and the
    largest |located - derived|
    over its thresholds (alpha; the log ratio for tau)."""
    rows = []
    for loss in dict.fromkeys(r["config"]["loss"] for r in result.points):
        pts = [r for r in result.points if r["config"]["loss"] == loss]
        ths = [t for t in result.thresholds if t["loss"] == loss]
        free = [abs(r["measured"]["within"] - r["predicted"]["predicted_within"])
                for r in pts if r["config"]["trainer"] == "free"
                and r["verdict"] in ("agrees", "disagrees")]
        gaps = [abs(t["difference"]) for t in ths if t.get("difference") is not None]
        rows.append((loss, f"{sum(r['verdict'] == 'agrees' for r in pts)} of {len(pts)}",
                     f"{sum(t['verdict'] == 'agrees' for t in ths)} of {len(ths)}",
                     f"{max(free):.1e}" if free else "-", f"{max(gaps):.1e}" if gaps else "-"))
    return rows


def _specs(result: CrossCheck) -> dict:
    """The conventions of the records by name, rebuilt from the canonical form each carries."""
    return {r["config"]["loss"]: spec_from_dict(r["config"]["spec"]) for r in result.points}


def markdown(result: CrossCheck, size: str, seconds: float | None = None) -> str:
    def md(header, rows):
        return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                         + ["| " + " | ".join(r) + " |" for r in rows])
    specs = _specs(result)
    lines = [
        "# Cross-check: the derived thresholds against trained embeddings", "",
        f"Plan `{size}`; " + (f"ran in {seconds:.0f} s. " if seconds is not None else "")
        + "Verdicts: " + ", ".join(f"{n} {v}" for v, n in sorted(result.counts().items()))
        + ". " + work_line(result), "",
        "Predicted: the global optimum over all unit embeddings of the batch (the minimum "
        "over the symmetric Gram polyhedron: view, class and other similarities, variances, "
        "loss, regime), beta* on SSEM, and the SSEM certificate (`valid`: SSEM holds the "
        "global minimiser; `fails`: it does not, and the global optimum lies off SSEM). "
        "Measured on the trained unit embeddings: within-class variance, mean view "
        "similarity, the RMS residual of the Gram matrix from the predicted one, and (free, "
        "Gaussian) the loss gap: trained loss - predicted minimum.", "",
        "Every tolerance is a measured error, max(" f"{POINT_FLOOR:.1e}" ", 3 sigma) (the "
        "floor: sqrt of the float64 epsilon, the precision of any minimiser). Free embeddings "
        "and the Gaussian MLP: Newton finishes the descent of the batch's own loss from the "
        "trainer's end point (the judged values are Newton's; the trainer's own are in the "
        "records), and sigma comes from the residual gradient and the loss's float64 "
        "resolution eps_L. Digits (held-out data): sigma is the sampling error over the "
        f"evaluation instances ({GROUPS}-group jackknife). Mini-batch training: the spread "
        f"and drift over the last {LAST:.0%} of the steps. `disagrees`: a loss below the "
        "predicted minimum by more than eps_L, or the minimum's loss at another within-class "
        "variance or view similarity; `unconverged`: Newton reached no minimum, a tolerance "
        "covers the quantity's range, or a stationary point above the minimum (not judged); "
        "`off-model`: beyond tolerance where no loss decides (a network on held-out data, "
        "mini-batch training, the SSEM fallback); `agrees`: within tolerance.", "",
        "## Points", "", md(_COLUMNS + ("note",), [_row(r) + (r["note"],) for r in result.points]),
    ]
    if result.thresholds:
        lines += ["", "## Thresholds located from training alone (free embeddings)", "",
                  "A coarse scan (one batched run over the axis) finds the collapsed side; "
                  "points 0.01 to 0.06 beyond it on the spreading side (alpha, or log tau) "
                  "are trained with several seeds, and the within-class variance, fitted by "
                  "a quadratic, is extrapolated to zero. The uncertainty combines the seeds' "
                  "spread and a leave-one-point-out jackknife. No formula is read: `agrees` "
                  f"when |located - derived| <= max({FLOOR:g}, 3 x uncertainty) (for tau_c "
                  "the log ratio).", "",
                  md(_T_COLUMNS, [_threshold_row(t) for t in result.thresholds])]
    lines += ["", "## Summary per convention", "", md(_S_COLUMNS, summary(result))]
    lines += ["", "## SSEM validity", ""] + [f"- {validity_note(spec)}"
                                            for _, spec in sorted(specs.items())]
    lines += ["", "Plots: `phase.png` (closed-form boundary, measured free-embedding points "
              "coloured by measured within-class variance), `variance_vs_alpha.png` "
              "(predicted 1 - beta*(alpha) curves and measured points), "
              "`per_class_variance.png` (imbalanced batches: each class's predicted "
              "within-class variance against alpha, the imbalanced global optimum, and the "
              "measured points)."]
    return "\n".join(lines) + "\n"


def _free_points(result: CrossCheck, loss: str) -> list[dict]:
    """The balanced free-embedding points of a loss at a fixed tau."""
    return [r for r in result.points if r["config"]["trainer"] == "free"
            and r["config"]["loss"] == loss and "sizes" not in r["config"]
            and "clamp" not in r["config"]]


def _panels(result: CrossCheck, size: tuple[float, float]):
    """A headless figure with one panel per loss that has free-embedding points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    losses = sorted({r["config"]["loss"] for r in result.points
                     if r["config"]["trainer"] == "free" and "sizes" not in r["config"]})
    fig, axes = plt.subplots(1, len(losses), figsize=(size[0] * len(losses), size[1]),
                             dpi=100, squeeze=False)
    return fig, axes, losses


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    atomic_write(path, buf.getvalue())


def plot_phase(result: CrossCheck, path: Path) -> None:
    """One panel per loss: the phase map at the free batch, boundary, measured points."""
    import matplotlib.ticker

    fig, axes, losses = _panels(result, (5.2, 4.4))
    for ax, loss in zip(axes[0], losses):
        pts = _free_points(result, loss)
        c = pts[0]["config"]
        taus = [r["config"]["tau"] for r in pts]
        pm = phase_map(_specs(result)[loss],
                       Batch.balanced(c["classes"], c["per_class"], c["views"]),
                       np.linspace(0, 1, 101), np.geomspace(min(taus) / 2, max(taus) * 2, 121))
        mesh = ax.pcolormesh(pm.tau, pm.alpha, pm.within_class_variance, shading="auto",
                             cmap="viridis", vmin=0, vmax=1)
        ax.plot(pm.tau, pm.alpha_c, color="white", lw=2, label="alpha_c(tau)")
        ax.scatter(taus, [r["config"]["alpha"] for r in pts],
                   c=[r["measured"]["within"] for r in pts], cmap="viridis", vmin=0, vmax=1,
                   edgecolors=["red" if r["verdict"] != "agrees" else "black" for r in pts],
                   s=60, linewidths=1.5, zorder=3, label="measured (red edge: not agrees)")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("tau")
        ax.set_ylabel("alpha")
        ax.set_title(f"{loss}: m={c['classes']}, k={c['per_class']}, p={c['views']}",
                     fontsize=10)
        ax.legend(loc="lower right", fontsize=7)
    fig.colorbar(mesh, ax=axes[0].tolist(), label="within-class variance")
    _save(fig, path)


def plot_variance(result: CrossCheck, path: Path) -> None:
    """One panel per loss: the predicted within-class variance of the global optimum against
    alpha per tau (SSEM's 1 - beta* dashed where it differs), measured points on top."""
    fig, axes, losses = _panels(result, (5.0, 4.0))
    alphas = torch.linspace(0, 1, 201, dtype=torch.float64)
    coarse = np.linspace(0, 1, 26)
    specs = _specs(result)
    for ax, loss in zip(axes[0], losses):
        pts = _free_points(result, loss)
        c = pts[0]["config"]
        batch = (c["classes"], c["per_class"], c["views"])
        spec = specs[loss]
        for i, tau in enumerate(sorted({r["config"]["tau"] for r in pts})):
            color = f"C{i}"
            b = optimal_beta_grid(spec, *batch, alphas, tau)
            glob = [_global_within(spec, batch, a, tau) for a in coarse]
            if all(g is not None for g in glob):
                ax.plot(coarse, glob, color=color, label=f"predicted, tau={tau:g}")
                ax.plot(alphas, 1 - b, color=color, ls="--", lw=0.8)
            else:
                ax.plot(alphas, 1 - b, color=color, label=f"predicted (SSEM), tau={tau:g}")
            a_c = kernels(spec).alpha_c(tau, *batch).item()
            ax.axvline(a_c, color=color, ls=":", lw=1)
            mine = [r for r in pts if r["config"]["tau"] == tau]
            ax.scatter([r["config"]["alpha"] for r in mine],
                       [r["measured"]["within"] for r in mine], color=color, marker="o",
                       edgecolors="black", zorder=3, label=f"measured, tau={tau:g}")
        ax.set_xlabel("alpha")
        ax.set_ylabel("within-class variance")
        ax.set_title(f"{loss} (dotted: alpha_c; dashed: SSEM 1 - beta*)", fontsize=10)
        ax.legend(fontsize=7)
    _save(fig, path)


def _global_within(spec, batch, a, tau) -> float | None:
    from ..optimum import optimum

    try:
        return optimum(spec, Batch.balanced(*batch), f"{a:.6g}", tau).within_class_variance
    except ValueError:
        return None


#: the alpha grid of the predicted per-class curves
PER_CLASS_ALPHAS = 13


def plot_per_class(result: CrossCheck, path: Path) -> None:
    """One panel per imbalanced batch (loss, sizes, tau) of free-embedding points: each
    class's predicted within-class variance against alpha (the imbalanced global optimum,
    solid) and the measured one (markers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..optimum import optimum

    specs = _specs(result)
    groups: dict = {}
    for r in result.points:
        c = r["config"]
        if c["trainer"] == "free" and "sizes" in c:
            groups.setdefault((c["loss"], tuple(c["sizes"]), c["tau"], c["views"]), []).append(r)
    fig, axes = plt.subplots(1, max(1, len(groups)), figsize=(4.8 * max(1, len(groups)), 4.0),
                             dpi=100, squeeze=False)
    grid = np.linspace(0, 1, PER_CLASS_ALPHAS)
    for ax, ((loss, sizes, tau, p), pts) in zip(axes[0], sorted(groups.items())):
        curves = np.array([[c["within_class_variance"] for c in optimum(
            specs[loss], Batch(sizes, p), f"{a:.6g}", tau).per_class] for a in grid])
        shown = sorted({(s, i) for i, s in enumerate(sizes)}, reverse=True)
        seen = set()
        for j, (size, i) in enumerate(shown):
            if size in seen:  # classes of one size share their curve
                continue
            seen.add(size)
            color = f"C{len(seen) - 1}"
            ax.plot(grid, curves[:, i], color=color, label=f"predicted, k = {size}")
            ax.scatter([r["config"]["alpha"] for r in pts],
                       [r["measured"]["per_class_within"][i] for r in pts], color=color,
                       edgecolors=["red" if r["verdict"] != "agrees" else "black" for r in pts],
                       zorder=3, label=f"measured, k = {size}")
        ax.set_xlabel("alpha")
        ax.set_ylabel("within-class variance of the class")
        ax.set_title(f"{loss}, sizes {list(sizes)}, tau = {tau:g}", fontsize=10)
        ax.legend(fontsize=7)
    _save(fig, path)


def write(result: CrossCheck, out: Path, size: str, seconds: float | None = None) -> None:
    atomic_write(out / "report.md", markdown(result, size, seconds).encode())
    plot_phase(result, out / "phase.png")
    plot_variance(result, out / "variance_vs_alpha.png")
    plot_per_class(result, out / "per_class_variance.png")
