"""The phase map and the guide, each a function of ``(spec, setting, ...)``, as the optimum,
the regimes and the threshold are (:mod:`ssem_symbolic.optimum`).

Behind each sits the setting's engine: the torch grid solver for a balanced batch, one exact
solve per point for unequal class sizes and for a dataset under its sampler.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..optimum import threshold
from ..setting import Batch, Dataset, Hierarchy, Paired
from ..spec import LossSpec, get_spec
from ..vocab import Learnable, exact
from ._guide import Guide, guide_balanced, guide_imbalanced, guide_learned, guide_uniform
from ._phase import PhaseMap, exact_phase_map, phase_map_balanced


def phase_map(spec: LossSpec | str, setting: Batch | Dataset | Hierarchy | Paired,
              alpha: np.ndarray,
              tau: np.ndarray, *, device: str = "cpu",
              progress: Callable[[], None] | None = None
              ) -> PhaseMap:
    """The optimum over the grid ``alpha`` x ``tau`` (two 1-d arrays).

    A balanced batch: beta* and the global optimum's regime at every point, on ``device`` (the
    generated torch kernels, float64). Unequal class sizes, a dataset, a hierarchy and
    image-text pairs: one exact solve per point (``progress`` is called after each).
    """
    spec = get_spec(spec)
    if not isinstance(setting, (Batch, Dataset, Hierarchy, Paired)):
        raise TypeError(f"a setting is a Batch, a Dataset, a Hierarchy or Paired, got "
                        f"{type(setting).__name__}")
    if isinstance(setting, Batch) and setting.is_balanced:
        return phase_map_balanced(spec, *setting.shape, alpha, tau, device)
    return exact_phase_map(spec, setting, alpha, tau, progress=progress)


def guide(spec: LossSpec | str, setting: Batch | Dataset, *, tau=None, alpha=None,
          target_within: float | None = None, dim: int | None = None) -> Guide:
    """Which alpha (``tau`` given) or tau (``alpha`` given) to train at for ``setting``.

    A batch: the thresholds (per class for unequal sizes) and, with ``target_within``, the
    point whose within-class variance equals it; with ``dim`` (and ``tau`` and
    ``target_within``) a warning where the optimum at the recommended alpha needs a rank above
    dim, with the within-class variance of the best configuration found in R^dim
    (:func:`~ssem_symbolic.report.in_dimension`). A dataset under the uniform sampler: every
    answer is the dataset-level one, which training with that sampler follows. A dataset
    under a balanced sampler (``tau`` given): the dataset-level alpha_c, with the guide of
    one of its batches under ``per_batch``.

    ``tau`` a :class:`~ssem_symbolic.vocab.Learnable`: the guide with tau learned, for any
    setting (:func:`~ssem_symbolic.report._guide.guide_learned`): alpha_c of the joint optimum
    over the embeddings and tau, and the alphas where its within-class variance meets
    ``target_within``.
    """
    spec = get_spec(spec)
    if isinstance(tau, Learnable):
        if dim is not None:
            raise ValueError("dim checks the optimum at a fixed tau: give a number for tau")
        return Guide(guide_learned(spec, setting, tau, target_within))
    return Guide(_guide(spec, setting, tau, alpha, target_within, dim))


def _guide(spec: LossSpec, setting, tau, alpha, target_within, dim) -> dict:
    """The guide's values for :func:`guide` (the family's guide behind it)."""
    if isinstance(setting, Batch):
        out = (guide_balanced(spec, *setting.shape, tau=tau, alpha=alpha,
                              target_within=target_within) if setting.is_balanced else
               guide_imbalanced(spec, setting.sizes, setting.views, tau=tau, alpha=alpha,
                                target_within=target_within))
        if dim is not None:
            _check_dimension(spec, setting, tau, out, dim)
        return out
    if dim is not None:
        raise ValueError("dim checks the recommended alpha of a batch, not of a dataset")
    if not isinstance(setting, Dataset):
        raise TypeError(f"a setting here is a Batch or a Dataset (a Hierarchy is taken by "
                        f"optimum, regimes and threshold), got {type(setting).__name__}")
    smp = setting.sampler
    if smp.kind == "uniform":
        return guide_uniform(spec, setting.classes, setting.instances, setting.views,
                             smp.batch, tau=tau, alpha=alpha, target_within=target_within)
    if smp.kind != "balanced":
        raise ValueError(f"the guide takes a balanced or uniform sampler, got {smp.describe()}")
    if tau is None:
        raise ValueError("under a balanced sampler the guide gives the dataset-level alpha_c at a "
                         "tau: give tau")
    one = guide_balanced(spec, smp.m, smp.k, setting.views, tau=tau, alpha=alpha,
                         target_within=target_within)
    keys = ("alpha_c", "alpha", "tau_c", "tau", "tau_solutions")
    return {"loss": spec.name, "batch": one["batch"], "tau": float(exact(tau)),
            "alpha_c": threshold(spec, setting, tau=tau).alpha_c,
            "per_batch": {key: one[key] for key in keys if key in one},
            "warnings": one["warnings"], "findings": one["findings"]}


def _check_dimension(spec: LossSpec, batch: Batch, tau, out: dict, dim: int) -> None:
    """The ``dimension`` warning of :func:`guide`, where R^dim cannot hold the optimum at the
    recommended alpha."""
    if tau is None or out.get("alpha") is None:
        raise ValueError("dim checks the recommended alpha: give tau and target_within")
    from ..optimum import optimum
    from ._dimension import in_dimension

    alpha = repr(float(out["alpha"]))
    opt = optimum(spec, batch, alpha, tau)
    rec = in_dimension(spec, batch, opt, alpha, tau, dim)
    if rec["realisable"] is False:
        out["warnings"].append({"kind": "dimension", "alpha": float(out["alpha"]),
                                "rank_needed": rec["rank_needed"], "dim": dim,
                                "found": rec["best_in_dim"],
                                "relaxed_within_per_class": [c["within_class_variance"]
                                                             for c in opt.per_class]})
