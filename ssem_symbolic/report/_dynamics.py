"""The files of ``ssem dynamics --out``: the trajectory (.npz) and a PNG of v, c, o and the
variances against time, with the optimum drawn."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ..dynamics import Dynamics, Summary, Trajectory
from ..infra import atomic_write, together
from ..setting import variances


def save_trajectory(dyn: Dynamics, traj: Trajectory, summary: Summary,
                    folder: str | os.PathLike) -> tuple[Path, Path]:
    """``trajectory.npz`` (time, v, c, o, loss, within, between, optimum) and
    ``trajectory.png`` in ``folder``, written together and atomically."""
    folder = Path(folder)
    v, c, o = traj.x.T
    var = variances(v, c, o, dyn.m, dyn.k, dyn.p)
    buf = io.BytesIO()
    np.savez(buf, time=traj.time, v=v, c=c, o=o, loss=traj.loss, within=var["within"],
             between=var["between"], optimum=np.array(summary.optimum))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11.0, 4.2), dpi=110)
    for series, name, star in ((v, "v (views)", summary.optimum[0]),
                               (c, "c (class)", summary.optimum[1]),
                               (o, "o (other)", summary.optimum[2])):
        line, = ax.plot(traj.time, series, label=name)
        ax.axhline(star, color=line.get_color(), ls="--", lw=0.8)
    ax.set_xlabel("time" if traj.rule == "flow" else "step")
    ax.set_ylabel("similarity")
    ax.set_title(f"{dyn.spec.name}: {traj.rule}; dashed: the optimum", fontsize=9)
    ax.legend(fontsize=8)
    ax2.plot(traj.time, var["within"], label="within-class variance")
    ax2.plot(traj.time, var["between"], label="between-class variance")
    star = variances(*summary.optimum, dyn.m, dyn.k, dyn.p)
    ax2.axhline(float(star["within"]), color="C0", ls="--", lw=0.8)
    ax2.axhline(float(star["between"]), color="C1", ls="--", lw=0.8)
    ax2.set_xlabel("time" if traj.rule == "flow" else "step")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png")
    plt.close(fig)
    npz_path, png_path = folder / "trajectory.npz", folder / "trajectory.png"
    with together():
        atomic_write(npz_path, buf.getvalue(), make_parents=True)
        atomic_write(png_path, png.getvalue(), make_parents=True)
    return npz_path, png_path
