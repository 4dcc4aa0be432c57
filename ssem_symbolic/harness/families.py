"""The families beyond a flat batch against free embeddings: a hierarchy of labels trained
with a loss summed over label levels, and image-text pairs trained with CLIP's and SigLIP's
cross-modal losses, each through :class:`~ssem_symbolic.loss.SupCLLoss` (the training loss a
user runs), judged against the exact optimum.

Each point trains free embeddings (d = the number of embeddings, so no rank limit) with Adam
and a cosine-decayed step size, then polishes them with L-BFGS on the same loss. Measured: the
loss and the mean Gram value of every pair of levels (a hierarchy: view, class, superclass,
other; pairs: matched, other across the modalities, other within one). Verdicts:

* ``disagrees``: the trained loss lies below the predicted minimum by more than
  :data:`RESOLUTION`, or it reaches the minimum (within :data:`LOSS_TOL`) with a similarity
  more than :data:`SIMILARITY_TOL` away;
* ``unconverged``: the trained loss stays above the minimum by more than :data:`LOSS_TOL` (not
  judged);
* ``agrees``: the loss within :data:`LOSS_TOL` and every similarity within
  :data:`SIMILARITY_TOL`.
"""

from __future__ import annotations

import math

import torch

from ..loss import SupCLLoss
from ..optimum import optimum
from ..setting import Hierarchy, Paired
from ..spec import LossSpec
from ..vocab import exact

#: the loss a trained point may lie below the minimum by (float64 rounding of the loss)
RESOLUTION = 1e-9
#: how close the trained loss must come to the minimum to be judged
LOSS_TOL = 1e-6
#: how close each mean similarity must come to the predicted one
SIMILARITY_TOL = 1e-3

_SUPCON = dict(denominator=["view", "class", "other"], sup=["view", "class"], self_=["view"],
               mean="anchors")


def plan(size: str = "quick") -> list[dict]:
    """The points: the two-level SupCon (lambda 1) on a 2 x 2 x 2 x 2 hierarchy at tau 2, on
    both sides of its two boundaries (superclass collapse below alpha 0.1981, class collapse
    below 0.8613); Lee, Chang and Sohn's sigmoid loss (b = t) on 6 pairs on each side of both
    thresholds (antipodal up to t = 0.3466, the simplex from 0.9155); CLIP on 6 pairs. "full"
    adds more alphas, and CLIP with labels."""
    levels = LossSpec("two-level", **_SUPCON, levels={"superclass": 1})
    clip = LossSpec("clip", **_SUPCON, contrast="cross-modal")
    points = [{"family": "hierarchy", "spec": levels, "shape": (2, 2, 2, 2), "alpha": a,
               "tau": "2"} for a in (("0.1", "0.5", "0.95") if size != "full" else
                                     ("0", "0.1", "0.3", "0.5", "0.8", "0.95", "1"))]
    for t in ("0.25", "0.6", "1.2") if size != "full" else ("0.2", "0.3", "0.4", "0.6", "0.9",
                                                            "1.0", "1.5"):
        points.append({"family": "pairs", "spec": _lee_chang_sohn(t), "shape": (6, 1),
                       "alpha": "1", "tau": str(1 / exact(t))})
    points.append({"family": "pairs", "spec": clip, "shape": (6, 1), "alpha": "1",
                   "tau": "0.5"})
    if size == "full":
        points.append({"family": "pairs", "spec": clip, "shape": (3, 2), "alpha": "0.5",
                       "tau": "0.5"})
    return points if size != "tiny" else points[:1] + points[3:4]


def _lee_chang_sohn(t: str) -> LossSpec:
    """Their sigmoid loss log(1 + exp(-y (t s - b))) with b = t: tau = 1/t, bias -t."""
    return LossSpec(f"lcs(t={t})", **_SUPCON, form="sigmoid", bias=-exact(t),
                    contrast="cross-modal")


def _setting(point: dict):
    return (Hierarchy(*point["shape"]) if point["family"] == "hierarchy"
            else Paired(*point["shape"]))


def _labels(point: dict):
    """Instance, class, group (superclass or modality) of every embedding, instance-major."""
    if point["family"] == "hierarchy":
        S, m, k, p = point["shape"]
        inst = torch.arange(S * m * k).repeat_interleave(p)
        cls = inst // k
        return inst, cls, cls // m, p
    m, k = point["shape"]
    inst = torch.arange(m * k).repeat_interleave(2)
    return inst, inst // k, torch.arange(2 * m * k) % 2, 2


def _masks(point: dict) -> dict:
    """The pairs of each reported similarity."""
    inst, cls, group, _ = _labels(point)
    off = ~torch.eye(len(inst), dtype=torch.bool)
    same_i, same_c, same_g = (v[:, None] == v for v in (inst, cls, group))
    if point["family"] == "hierarchy":
        return {"view": same_i & off, "class": same_c & ~same_i,
                "superclass": same_g & ~same_c, "other": ~same_g}
    return {"view": same_i & off, "other": ~same_c & ~same_g, "other_intra": ~same_c & same_g,
            **({"class": same_c & ~same_i & ~same_g} if point["shape"][1] >= 2 else {})}


def _predicted(point: dict, opt) -> dict:
    if point["family"] == "hierarchy":
        return {"view": opt.view, "class": opt.class_,
                "superclass": opt.hierarchy["superclass_similarity"], "other": opt.other}
    out = {"view": opt.view, "other": opt.other,
           "other_intra": opt.paired["other_similarity_intra"]}
    return out | ({"class": opt.class_} if point["shape"][1] >= 2 else {})


def check(point: dict, steps: int = 500, seed: int = 0) -> dict:
    """Train one point and judge it (module docstring)."""
    spec, setting = point["spec"], _setting(point)
    opt = optimum(spec, setting, point["alpha"], point["tau"])
    inst, cls, group, p = _labels(point)
    n = int(inst.max()) + 1
    d = len(inst)
    loss_fn = SupCLLoss(float(exact(point["alpha"])), float(exact(point["tau"])), spec)
    labels = cls[::p].clone()
    extra = {"superclasses": group[::p].clone()} if point["family"] == "hierarchy" else {}

    def loss_of(w):
        return loss_fn(w, labels, **extra)
    w = torch.randn(n, p, d, generator=torch.Generator().manual_seed(seed),
                    dtype=torch.float64, requires_grad=True)
    adam = torch.optim.Adam([w], lr=0.05)
    for step in range(steps):
        for g in adam.param_groups:
            g["lr"] = 0.05 * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        adam.zero_grad(set_to_none=True)
        loss_of(w).backward()
        adam.step()
    lbfgs = torch.optim.LBFGS([w], lr=1, max_iter=2000, tolerance_grad=1e-13,
                              tolerance_change=1e-16, history_size=50,
                              line_search_fn="strong_wolfe")

    def closure():
        lbfgs.zero_grad()
        value = loss_of(w)
        value.backward()
        return value
    for _ in range(3):
        lbfgs.step(closure)
    with torch.no_grad():
        trained = float(loss_of(w))
        x = torch.nn.functional.normalize(w.reshape(n * p, -1), dim=1)
        gram = x @ x.T
    measured = {key: float(gram[mask].mean()) for key, mask in _masks(point).items()}
    predicted = _predicted(point, opt)
    gap = trained - opt.loss_value
    worst = max(abs(measured[k] - predicted[k]) for k in measured)
    if gap < -RESOLUTION:
        verdict = "disagrees"
    elif gap > LOSS_TOL:
        verdict = "unconverged"
    else:
        verdict = "agrees" if worst <= SIMILARITY_TOL else "disagrees"
    return {"family": point["family"], "loss": spec.name, "shape": list(point["shape"]),
            "alpha": point["alpha"], "tau": point["tau"], "predicted_loss": opt.loss_value,
            "trained_loss": trained, "loss_gap": gap, "predicted": predicted,
            "measured": measured, "largest_similarity_difference": worst,
            "structure": (opt.hierarchy["collapse"] if opt.hierarchy is not None
                          else opt.paired["structure"]), "verdict": verdict}


def crosscheck(size: str = "quick", steps: int | None = None) -> list[dict]:
    """Every point of :func:`plan`, checked (one torch thread: small float64 problems)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        n = steps or {"tiny": 200, "quick": 500, "full": 1500}[size]
        return [check(point, steps=n) for point in plan(size)]
    finally:
        torch.set_num_threads(before)


def section(records: list[dict]) -> str:
    """The families section of report.md."""
    lines = ["## Hierarchies and image-text pairs: free embeddings through SupCLLoss", "",
             "Free embeddings (d = the number of embeddings) trained with SupCLLoss (Adam, then "
             "L-BFGS), against the exact optimum of the family: the loss within "
             f"{LOSS_TOL:g} and every mean similarity within {SIMILARITY_TOL:g} agree; a loss "
             f"below the minimum by more than {RESOLUTION:g} disagrees. The pairs with "
             "lcs(t=...) are Lee, Chang and Sohn's sigmoid loss with b = t.", "",
             "| family | loss | shape | alpha | tau | structure | loss gap | largest "
             "similarity difference | verdict |", "|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        structure = (r["structure"] if isinstance(r["structure"], str) else
                     "superclass collapse" if r["structure"]["superclass"] else
                     "class collapse" if r["structure"]["class"] else "no collapse")
        lines.append(f"| {r['family']} | {r['loss']} | {'x'.join(map(str, r['shape']))} | "
                     f"{r['alpha']} | {float(exact(r['tau'])):.4g} | {structure} | "
                     f"{r['loss_gap']:.1e} | {r['largest_similarity_difference']:.1e} | "
                     f"{r['verdict']} |")
    return "\n".join(lines) + "\n"
