"""The files of ``ssem dynamics --out``: the trajectory (.npz) and a PNG of v, c, o and the
variances against time, with the optimum drawn."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ..dynamics import Dynamics, GroupDynamics, Summary, Trajectory
from ..infra import atomic_write, together


def save_trajectory(dyn: Dynamics | GroupDynamics, traj: Trajectory, summary: Summary,
                    folder: str | os.PathLike) -> tuple[Path, Path]:
    """``trajectory.npz`` (time, one array per coordinate, loss, within, between, optimum;
    ``coords`` names the coordinates: v, c, o for a balanced batch, the size-group family's
    otherwise) and ``trajectory.png`` in ``folder``, written together and atomically."""
    folder = Path(folder)
    names = ("v", "c", "o") if isinstance(dyn, Dynamics) else tuple(dyn.coords)
    var = [dyn.variances(x) for x in traj.x]
    within = np.array([d["within"] for d in var])
    between = np.array([d["between"] for d in var])
    buf = io.BytesIO()
    np.savez(buf, time=traj.time, loss=traj.loss, within=within, between=between,
             optimum=np.array(summary.optimum), coords=np.array(names),
             **{name: traj.x[:, i] for i, name in enumerate(names)})
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11.0, 4.2), dpi=110)
    labels = {"v": "v (views)", "c": "c (class)", "o": "o (other)"}
    for i, name in enumerate(names):
        line, = ax.plot(traj.time, traj.x[:, i], label=labels.get(name, name))
        ax.axhline(summary.optimum[i], color=line.get_color(), ls="--", lw=0.8)
    unit = "time" if traj.rule == "flow" else "step"
    ax.set_xlabel(unit)
    ax.set_ylabel("similarity")
    ax.set_title(f"{dyn.spec.name}: {traj.rule}; dashed: the optimum", fontsize=9)
    ax.legend(fontsize=8)
    ax2.plot(traj.time, within, label="within-class variance")
    ax2.plot(traj.time, between, label="between-class variance")
    star = dyn.variances(np.array(summary.optimum))
    ax2.axhline(star["within"], color="C0", ls="--", lw=0.8)
    ax2.axhline(star["between"], color="C1", ls="--", lw=0.8)
    ax2.set_xlabel(unit)
    ax2.legend(fontsize=8)
    return _write_pair(buf, fig, folder, "trajectory")


def save_dynamics_grid(name: str, batch: tuple, res, alphas, taus,
                       folder: str | os.PathLike) -> tuple[Path, Path]:
    """``dynamics_grid.npz`` (alpha, tau, plateau, final, moved, settled) and
    ``dynamics_grid.png`` (the plateau over the grid, and the within-class variance where
    the points end) in ``folder``, written together and atomically."""
    from ..setting import variances

    folder = Path(folder)
    m, k, p = batch
    final = res.final.numpy()
    within = np.vectorize(lambda v, c, o: float(variances(v, c, o, m, k, p)["within"]))(
        final[..., 0], final[..., 1], final[..., 2])
    buf = io.BytesIO()
    np.savez(buf, alpha=np.asarray(alphas), tau=np.asarray(taus),
             plateau=res.plateau.numpy(), final=final, moved=res.moved.numpy(),
             settled=res.settled.numpy(), within=within)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.2), dpi=110)
    for ax, data, title in ((axes[0], np.where(res.plateau.numpy() >= 0,
                                               res.plateau.numpy(), np.nan),
                             "plateau at collapse (steps)"),
                            (axes[1], np.where(res.settled.numpy(), within, np.nan),
                             "within-class variance where it settles")):
        im = ax.pcolormesh(np.asarray(taus), np.asarray(alphas), data, shading="nearest")
        fig.colorbar(im, ax=ax)
        ax.set_xlabel("tau")
        ax.set_ylabel("alpha")
        ax.set_title(f"{name}, {m} x {k} x {p}, lr {res.lr:g}: {title}", fontsize=9)
    return _write_pair(buf, fig, folder, "dynamics_grid")


def _write_pair(npz: io.BytesIO, fig, folder: Path, stem: str) -> tuple[Path, Path]:
    """``stem``.npz and ``stem``.png (the figure, then closed) in ``folder``, together and
    atomically."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png")
    plt.close(fig)
    npz_path, png_path = folder / f"{stem}.npz", folder / f"{stem}.png"
    with together():
        atomic_write(npz_path, npz.getvalue(), make_parents=True)
        atomic_write(png_path, png.getvalue(), make_parents=True)
    return npz_path, png_path
