"""What a loss value means: the loss of a setting at named reference geometries.

For a batch (class sizes and views) at (alpha, tau) the references are

* ``complete-collapse``: every embedding the same point (every Gram entry 1);
* ``class-collapse``: every class collapsed to a point, the class points at their best
  arrangement (the minimum over the class-mean Gram matrices; the simplex for equal sizes
  where the loss only pushes classes apart);
* ``floor``: the global optimum over all unit embeddings, the least value any embedding
  reaches;
* ``random``: the expected loss of independent uniformly random unit embeddings. As d -> oo
  every similarity of two different embeddings tends to 0, so the expectation tends to the
  loss at the identity Gram matrix, exactly. At a finite d it is computed by quadrature: given
  an anchor, its partners' similarities are independent with density proportional to
  (1 - s^2)^((d - 3)/2), and E log S = int_0^oo (e^-u - E e^-uS) du / u for a sum S of
  independent terms (a product of one-dimensional Laplace transforms);
* ``ssem`` (balanced batches): the best SSEM embedding, equal to the floor where SSEM holds.

For a dataset under a sampler the floor is the dataset-level optimum (what training with the
sampler converges to), and the batch references are given for the sampler's batch where every
batch has the same composition.

Every value is the spec's loss times its ``scale``.

>>> from ssem_symbolic.setting import Batch
>>> refs = references("supcon", Batch.balanced(2, 2, 2), "0", "1")
>>> round(refs["complete-collapse"].value, 12) == round(float(__import__("math").log(7)), 12)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import mpmath
import numpy as np

from ..forms import form_of, golden
from ..setting import MAX_GROUPS, Batch, Dataset, anchor_weights, check_sizes, family, positives
from ..spec import TERMS, LossSpec, get_spec
from ..spec import alpha as alpha_symbol
from ..vocab import check_tau, exact
from ._entry import optimum

#: names of the references, in the order they are reported
NAMES = ("complete-collapse", "class-collapse", "random", "random-d", "ssem", "floor",
         "dataset-floor")


@dataclass(frozen=True)
class Reference:
    """One reference value: ``value`` (the scaled loss) within ``error`` (absolute; 0 where it
    is exact to float64), and what it is."""

    name: str
    value: float
    error: float
    what: str
    geometry: dict = field(default_factory=dict)
    #: the floor's optimum object (as :func:`~ssem_symbolic.optimum.optimum` returns it), for
    #: callers that need more of it than ``geometry`` holds; None for the other references
    optimum: object = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict:
        return {"name": self.name, "value": self.value, "error": self.error,
                "what": self.what, "geometry": self.geometry}


@dataclass(frozen=True)
class References:
    """The references of one setting at (alpha, tau), in :data:`NAMES` order."""

    spec: LossSpec
    setting: Batch | Dataset
    alpha: object
    tau: object
    dim: int | None
    items: tuple[Reference, ...]
    notes: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> Reference:
        for r in self.items:
            if r.name == name:
                return r
        raise KeyError(name)

    def __contains__(self, name: str) -> bool:
        return any(r.name == name for r in self.items)

    @property
    def floor(self) -> Reference | None:
        """The least value training reaches: the dataset-level optimum under a sampler, the
        batch's global optimum otherwise (None where it is not computed: :attr:`notes`)."""
        for name in ("dataset-floor", "floor"):
            if name in self:
                return self[name]
        return None

    def as_dict(self) -> dict:
        return {"references": [r.as_dict() for r in self.items], "notes": list(self.notes)}


def references(spec: LossSpec | str, setting: Batch | Dataset, alpha, tau, *,
               dim: int | None = None) -> References:
    """The loss at the named references (module docstring) for ``setting`` at (alpha, tau),
    read exactly; ``dim``: also the expected loss of random unit embeddings in R^dim."""
    spec = get_spec(spec)
    a, t = exact(alpha), check_tau(tau)
    if not 0 <= a <= 1:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 2):
        raise ValueError(f"the dimension must be an integer >= 2, got {dim!r}")
    scale = float(spec.scale_at(t))
    notes: list[str] = []
    if isinstance(setting, Dataset):
        items = _dataset_references(spec, setting, a, t, dim, scale, notes)
    elif isinstance(setting, Batch):
        items = _batch_references(spec, setting, a, t, dim, scale, notes)
    else:
        raise TypeError(f"a setting here is a Batch or a Dataset (a Hierarchy is taken by "
                        f"optimum, regimes and threshold), got {type(setting).__name__}")
    order = {n: i for i, n in enumerate(NAMES)}
    return References(spec, setting, alpha, tau, dim,
                      tuple(sorted(items, key=lambda r: order[r.name])), tuple(notes))


# --- a batch ------------------------------------------------------------------------------

def _batch_references(spec: LossSpec, batch: Batch, a, t, dim, scale,
                      notes: list) -> list[Reference]:
    sizes, p_ = batch.sizes, batch.views
    check_sizes(spec, sizes, p_, a, solver=False)
    fam = family(spec, sizes, p_)
    weights = form_of(spec).family_weights(spec, sizes, p_, a)
    value = _evaluator(spec, fam, weights, t)
    n = len(fam.coords)
    out = [Reference("complete-collapse", scale * value([1] * n), 0.0,
                     "every embedding the same point", {c: 1.0 for c in fam.coords}),
           Reference("random", scale * value([0] * n), 0.0,
                     "independent random unit embeddings, d -> infinity (exact)",
                     {c: 0.0 for c in fam.coords})]
    x, err = _class_collapse(spec, fam, weights, t)
    out.append(Reference("class-collapse", scale * value(x), scale * err,
                         "every class one point, the class points at their best arrangement",
                         {c: float(xi) for c, xi in zip(fam.coords, x)}))
    if dim is not None:
        v, e = random_loss(spec, fam, a, t, dim)
        out.append(Reference("random-d", scale * v, scale * e,
                             f"independent random unit embeddings in dimension {dim}"))
    if len(sizes.groups) > MAX_GROUPS:
        notes.append(f"no floor: the batch has {len(sizes.groups)} distinct class sizes and the "
                     f"exact solver takes at most {MAX_GROUPS}")
        return out
    opt = optimum(spec, batch, a, t)
    what = "the global optimum over all unit embeddings of this batch"
    geometry = _optimum_geometry(opt)
    if dim is not None:
        from ._rank import rank_needed

        need = rank_needed(spec, batch, opt)
        geometry["rank_needed"] = need
        if need is not None and need > dim:
            what += (f"; it needs rank {need} > d = {dim}: in R^{dim} it is a lower bound, "
                     "not reached")
    out.append(Reference("floor", opt.loss_value, 1e-12 * (1 + abs(opt.loss_value)), what,
                         geometry, optimum=opt))
    if batch.is_balanced:
        out.append(_ssem(spec, batch, a, t, scale, opt.loss_value))
    return out


def _optimum_geometry(opt) -> dict:
    d = opt.as_dict()
    keep = ("view_similarity", "class_similarity", "other_similarity", "within_class_variance",
            "between_class_variance", "collapsed")
    return {k: d[k] for k in keep if k in d}


def _ssem(spec, batch, a, t, scale, floor) -> Reference:
    from ..ssem import loss_value, optimal_beta

    m_, k_, p_ = batch.shape
    b = optimal_beta(spec, m_, k_, p_, a, t)
    v = scale * float(loss_value(spec, m_, k_, p_, a, t, b))
    holds = v - floor <= 1e-9 * (1 + abs(floor))
    return Reference("ssem", v, 1e-12 * (1 + abs(v)),
                     "the best SSEM embedding (beta*); " + (
                         "SSEM reaches the floor here" if holds else
                         "SSEM does not reach the floor here: the optimum leaves SSEM"),
                     {"beta": float(b), "reaches_floor": holds})


def _evaluator(spec: LossSpec, fam, weights, t):
    """phi at a point of the family, in mpmath at 30 digits (exact inputs)."""
    obj = form_of(spec).objective(spec, fam.coords, weights, t, mpmath)

    def value(x) -> float:
        with mpmath.workdps(30):
            return float(obj.parts([mpmath.mpf(xi) for xi in x], hessian=False)[0] / obj.tau)
    return value


def _class_collapse(spec: LossSpec, fam, weights, t) -> tuple[list[float], float]:
    """The best class-collapsed point of the family: v = s = 1 in every group, the class
    similarities o minimise phi subject to the class-mean Gram matrix being PSD (o_gg <= 1
    and R(o) >= 0). phi is convex there: a log-barrier Newton in float64, the barrier
    weight driven to 1e-12 (the value is within about that of the minimum)."""
    idx = fam.index
    fixed = {j for c, j in idx.items() if c[0] in "vs"}
    free = [j for c, j in idx.items() if c[0] == "o"]
    x = np.array([1.0 if j in fixed else 0.0 for j in range(len(fam.coords))])
    if not free:
        return list(x), 0.0
    obj = form_of(spec).objective(spec, fam.coords, weights, float(t), np)
    R0, Rj = fam.means
    R0 = np.array(R0, dtype=float)
    Rj = np.array([[[float(v) for v in row] for row in r] for r in Rj])
    diag = [j for c, j in idx.items() if c[0] == "o" and c[2:-1].split(",")[0] ==
            c[2:-1].split(",")[1]]

    def R(y):
        return R0 + np.tensordot(y, Rj, axes=(0, 0))

    def barrier(y, mu):
        val, g, h = obj.parts(y)
        val, g, h = val / obj.tau, np.asarray(g)[free] / obj.tau, \
            np.asarray(h)[np.ix_(free, free)] / obj.tau
        Ry = R(y)
        try:
            L = np.linalg.cholesky(Ry)
        except np.linalg.LinAlgError:
            return None
        inv = np.linalg.inv(Ry)
        val -= mu * 2 * np.sum(np.log(np.diag(L)))
        Rf = Rj[free]
        A = np.einsum("ab,jbc->jac", inv, Rf)
        g = g - mu * np.einsum("jaa->j", A)
        h = h + mu * np.einsum("iab,jba->ij", A, A)
        for k, j in enumerate(free):
            if j in diag:
                s = 1 - y[j]
                if s <= 0:
                    return None
                val -= mu * math.log(s)
                g[k] += mu / s
                h[k, k] += mu / s ** 2
        return val, g, h

    y = x.copy()
    for j in free:  # a strictly feasible start: the class means orthogonal
        y[j] = 0.0
    mu = 1.0
    while mu > 1e-13:
        for _ in range(100):
            val, g, h = barrier(y, mu)
            step = np.linalg.solve(h + 1e-300 * np.eye(len(free)), -g)
            dec = float(-g @ step)
            if dec / 2 < 1e-14:
                break
            s = 1.0
            while True:
                z = y.copy()
                z[free] += s * step
                got = barrier(z, mu)
                if got is not None and got[0] <= val - 0.25 * s * dec:
                    break
                s /= 2
                if s < 1e-16:
                    break
            if s < 1e-16:
                break
            y = z
        mu /= 10
    # the barrier's suboptimality is at most mu times the barrier's degree (G + groups)
    return list(y), 10 * mu * (len(R0) + len(diag)) + 1e-12


def _density_nodes(d: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre in theta on [0, pi] for the law of s = cos(theta) of two independent
    uniform unit vectors in R^d (density of theta proportional to sin^(d-2) theta): the nodes
    s and the normalised log weights."""
    u, w = np.polynomial.legendre.leggauss(n)
    theta = (u + 1) * np.pi / 2
    with np.errstate(divide="ignore"):
        logw = np.log(w) + (d - 2) * np.log(np.sin(theta))
    logw -= np.logaddexp.reduce(logw)
    return np.cos(theta), logw


def random_loss(spec: LossSpec, fam, a, t, dim: int, nodes: int = 1200) -> tuple[float, float]:
    """The expected (unscaled) loss of independent uniform unit embeddings in R^dim on the
    family's batch, and its error: the difference from the computation at half the nodes."""
    full = _random_loss(spec, fam, a, t, dim, nodes)
    half = _random_loss(spec, fam, a, t, dim, nodes // 2)
    return full, abs(full - half) + 1e-12 * (1 + abs(full))


def _random_loss(spec: LossSpec, fam, a, t, dim: int, nodes: int) -> float:
    s, logw = _density_nodes(dim, nodes)
    return _RANDOM[spec.form](spec, fam, a, float(t), s, logw)


def _random_sigmoid(spec: LossSpec, fam, a, tau_: float, s, logw) -> float:
    """The sigmoid form: each row's softplus averaged over the similarity's density."""
    from ..setting import sigmoid_rows

    bias = float(spec.bias)
    w = np.exp(logw)
    total = 0.0
    for j, y, weight in sigmoid_rows(spec, fam.sizes, fam.p, a):
        if j is None:
            total += float(weight) * float(np.logaddexp(0, -y * (1 / tau_ + bias)))
        else:
            total += float(weight) * float(w @ np.logaddexp(0, -y * (s / tau_ + bias)))
    return total


def _random_softmax(spec: LossSpec, fam, a, tau_: float, s, logw) -> float:
    """The softmax form: the pull in closed form, each log-sum-exp's expectation by
    :func:`_expected_log_sums`."""
    sizes, p_ = fam.sizes, fam.p
    total = 0.0
    pis = {term: anchor_weights(spec, sizes, p_, term) for term in TERMS}
    sums = []  # (weight, constant, {omega: count}) per anchor kind and term
    for g in range(len(sizes.groups)):
        part = fam.partners[g]
        for term in TERMS:
            coef = float(spec.weight(term).subs(alpha_symbol, a) * pis[term][g])
            pos = positives(spec, term, part)
            count = sum(c for c, _ in pos)
            if coef == 0 or count == 0:
                continue
            total -= coef * sum(float(c) for c, j in pos if j is None) / float(count) / tau_
            den = spec.denominator_for(term)
            const, kinds = 0.0, {}
            for kind in den:
                omega = float(den.omega[kind])
                for c, j in part[kind]:
                    if j is None:
                        const += omega * c  # the self pair: s = 1
                    elif omega != 0:
                        kinds[omega] = kinds.get(omega, 0) + int(c)
            sums.append((coef, const, kinds))
    return total + sum(c * v for c, v in zip((w for w, _, _ in sums),
                                             _expected_log_sums(sums, s, logw, tau_)))


#: per loss form, the expected loss of independent uniform unit embeddings
_RANDOM = {"softmax": _random_softmax, "sigmoid": _random_sigmoid}


def _expected_log_sums(sums, s, logw, tau_: float) -> list[float]:
    """Per (weight, const, {omega: count}): E log(const e^{1/tau} + sum over omega of count
    independent omega e^{s_i/tau}), s_i with the log weights ``logw`` at nodes ``s``: log
    e^{1/tau} plus int (e^-u - E e^{-u S'}) du/u over u = e^y, with S' = S e^{-1/tau} (its
    terms in [omega e^{-2/tau}, omega], so the range of y is fixed). The Laplace transform of
    one term is computed once per weight omega on the y grid and shared by every sum."""
    shift = 1 / tau_
    z = s / tau_ - shift
    omegas = sorted({o for _, _, kinds in sums for o in kinds})
    most = max((const + sum(o * c for o, c in kinds.items()) for _, const, kinds in sums),
               default=1.0)
    lo = -math.log(max(most, 1.0)) - 40
    hi = 2 * shift + 40 - math.log(min(omegas + [1.0]))
    y = np.linspace(lo, hi, int((hi - lo) / 0.04) + 1)
    u = np.exp(y)
    ez = np.exp(z)
    # log E exp(-omega u e^{z}), by log-sum-exp over the nodes, once per weight
    table = {o: np.logaddexp.reduce(logw[None, :] - (o * u[:, None]) * ez[None, :], axis=1)
             for o in omegas}
    out = []
    for _, const, kinds in sums:
        log_laplace = -u * const + sum(c * table[o] for o, c in kinds.items())
        out.append(shift + float(np.trapezoid(np.exp(-u) - np.exp(log_laplace), y)))
    return out


# --- a dataset ----------------------------------------------------------------------------

def _dataset_references(spec, data: Dataset, a, t, dim, scale, notes) -> list[Reference]:
    opt = optimum(spec, data, a, t)
    out = [Reference("dataset-floor", opt.loss_value, 1e-12 * (1 + abs(opt.loss_value)),
                     "the dataset-level optimum under the sampler: what training with it "
                     "converges to", _optimum_geometry(opt) if opt.symmetric else {})]
    smp = data.sampler
    if smp.kind == "balanced":
        batch = Batch.balanced(smp.m, smp.k, data.views)
        for r in _batch_references(spec, batch, a, t, dim, scale, notes):
            if r.name == "ssem":
                continue
            if r.name == "class-collapse":
                r = _dataset_class_collapse(spec, data, batch, a, t, scale)
            out.append(r)
        notes.append(f"every batch of the sampler is a {smp.m} x {smp.k} x {data.views} batch: "
                     "the batch references are that batch's; 'floor' is one batch's own "
                     "optimum, which training with the sampler does not reach")
    elif smp.composition_varies:
        out += _mixture_references(spec, data, a, t, scale)
        notes.append("the sampler's batches differ in composition: each batch reference is "
                     "the expected loss over the batches it draws")
    else:
        notes.append("a fixed partition: each batch has its own references "
                     "(ssem explain --class-sizes for one of them)")
    return out


def _mixture_references(spec, data: Dataset, a, t, scale) -> list[Reference]:
    """Complete collapse, random (d -> oo) and class collapse as expected batch losses under a
    sampler whose batches vary (the dataset's symmetric family, the sampler's mixture)."""
    from ..setting import mixture
    from ._dataset import uniform_objective

    C, n, p_, B = data.classes, data.instances, data.views, data.sampler.batch
    P, mix = data.polyhedron, mixture(spec, C, n, p_, B)
    obj = uniform_objective(spec, P, mix, a, B)(t, mpmath)
    err = float(getattr(mix, "error", 0.0) or 0.0)

    def value(**x) -> float:
        with mpmath.workdps(30):
            point = [mpmath.mpf(x[c]) for c in P.coords]
            return float(obj.parts(point, hessian=False)[0] / obj.tau)
    ones = {c: 1 for c in P.coords}
    o, _ = golden(lambda o: value(**(ones | {"other": o})), -1 / (C - 1), 1.0)
    what = f"expected over the sampler's batches (mixture: {mix.method})"
    return [Reference("complete-collapse", scale * value(**ones), scale * err,
                      f"every embedding the same point; {what}", dict(ones)),
            Reference("random", scale * value(**{c: 0 for c in P.coords}), scale * err,
                      f"independent random unit embeddings, d -> infinity; {what}",
                      {c: 0.0 for c in P.coords}),
            Reference("class-collapse", scale * value(**(ones | {"other": o})),
                      scale * (err + 1e-10),
                      f"every class one point, the {C} class points at their best "
                      f"arrangement; {what}", {"other_similarity": o})]


def _dataset_class_collapse(spec, data: Dataset, batch: Batch, a, t, scale) -> Reference:
    """Class collapse at the dataset level under a balanced sampler: every batch sees the
    same (v, c, o) = (1, 1, o), and the C class points need o >= -1/(C - 1)."""
    fam = family(spec, batch.sizes, batch.views)
    weights = form_of(spec).family_weights(spec, batch.sizes, batch.views, a)
    value = _evaluator(spec, fam, weights, t)
    idx = fam.index

    def at(o):
        x = [1.0] * len(fam.coords)
        x[idx["o[0,0]"]] = o
        return value(x)
    o, v = golden(at, -1 / (data.classes - 1), 1.0)
    return Reference("class-collapse", scale * v, 1e-10 * scale,
                     f"every class one point, the {data.classes} class points at their best "
                     "arrangement", {"other_similarity": o})
