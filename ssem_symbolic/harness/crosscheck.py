"""Predicted (the derivation) against measured (trained embeddings), with a verdict per point.

Predicted: the global optimum over all unit embeddings (:func:`~ssem_symbolic.optimum.
optimum`: view, class and other similarities, variances, loss, active constraints),
beta* on SSEM and the SSEM certificate. Where the global optimum is not computed (off SSEM at
tau below the face solver's range) the prediction falls back to SSEM at beta* and says so
(``model: "ssem"``). For the ``minibatch`` trainer (a whole dataset's free embeddings trained
with batches drawn by a sampler) the prediction is the dataset-level optimum
(:func:`predict_dataset`), with the per-batch one beside it in the note.

Measured, on unit embeddings z (N, p, d): within- and between-class variance, the mean view,
class and other similarities, the spread of same-class similarities, and the residual: the RMS
distance of the learned Gram matrix from the predicted one (pair types self 1, view v*, class
c*, other o*) over all off-diagonal pairs.

Every tolerance is a measured error (:mod:`.errors`), never a picked number:

* free embeddings and the Gaussian MLP (the evaluation batch is the training batch): Newton
  finishes the descent of the batch's own loss from the trainer's end point (:mod:`.refine`;
  the trainer's own end point is kept as ``measured["trainer"]``). The judged point is
  Newton's; sigma per quantity comes from the residual gradient and the loss's float64
  resolution eps_L, which also decides the loss comparison;
* the digits network (held-out data): sigma is the sampling error over the evaluation
  instances (a grouped jackknife);
* mini-batch training: sigma is the spread and drift of each quantity over the last steps.

A quantity agrees when |measured - predicted| <= max(FLOOR, 3 sigma) (FLOOR = sqrt(eps), the
float64 precision of a minimiser). Verdicts:

* ``disagrees``: the (refined) loss is below the predicted global minimum by more than eps_L,
  or Newton reached the predicted minimum's loss (within eps_L) at another within-class
  variance or view similarity;
* ``unconverged``: Newton did not reach a minimum (no convergence, a saddle), or a tolerance
  covers the quantity's whole range (a landscape flat to float64 precision), or it converged
  to a stationary point above the predicted minimum: the point cannot be judged;
* ``off-model``: beyond tolerance where no loss comparison decides (a finite network on
  held-out data, mini-batch training), or, with the SSEM fallback, a loss below f(beta*);
* ``agrees``: within-class variance (each class's, for imbalanced batches) and view
  similarity within tolerance.

Each record also carries a one-line ``note`` saying which case applied.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import torch

from ..ssem import alpha_c_value, loss_value, optimal_beta, tau_c_value
from ..loss import LabelPattern, SupCLLoss, pair_type_masks, supcl_loss
from ..setting import Batch, Dataset, gram_entries, measured_variances
from ..optimum import optimum
from ..spec import get_spec
from ..setting import takes_convention
from ..optimum import certify_ssem
from . import threshold
from .errors import jackknife, noise, tolerances
from .refine import NEWTON_STEPS, quantities, refine, refine_batch
from .train import TrainConfig

#: the range of each judged quantity: a tolerance that covers it says nothing
RANGE = {"within": 1.0, "view_similarity": 2.0}


@takes_convention
def predict(convention, m: int, k: int, p: int, alpha: float, tau: float,
            validity: bool = True) -> dict:
    """The global optimum (or, outside its solver's range, SSEM at beta*), beta*, alpha_c(tau)
    and (optionally) the SSEM certificate. The loss is in the trained loss's units (times the
    spec's scale)."""
    spec = get_spec(convention)
    b = float(optimal_beta(spec, m, k, p, alpha, tau))
    out = {"beta_star": b, "alpha_c": float(alpha_c_value(spec, m, k, p, tau))}
    try:
        g = optimum(spec, Batch.balanced(m, k, p), alpha, tau)
        out |= _optimum_fields(g, p) | {"model": "global", "loss": g.loss_value}
    except ValueError:  # off SSEM below the face solver's tau range
        ssem = gram_entries(b, m, k)
        out |= {"model": "ssem", "predicted_within": 1.0 - b, "predicted_between": b,
                "view_similarity": 1.0, "class_similarity": float(ssem["class"]),
                "other_similarity": float(ssem["other"]),
                "loss": float(loss_value(spec, m, k, p, alpha, tau, b) * spec.scale_at(tau)),
                "regime": "collapse" if b == 1.0 else "spread"}
    if validity:
        out["ssem_valid"] = certify_ssem(spec, m, k, p, alpha, tau).valid
    return out


def _optimum_fields(g, p: int) -> dict:
    """A symmetric :class:`~ssem_symbolic.optimum.Optimum` as prediction fields: variances,
    similarities per pair type, active constraints and the regime in words."""
    return {"predicted_within": g.within_class_variance,
            "predicted_between": g.between_class_variance,
            "view_similarity": 1.0 if g.view is None else g.view,
            "class_similarity": g.class_, "other_similarity": g.other,
            "active": list(g.active),
            "regime": "collapse" if g.collapsed else
            ("views apart" if p > 1 and "view" not in g.active else "spread")}


@takes_convention
def predict_imbalanced(convention, sizes: tuple[int, ...], p: int, alpha: float,
                       tau: float) -> dict:
    """The imbalanced global optimum (:func:`~ssem_symbolic.optimum.optimum`): per-class
    within-class variances, the similarities per pair type and size group, the loss (times
    the spec's scale, as the trained loss)."""
    opt = optimum(convention, Batch(sizes, p), alpha, tau)
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


@takes_convention
def predict_dataset(convention, classes: int, instances: int, p: int, sampler, alpha: float,
                    tau: float) -> dict:
    """The dataset-level optimum under ``sampler`` (:func:`~ssem_symbolic.optimum.optimum`),
    what mini-batch training of the whole dataset should reach; beside it
    the per-batch optimum of one batch trained alone, where one batch stands for the sampler
    (balanced), for comparison."""
    spec = get_spec(convention)
    g = optimum(spec, Dataset(classes, instances, p, sampler), alpha, tau)
    out = _optimum_fields(g, p) | {"model": "dataset", "expected_loss": g.loss_value}
    if sampler.kind == "balanced":
        b = optimum(spec, Batch.balanced(sampler.m, sampler.k, p), alpha, tau)
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


def _judged(predicted: dict, measured: dict) -> dict[str, tuple[float, float]]:
    """(measured - predicted, tolerance) per judged quantity: the within-class variance (each
    class's too, for imbalanced batches) and the view similarity."""
    tol = measured["tolerance"]
    out = {"within": (measured["within"] - predicted["predicted_within"], tol["within"])}
    if "view_similarity" in tol:
        out["view_similarity"] = (measured["view_similarity"]
                                  - predicted.get("view_similarity", 1.0),
                                  tol["view_similarity"])
    for c, (mw, pw) in enumerate(zip(measured.get("per_class_within", ()),
                                     predicted.get("per_class_within", ()))):
        out[f"within_{c}"] = (mw - pw, tol.get(f"within_{c}", tol["within"]))
    return out


def verdict(trainer: str, predicted: dict, measured: dict) -> tuple[str, str]:
    """(verdict, note) as defined in the module docstring, from a measurement that carries
    its ``tolerance`` per quantity (and, for free and Gaussian points, the Newton outcome
    ``converged``/``reason``, ``loss_gap`` and the loss resolution ``resolution``)."""
    gap = measured.get("loss_gap")
    eps = measured.get("resolution", 0.0)
    which = "the global minimum" if predicted.get("model", "global") == "global" else "f(beta*)"
    if gap is not None and gap < -eps:
        if which == "f(beta*)":
            return "off-model", (f"loss {-gap:.2g} below f(beta*): SSEM is not the optimum here "
                                 "(the global optimum is not computed at this tau)")
        return "disagrees", (f"loss {-gap:.2g} below the predicted global minimum (resolution "
                             f"{eps:.1g})")
    if measured.get("reason"):
        return "unconverged", f"{measured['reason']} (loss gap {gap:.2g}): not judged"
    judged = _judged(predicted, measured)
    flat = [n for n, (_, t) in judged.items() if t >= RANGE.get(n, 1.0)]
    if flat:
        return "unconverged", (f"the loss is flat to float64 precision: the tolerance of "
                               f"{flat[0]} ({judged[flat[0]][1]:.2g}) covers its range")
    worst = max(judged, key=lambda n: abs(judged[n][0]) / judged[n][1])
    diff, tol = judged[worst]
    note = "; ".join(f"{n} {d:+.2g} (tolerance {t:.2g})" for n, (d, t) in judged.items()
                     if n in ("within", "view_similarity") or n == worst)
    if all(abs(d) <= t for d, t in judged.values()):
        return "agrees", note
    if gap is None or which == "f(beta*)":
        return "off-model", (f"{note}: beyond the measured error, and no loss comparison "
                             "decides")
    if gap > eps:
        return "unconverged", (f"{note}: Newton stopped at a stationary point {gap:.2g} above "
                               "the predicted global minimum: not judged")
    return "disagrees", f"{note}: at the predicted minimum's loss, another Gram matrix"


def refine_group(configs: list[TrainConfig], z: torch.Tensor, labels: torch.Tensor,
                 taus: list[float] | None = None, max_steps: int = NEWTON_STEPS) -> list[dict]:
    """Newton's finish (:func:`~.refine.refine_batch`) for K free configurations of one
    group trained together (z of shape (K, N, p, d)), as one tensor program, at each
    configuration's tau (``taus``: the temperatures training learned, held fixed)."""
    c0 = configs[0]
    lab = labels.cpu()
    taus = [c.tau for c in configs] if taus is None else list(taus)
    alphas = torch.tensor([c.alpha for c in configs], dtype=torch.float64)
    at = torch.tensor(taus, dtype=torch.float64)
    pattern = LabelPattern(c0.loss, lab, c0.views, torch.float64)
    weights = torch.bincount(lab) if c0.sizes is not None else None
    return refine_batch(lambda u, idx: supcl_loss(u, lab, alphas[idx], at[idx], c0.loss,
                                                  pattern=pattern),
                        z.detach().cpu().double(), taus, quantities(lab, weights), max_steps)


#: how close (relative) a learned tau must come to the predicted tau* to be judged there
TAU_MATCH = 1e-3
#: Newton's steps at most for the finish at the clamp of a run that learned tau
FINISH_STEPS = 400


def finish_learned(configs: list[TrainConfig], z: torch.Tensor, labels: torch.Tensor,
                   taus: list[float], refined: list[dict]) -> tuple[list[dict], list[float]]:
    """The finish of runs that learned tau: Adam leaves tau where the loss is nearly flat in
    it (paper, 3 x 4 x 2, alpha 0.15: tau 0.124 after 1500 steps, with the optimum's loss there
    1.1e-5 above its value at the clamp 0.1), as it leaves the embeddings short of a minimum.
    The joint descent goes on: from the trainer's end point Newton finishes the embeddings at
    the learned tau (``refined``) and at the clamp, and each run keeps the lower loss of the
    two, with its tau. Newton starts farther from the minimum at the clamp than at the
    trainer's tau and converges linearly along a flat direction there (paper, 3 x 4 x 2, alpha
    0.35: 109 steps), so it may take :data:`FINISH_STEPS`. Returns (finishes, taus)."""
    at_clamp = refine_group(configs, z, labels, [c.clamp for c in configs], FINISH_STEPS)
    out, where = [], []
    for c, tau, here, low in zip(configs, taus, refined, at_clamp):
        lower = low["loss"] < here["loss"]
        out.append((low if lower else here) | {"trainer_tau": tau,
                                               "trainer_tau_loss": here["loss"]})
        where.append(c.clamp if lower else tau)
    return out, where


def predict_learned(spec, m: int, k: int, p: int, alpha: float, clamp: float) -> dict:
    """The joint optimum over the embeddings and tau >= clamp (:func:`~ssem_symbolic.optimum.
    optimum` with a :class:`~ssem_symbolic.vocab.Learnable`): its geometry as
    :func:`predict` gives a fixed tau's, with ``tau`` (tau*) and ``at_clamp``."""
    from ..vocab import Learnable

    g = optimum(spec, Batch.balanced(m, k, p), repr(alpha), Learnable(repr(clamp)))
    return _optimum_fields(g, p) | {"model": "global-learned-tau", "loss": g.loss_value,
                                    "tau": g.temperature.tau,
                                    "at_clamp": g.temperature.at_clamp}


def _record_learned(config: TrainConfig, labels: torch.Tensor, tau: float,
                    refined: dict) -> dict:
    """A free run that learned tau, against the joint optimum: where training took tau to
    tau* (within :data:`TAU_MATCH`), Newton's finish at that tau is judged as a fixed-tau
    point is (the joint minimum's loss, within-class variance, view similarity); elsewhere a
    loss below the joint minimum still disagrees, and any other outcome is not judged."""
    pred = predict_learned(config.loss, config.classes, config.per_class, config.views,
                           config.alpha, config.clamp)
    meas = measure(refined["z"], labels.cpu(), pred) | {
        "tau": tau, "loss": refined["loss"], "loss_gap": refined["loss"] - pred["loss"],
        "resolution": refined["resolution"], "newton_steps": refined["steps"],
        "reason": refined["reason"], "sigma": refined["sigma"],
        "trainer_tau": refined.get("trainer_tau", tau),
        "error": "Newton from the trainer's end point at the learned tau or the clamp, "
                 "whichever has the lower loss: residual gradient and loss resolution"}
    meas["tolerance"] = tolerances(meas["sigma"])
    v, note = verdict(config.trainer, pred, meas)
    off = abs(tau - pred["tau"]) > TAU_MATCH * pred["tau"]
    if off and v != "disagrees":
        v, note = "unconverged", (f"tau reached {tau:.6g}, not the predicted tau* = "
                                  f"{pred['tau']:.6g}: not judged")
    else:
        moved = ("" if meas["trainer_tau"] == tau else
                 f", from {meas['trainer_tau']:.6g} where the trainer left it")
        note = f"tau {tau:.6g}{moved} (predicted {pred['tau']:.6g}); {note}"
    return {"key": config.key(), "kind": "point", "config": config.as_record(),
            "predicted": pred, "measured": meas, "verdict": v, "note": note}


def record(config: TrainConfig, z: torch.Tensor, labels: torch.Tensor,
           validity: bool = True, trace: list | None = None,
           refined: dict | None = None, tau: float | None = None) -> dict:
    """Predicted against measured for one trained configuration, with its verdict. ``trace``:
    the minibatch trainer's last steps (:func:`~.train.train_minibatch`); ``refined``: Newton's
    finish when already computed for a batched group (:func:`refine_group`); ``tau``: the
    temperature a run with a ``clamp`` learned (judged against the joint optimum)."""
    m, k, p = config.classes, config.per_class, config.views
    if config.trainer == "minibatch":
        return _record_minibatch(config, z, labels, trace)
    if config.clamp is not None:
        if refined is None or tau is None:
            raise ValueError("a run that learned tau is recorded with its learned tau and "
                             "Newton's finish there (refine_group with taus)")
        return _record_learned(config, labels, tau, refined)
    if config.sizes is not None:
        pred = predict_imbalanced(config.loss, config.sizes, p, config.alpha, config.tau)
    else:
        pred = predict(config.loss, m, k, p, config.alpha, config.tau, validity)
    weights = torch.bincount(labels.cpu()) if config.sizes is not None else None
    qs = quantities(labels.cpu(), weights)
    if config.trainer == "digits":  # held-out data: the sampling error
        meas = measure(z, labels, pred)
        meas |= {"sigma": jackknife(z.cpu(), labels.cpu(), lambda lab: quantities(
            lab, torch.bincount(lab) if weights is not None else None)),
                 "error": "sampling error over the evaluation instances (grouped jackknife)"}
    else:  # the evaluation batch is the training batch: Newton finishes the descent
        crit = SupCLLoss(config.alpha, config.tau, config.loss)
        raw = measure(z, labels, pred)
        raw["loss"] = float(crit(z.double(), labels))
        raw["loss_gap"] = raw["loss"] - pred["loss"]
        fin = refined if refined is not None else refine(
            lambda u: crit(u, labels.cpu()), z.cpu(), config.tau, qs)
        meas = measure(fin["z"], labels.cpu(), pred) | {
            "loss": fin["loss"], "loss_gap": fin["loss"] - pred["loss"],
            "resolution": fin["resolution"], "newton_steps": fin["steps"],
            "reason": fin["reason"], "sigma": fin["sigma"],
            "error": "Newton from the trainer's end point: residual gradient and loss "
                     "resolution", "trainer": raw}
    meas["tolerance"] = tolerances(meas["sigma"])
    v, note = verdict(config.trainer, pred, meas)
    return {"key": config.key(), "kind": "point", "config": config.as_record(),
            "predicted": pred, "measured": meas, "verdict": v, "note": note}


def _record_minibatch(config: TrainConfig, z: torch.Tensor, labels: torch.Tensor,
                      trace: list | None) -> dict:
    """A mini-batch run against the dataset-level prediction, with the error measured from the
    last steps' spread; the note also says how far the per-batch prediction is, so the record
    shows which one training followed."""
    if not trace:
        raise ValueError("a minibatch record needs the trace of the last steps "
                         "(train(config, trace=[]))")
    pred = predict_dataset(config.loss, config.classes, config.per_class, config.views,
                           config.sampler, config.alpha, config.tau)
    meas = measure(z, labels, pred)
    meas |= {"sigma": noise(trace), "error": f"spread and drift over the last {len(trace)} "
             "steps"}
    meas["tolerance"] = tolerances(meas["sigma"])
    v, note = verdict(config.trainer, pred, meas)
    if "per_batch_within" in pred:
        note += (f"; the per-batch prediction ({pred['per_batch_within']:.4f} within, "
                 f"{pred['per_batch_other_similarity']:.4f} between classes) is off by "
                 f"{meas['within'] - pred['per_batch_within']:+.2g} and "
                 f"{meas['other_similarity'] - pred['per_batch_other_similarity']:+.2g}")
    return {"key": config.key(), "kind": "point", "config": config.as_record(),
            "predicted": pred, "measured": meas, "verdict": v, "note": note}


@takes_convention
def locate_threshold(convention, m: int, k: int, p: int, *, tau: float | None = None,
                     alpha: float | None = None, steps: int = 1500, dim: int = 24,
                     lr: float = 0.05, seeds: int = 2, device: str = "cpu") -> dict:
    """alpha_c at fixed ``tau`` (or tau_c at fixed ``alpha``) located from trained free
    embeddings alone (:func:`~ssem_symbolic.harness.threshold.locate`: a coarse scan, then the
    within-class variance on the spreading side extrapolated to zero, with an uncertainty
    from the seeds and a jackknife), then put beside the derived value. ``agrees`` when they
    differ by at most max(1e-3, 3 x uncertainty) (relative in tau)."""
    spec = get_spec(convention)
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

