"""A collapse monitor cheap enough for every training step: O(M d), no (M, M) matrix.

For unit embeddings z (N, p, d) with labels (N,): the total, within- and between-class
variance (the reference implementation's definitions: total = 1 - ||mean||^2, within = mean
over classes of 1 - ||class mean||^2), each class's within-class variance, the mean similarity
of an instance's views, and how far the class centres are from a regular simplex (the RMS
deviation of their normalised, centred Gram matrix from 1 and -1/(m-1)). Given alpha and the
temperature it adds the toolkit's prediction for the batch geometry (m classes x k instances
x p views, balanced) and a verdict.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from ..spec import LossSpec, get_spec
from ._losses import features_key


def collapse_monitor(z: torch.Tensor, labels, *, alpha: float | None = None,
                     temperature: float | None = None,
                     convention: str | LossSpec = "paper") -> dict:
    """Statistics of a batch (see the module docstring), and with ``alpha`` and
    ``temperature`` the prediction and a verdict.

    >>> from ssem_symbolic.setting import realise
    >>> z, y = realise(3, 4, 1.0, views=2)  # SSEM at beta = 1: collapsed classes
    >>> out = collapse_monitor(torch.from_numpy(z), torch.from_numpy(y))
    >>> round(out["within"], 12), round(out["simplex_distance"], 12)
    (0.0, 0.0)
    """
    if alpha is not None and not 0 <= float(alpha) <= 1:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    if temperature is not None and not 0 < float(temperature) < float("inf"):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature}")
    out, _, classes, sizes, p = _statistics(z, labels)
    if alpha is not None and temperature is not None:
        out |= _prediction(get_spec(convention), len(classes), sizes, p, alpha, temperature,
                           out["within"])
    return out


def _checked(z, labels):
    """z (N, p, d) detached (float32 at least) and labels (N,) on its device, checked."""
    z = torch.as_tensor(z)
    if z.dim() != 3:
        raise ValueError(f"expected z of shape (N, p, d), got {tuple(z.shape)}")
    labels = torch.as_tensor(labels, device=z.device)
    if labels.shape != (z.shape[0],):
        raise ValueError(f"expected labels of shape ({z.shape[0]},), got {tuple(labels.shape)}")
    if not z.is_floating_point() or z.numel() == 0:
        raise ValueError("z must be a non-empty floating-point tensor")
    return (z.detach() if z.dtype in (torch.float32, torch.float64) else z.detach().float(),
            labels)


def _statistics(z, labels):
    """The statistics, a function giving the unit rows (M, d) for reuse, the classes, their
    sizes and p: the O(M d) passes over z, then :func:`_summaries`."""
    z, labels = _checked(z, labels)
    # the O(M d) passes in the features' own precision (float32 at least) on their device;
    # then the (m, d) class sums in float64 on the host, where small arrays cost little
    n, p, _ = z.shape
    norms = torch.linalg.vector_norm(z, dim=-1)
    host = norms.cpu().numpy()
    if not (np.isfinite(host).all() and (host > 0).all()):  # an inf entry or overflow: inf
        raise ValueError("a row of z is all zeros, or too small or large to normalise"
                         if bool(torch.isfinite(z).all()) else "z contains NaN or inf")
    inv = (1.0 / norms).unsqueeze(-1)  # (N, p, 1)
    classes, cls, sizes = np.unique(labels.cpu().numpy(), return_inverse=True,
                                    return_counts=True)
    inst = z[:, 0] * inv[:, 0]  # (N, d): per-instance sums of the unit views, one pass over z
    for v in range(1, p):
        inst.addcmul_(z[:, v], inv[:, v])
    cls = torch.from_numpy(cls.reshape(-1)).to(z.device)
    sums = inst.new_zeros(len(classes), z.shape[-1]).index_add_(0, cls, inst)
    out = _summaries(sums.cpu().numpy().astype(np.float64),
                     float(torch.linalg.vector_norm(inst)) ** 2, classes, sizes, n, p)
    return out, lambda: (z * inv).reshape(n * p, -1), classes, sizes, p


def _kept(z, labels, kept: dict | None):
    """The statistics from what the loss kept of this batch (:attr:`SupCLLoss.statistics`),
    or None where it kept none of these features and labels (other storage, shape, strides,
    an in-place change since, other labels)."""
    if kept is None or not isinstance(z, torch.Tensor) or z.dim() != 3:
        return None
    if kept["key"] != features_key(z):
        return None
    z, labels = _checked(z, labels)
    if labels.dtype != kept["labels"].dtype or not torch.equal(labels, kept["labels"]):
        return None
    n, p = z.shape[:2]
    classes, sizes = kept["classes"].cpu().numpy(), kept["sizes"].cpu().numpy()
    out = _summaries(kept["class_sums"].cpu().numpy().astype(np.float64),
                     float(kept["inst_sq"]), classes, sizes, n, p)
    unit = kept["unit"]
    return out, lambda: unit, classes, sizes, p


def _summaries(sums: np.ndarray, inst_sq: float, classes, sizes, n: int, p: int) -> dict:
    """The statistics from the (m, d) per-class sums of the unit rows (float64) and the sum
    of squared per-instance sums ``inst_sq``: 1 - ||mean||^2 in total and per class, their
    difference, the view similarity and the simplex distance."""
    means = sums / (sizes[:, None] * p)
    mean = sums.sum(0) / (n * p)
    total = 1.0 - float(mean @ mean)
    per_class = 1.0 - (means * means).sum(1)
    within = float(per_class.mean())
    return {"total": total, "within": within, "between": total - within,
            "per_class_within": dict(zip(classes.tolist(), per_class.tolist())),
            "view_similarity": (inst_sq / n - p) / (p * (p - 1)) if p > 1 else None,
            "simplex_distance": _simplex_distance(means - mean)}


def _simplex_distance(centres: np.ndarray) -> float:
    """RMS over pairs of classes of (cos(centre_a, centre_b) + 1/(m - 1)): 0 on a regular
    simplex, whatever the radius (a centre of norm below 1e-12 counts as 0)."""
    m = centres.shape[0]
    if m < 2:
        return 0.0
    unit = centres / np.maximum(np.linalg.norm(centres, axis=1), 1e-12)[:, None]
    gram = unit @ unit.T  # (m, m): small, m classes
    c = 1.0 / (m - 1)
    np.fill_diagonal(gram, -c)  # the diagonal adds 0: the mean over the m (m - 1) pairs
    return math.sqrt(float(((gram + c) ** 2).sum()) / (m * (m - 1)))


def _prediction(spec, m, sizes, p, alpha, temperature, within) -> dict:
    if m < 2 or bool((sizes < 2).any()):
        return {"verdict": "no prediction: the batch needs at least 2 classes of at least 2 "
                           "instances each, and holds "
                           f"{m} class{'es' if m != 1 else ''} of sizes {sizes.tolist()}"}
    if bool((sizes != sizes[0]).any()):
        return {"verdict": "no prediction: the batch is imbalanced, and the predictions here "
                           "assume k instances in every class"}
    k = int(sizes[0])
    beta, collapsed, established = _predict(spec, m, k, p, float(alpha), float(temperature))
    note = "" if established else " (SSEM validity not established for this convention)"
    if collapsed:
        verdict = ("heading for class collapse: the optimum at this (alpha, temperature) "
                   "collapses every class (within-class variance 0)" + note)
    else:
        verdict = (f"the optimum keeps within-class variance {1 - beta:.4g}; measured "
                   f"{within:.4g}" + note)
    return {"predicted_within": 1.0 - beta, "predicted_collapse": collapsed,
            "verdict": verdict}


@functools.lru_cache(maxsize=256)
def _predict(spec: LossSpec, m: int, k: int, p: int, alpha: float, temperature: float):
    from ..ssem import optimal_beta
    from ..optimum import established

    beta = optimal_beta(spec, m, k, p, alpha, temperature)
    return float(beta), bool(beta == 1), established(spec)


class CollapseMonitor:
    """A per-step monitor of a training run against what training converges to.

    ``CollapseMonitor(loss)`` takes alpha, the temperature and the convention from the
    :class:`~ssem_symbolic.loss.SupCLLoss` it watches; without one, give ``alpha``,
    ``temperature`` and ``convention``. ``dataset``: a :class:`~ssem_symbolic.setting.Dataset`
    (classes, instances, views and the sampler): the prediction is then the dataset-level
    optimum, which training with a sampler follows, not one batch's. ``dim``: the model's
    embedding dimension (by default the features' last dimension).

    Each call ``monitor(z, labels, loss=value)`` returns a dict:

    * the batch statistics of :func:`collapse_monitor` (variances, per class, views, simplex);
    * ``prediction``: the dataset-level optimum (with ``dataset``: its within-class variance,
      whether it collapses, alpha_c(tau) and the margin alpha - alpha_c), else the optimum of
      this batch's label composition (per class where the sizes differ);
    * ``per_class`` where the classes differ in size: each class's measured within-class
      variance beside the prediction for its size (the size-group optimum of this batch);
    * ``floor`` and ``batch_gap`` (with ``loss``): the least loss of this batch's composition
      and the gap to it; ``gap``: to the dataset-level floor with ``dataset`` (what training
      with the sampler reaches), else ``batch_gap``. The references of a composition are
      computed once per composition (sorted class sizes) and cached, so a step with
      a composition seen before pays a dictionary look-up. A new composition costs one solve
      (milliseconds to seconds; ``floors=False`` skips them), and more than
      :data:`~ssem_symbolic.setting.MAX_GROUPS` distinct sizes get none;
    * ``alarm``: the loss has sat at complete collapse or class collapse (the references of
      :func:`~ssem_symbolic.optimum.references`) for ``patience`` consecutive steps;
    * ``no_positive_share``: per term, the share of anchors with no positive;
    * ``effective_rank`` of the batch's embeddings (the participation ratio of their
      second-moment matrix's eigenvalues), ``rank_needed`` by the predicted optimum, and a
      warning when ``dim`` is below it. The rank is the one O(M d^2) statistic; it moves
      slowly, so it is measured on every ``rank_every``-th call (default 8; 1 for every call)
      and reported with ``effective_rank_call``, the call that measured it (calls count from
      1); the other statistics are measured on every call;
    * ``verdicts``: what to do, in words.
    """

    def __init__(self, loss=None, *, alpha: float | None = None,
                 temperature: float | None = None, convention: str | LossSpec | None = None,
                 dataset=None, dim: int | None = None, floors: bool = True,
                 rtol: float = 0.01, patience: int = 20, rank_every: int = 8) -> None:
        if loss is not None:
            given = [n for n, v in (("alpha", alpha), ("temperature", temperature),
                                    ("convention", convention)) if v is not None]
            if given:
                raise ValueError(f"{', '.join(given)} come(s) from the loss being watched: "
                                 "give the loss or the values, not both")
            if getattr(loss, "learnable", None) is not None:
                raise ValueError("CollapseMonitor predicts at a fixed temperature, and this loss "
                                 "learns tau: the joint optimum is ssem optimum --tau learnable")
            alpha, temperature, convention = loss.alpha, loss.tau, loss.spec
            # the loss keeps each batch's class sums while its unit rows are in cache; a call
            # on the same features and labels reads them instead of passing over z again
            loss.keep_statistics = True
        self.loss = loss
        if alpha is None or temperature is None:
            raise ValueError("CollapseMonitor needs the SupCLLoss it watches, or alpha and "
                             "temperature")
        if not 0 <= float(alpha) <= 1:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        if not 0 < float(temperature) < float("inf"):
            raise ValueError(f"temperature must be a finite number > 0, got {temperature}")
        for name, value in (("patience", patience), ("rank_every", rank_every)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        from ..setting import Dataset

        if dataset is not None and not isinstance(dataset, Dataset):
            raise ValueError("dataset must be a Dataset (classes, instances, views, sampler)")
        self.spec = get_spec(convention if convention is not None else "paper")
        self.alpha, self.tau = float(alpha), float(temperature)
        self.dataset, self.dim, self.floors = dataset, dim, floors
        self.rtol, self.patience, self.rank_every = rtol, patience, rank_every
        self._calls, self._rank = 0, (None, None)  # calls so far; (rank, the call measuring it)
        self._compositions: dict = {}  # sorted sizes, views -> what the composition predicts
        self._dataset_prediction: dict | None = None
        self._run: tuple[str | None, int] = (None, 0)

    def __call__(self, z: torch.Tensor, labels, loss=None) -> dict:
        kept = getattr(self.loss, "statistics", None)
        out, units, classes, sizes, views = _kept(z, labels, kept) or _statistics(z, labels)
        key = (tuple(sorted(sizes.tolist(), reverse=True)), views)
        comp = self._composition(key)
        out["composition"] = {"class_sizes": list(key[0]), "views": views}
        if "no_positive_share" not in comp:
            comp["no_positive_share"] = _no_positive_share(self.spec, sizes, views)
        out["no_positive_share"] = comp["no_positive_share"]
        if self.dataset is not None:
            out["prediction"] = self._dataset()
        else:
            out["prediction"] = comp.get("prediction")
        per_size = (comp.get("prediction") or {}).get("per_size")
        if per_size is not None and len(per_size) > 1:  # classes differ in size: pair them
            measured = out["per_class_within"]
            out["per_class"] = {c: {"size": k, "within": measured[c],
                                    "predicted_within": per_size[k]}
                                for c, k in zip(classes.tolist(), sizes.tolist())}
        value = None if loss is None else float(loss.detach() if isinstance(loss, torch.Tensor)
                                                else loss)
        out["floor"] = comp.get("floor")
        out["batch_gap"] = (None if value is None or out["floor"] is None
                            else value - out["floor"])
        # under a sampler training converges to the dataset-level floor, not a batch's own
        target = out["prediction"]["loss"] if self.dataset is not None else out["floor"]
        out["gap"] = None if value is None or target is None else value - target
        out["alarm"] = self._alarm(comp, value)
        d = self.dim if self.dim is not None else z.shape[-1]
        self._calls += 1
        if (self._calls - 1) % self.rank_every == 0:
            self._rank = (_effective_rank(units(), unit=True), self._calls)
        out["effective_rank"], out["effective_rank_call"] = self._rank
        needed = (out["prediction"] or {}).get("rank_needed")
        out["rank_needed"], out["dim"] = needed, d
        out["verdicts"] = self._verdicts(out, comp)
        return out

    # --- cached per composition, and once for the dataset --------------------------------

    def _composition(self, key) -> dict:
        if key in self._compositions:
            return self._compositions[key]
        from ..optimum import optimum, rank_needed, references
        from ..setting import MAX_GROUPS, Batch, ClassSizes

        sizes, views = key
        comp: dict = {}
        try:
            batch = Batch(ClassSizes(sizes), views)
            refs = references(self.spec, batch, self.alpha, self.tau) if self.floors else None
        except ValueError as exc:
            comp["reason"] = str(exc)
            self._compositions[key] = comp
            return comp
        if refs is not None:
            comp["references"] = {r.name: r.value for r in refs.items}
            comp["span"] = abs(comp["references"]["complete-collapse"] -
                               comp["references"].get("floor", comp["references"]
                                                      ["class-collapse"]))
            comp["floor"] = comp["references"].get("floor")
        if len(ClassSizes(sizes).groups) <= MAX_GROUPS and self.dataset is None:
            # the references solved the optimum already (their floor): solve it only without
            opt = (refs["floor"].optimum if refs is not None and "floor" in refs
                   else optimum(self.spec, batch, self.alpha, self.tau))
            comp["prediction"] = {"level": "batch", "within": opt.within_class_variance,
                                  "collapsed": bool(opt.collapsed),
                                  "per_size": {int(c["size"]): c["within_class_variance"]
                                               for c in opt.per_class},
                                  "rank_needed": rank_needed(self.spec, batch, opt)}
        self._compositions[key] = comp
        return comp

    def _dataset(self) -> dict:
        if self._dataset_prediction is not None:
            return self._dataset_prediction
        from ..optimum import optimum, rank_needed, threshold

        data = self.dataset
        opt = optimum(self.spec, data, self.alpha, self.tau)
        pred = {"level": "dataset", "loss": opt.loss_value}
        if not opt.blocks:
            pred |= {"within": opt.within_class_variance, "collapsed": bool(opt.collapsed),
                     "active": list(opt.active)}
        try:
            a_c = threshold(self.spec, data, tau=self.tau).alpha_c
        except ValueError:
            a_c = None
        pred["alpha_c"] = a_c
        pred["margin"] = None if a_c is None else self.alpha - a_c
        pred["rank_needed"] = rank_needed(self.spec, data, opt)
        self._dataset_prediction = pred
        return pred

    def _alarm(self, comp: dict, value) -> dict | None:
        refs = comp.get("references")
        if value is None or refs is None:
            self._run = (None, 0)
            return None
        tol = self.rtol * max(comp["span"], 1e-12)
        at = next((name for name in ("complete-collapse", "class-collapse")
                   if abs(value - refs[name]) <= tol and
                   not (name == "class-collapse" and "floor" in refs and
                        abs(refs["floor"] - refs[name]) <= tol)), None)
        last, count = self._run
        self._run = (at, count + 1 if at == last and at is not None else (1 if at else 0))
        if at is not None and self._run[1] >= self.patience:
            return {"kind": at, "steps": self._run[1]}
        return None

    def _verdicts(self, out: dict, comp: dict) -> list[str]:
        words = []
        pred = out["prediction"]
        if pred is not None and pred.get("within") is not None:
            where = "the dataset-level optimum" if pred["level"] == "dataset" else \
                "this batch's optimum"
            if pred["collapsed"]:
                words.append(f"{where} collapses every class at alpha {self.alpha:g}, tau "
                             f"{self.tau:g}: to keep within-class spread, raise alpha" + (
                                 f" above alpha_c = {pred['alpha_c']:.4g}"
                                 if pred.get("alpha_c") is not None else ""))
            else:
                words.append(f"{where} keeps within-class variance {pred['within']:.4g}; this "
                             f"batch measures {out['within']:.4g}")
        elif "reason" in comp:
            words.append(f"no prediction for this composition: {comp['reason']}")
        alarm = out["alarm"]
        if alarm is not None:
            words.append(
                f"the loss has sat at {alarm['kind'].replace('-', ' ')} for {alarm['steps']} "
                "steps: " + ("the embeddings carry no structure; check the learning rate, its "
                             "warm-up and that the encoder's output is not constant"
                             if alarm["kind"] == "complete-collapse" else
                             "training has not left class collapse although the optimum "
                             "keeps classes apart; more steps or a larger learning rate"))
        share = out["no_positive_share"]
        if any(v > 0 for v in share.values()):
            words.append("some anchors have no positive (" + ", ".join(
                f"{t}: {v:.0%}" for t, v in share.items() if v > 0) + "): " + (
                "they add 0 and still count in the mean" if self.spec.no_positive == "zero"
                else "they are left out of the mean") + "; more views or larger classes per "
                "batch give every anchor one")
        needed = out["rank_needed"]
        if needed is not None and out["dim"] < needed:
            words.append(f"the optimum needs rank {needed}, the embedding dimension is "
                         f"{out['dim']}: the relaxed prediction is not reachable in d = "
                         f"{out['dim']}")
        return words


def _no_positive_share(spec: LossSpec, sizes: np.ndarray, views: int) -> dict:
    """Per term, the share of anchors with no positive of the term's pair types."""
    out = {}
    total = float(sizes.sum()) * views
    for term in ("sup", "self"):
        pos = set(spec.positives(term))
        none = 0.0
        for k in sizes.tolist():
            has = ("view" in pos and views > 1) or ("class" in pos and k > 1) or "self" in pos \
                or "other" in pos
            none += 0.0 if has else k * views
        out[term] = none / total
    return out


def _effective_rank(z: torch.Tensor, unit: bool = False) -> float:
    """The participation ratio (sum lambda)^2 / sum lambda^2 of the eigenvalues of the unit
    rows' (d, d) second-moment matrix C: 1 for one direction, d for an isotropic cloud, k for
    k equally used orthogonal directions. From tr C and ||C||_F, no eigendecomposition (the
    product in the features' precision). ``unit``: the rows are unit already."""
    z = z.detach() if z.dtype in (torch.float32, torch.float64) else z.detach().float()
    x = z.reshape(-1, z.shape[-1])
    if not unit:
        x = torch.nn.functional.normalize(x, dim=-1)
    c = x.T @ x
    if unit:  # tr C = M; ||C||_F^2 in float64 on the host, C is only (d, d)
        return x.shape[0] ** 2 / float(np.square(c.cpu().numpy(), dtype=np.float64).sum())
    return float(torch.trace(c)) ** 2 / float(torch.linalg.matrix_norm(c)) ** 2
