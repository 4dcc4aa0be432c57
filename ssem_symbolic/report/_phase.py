"""Phase maps of the optimum over an (alpha, tau) grid, and their files (.npz, .png).

Each point holds beta* on SSEM and the global optimum over all unit embeddings
(:mod:`~ssem_symbolic.grid`): v*, c*, o*, the variances and the regime (its set of
active constraints). Where SSEM holds the optimum, the within-class variance is 1 - beta*; the
batch collapses exactly on the side alpha <= alpha_c(tau) of the closed-form boundary, drawn on
the heat map with every boundary between regimes.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..infra import atomic_write
from ..setting import Batch, Dataset, Hierarchy, Paired, collapsed
from ..spec import LossSpec, check_setting, get_spec
from ..setting import takes_convention
from ..optimum import SHOWN_OFF_SSEM, established



def validity_note(spec: LossSpec) -> str:
    """What is known about SSEM being the true optimum for this convention."""
    if established(spec):
        return (f"{spec.name}: SSEM holds a global minimiser for d >= mk - 1 (symmetry "
                "reduction in proofs/, its KKT step checked at 50 digits on a grid with "
                "tau >= 0.05; `ssem optimum` certifies single points)")
    shown = (" (it is shown false at small alpha and tau)" if spec.key() in SHOWN_OFF_SSEM
             else "")
    return (f"{spec.name}: SSEM validity is not established for this convention{shown}; "
            "`ssem optimum` certifies single points; beta is the best SSEM embedding, the "
            "variances, similarities and regimes are the global optimum's")


@dataclass(frozen=True)
class PhaseMap:
    """The optimum over an (alpha, tau) grid, whatever the setting: ``X[i, j]`` at
    (``alpha[i]``, ``tau[j]``).

    Every setting: ``within_class_variance`` (NA, NT) of the whole batch, and per size group
    (``sizes``, by decreasing size; a dataset's one group, ``None`` for n -> oo)
    ``within_by_size`` and ``collapsed_by_size`` (NA, NT, G).

    A balanced batch (the torch grid solver): ``beta`` (beta* on SSEM), the closed forms
    ``alpha_c`` (NT,), ``tau_c`` and ``tau_c_side`` (NA,: +1 collapse for tau >= tau_c, -1
    for tau <= tau_c; tau_c 0 every tau collapses, inf none does), the global optimum's
    ``view``, ``class_``, ``other`` and ``between_class_variance``, and ``regime[i, j]``, an
    index into ``regimes`` (sorted active-constraint names); -1 marks a point off SSEM below
    the grid solver's tau range, whose global values are NaN (counted in ``note``).

    Unequal class sizes: ``merged`` (NA, NT), whether some classes merge.

    A dataset under a balanced sampler: ``batch_within`` and ``batch_collapsed`` (NA, NT),
    the optimum of one batch trained alone, beside the dataset-level one.

    A hierarchy or image-text pairs: ``levels``, (NA, NT) arrays of what the family reports
    (a hierarchy: ``within_superclass`` and ``superclass_collapsed``; pairs:
    ``matched_distance`` (1 - a)/2, ``modality_gap``, ``aligned`` (every image on its text)
    and ``antipodal``).
    """

    spec: LossSpec
    setting: Batch | Dataset
    alpha: np.ndarray  #: (NA,)
    tau: np.ndarray  #: (NT,)
    within_class_variance: np.ndarray  #: (NA, NT)
    within_by_size: np.ndarray  #: (NA, NT, G)
    collapsed_by_size: np.ndarray  #: (NA, NT, G)
    sizes: tuple
    note: str = ""
    merged: np.ndarray | None = None
    beta: np.ndarray | None = None
    alpha_c: np.ndarray | None = None
    tau_c: np.ndarray | None = None
    tau_c_side: np.ndarray | None = None
    view: np.ndarray | None = None
    class_: np.ndarray | None = None
    other: np.ndarray | None = None
    between_class_variance: np.ndarray | None = None
    regime: np.ndarray | None = None
    regimes: tuple[tuple[str, ...], ...] = ()
    batch_within: np.ndarray | None = None
    batch_collapsed: np.ndarray | None = None
    levels: dict | None = None

    @property
    def loss(self) -> str:
        """The convention's name."""
        return self.spec.name

    @property
    def collapsed(self) -> np.ndarray:
        """(NA, NT): every class collapsed."""
        return self.collapsed_by_size.all(axis=2)

    @property
    def classes(self) -> int:
        return self.setting.classes

    @property
    def per_class(self) -> int:
        return self.setting.sizes.sizes[0]

    @property
    def views(self) -> int:
        return self.setting.views

    def as_dict(self) -> dict:
        """The map's summary (the arrays go to the .npz, :func:`save_phase_map`): the fraction
        of the grid where the global optimum collapses every class (a balanced batch: of the
        points the grid solver answers), per size group for unequal sizes, and beside it that
        of one batch of a balanced sampler; and the note."""
        if self.levels is not None:
            return {"collapsed_fraction": float(self.collapsed.mean()),
                    **{f"{name}_fraction": float(v.mean()) for name, v in self.levels.items()
                       if v.dtype == bool}, "note": self.note}
        if isinstance(self.setting, Dataset):
            return {"collapsed_fraction": float(self.collapsed.mean()),
                    "collapsed_fraction_per_batch": None if self.batch_collapsed is None
                    else float(self.batch_collapsed.mean()), "note": self.note}
        if self.beta is None:
            return {"class_sizes": list(self.setting.sizes.sizes),
                    "collapsed_fraction_by_size": {
                        str(s): float(self.collapsed_by_size[:, :, g].mean())
                        for g, s in enumerate(self.sizes)}, "note": self.note}
        solved = self.regime >= 0
        return {"collapsed_fraction": float(self.collapsed[solved].mean()) if solved.any()
                else None, "note": self.note}


def grid(start: float, stop: float, num: int, log: bool = False) -> np.ndarray:
    """``num`` points from ``start`` to ``stop``, evenly spaced (geometrically with ``log``)."""
    if num < 1:
        raise ValueError(f"a grid needs at least 1 point, got {num}")
    if log:
        if start <= 0 or stop <= 0:
            raise ValueError("a log grid needs positive ends")
        return np.geomspace(start, stop, num)
    return np.linspace(start, stop, num)


@takes_convention
def phase_map_balanced(convention: str | LossSpec, classes: int, per_class: int, views: int,
                       alpha: np.ndarray, tau: np.ndarray, device: str = "cpu") -> PhaseMap:
    """beta* (float64) at every (alpha, tau) pair of the two 1-d grids."""
    spec = get_spec(convention)
    check_setting(spec, classes, per_class, views)
    import torch  # the grid kernels: imported where a phase map is computed

    from ..grid import OFF_SSEM_TAU, global_optimum_grid, kernels

    a = torch.as_tensor(np.asarray(alpha, dtype=np.float64), device=device)
    t = torch.as_tensor(np.asarray(tau, dtype=np.float64), device=device)
    if a.dim() != 1 or t.dim() != 1:
        raise ValueError("alpha and tau grids must be 1-d")
    G = global_optimum_grid(spec, classes, per_class, views, a[:, None], t[None, :])
    K = kernels(spec, torch.float64)
    batch = (classes, per_class, views)
    note = validity_note(spec)
    if G.unsolved:
        note += (f"; {G.unsolved} grid points lie off SSEM at tau < {OFF_SSEM_TAU:g}, where "
                 "the grid solver does not answer: regime -1, global values NaN (ssem optimum "
                 "answers single points from tau = 0.001)")
    np_ = lambda x: x.cpu().numpy()  # noqa: E731
    tau_c, tau_c_side = K.tau_boundary(a, *batch)
    within, regime = np_(G.within), np_(G.regime)
    regimes = tuple(G.regimes)
    # each regime collapsed or not, looked up per point (index -1, not solved: not collapsed)
    gone = np.array([collapsed(r, views) for r in regimes] + [False], dtype=bool)[regime]
    return PhaseMap(
        spec=spec, setting=Batch.balanced(classes, per_class, views), alpha=np_(a), tau=np_(t),
        within_class_variance=within, within_by_size=within[:, :, None],
        collapsed_by_size=gone[:, :, None], sizes=(per_class,), note=note, beta=np_(G.beta),
        alpha_c=np_(K.alpha_c(t, *batch)), tau_c=np_(tau_c), tau_c_side=np_(tau_c_side),
        view=np_(G.view), class_=np_(G.class_), other=np_(G.other),
        between_class_variance=np_(G.between), regime=regime, regimes=regimes)


def save_npz(pm: PhaseMap, path: str | os.PathLike) -> None:
    """Write the map as .npz, atomically (a killed run leaves the old file or none)."""
    buf = io.BytesIO()
    np.savez(buf, alpha=pm.alpha, tau=pm.tau, beta=pm.beta,
             within_class_variance=pm.within_class_variance,
             between_class_variance=pm.between_class_variance,
             alpha_c=pm.alpha_c, tau_c=pm.tau_c, tau_c_side=pm.tau_c_side, loss=pm.loss,
             view_similarity=pm.view, class_similarity=pm.class_, other_similarity=pm.other,
             regime=pm.regime, regimes=np.array([",".join(r) for r in pm.regimes], dtype=str),
             loss_key=pm.spec.key(),
             batch=np.array([pm.classes, pm.per_class, pm.views]), note=pm.note)
    atomic_write(Path(path), buf.getvalue())


def save_png(pm: PhaseMap, path: str | os.PathLike, log_tau: bool = False,
             points: dict | None = None) -> None:
    """Two panels: the within-class variance of the global optimum with the closed-form
    boundary alpha_c(tau) and every regime boundary; the regimes, one colour each.

    ``points`` (optional: arrays ``alpha``, ``tau``, ``within``) overlays measured points
    coloured on the same scale, with black edges.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax_r) = plt.subplots(1, 2, figsize=(12.0, 4.8), dpi=110)
    _regime_panel(ax_r, pm, log_tau)
    within = pm.within_class_variance
    vmax = max(float(np.nanmax(within)), 1e-12)
    if pm.alpha.size > 1 and pm.tau.size > 1:
        mesh = ax.pcolormesh(pm.tau, pm.alpha, within, shading="auto", cmap="viridis",
                             vmin=0.0, vmax=vmax)
    else:
        mesh = ax.scatter(np.broadcast_to(pm.tau, within.shape), np.broadcast_to(
            pm.alpha[:, None], within.shape), c=within, cmap="viridis", vmin=0.0, vmax=vmax)
    fig.colorbar(mesh, ax=ax, label="within-class variance (global optimum)")
    if pm.alpha.size > 1 and pm.tau.size > 1 and len(pm.regimes) > 1:
        # every boundary between regimes: the level sets between consecutive indices
        levels = np.arange(len(pm.regimes) - 1) + 0.5
        ax.contour(pm.tau, pm.alpha, np.ma.masked_less(pm.regime.astype(float), 0),
                   levels=levels, colors="red",
                   linewidths=1.0, linestyles="solid")
        ax.plot([], [], color="red", lw=1.0, label="regime boundaries")
    if (pm.regime < 0).any():
        ax.contourf(pm.tau, pm.alpha, (pm.regime < 0).astype(float), levels=[0.5, 1.5],
                    colors="none", hatches=["//"])
    fine = np.geomspace(pm.tau.min(), pm.tau.max(), 400) if log_tau else np.linspace(
        pm.tau.min(), pm.tau.max(), 400)
    import torch

    from ..grid import kernels

    K = kernels(pm.spec, torch.float64)
    boundary = K.alpha_c(torch.as_tensor(fine), pm.classes, pm.per_class, pm.views).numpy()
    sides = set(K.alpha_sides(torch.as_tensor(fine), pm.classes, pm.per_class,
                              pm.views).tolist())
    side = {1.0: "below", -1.0: "above"}.get(sides.pop() if len(sides) == 1 else None,
                                             "on the side of f'(1) <= 0")
    ax.plot(fine, boundary, color="white", lw=2.0, label=f"alpha_c(tau): collapse {side}")
    ax.plot(fine, boundary, color="black", lw=0.8, ls="--")
    if points is not None:
        ax.scatter(points["tau"], points["alpha"], c=points["within"], cmap="viridis",
                   vmin=0.0, vmax=vmax, edgecolors="black", s=40, zorder=3, label="measured")
    if log_tau:
        ax.set_xscale("log")
    ax.set_xlabel("tau")
    ax.set_ylabel("alpha")
    ax.set_ylim(pm.alpha.min(), pm.alpha.max()) if pm.alpha.size > 1 else None
    ax.set_title(f"{pm.loss}: m={pm.classes}, k={pm.per_class}, p={pm.views}", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    off = sorted({pm.regimes[i] for i in np.unique(pm.regime) if i >= 0
                  if "view" not in pm.regimes[i] and pm.views > 1})
    if off:
        fig.text(0.01, 0.01, "off SSEM (views apart) in part of the map: "
                 + "; ".join("[" + ", ".join(r) + "]" for r in off), fontsize=7,
                 color="darkred")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    atomic_write(Path(path), buf.getvalue())


def _regime_panel(ax, pm: PhaseMap, log_tau: bool) -> None:
    """The regimes of the global optimum, one colour each (grey: not solved)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    colours = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3",
               "#8c8c8c", "#ccb974", "#64b5cd"]
    n = max(len(pm.regimes), 1)
    cmap = ListedColormap(["#dddddd"] + [colours[i % len(colours)] for i in range(n)])
    field = pm.regime.astype(float) + 1  # -1 (not solved) -> 0, grey
    if pm.alpha.size > 1 and pm.tau.size > 1:
        ax.pcolormesh(pm.tau, pm.alpha, field, shading="auto", cmap=cmap, vmin=-0.5,
                      vmax=n + 0.5)
    else:
        ax.scatter(np.broadcast_to(pm.tau, field.shape), np.broadcast_to(
            pm.alpha[:, None], field.shape), c=field, cmap=cmap, vmin=-0.5, vmax=n + 0.5)
    handles = [Patch(color=cmap(i + 1), label=("collapse: " if collapsed(r, pm.views) else "")
                     + "[" + ", ".join(r) + "]") for i, r in enumerate(pm.regimes)]
    if (pm.regime < 0).any():
        handles.append(Patch(color=cmap(0), label="off SSEM, not solved on the grid"))
    ax.legend(handles=handles, loc="lower right", fontsize=7, title="active constraints",
              title_fontsize=7)
    if log_tau:
        ax.set_xscale("log")
    ax.set_xlabel("tau")
    ax.set_ylabel("alpha")
    ax.set_title("regimes of the global optimum", fontsize=10)


#: the most grid points of an imbalanced phase map (each point is one exact solve, 0.1 to a
#: few seconds: small tau costs most)
MAX_IMBALANCED_POINTS = 400


def exact_phase_map(spec: LossSpec, setting: Batch | Dataset, alpha: np.ndarray,
                    tau: np.ndarray, progress=None) -> PhaseMap:
    """The phase map of a setting without a grid solver (unequal class sizes, a dataset under
    a sampler): one exact solve (:func:`~ssem_symbolic.optimum.optimum`) per grid point, at
    most :data:`MAX_IMBALANCED_POINTS`; per size group its within-class variance and collapse
    (a dataset: its one group), whether classes merge (unequal sizes), and beside a dataset
    under a balanced sampler the optimum of one of its batches trained alone. ``progress``
    (optional) is called after each point."""
    from ..optimum import optimum

    if isinstance(setting, (Hierarchy, Paired)):
        return _family_phase_map(spec, setting, alpha, tau, progress)
    data = isinstance(setting, Dataset)
    if data and setting.sampler.kind == "fixed-partition":
        raise ValueError("a fixed partition's phase map is its batches' (ssem phase on each)")
    if alpha.size * tau.size > MAX_IMBALANCED_POINTS:
        raise ValueError(f"{'a dataset-level' if data else 'an imbalanced'} phase map solves "
                         f"every point exactly: at most {MAX_IMBALANCED_POINTS} points, got "
                         f"{alpha.size * tau.size}")
    if data:
        first, sizes = [0], (setting.instances,)
        smp = setting.sampler
        one = Batch.balanced(smp.m, smp.k, setting.views) if smp.kind == "balanced" else None
    else:
        groups = setting.sizes.groups
        first = [setting.sizes.members(g)[0] for g in range(len(groups))]
        sizes, one = tuple(size for size, _ in groups), None
    shape = (alpha.size, tau.size)
    within = np.empty((*shape, len(first)))
    coll = np.empty_like(within, dtype=bool)
    whole, merged = np.empty(shape), np.empty(shape, dtype=bool)
    b_within = np.empty(shape) if one else None
    b_coll = np.empty(shape, dtype=bool) if one else None
    for i, a in enumerate(alpha):
        for j, t in enumerate(tau):
            opt = optimum(spec, setting, float(a), float(t))
            within[i, j] = [opt.per_class[c]["within_class_variance"] for c in first]
            coll[i, j] = [opt.per_class[c]["collapsed"] for c in first]
            whole[i, j], merged[i, j] = opt.within_class_variance, bool(opt.merged)
            if one:
                b = optimum(spec, one, float(a), float(t))
                b_within[i, j], b_coll[i, j] = b.within_class_variance, b.collapsed
            if progress is not None:
                progress()
    if data:
        return PhaseMap(spec, setting, alpha, tau, whole, within, coll, sizes,
                        note="exact solve per point (dataset-level global optimum, mpmath)",
                        batch_within=b_within, batch_collapsed=b_coll)
    return PhaseMap(spec, setting, alpha, tau, whole, within, coll, sizes,
                    note="exact solve per point (imbalanced global optimum, mpmath)",
                    merged=merged)


def _family_phase_map(spec: LossSpec, setting, alpha: np.ndarray, tau: np.ndarray,
                      progress=None) -> PhaseMap:
    """A hierarchy's or image-text pairs' phase map: one exact solve per point (at most
    :data:`MAX_IMBALANCED_POINTS`), the class level in the common fields and the family's own
    in ``levels``."""
    from ..optimum import optimum

    if alpha.size * tau.size > MAX_IMBALANCED_POINTS:
        raise ValueError(f"this phase map solves every point exactly: at most "
                         f"{MAX_IMBALANCED_POINTS} points, got {alpha.size * tau.size}")
    shape = (alpha.size, tau.size)
    hier = isinstance(setting, Hierarchy)
    names = (("within_superclass", float), ("superclass_collapsed", bool)) if hier else (
        ("matched_distance", float), ("modality_gap", float), ("aligned", bool),
        ("antipodal", bool))
    levels = {name: np.empty(shape, dtype=kind) for name, kind in names}
    within, coll = np.empty((*shape, 1)), np.empty((*shape, 1), dtype=bool)
    for i, a in enumerate(alpha):
        for j, t in enumerate(tau):
            opt = optimum(spec, setting, float(a), float(t))
            within[i, j, 0], coll[i, j, 0] = opt.within_class_variance, opt.collapsed
            if hier:
                info = opt.hierarchy
                levels["within_superclass"][i, j] = info["variances"]["within_superclass"]
                levels["superclass_collapsed"][i, j] = info["collapse"]["superclass"]
            else:
                info = opt.paired
                levels["matched_distance"][i, j] = (1 - info["matched_similarity"]) / 2
                levels["modality_gap"][i, j] = info["modality_gap"]
                levels["aligned"][i, j] = info["structure"] in ("simplex", "aligned")
                levels["antipodal"][i, j] = info["structure"] == "antipodal"
            if progress is not None:
                progress()
    what = "hierarchy" if hier else "image-text pairs"
    return PhaseMap(spec, setting, alpha, tau, within[:, :, 0], within, coll,
                    (setting.per_class,), note=f"exact solve per point ({what}, mpmath)",
                    levels=levels)


def _save_family(pm: PhaseMap, npz: Path, png: Path, log_tau: bool) -> None:
    """The .npz (every array) and a PNG of two heat maps, written atomically: a hierarchy's
    within-class and within-superclass variance with their collapse boundaries; pairs'
    (1 - a)/2 with the aligned boundary and the modality gap / 4 with the antipodal one."""
    buf = io.BytesIO()
    np.savez(buf, alpha=pm.alpha, tau=pm.tau, within=pm.within_class_variance,
             collapsed=pm.collapsed, loss=np.array(pm.loss), **pm.levels)
    atomic_write(npz, buf.getvalue())
    lv = pm.levels
    if isinstance(pm.setting, Hierarchy):
        panels = [("within-class (white: class collapse)", pm.within_class_variance,
                   pm.collapsed),
                  ("within-superclass (white: its collapse)", lv["within_superclass"],
                   lv["superclass_collapsed"])]
        label = "variance"
    else:
        panels = [("(1 - a)/2 (white: aligned)", lv["matched_distance"], lv["aligned"]),
                  ("modality gap / 4 (white: antipodal)", lv["modality_gap"] / 4,
                   lv["antipodal"])]
        label = "value"
    _panels(panels, pm.alpha, pm.tau, log_tau, png,
            f"{pm.loss}, {pm.setting.describe()}", label=label)


def _save_imbalanced(pm: PhaseMap, npz: Path, png: Path, log_tau: bool) -> None:
    """The .npz (every array, the sizes) and a PNG with one heat map per size group, its
    collapse boundary drawn, written atomically."""
    buf = io.BytesIO()
    np.savez(buf, alpha=pm.alpha, tau=pm.tau, within_by_size=pm.within_by_size,
             collapsed_by_size=pm.collapsed_by_size, merged=pm.merged,
             sizes=np.array(pm.sizes), class_sizes=np.array(pm.setting.sizes.sizes),
             loss=np.array(pm.loss))
    atomic_write(npz, buf.getvalue())
    _panels([(f"classes of size {pm.sizes[g]}", pm.within_by_size[:, :, g],
              pm.collapsed_by_size[:, :, g]) for g in range(len(pm.sizes))],
            pm.alpha, pm.tau, log_tau, png,
            f"{pm.loss}, sizes {list(pm.setting.sizes.sizes)}: within-class variance per class "
            "(white: its collapse boundary)")


def _panels(panels: list, alpha: np.ndarray, tau: np.ndarray, log_tau: bool, png: Path,
            title: str, label: str = "within-class variance") -> None:
    """A PNG of heat maps over (tau, alpha) of values in [0, 1] (by default the within-class
    variance; ``label`` names them), one per (title, values, flag), each with its flag's
    boundary in white, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.0), dpi=100,
                             squeeze=False)
    for (name, within, coll), ax in zip(panels, axes[0]):
        mesh = ax.pcolormesh(tau, alpha, within, shading="auto", cmap="viridis", vmin=0,
                             vmax=1)
        if coll.any() and not coll.all() and min(coll.shape) >= 2:  # a contour needs 2 x 2
            ax.contour(tau, alpha, coll.astype(float), levels=[0.5], colors="white",
                       linewidths=2)
        if log_tau:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("tau")
        ax.set_ylabel("alpha")
        ax.set_title(name, fontsize=10)
    fig.suptitle(title, fontsize=10)
    fig.colorbar(mesh, ax=axes[0].tolist(), label=label)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    atomic_write(png, out.getvalue())


def _save_dataset(pm: PhaseMap, npz: Path, png: Path, log_tau: bool) -> None:
    """The .npz (every array; the per-batch ones only where a batch stands for the sampler)
    and a PNG with the dataset-level map beside the per-batch one, written atomically."""
    buf = io.BytesIO()
    extra = ({} if pm.batch_within is None else
             {"batch_within": pm.batch_within, "batch_collapsed": pm.batch_collapsed})
    np.savez(buf, alpha=pm.alpha, tau=pm.tau, within=pm.within_class_variance,
             collapsed=pm.collapsed, loss=np.array(pm.loss), dataset=np.array(pm.setting.size_text),
             sampler=np.array(pm.setting.sampler.describe()), **extra)
    atomic_write(npz, buf.getvalue())
    panels = [("dataset-level (what training follows)", pm.within_class_variance,
               pm.collapsed)]
    if pm.batch_within is not None:
        panels.append(("one batch trained alone", pm.batch_within, pm.batch_collapsed))
    _panels(panels, pm.alpha, pm.tau, log_tau, png,
            f"{pm.loss}, dataset {pm.setting.size_text}, {pm.setting.sampler.describe()}: "
            "within-class variance "
            "(white: the collapse boundary)")


def save_phase_map(pm: PhaseMap, npz: str | os.PathLike, png: str | os.PathLike,
                   log_tau: bool = False) -> None:
    """The map's arrays as .npz and its figure as .png, each written atomically: for a
    balanced batch the within-class variance with every boundary and the regimes; for unequal
    sizes one heat map per size group; for a dataset the dataset-level map beside one
    batch's."""
    npz, png = Path(npz), Path(png)
    if pm.levels is not None:
        _save_family(pm, npz, png, log_tau)
    elif pm.beta is not None:
        save_npz(pm, npz)
        save_png(pm, png, log_tau=log_tau)
    elif isinstance(pm.setting, Dataset):
        _save_dataset(pm, npz, png, log_tau)
    else:
        _save_imbalanced(pm, npz, png, log_tau)
