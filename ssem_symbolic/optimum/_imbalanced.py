"""The global optimum of an imbalanced batch: the minimum of the reduced loss over the invariant
Gram family of :mod:`~ssem_symbolic.setting`, with per-class geometry, collapse and merges.

The feasible set is no longer a polyhedron: besides the linear conditions per size group, the
Gram matrix R of the groups' mean embeddings must be PSD (a G x G linear matrix inequality, G
the number of distinct sizes). phi is convex, so x* is the optimum iff, for the active linear
conditions S and the null space of R(x*) (rank G - r),

    grad tau phi(x*) = sum_{i in S} mu_i a_i + (tr(Z R_j))_j,   mu_i >= 0,   Z = Q W Q^T,  W >= 0,

with Q a basis of the null space of R(x*). The solver finds S, r and x* in two steps, as the
balanced one does: a float64 log-barrier method (-log det R for the matrix inequality) gives a
point near x* and the evidence for each constraint; then, for the most likely (S, r), Newton in
mpmath solves the KKT equations (the null space written through a Schur complement of R, so
the system is square), and the candidate is accepted when every multiplier, every eigenvalue
of W and every slack has a decided sign. Undecided signs are retried at more digits.

A balanced size vector is handed to the balanced solver
(:func:`global_optimum`), so it reproduces the balanced results exactly.

>>> opt = imbalanced_optimum("paper", "5,3,2", 2, "0.35", "0.5")
>>> [c["collapsed"] for c in opt.per_class], opt.merged
([False, True, True], ())
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import mpmath
import numpy as np

from ..forms import FamilyObjective, form_of, guard_digits
from ..setting import Family, check_sizes, family
from ..vocab import check_tau, exact, mp
from ..setting import ClassSizes
from ..spec import LossSpec, NoSolution, get_spec
from ..setting import takes_convention
from ._result import Optimum, Regimes
from ._solver import barrier, candidates, check_temperatures, sign

#: the most digits the solver works at before it reports a sign as undecided
MAX_DIGITS = 240
#: the temperatures the imbalanced solver covers (the loss is flat to e^{-2/tau} near its
#: minimiser, so the work carries 0.87/tau more digits)
TAU_RANGE = ("0.03", "1e4")
#: the candidate active sets tried, most likely first, before the solver gives up; from the
#: float64 barrier only the first few (where float64 cannot place the minimiser, an mpmath
#: barrier orders them again)
MAX_CANDIDATES = 40
FLOAT_CANDIDATES = 6


def as_sizes(sizes) -> ClassSizes:
    """A :class:`ClassSizes` from itself, a sequence of sizes or a ``"5,3,2"`` string."""
    if isinstance(sizes, ClassSizes):
        return sizes
    if isinstance(sizes, str):
        return ClassSizes.parse(sizes)
    return ClassSizes(tuple(sizes))


def _objective(fam: Family, weights, tau_, lib):
    """tau phi of the family, from its form (:meth:`~ssem_symbolic.forms.LossForm.objective`)."""
    return form_of(fam.spec).objective(fam.spec, fam.coords, weights, tau_, lib)


@dataclass
class _Data:
    fam: Family
    A: np.ndarray
    b: np.ndarray
    R0: np.ndarray
    Rj: np.ndarray  # (n, G, G)


def _data(fam: Family) -> _Data:
    n = len(fam.coords)
    A = np.array([[float(a) for a in c.normal] for c in fam.linear]).reshape(-1, n)
    b = np.array([float(c.offset) for c in fam.linear])
    R0, Rj = fam.means
    return _Data(fam, A, b, np.array(R0, dtype=float),
                 np.array([[[float(v) for v in row] for row in r] for r in Rj]).reshape(
                     n, len(R0), len(R0)))


def _shift_to_end(d: _Data, x: np.ndarray) -> np.ndarray:
    """Where phi is flat along (1, ..., 1): move x down that line to where R turns singular
    (the linear slacks only grow that way), the end of the segment of minimisers that the
    balanced solver reports too (there the centroid is as small as it can be)."""
    ones = np.ones_like(x)

    def ok(t):
        R = d.R0 + np.tensordot(x - t * ones, d.Rj, 1)
        return np.linalg.eigvalsh(R)[0] >= 0
    lo, hi = 0.0, 4.0
    if ok(hi):
        return x
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return x - lo * ones


def _evidence(fam: Family, x) -> tuple[list, list]:
    """(linear slacks, ascending eigenvalues of R) at x, in mpmath."""
    lam, R = _at(_mp_family(fam), [mp(v) if not isinstance(v, mpmath.mpf) else v for v in x])
    return lam, sorted(mpmath.eigsy(R)[0])


class _KKT:
    """The square KKT system of one candidate (S, r) in mpmath: unknowns x, mu_S and the upper
    triangle of W; equations stationarity, lambda_S = 0 and the Schur complement of R on the
    pivot rows I equal to 0."""

    def __init__(self, fam: Family, obj: FamilyObjective, S, pivot, rest) -> None:
        self.fam, self.obj, self.S = fam, obj, S
        self.I, self.J = list(pivot), list(rest)
        self.n = len(fam.coords)
        r = len(self.I)
        self.tri = [(a, b) for a in range(r) for b in range(a, r)]
        R0, Rj = fam.means
        self.R0 = [[mp(v) for v in row] for row in R0]
        self.Rj = [[[mp(v) for v in row] for row in M] for M in Rj]
        self.a = [[mp(v) for v in fam.linear[i].normal] for i in S]
        self.lin = [(mp(c.offset), [mp(v) for v in c.normal]) for c in fam.linear]

    def R(self, x):
        G = len(self.R0)
        return mpmath.matrix([[self.R0[a][b] + mpmath.fsum(self.Rj[j][a][b] * x[j]
                                                           for j in range(self.n))
                               for b in range(G)] for a in range(G)])

    def null(self, x):
        """(Q, Schur): the null-space basis [I; -R_JJ^-1 R_JI] (G x r) and R_II + R_IJ X."""
        R = self.R(x)
        G, r = R.rows, len(self.I)
        if r == 0:
            return None, None
        X = mpmath.matrix(len(self.J), r)
        if self.J:
            RJJ = mpmath.matrix([[R[a, b] for b in self.J] for a in self.J])
            for c, col in enumerate(self.I):
                sol = mpmath.lu_solve(RJJ, mpmath.matrix([-R[a, col] for a in self.J]))
                for row in range(len(self.J)):
                    X[row, c] = sol[row]
        Q = mpmath.matrix(G, r)
        for c, a in enumerate(self.I):
            Q[a, c] = 1
        for c2, a in enumerate(self.J):
            for c in range(r):
                Q[a, c] = X[c2, c]
        schur = mpmath.matrix([[R[a, b] for b in self.I] for a in self.I])
        if self.J:
            schur += mpmath.matrix([[R[a, b] for b in self.J] for a in self.I]) * X
        return Q, schur

    def split(self, u):
        n, k = self.n, len(self.S)
        W = mpmath.matrix(len(self.I), len(self.I))
        for (a, b), val in zip(self.tri, u[n + k:]):
            W[a, b] = W[b, a] = val
        return list(u[:n]), list(u[n:n + k]), W

    def residual(self, u):
        x, mu, W = self.split(u)
        _, g, _ = self.obj.parts(x, False)
        F = list(g)
        for m_i, a in zip(mu, self.a):
            for j in range(self.n):
                F[j] -= m_i * a[j]
        Q, schur = self.null(x)
        if Q is not None:
            Z = Q * W * Q.T
            G = Z.rows
            for j in range(self.n):
                F[j] -= mpmath.fsum(Z[a, b] * self.Rj[j][a][b] for a in range(G)
                                    for b in range(G) if self.Rj[j][a][b])
        for i in self.S:
            off, nor = self.lin[i]
            F.append(off + mpmath.fsum(v * xi for v, xi in zip(nor, x)))
        if Q is not None:
            F.extend(schur[a, b] for a, b in self.tri)
        return F


def _polish(kkt: _KKT, u0, digits):
    """Damped Newton on the KKT residual (the Jacobian by differences, one per step until the
    steps are small, then reused while it contracts): the solution u to 10^-digits, or None
    when it leaves the domain or stalls. Damping keeps it safe where phi is nearly flat
    (small tau: Hessian entries of size e^{-2/tau})."""
    tol = mpmath.mpf(10) ** (-digits)
    h = mpmath.mpf(10) ** (-(digits // 2) - 2)
    u = [mp(v) if not isinstance(v, mpmath.mpf) else v for v in u0]

    def norm(F):
        return max(abs(v) for v in F) if F else mpmath.mpf(0)

    def jac(u, F):
        cols = []
        for i in range(len(u)):
            up = list(u)
            up[i] += h
            Fp = kkt.residual(up)
            cols.append([(a - b) / h for a, b in zip(Fp, F)])
        return mpmath.matrix([[cols[j][i] for j in range(len(u))] for i in range(len(F))])

    def safe(u):
        try:
            return kkt.residual(u)
        except ZeroDivisionError:
            return None

    F = safe(u)
    if F is None:
        return None
    J, last = None, None
    for _ in range(50):
        if J is None:
            J = jac(u, F)
        try:
            du = mpmath.lu_solve(J, mpmath.matrix(F))
        except ZeroDivisionError:
            return None
        size = max(abs(v) for v in du) if len(du) else mpmath.mpf(0)
        if not mpmath.isfinite(size):
            return None
        if size < tol:
            return [a - b for a, b in zip(u, du)]
        f0, t = norm(F), mpmath.mpf(1)
        for _ in range(40):
            un = [a - t * b for a, b in zip(u, du)]
            Fn = safe(un) if max(abs(v) for v in un[:kkt.n]) <= 2 else None
            if Fn is not None and norm(Fn) <= (1 - t / 4) * f0 + tol:
                break
            t /= 2
        else:
            return None
        if t < mpmath.mpf(2) ** -20:
            return None  # stalled: not this candidate
        u, F = un, Fn
        if t < 1 or last is None or size > last / 100:
            J = None  # damped or slow: a fresh Jacobian
        last = size
    return None


def _pivot(null: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The r rows of a null-space basis with the best-conditioned square block."""
    G, r = null.shape
    best = max(itertools.combinations(range(G), r),
               key=lambda rows: abs(np.linalg.det(null[list(rows)])))
    return best, tuple(i for i in range(G) if i not in best)


def _start(d: _Data, obj: FamilyObjective, x, S, r):
    """The Newton start of a candidate: x, and the multipliers (mu_S, W) that fit the
    stationarity equations best there (least squares: they enter linearly)."""
    R = d.R0 + np.tensordot(x, d.Rj, 1)
    ev, vec = np.linalg.eigh(R)
    pivot, rest = _pivot(vec[:, :r]) if r else ((), tuple(range(len(ev))))
    cols = [d.A[i] for i in S]
    if r:
        Q = np.zeros((len(ev), r))
        Q[list(pivot)] = np.eye(r)
        if rest:
            Q[list(rest)] = -np.linalg.solve(R[np.ix_(rest, rest)], R[np.ix_(rest, pivot)])
        for a in range(r):
            for b in range(a, r):
                E = np.zeros((r, r))
                E[a, b] = E[b, a] = 1
                Z = Q @ E @ Q.T
                cols.append(np.einsum("ab,jab->j", Z, d.Rj))
    g = np.array(obj.parts(x, False)[1], dtype=float)
    coef = (np.linalg.lstsq(np.array(cols).T, g, rcond=None)[0] if cols else [])
    return pivot, rest, [*map(float, x), *map(float, coef)]


@takes_convention
def imbalanced_optimum(convention: str | LossSpec, sizes, p_: int, alpha_, tau_,
                       digits: int = 30, max_digits: int = MAX_DIGITS) -> Optimum:
    """The minimum of the loss over all unit embeddings of a batch with class sizes ``sizes``
    (a :class:`~ssem_symbolic.setting.ClassSizes`, a list, or ``"5,3,2"``) and p views, with its
    per-class geometry. alpha and tau are read exactly; ``digits`` is the working precision,
    raised (up to ``max_digits``) where a sign is not decided.
    """
    spec = get_spec(convention)
    sizes = as_sizes(sizes)
    check_sizes(spec, sizes, p_, alpha_)
    a = exact(alpha_)
    if not 0 <= a <= 1:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha_}")
    t = check_tau(tau_)
    if sizes.balanced:
        return _from_balanced(spec, sizes, p_, a, t, digits)
    return _family_optimum(spec, sizes, p_, a, t, digits, tau_, max_digits)


def _family_optimum(spec: LossSpec, sizes: ClassSizes, p_: int, a, t, digits: int,
                    tau_=None, max_digits: int = MAX_DIGITS):
    """The size-group solver itself (any sizes, one group included): barrier, then Newton on
    the KKT equations in mpmath."""
    if not exact(TAU_RANGE[0]) <= t <= exact(TAU_RANGE[1]):
        raise ValueError(f"the imbalanced solver covers tau in [{TAU_RANGE[0]}, "
                         f"{TAU_RANGE[1]}], got {t if tau_ is None else tau_}")
    check_temperatures(spec, t, TAU_RANGE)
    fam = family(spec, sizes, p_)
    weights = form_of(spec).family_weights(spec, sizes, p_, a)
    d = _data(fam)
    x, s = barrier(d.A, d.b, _objective(fam, weights, float(t), np), np.zeros(d.A.shape[1]),
                   (d.R0, d.Rj), s_end=1e12, iterations=60, tol=1e-10)
    extra = guard_digits(t) + int(mpmath.ceil(0.87 / mp(t)))
    work = digits
    while True:
        with mpmath.workdps(work + extra + 10):
            found = _solve(fam, weights, t, d, x, s, work, extra)
        if found is not None and (found.decided or work >= max_digits):
            return found
        if work >= max_digits:
            raise NoSolution("no candidate satisfies the KKT conditions")
        work = min(max_digits, 4 * work)


def _solve(fam: Family, weights, t, d: _Data, x, s, work: int, extra: int):
    """At the working precision: the flat line first (where phi is flat along (1, ..., 1)
    and unconstrained there), then the candidates from the float64 barrier, then, if none
    polishes, from an mpmath barrier. None when no candidate is accepted."""
    objm = _objective(fam, weights, t, mpmath)
    resolution = mpmath.mpf(10) ** (-(work - 5))
    flat = form_of(fam.spec).flat(fam.spec, weights)
    if flat:
        seg = _flat_segment(fam, objm, x, work + extra // 2, resolution)
        if seg is not None:
            return seg
    x_end = _shift_to_end(d, x) if flat else x
    best = None
    starts = (lambda: (x_end, s),
              lambda: _barrier_mp(fam, objm, [mp(v) for v in x], mpmath.mpf(s),
                                  mpmath.mpf(10) ** (work + extra // 2), work + extra // 2))
    for stage, tries in zip(starts, (FLOAT_CANDIDATES, MAX_CANDIDATES)):
        start, scale = stage()
        xf = np.array([float(v) for v in start])
        for S, r in candidates(*_evidence(fam, start), scale)[:tries]:
            pivot, rest, u0 = _start(d, _objective(fam, weights, float(t), np), xf, S, r)
            kkt = _KKT(fam, objm, S, pivot, rest)
            u0 = [*start, *u0[len(start):]]
            u = _polish(kkt, u0, work + extra // 2)
            if u is None:
                continue
            signs = _signs(kkt, u, resolution)
            if any(v == -1 for v in signs.values()):
                continue
            if all(v is not None for v in signs.values()):
                return _report(kkt, u, True, True, work)
            if best is None:
                best = (kkt, u)
    return None if best is None else _report(*best, False, True, work)


def _mp_family(fam: Family):
    """(A, b, R0, Rj) of the family in mpmath at the working precision."""
    A = [[mp(v) for v in c.normal] for c in fam.linear]
    b = [mp(c.offset) for c in fam.linear]
    R0, Rj = fam.means
    return A, b, mpmath.matrix([[mp(v) for v in row] for row in R0]), [
        mpmath.matrix([[mp(v) for v in row] for row in M]) for M in Rj]


def _at(mpfam, x) -> tuple[list, mpmath.matrix]:
    """(linear slacks, R) at x from :func:`_mp_family`'s data."""
    A, b, R0, Rj = mpfam
    lam = [bi + mpmath.fsum(a * xi for a, xi in zip(row, x)) for row, bi in zip(A, b)]
    return lam, R0 + sum((Rj[j] * x[j] for j in range(len(x))), mpmath.zeros(R0.rows))


def _barrier_mp(fam: Family, objm: FamilyObjective, x0, s0, s_end, digits):
    """The log-barrier path continued in mpmath from the float64 point, s x 100 per stage up
    to ``s_end``: where phi is flat to e^{-2/tau}, float64 cannot place the minimiser, and a
    minimisation (not a root search) is what stays safe there. Returns (x, s)."""
    mpfam = _mp_family(fam)
    A, _, _, Rj = mpfam
    n = len(x0)
    eps = mpmath.mpf(10) ** (-digits)

    def state(x):
        lam, R = _at(mpfam, x)
        if any(v <= 0 for v in lam):
            return None
        try:
            L = mpmath.cholesky(R)
        except ValueError:
            return None
        return lam, R, 2 * mpmath.fsum(mpmath.log(L[i, i]) for i in range(R.rows))

    def merit(x, s, st):
        return s * objm.parts(x, False)[0] - mpmath.fsum(mpmath.log(v) for v in st[0]) - st[2]

    x, s = list(x0), s0
    st = state(x)
    if st is None:
        return x, s
    while True:
        for _ in range(80):
            lam, R, _ = st
            _, g, H = objm.parts(x)
            Ri = mpmath.inverse(R)
            M = [Ri * Rj[j] for j in range(n)]
            G = R.rows
            grad = [s * g[j] - mpmath.fsum(A[i][j] / lam[i] for i in range(len(lam)))
                    - mpmath.fsum(M[j][a, a] for a in range(G)) for j in range(n)]
            hess = mpmath.matrix(n, n)
            for j in range(n):
                for k in range(j, n):
                    v = (s * H[j][k] + mpmath.fsum(A[i][j] * A[i][k] / lam[i] ** 2
                                                   for i in range(len(lam)))
                         + mpmath.fsum(M[j][a, c] * M[k][c, a] for a in range(G)
                                       for c in range(G)))
                    hess[j, k] = hess[k, j] = v
            try:
                step = -mpmath.lu_solve(hess, mpmath.matrix(grad))
            except ZeroDivisionError:
                break
            dec = -mpmath.fsum(gj * sj for gj, sj in zip(grad, step))
            if dec < eps:
                break
            f0, t = merit(x, s, st), mpmath.mpf(1)
            for _ in range(60):
                xn = [xi + t * si for xi, si in zip(x, step)]
                stn = state(xn)
                if stn is not None and merit(xn, s, stn) <= f0 - t * dec / 4:
                    break
                t /= 2
            else:
                break
            x, st = xn, stn
        if s >= s_end:
            return x, s
        s *= 100


def _flat_segment(fam: Family, objm: FamilyObjective, x0, digits, resolution):
    """Where phi is flat along 1 = (1, ..., 1): minimise it on the hyperplane 1^T x = 1^T x0
    (Newton, mpmath); if the line of minimisers x* + t 1 meets the feasible set, every point
    of that segment is a global minimiser (gradient 0, no constraint needed), and the result
    is reported at the end with the most active conditions, with the per-class range. None
    when phi has no minimiser on the hyperplane near x0 or the line misses the feasible set
    (then some constraint holds the optimum, and the KKT candidates decide)."""
    n = len(x0)
    x = [mp(float(v)) for v in x0]
    tol = mpmath.mpf(10) ** (-digits)
    N = mpmath.matrix(n, n - 1)
    for j in range(n - 1):
        N[j, j], N[n - 1, j] = 1, -1
    for _ in range(200):
        val, g, H = objm.parts(x)
        gy = N.T * mpmath.matrix(g)
        Hy = N.T * mpmath.matrix(H) * N
        if not all(mpmath.isfinite(v) for v in [*gy, *Hy]):
            return None  # the Newton path left the domain: the KKT candidates decide
        try:
            dy = -mpmath.lu_solve(Hy, gy)
        except (ZeroDivisionError, TypeError):  # singular (mpmath's LU leaves the pivot of an
            return None  # exactly zero column unset, a TypeError): no Newton step on the plane
        dx = N * dy
        size = max(abs(v) for v in dx)
        if size < tol:
            break
        dec = -(gy.T * dy)[0]
        t = min(mpmath.mpf(1), 1 / size)
        for _ in range(60):
            xn = [xi + t * dx[j] for j, xi in enumerate(x)]
            if t * dec < tol * (1 + abs(val)) or objm.parts(xn, False)[0] <= val - t * dec / 4:
                break
            t /= 2
        else:
            return None
        x = xn
        if max(abs(v) for v in x) > 4:
            return None
    else:
        return None
    mpfam = _mp_family(fam)
    R0, Rj = mpfam[2], mpfam[3]
    # the base point on the line nearest the (strictly feasible) barrier point
    shift = mpmath.fsum(mp(float(v)) - xi for v, xi in zip(x0, x)) / n
    base = [xi + shift for xi in x]
    lam, R = _at(mpfam, base)
    try:
        L = mpmath.cholesky(R)
    except ValueError:
        return None
    Li = mpmath.inverse(L)
    D1 = sum(Rj, mpmath.zeros(R0.rows))
    ev = mpmath.eigsy(Li * D1 * Li.T)[0]
    lo = max([-1 / e for e in ev if e > 0], default=-mpmath.inf)
    hi_r = min([-1 / e for e in ev if e < 0], default=mpmath.inf)
    hi = min([hi_r, *lam])
    if not mpmath.isfinite(lo) or lo > hi + resolution:
        return None
    ends = []
    for t in (lo, hi):
        xe = [v + t for v in base]
        lin = tuple(i for i, v in enumerate(lam) if abs(v - t) <= resolution)
        evs, vecs = mpmath.eigsy(_at(mpfam, xe)[1])
        r = sum(1 for e in evs if abs(e) <= resolution)
        ends.append((len(lin) + r, xe, lin, r, vecs))
    lower, upper = ends
    count, xe, lin, r, vecs = upper if upper[0] > lower[0] else lower
    null = np.array([[float(vecs[a, c]) for c in range(r)] for a in range(vecs.rows)])
    pivot, rest = _pivot(null) if r else ((), tuple(range(vecs.rows)))
    kkt = _KKT(fam, objm, lin, pivot, rest)
    u = [*xe, *([mpmath.mpf(0)] * (len(lin) + r * (r + 1) // 2))]
    unique = hi - lo <= resolution
    return _report(kkt, u, True, unique, digits, segment=None if unique else
                   ([v + lo for v in base], [v + hi for v in base]))


def _signs(kkt: _KKT, u, resolution) -> dict:
    """The sign of every quantity the KKT conditions need >= 0: multipliers, W's eigenvalues,
    inactive slacks and R_JJ's eigenvalues (R has rank exactly G - r)."""
    x, mu, W = kkt.split(u)
    out = {("mu", i): sign(m_i, resolution) for i, m_i in zip(kkt.S, mu)}
    if W.rows:
        for c, ev in enumerate(mpmath.eigsy(W)[0]):
            out[("W", c)] = sign(ev, resolution)
    for i, (off, nor) in enumerate(kkt.lin):
        if i not in kkt.S:
            out[("slack", i)] = sign(off + mpmath.fsum(v * xi for v, xi in zip(nor, x)),
                                      resolution)
    if kkt.J:
        R = kkt.R(x)
        RJJ = mpmath.matrix([[R[a, b] for b in kkt.J] for a in kkt.J])
        for c, ev in enumerate(mpmath.eigsy(RJJ)[0]):
            out[("rank", c)] = sign(ev, resolution)
    return out


def _report(kkt: _KKT, u, decided: bool, unique: bool, work: int,
            segment=None) -> Optimum:
    fam = kkt.fam
    sizes = fam.sizes
    x, mu, W = kkt.split(u)
    groups = sizes.groups
    resolution = mpmath.mpf(10) ** (-(work - 5))

    def label(c) -> str:  # a linear condition by its size group: within-class[k=5]
        return f"{c.name.split('[')[0]}[k={groups[c.group][0]}]"
    names = {label(fam.linear[i]): float(m_i) for i, m_i in zip(kkt.S, mu)}
    slacks = {label(fam.linear[i]): float(off + mpmath.fsum(v * xi for v, xi in zip(nor, x)))
              for i, (off, nor) in enumerate(kkt.lin) if i not in kkt.S}
    centre = mpmath.matrix([K * n for K, n in groups])  # the null vector of a zero centroid
    Rm = kkt.R(x)
    r = len(kkt.I)
    if r:
        w_eig = mpmath.eigsy(W)[0]
        if mpmath.norm(Rm * centre) <= resolution * 10 ** 3:
            names["all-ones"] = float(mpmath.fsum(w_eig))
            r -= 1
        if r > 0:
            names["class-means"] = float(min(w_eig))
    ms = [fam.class_mean_sq(x, g) for g in range(len(groups))]
    per_class, within = [], mpmath.mpf(0)
    N = sum(sizes.sizes)
    for i, size in enumerate(sizes.sizes):
        g = sizes.group_of[i]
        w_c = 1 - ms[g]
        within += mpmath.mpf(size) / N * w_c
        per_class.append({"size": size, "within_class_variance": float(w_c),
                          "view_similarity": float(fam.value(x, f"v[{g}]")),
                          "class_similarity": float(fam.value(x, f"s[{g}]")),
                          "collapsed": abs(w_c) <= resolution})
        if segment is not None:
            ends = sorted(float(1 - fam.class_mean_sq(y, g)) for y in segment)
            per_class[-1]["within_class_variance_range"] = ends
    mean_sq = (centre.T * Rm * centre)[0] / N ** 2
    total = 1 - mean_sq
    merged = _merged(sizes, [[abs(ms[g] + ms[h] - 2 * fam.other(x, g, h))
                              <= resolution * 10 ** 3 if g != h or groups[g][1] >= 2 else False
                              for h in range(len(groups))] for g in range(len(groups))])
    similarity = {(g, h): float(fam.other(x, g, h)) for g in range(len(groups))
                  for h in range(g, len(groups)) if g < h or groups[g][1] >= 2}
    val = kkt.obj.parts(x, False)[0] / kkt.obj.tau
    return Optimum(float(val), tuple(sorted(names)), names, slacks, float(within),
                   float(total - within), tuple(per_class), tuple(merged), similarity, sizes,
                   unique=unique, decided=decided, digits=work, exact_point=tuple(x))


def _merged(sizes: ClassSizes, meets: list) -> tuple[tuple[int, ...], ...]:
    """The sets of classes whose means coincide, from ``meets[g][h]``: the classes of size
    groups g and h share one mean (a group with itself: its classes coincide). Decided per
    pair of groups, so the work is G^2, not (number of classes)^2."""
    G = len(meets)
    parent = list(range(G))

    def root(g):
        while parent[g] != g:
            g = parent[g]
        return g
    together = [meets[g][g] for g in range(G)]
    for g, h in itertools.combinations(range(G), 2):
        if meets[g][h]:
            parent[root(h)] = root(g)
    out = []
    for g in range(G):
        if root(g) != g:
            continue
        members = [h for h in range(G) if root(h) == g]
        classes = tuple(i for i in range(sizes.classes) if sizes.group_of[i] in members)
        if len(members) > 1 or together[g]:
            out.append(classes)
    return tuple(sorted(out))


def _from_balanced(spec: LossSpec, sizes: ClassSizes, p_: int, a, t, digits: int):
    """The balanced solver's optimum, reported per class (every class alike)."""
    from ._balanced import global_optimum

    K, m_ = sizes.groups[0]
    opt = global_optimum(spec, m_, K, p_, a, t, digits=digits)
    rename = {"view": f"view[k={K}]", "within-class": f"within-class[k={K}]",
              "between-class": f"between-class[k={K}]", "all-ones": "all-ones"}
    per = {"size": K, "within_class_variance": opt.within_class_variance,
           "view_similarity": 1.0 if opt.view is None else opt.view,
           "class_similarity": opt.class_, "collapsed": opt.collapsed}
    return Optimum(
        opt.loss_value, tuple(sorted(rename[n] for n in opt.active)),
        {rename[n]: v for n, v in opt.multipliers.items()},
        {rename[n]: v for n, v in opt.slacks.items()}, opt.within_class_variance,
        opt.between_class_variance, tuple(dict(per) for _ in range(m_)), opt.merged,
        {(0, 0): opt.other}, sizes, unique=opt.unique, decided=opt.decided, digits=opt.digits,
        exact_point=opt.exact_point)


@takes_convention
def imbalanced_regimes(convention: str | LossSpec, sizes, p_: int, *, tau=None, alpha=None,
                       tol: float = 1e-8, tau_range=(TAU_RANGE[0], "100"),
                       points: int = 41) -> Regimes:
    """Every boundary of the imbalanced optimum along alpha in [0, 1] at fixed ``tau``, or
    along tau in ``tau_range`` at fixed ``alpha``, located to ``tol`` (absolute in alpha,
    relative in tau): which classes collapse, and where classes merge. The scan is
    :func:`~ssem_symbolic.optimum.scan` (a grid of ``points``, then bisection); a regime that
    starts and ends between two grid points is not seen.
    """
    from ._balanced import regimes_of

    spec = get_spec(convention)
    sizes = as_sizes(sizes)
    check_sizes(spec, sizes, p_)
    if tau is not None:
        check_tau(tau)
    lo_t, hi_t = (exact(v) for v in tau_range)
    if not exact(TAU_RANGE[0]) <= lo_t < hi_t <= exact(TAU_RANGE[1]):
        raise ValueError(f"the tau range must lie in [{TAU_RANGE[0]}, {TAU_RANGE[1]}]")
    return regimes_of(lambda a, t: imbalanced_optimum(spec, sizes, p_, a, t), tau=tau,
                      alpha=alpha, tol=tol, tau_range=tau_range, points=points, sizes=sizes)
