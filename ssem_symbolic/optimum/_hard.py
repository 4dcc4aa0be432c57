"""Hard-negative weighting (Robinson, Chuang, Sra and Jegelka, ICLR 2021): the best symmetric
point, found by an exhaustive search, with a certified lower bound over the symmetric family.

The spec's ``hard_negatives`` = beta reweights each anchor's negatives (the pairs of a term's
denominator that are not among its positives) by importance weights proportional to
exp(beta s_an / tau), normalised to mean 1 over them, as the authors' code does
(``imp = exp(beta * s / tau)``, ``Ng = sum(imp * exp(s / tau)) / mean(imp)``):

    D_T(a) = sum_{b in den_T, positive} e^{s_ab/tau}
             + Q_a sum_n e^{(1 + beta) s_an/tau} / sum_n e^{beta s_an/tau},

Q_a the anchor's number of negatives, and the term is the mean over positives of
log D_T(a) - s_ab/tau, as for the softmax form. beta = 0 is the softmax form itself.

For beta > 0 the reduced loss is a difference of log-sum-exps: not convex, so neither the
symmetrisation argument (the optimum over all embeddings lies in the symmetric family) nor the
KKT conditions certify a global minimum. What is reported is the best point of the symmetric
family (v, c, o) of a balanced batch found by branch and bound over a grid of cells, each
bounded below by its centre's value minus the gradient bound L times half its width
(``|grad phi|_1 <= sum_T |W_T| (2 + 2 beta)/tau``, a bound derived in :func:`lipschitz`), then
polished by Newton on the faces active at that point. ``lower_bound`` is certified over the
symmetric family (every cell that can meet the polyhedron is bounded); over all embeddings it is
not, and the verdict says "best found".
"""

from __future__ import annotations

import dataclasses
import functools
import itertools

import mpmath
import numpy as np
import sympy as sp

from ..forms import guard_digits
from ..setting import Polyhedron, polyhedron
from ..spec import TERMS, LossSpec, alpha as alpha_symbol, pair_counts, tau as tau_symbol
from ..vocab import exact, mp
from ._balanced import _eigen, _face_minimum, _report
from ._result import Optimum

#: cells per axis of the first grid, and the most cells the search bounds in all
START_CELLS, MAX_CELLS = 24, 400_000
#: the search stops refining once the certified gap is below this (relative to 1 + |best|)
GAP = 1e-6


@dataclasses.dataclass(frozen=True)
class Search:
    """How a hard-negative optimum was found: ``verdict`` ("best found": the loss is not
    convex), ``lower_bound`` (certified over the symmetric family), ``gap`` (best minus bound),
    ``cells`` (the cells bounded) and ``polished`` (whether Newton on the active faces improved
    the grid's best point)."""

    verdict: str
    lower_bound: float
    gap: float
    cells: int
    polished: bool

    def as_dict(self) -> dict:
        return dataclasses.asdict(self) | {"over": "the symmetric family (v, c, o)"}


@functools.lru_cache(maxsize=64)
def reduced(spec: LossSpec, m_: int, k_: int, p_: int) -> tuple[tuple[str, ...], sp.Expr]:
    """phi(v, c, o) of the balanced m x k x p batch with hard negatives, exact in alpha and
    tau: (coordinates, expression)."""
    P = polyhedron(m_, k_, p_)
    x = {t: sp.Symbol(t, real=True) for t in P.coords} | {"self": sp.Integer(1)}
    if "view" not in P.coords:
        x["view"] = sp.Integer(1)
    n = {t: sp.Integer(c) for t, c in pair_counts(m_, k_, p_).items()}
    beta = spec.hard_negatives
    phi = sp.Integer(0)
    for term in TERMS:
        den = [t for t in spec.denominator_of(term) if n[t]]
        pos = [t for t in spec.positives(term) if n[t]]
        if not pos:
            continue
        neg = [t for t in den if t not in pos]
        inside = sum((n[t] * sp.exp(x[t] / tau_symbol) for t in den if t in pos),
                     sp.Integer(0))
        if neg:
            Q = sum(n[t] for t in neg)
            inside += Q * sum(n[t] * sp.exp((1 + beta) * x[t] / tau_symbol) for t in neg) / \
                sum(n[t] * sp.exp(beta * x[t] / tau_symbol) for t in neg)
        pull = sum(n[t] * x[t] for t in pos) / sum(n[t] for t in pos)
        phi += spec.weight(term) * (sp.log(inside) - pull / tau_symbol)
    return P.coords, phi


def lipschitz(spec: LossSpec, alpha_, tau_) -> float:
    """A bound on |grad phi|_1 anywhere: each term's log D_T changes by at most (1 + 2 beta)
    /tau per unit of the coordinates' l1 norm (its positives' share 1/tau, its negatives'
    ratio (1 + beta)/tau and beta/tau), its pull by 1/tau."""
    a = exact(alpha_)
    beta = float(spec.hard_negatives)
    weights = sum(abs(float(spec.weight(term).subs(alpha_symbol, a))) for term in TERMS)
    return weights * (2 + 2 * beta) / float(exact(tau_))


class HardObjective:
    """tau phi on the symmetric family, its gradient and Hessian (exact derivatives of
    :func:`reduced`), in float64 (``lib`` numpy, also vectorised over arrays) or mpmath."""

    def __init__(self, spec: LossSpec, P: Polyhedron, alpha_, tau_, lib) -> None:
        coords, phi = reduced(spec, P.m, P.k, P.p)
        syms = [sp.Symbol(c, real=True) for c in coords]
        t = exact(tau_)
        f = (t * phi).subs({alpha_symbol: exact(alpha_), tau_symbol: t})
        grad = [sp.diff(f, s) for s in syms]
        hess = [[sp.diff(g, s) for s in syms] for g in grad]
        module = "numpy" if lib is np else "mpmath"
        self.lib, self.tau = lib, float(t) if lib is np else mp(t)
        self._f = sp.lambdify(syms, f, module)
        self._g = sp.lambdify(syms, grad, module)
        self._h = sp.lambdify(syms, hess, module)

    def parts(self, x, hessian: bool = True):
        """(tau phi, gradient, Hessian or None) at x."""
        return (self._f(*x), list(self._g(*x)),
                [list(r) for r in self._h(*x)] if hessian else None)

    def values(self, points: np.ndarray) -> np.ndarray:
        """tau phi at each row of ``points`` (float64)."""
        return np.asarray(self._f(*points.T), dtype=float) * np.ones(len(points))


def search(P: Polyhedron, obj: HardObjective, L: float) -> tuple[np.ndarray, float, float, int]:
    """Branch and bound over [-1, 1]^d: (best feasible point, its tau phi, certified lower
    bound of tau phi over P, cells bounded). A cell of half-width h is dropped when no point of
    it can satisfy a condition (offset + normal . centre < -|normal|_1 h), else bounded below
    by its centre's value minus tau L h; cells whose bound is below the best value (less the
    gap) are split in 2^d, until the gap is met or :data:`MAX_CELLS` are spent."""
    A = np.array([[float(a) for a in row] for row in P.normal])
    b = np.array([float(o) for o in P.offset])
    reach = np.abs(A).sum(axis=1)
    d = len(P.coords)
    h = 1.0 / START_CELLS
    axis = -1 + h + 2 * h * np.arange(START_CELLS)
    centres = np.array(list(itertools.product(axis, repeat=d)))
    tL = obj.tau * L
    best_x, best, cells, bound = None, np.inf, 0, np.inf
    corners = np.array(list(itertools.product((-1, 1), repeat=d)))
    while len(centres):
        keep = np.all(b + centres @ A.T >= -reach * h - 1e-12, axis=1)
        centres = centres[keep]
        if not len(centres):
            break
        cells += len(centres)
        f = obj.values(centres)
        inside = np.all(b + centres @ A.T >= 0, axis=1)
        if inside.any():
            i = int(np.argmin(np.where(inside, f, np.inf)))
            if f[i] < best:
                best, best_x = float(f[i]), centres[i].copy()
        low = f - tL * h
        open_ = low < best - GAP * (1 + abs(best))
        if (~open_).any():  # cells no better than the best: their bounds are final
            bound = min(bound, float(low[~open_].min()))
        if cells + int(open_.sum()) * 2 ** d > MAX_CELLS or not open_.any():
            if open_.any():  # the budget is spent: the open cells' bounds count as they are
                bound = min(bound, float(low[open_].min()))
            break
        h /= 2
        centres = (centres[open_][:, None, :] + h * corners[None]).reshape(-1, d)
    return best_x, best, min(bound, best), cells


def hard_optimum(spec: LossSpec, m_: int, k_: int, p_: int, alpha_, tau_,
                 digits: int = 30) -> Optimum:
    """The best symmetric point of a balanced batch with hard negatives (module docstring):
    the search's best cell centre, polished by Newton (mpmath) on each face its conditions
    come within a cell of, kept where it stays in the polyhedron and lowers the loss. The
    :class:`Optimum` carries ``search`` with the verdict "best found" and the certified
    lower bound over the symmetric family (of the unscaled loss)."""
    P = polyhedron(m_, k_, p_)
    t = exact(tau_)
    obj = HardObjective(spec, P, alpha_, t, np)
    x, best, bound, cells = search(P, obj, lipschitz(spec, alpha_, t))
    work = digits
    with mpmath.workdps(work + guard_digits(t) + 10):
        phi = HardObjective(spec, P, alpha_, t, mpmath)
        point = [mp(float(v)) for v in x]
        lam = _eigen(P, point)
        near = [i for i, v in enumerate(lam) if abs(v) <= 4 / START_CELLS]
        value, active, mus, polished = phi.parts(point, False)[0], (), {}, False
        for r in range(len(near) + 1):
            for face in itertools.combinations(near, r):
                found = _face_minimum(P, phi, face, point, work)
                if found is None:
                    continue
                xf, mf = found
                lf = _eigen(P, xf)
                if any(lf[j] < -mpmath.mpf(10) ** (-work + 5) for j in range(len(lf))
                       if j not in face):
                    continue
                vf = phi.parts(xf, False)[0]
                if vf < value:
                    value, active, mus, polished, point = vf, face, mf, True, xf
        lam = _eigen(P, point)
        out = _report(P, phi, point, list(active), mus, lam, True, work)
    tau_f = float(t)
    found = Search("best found", lower_bound=bound / tau_f,
                   gap=max(0.0, out.loss_value - bound / tau_f), cells=cells, polished=polished)
    return dataclasses.replace(out, search=found)
