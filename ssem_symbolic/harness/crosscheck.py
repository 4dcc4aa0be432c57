"""Predicted (the derivation) against measured (trained embeddings), with a verdict per point.

Predicted: the global optimum over all unit embeddings (:func:`~ssem_symbolic.optimum.
global_optimum`: view, class and other similarities, variances, loss, active constraints),
beta* on SSEM and the SSEM certificate. Where the global optimum is not computed (off SSEM at
tau below the face solver's range) the prediction falls back to SSEM at beta* and says so
(``model: "ssem"``). For the ``minibatch`` trainer (a whole dataset's free embeddings trained
with batches drawn by a sampler) the prediction is the dataset-level optimum
(:func:`predict_dataset`), with the per-batch one beside it in the note.

Measured, on unit embeddings z (N, p, d): within- and between-class variance, the mean view,
class and other similarities, the spread of same-class similarities, and the residual: the RMS
distance of the learned Gram matrix from the predicted one (pair types self 1, view v*, class
c*, other o*) over all off-diagonal pairs.

Verdict:

* ``disagrees``: the trained embedding reaches a loss below the predicted global minimum
  (free and Gaussian trainers, whose evaluation batch is the training batch), or it sits on
  the predicted Gram matrix but its within-class variance or view similarity is off;
* ``unconverged``: its Gram matrix is further than the residual tolerance from the predicted
  global minimum while its loss is not below it (free and Gaussian trainers): training has not
  reached the minimum (at small tau the landscape is flat to e^{-2/tau}), so the point cannot
  be judged;
* ``off-model``: its Gram matrix is further than the residual tolerance from the prediction
  where no loss comparison decides (a finite network on held-out real data, mini-batch
  training); with the SSEM fallback, also a loss below f(beta*) or a Gram matrix off SSEM;
* ``agrees``: otherwise, when the within-class variance and the view similarity are within
  tolerance of the prediction.

Each record also carries a one-line ``note`` saying which case applied.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import torch

from ..derive import alpha_c_value, loss_value, optimal_beta, tau_c_value
from ..losses import SupCLLoss, pair_type_masks
from ..model import gram_entries, measured_variances
from ..optimum import global_optimum
from ..spec import get_spec
from ..validity import certify_ssem
from . import threshold
from .train import TrainConfig

#: (within-class variance, residual, view similarity) tolerances per trainer. Mini-batch
#: training with random batches leaves the single similarities spread around their means (a
#: residual of 0.04 after 3000 steps on 3 x 8, 0.03 after 6000), while the means, and so the
#: variances, are held to 0.01
TOLERANCE = {"free": (0.01, 0.02, 0.01), "gaussian": (0.03, 0.08, 0.03),
             "digits": (0.15, 0.35, 0.15), "minibatch": (0.01, 0.05, 0.01)}
#: a trained loss below the predicted minimum by more than this beats it (float64 losses)
LOSS_GAP = 1e-6


def predict(loss, m: int, k: int, p: int, alpha: float, tau: float,
            validity: bool = True) -> dict:
    """The global optimum (or, outside its solver's range, SSEM at beta*), beta*, alpha_c(tau)
    and (optionally) the SSEM certificate."""
    b = float(optimal_beta(loss, m, k, p, alpha, tau))
    out = {"beta_star": b, "alpha_c": float(alpha_c_value(loss, m, k, p, tau))}
    try:
        g = global_optimum(loss, m, k, p, alpha, tau)
        out |= _optimum_fields(g, p) | {"model": "global", "loss": g.loss_value}
    except ValueError:  # off SSEM below the face solver's tau range
        ssem = gram_entries(b, m, k)
        out |= {"model": "ssem", "predicted_within": 1.0 - b, "predicted_between": b,
                "view_similarity": 1.0, "class_similarity": float(ssem["class"]),
                "other_similarity": float(ssem["other"]),
                "loss": float(loss_value(loss, m, k, p, alpha, tau, b)),
                "regime": "collapse" if b == 1.0 else "spread"}
    if validity:
        out["ssem_valid"] = certify_ssem(loss, m, k, p, alpha, tau).valid
    return out


def _optimum_fields(g, p: int) -> dict:
    """A :class:`~ssem_symbolic.optimum.GlobalOptimum` as prediction fields: variances,
    similarities per pair type, active constraints and the regime in words."""
    return {"predicted_within": g.within_class_variance,
            "predicted_between": g.between_class_variance,
            "view_similarity": 1.0 if g.view is None else g.view,
            "class_similarity": g.class_, "other_similarity": g.other,
            "active": list(g.active),
            "regime": "collapse" if g.collapsed else
            ("views apart" if p > 1 and "view" not in g.active else "spread")}


def predict_imbalanced(loss, sizes: tuple[int, ...], p: int, alpha: float,
                       tau: float) -> dict:
    """The imbalanced global optimum (:func:`~ssem_symbolic.optimum_imbalanced.
    imbalanced_optimum`): per-class within-class variances, the similarities per pair type and
    size group, the loss."""
    from ..optimum_imbalanced import imbalanced_optimum

    opt = imbalanced_optimum(loss, sizes, p, alpha, tau)
    groups = opt.sizes.group_of
    return {"model": "global-imbalanced", "predicted_within": opt.within_class_variance,
            "predicted_between": opt.between_class_variance,
            "per_class_within": [c["within_class_variance"] for c in opt.per_class],
            "per_class_collapsed": [c["collapsed"] for c in opt.per_class],
            "view_similarity": sum(c["size"] * c["view_similarity"] for c in opt.per_class)
            / sum(sizes), "per_class_view": [c["view_similarity"] for c in opt.per_class],
            "per_class_same": [c["class_similarity"] for c in opt.per_class],
            "group_of": list(groups),
            "pair_similarity": [[g, h, v] for (g, h), v in opt.similarity.items()],
            "loss": opt.loss_value, "active": list(opt.active), "merged": [
                list(q) for q in opt.merged], "unique": opt.unique,
            "regime": "collapse" if opt.collapsed else
            ("partial collapse" if any(c["collapsed"] for c in opt.per_class) else "spread")}


def predict_dataset(loss, classes: int, instances: int, p: int, sampler, alpha: float,
                    tau: float) -> dict:
    """The dataset-level optimum under ``sampler`` (:func:`~ssem_symbolic.dataset.
    dataset_optimum`), what mini-batch training of the whole dataset should reach; beside it
    the per-batch optimum of one batch trained alone, where one batch stands for the sampler
    (balanced), for comparison."""
    from ..dataset import dataset_optimum

    g = dataset_optimum(loss, classes, instances, p, sampler, alpha, tau)
    out = _optimum_fields(g, p) | {"model": "dataset", "expected_loss": g.loss_value}
    if sampler.kind == "balanced":
        b = global_optimum(loss, sampler.m, sampler.k, p, alpha, tau)
        out |= {"per_batch_within": b.within_class_variance,
                "per_batch_other_similarity": b.other}
    return out


def _imbalanced_gram(pred: dict, labels: torch.Tensor, p: int) -> torch.Tensor:
    """The predicted Gram matrix of a labelled batch (instance-major rows) from the per-class
    and per-group similarities."""
    cls = labels.cpu().repeat_interleave(p)
    inst = torch.arange(labels.shape[0]).repeat_interleave(p)
    group = torch.tensor(pred["group_of"])[cls]
    other = {}
    for g, h, v in pred["pair_similarity"]:
        other[(g, h)] = other[(h, g)] = v
    G = len(set(pred["group_of"]))
    table = torch.tensor([[other.get((g, h), 0.0) for h in range(G)] for g in range(G)],
                         dtype=torch.float64)
    out = table[group[:, None], group[None, :]]
    same_class = cls[:, None] == cls[None, :]
    same_inst = inst[:, None] == inst[None, :]
    view = torch.tensor(pred["per_class_view"], dtype=torch.float64)[cls]
    same = torch.tensor(pred["per_class_same"], dtype=torch.float64)[cls]
    out = torch.where(same_class, same[:, None].expand_as(out), out)
    out = torch.where(same_inst, view[:, None].expand_as(out), out)
    out.fill_diagonal_(1.0)
    return out


def measure(z: torch.Tensor, labels: torch.Tensor, target: dict | float) -> dict:
    """The measurements listed in the module docstring, for z (N, p, d) of unit rows.

    ``target``: the predicted Gram values (``view_similarity``, ``class_similarity``,
    ``other_similarity``, as :func:`predict` gives them; per class and size group as
    :func:`predict_imbalanced` gives them), or a float beta: SSEM at beta. On an imbalanced
    prediction the within-class variance is weighted by class size (sum_c N_c/N (1 -
    ||mu_c||^2)) and each class's is reported too.
    """
    n, p, d = z.shape
    var = measured_variances(z, labels)
    flat = z.reshape(n * p, d).double().cpu()
    gram = flat @ flat.T
    types = pair_type_masks(labels.cpu(), p)
    extra = {}
    if isinstance(target, dict) and "per_class_within" in target:
        predicted = _imbalanced_gram(target, labels, p)
        cls = labels.cpu().repeat_interleave(p)
        per_class = [1.0 - float(flat[cls == c].mean(0).pow(2).sum())
                     for c in range(len(target["per_class_within"]))]
        weights = torch.bincount(labels.cpu()).double()
        within = float((weights * torch.tensor(per_class)).sum() / weights.sum())
        var = {"within": within, "between": 1.0 - float(flat.mean(0).pow(2).sum()) - within}
        extra = {"per_class_within": per_class}
    else:
        if isinstance(target, dict):
            values = {"self": 1.0, "view": target["view_similarity"],
                      "class": target["class_similarity"], "other": target["other_similarity"]}
        else:  # the SSEM point at beta
            m_ = int(labels.unique().numel())
            values = {t: float(g) for t, g in gram_entries(target, m_, n // m_).items()}
        predicted = sum(types[t].double() * v for t, v in values.items())
    off = ~types["self"]
    residual = float(((gram - predicted)[off] ** 2).mean().sqrt())
    view = float(gram[types["view"]].mean()) if p > 1 else 1.0
    same = gram[types["class"]]
    return extra | {
        "within": var["within"], "between": var["between"], "view_similarity": view,
        "class_similarity": float(same.mean()),
        "other_similarity": float(gram[types["other"]].mean()),
        "class_similarity_spread": float(same.std()) if same.numel() > 1 else 0.0,
        "residual": residual}


def verdict(trainer: str, predicted: dict, measured: dict) -> tuple[str, str]:
    """(verdict, note) as defined in the module docstring."""
    tol_var, tol_res, tol_view = TOLERANCE[trainer]
    gap = measured.get("loss_gap")
    which = "the global minimum" if predicted.get("model", "global") == "global" else "f(beta*)"
    if gap is not None and gap < -LOSS_GAP:
        if which == "f(beta*)":
            return "off-model", (f"trained loss {-gap:.2g} below f(beta*): SSEM is not the "
                                 "optimum here (the global optimum is not computed at this tau)")
        return "disagrees", f"trained loss {-gap:.2g} below the predicted global minimum"
    if measured["residual"] > tol_res:
        if gap is not None and which == "the global minimum":
            # the prediction is the global minimum and the trained loss is not below it: the
            # trainer has not reached it (at small tau the landscape is flat to e^{-2/tau})
            return "unconverged", (f"Gram residual {measured['residual']:.2g} > {tol_res} "
                                   f"with the trained loss {gap:.2g} above the global minimum: "
                                   "training has not reached it")
        tail = (f"; loss within {gap:.2g} of {which}: a flat landscape not yet descended"
                if gap is not None and gap < 1e-3 else "")
        return "off-model", f"Gram residual {measured['residual']:.2g} > {tol_res}{tail}"
    diff = measured["within"] - predicted["predicted_within"]
    if "per_class_within" in predicted:  # the largest per-class difference decides
        diff = max((mw - pw for mw, pw in zip(measured["per_class_within"],
                                               predicted["per_class_within"])), key=abs)
    dview = measured["view_similarity"] - predicted.get("view_similarity", 1.0)
    note = (f"within-class variance off by {diff:+.2g} (tolerance {tol_var}), view similarity "
            f"by {dview:+.2g} (tolerance {tol_view})")
    if abs(diff) <= tol_var and abs(dview) <= tol_view:
        return "agrees", note
    return "disagrees", note


def record(config: TrainConfig, z: torch.Tensor, labels: torch.Tensor,
           validity: bool = True) -> dict:
    m, k, p = config.classes, config.per_class, config.views
    if config.trainer == "minibatch":
        return _record_minibatch(config, z, labels)
    if config.sizes is not None:
        pred = predict_imbalanced(config.loss, config.sizes, p, config.alpha, config.tau)
    else:
        pred = predict(config.loss, m, k, p, config.alpha, config.tau, validity)
    meas = measure(z, labels, pred)
    if config.trainer != "digits":  # the evaluation batch is the training batch
        trained = float(SupCLLoss(config.alpha, config.tau, config.loss)(z.double(), labels))
        meas["loss"] = trained
        meas["loss_gap"] = trained - pred["loss"]
    v, note = verdict(config.trainer, pred, meas)
    return {"key": config.key(), "kind": "point", "config": config.as_record(),
            "predicted": pred, "measured": meas, "verdict": v, "note": note}


def _record_minibatch(config: TrainConfig, z: torch.Tensor, labels: torch.Tensor) -> dict:
    """A mini-batch run against the dataset-level prediction; the note also says how far the
    per-batch prediction is, so the record shows which one training followed."""
    pred = predict_dataset(config.loss, config.classes, config.per_class, config.views,
                           config.sampler, config.alpha, config.tau)
    meas = measure(z, labels, pred)
    v, note = verdict(config.trainer, pred, meas)
    if "per_batch_within" in pred:
        note += (f"; the per-batch prediction ({pred['per_batch_within']:.4f} within, "
                 f"{pred['per_batch_other_similarity']:.4f} between classes) is off by "
                 f"{meas['within'] - pred['per_batch_within']:+.2g} and "
                 f"{meas['other_similarity'] - pred['per_batch_other_similarity']:+.2g}")
    return {"key": config.key(), "kind": "point", "config": config.as_record(),
            "predicted": pred, "measured": meas, "verdict": v, "note": note}


def locate_threshold(loss, m: int, k: int, p: int, *, tau: float | None = None,
                     alpha: float | None = None, steps: int = 1500, dim: int = 24,
                     lr: float = 0.05, seeds: int = 2, device: str = "cpu") -> dict:
    """alpha_c at fixed ``tau`` (or tau_c at fixed ``alpha``) located from trained free
    embeddings alone (:func:`~ssem_symbolic.harness.threshold.locate`: a coarse scan, then the
    within-class variance on the spreading side extrapolated to zero, with an uncertainty
    from the seeds and a jackknife), then put beside the derived value. ``agrees`` when they
    differ by at most max(1e-3, 3 x uncertainty) (relative in tau)."""
    spec = get_spec(loss)
    res = threshold.locate(spec, m, k, p, tau=tau, alpha=alpha, steps=steps, dim=dim, lr=lr,
                           seeds=seeds, device=device)
    if tau is not None:
        derived = float(alpha_c_value(spec, m, k, p, tau))
    else:
        value = tau_c_value(spec, m, k, p, alpha)
        derived = None if value in (0, mpmath.inf) else float(value)
    v, diff, tol = threshold.verdict(res["located"], res["uncertainty"], derived, res["axis"])
    return res | {"derived": derived, "difference": diff, "tolerance": tol, "verdict": v}


@dataclass
class CrossCheck:
    """The outcome of a sweep: point records and located thresholds."""

    points: list[dict]
    thresholds: list[dict]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for rec in self.points:
            out[rec["verdict"]] = out.get(rec["verdict"], 0) + 1
        return out

