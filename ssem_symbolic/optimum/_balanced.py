"""The global optimum over all unit embeddings of a balanced batch: the minimum of phi(v, c, o)
over the symmetric Gram polyhedron (:mod:`~ssem_symbolic.setting`), solved, not only certified.

tau phi = L tau log sum_{s in den} n_s e^{g_s/tau} - sum_t w_t g_t with L = sum of the term weights
and w_t the weight of pair type t among the positives (:func:`pull_weights`). phi is convex, so
x* is the optimum iff for its active set S (the directions with lambda_i(x*) = 0)

    grad phi(x*) = sum_{i in S} mu_i grad lambda_i,   mu_i >= 0,   lambda_j(x*) >= 0 (j not in S).

The solver finds S and x* in two steps: a float64 log-barrier Newton method gives a point near
x* and a guess of S; then, face by face (the guess first), Newton on the face in mpmath finds the
face minimiser, and the face is accepted when every multiplier and every slack has a decided
sign at the working precision (retried at more digits, up to 1000, as the SSEM certificate is).
On the SSEM face (``view`` and ``all-ones`` active) this is the SSEM point at beta*.

The report is read off the point, not off the face's label: the active constraints are the
directions whose eigenvalue is 0 there (a face's minimiser may land where another eigenvalue
vanishes too, with multiplier 0); ``collapsed`` and the variances follow from those
eigenvalues (the within-class variance is ((k-1) lambda_within + k(p-1) lambda_view)/(kp), the
between-class one (m-1) lambda_between/(mkp), so an active direction gives an exact 0).

Where phi is affine along some directions (the pair types of a denominator moving together,
or a coordinate no denominator holds), its minimisers can form a polytope: the directions d
along which phi is affine with grad phi . d = 0, intersected with the polyhedron. The solver
reports one point of it, with ``unique`` False and the range of each reported quantity over
the whole set (from its vertices).

>>> opt = global_optimum("paper", 3, 4, 2, "0.5", "0.5")
>>> opt.active, opt.collapsed
(('all-ones', 'view'), False)
"""

from __future__ import annotations

import functools
import itertools
import math

import mpmath
import numpy as np
import sympy as sp

from ..forms import LogSumExp, form_of, guard_digits
from ..infra import counted, progress
from ..setting import (ClassSizes, Polyhedron, collapsed, eigen_variances, gram_entries,
                       polyhedron, sorted_names, takes_convention)
from ..spec import TERMS, LossSpec, NoSolution, alpha, check_setting, get_spec
from ..ssem import optimal_beta
from ..vocab import Learnable, exact, mp
from ._certificate import SSEMCertificate, softmax_certificate
from ._result import Boundary, Optimum, Regimes
from ._solver import barrier, candidates, check_temperatures, sign

#: the most digits the solver works at before it reports a sign as undecided
MAX_DIGITS = 1000
#: the temperatures the off-SSEM solver covers: the loss is flat to e^{-2/tau} near its
#: minimiser, so the work carries 0.87/tau more digits (870 at tau = 1e-3, about 5 s)
TAU_RANGE = ("0.001", "1e4")


def symmetric_objective(spec: LossSpec, P: Polyhedron, kinds, alpha_):
    """tau phi on the coordinates of ``P`` (a batch's or a dataset's symmetric polyhedron) as a
    factory ``(tau, lib) -> objective`` (:class:`~ssem_symbolic.forms.FamilyObjective`), from
    the spec's form. ``kinds``: per kind of anchor, (j, B, share): j members of its class in a
    batch of B instances, and ``share[term]`` the weight of such anchors in the term's mean. A
    balanced m x k batch is one kind, (k, mk, 1 for every term)."""
    form = form_of(spec)
    weights = symmetric_weights(spec, P, kinds, alpha_)
    return lambda t, lib: form.objective(spec, P.coords, weights, t, lib)


def symmetric_weights(spec: LossSpec, P: Polyhedron, kinds, alpha_) -> list:
    """The form's weights of :func:`symmetric_objective` (exact), per kind of anchor."""
    form = form_of(spec)
    idx = {c: i for i, c in enumerate(P.coords)}
    a = exact(alpha_)
    weights: list = []
    for j, batch, share in kinds:
        part = {"self": [(1, None)], "view": [(P.p - 1, idx["view"])] if P.p >= 2 else [],
                "class": [((j - 1) * P.p, idx["class"])] if j >= 2 else [],
                "other": [((batch - j) * P.p, idx["other"])] if batch > j else []}
        coef = {term: share[term] * spec.weight(term).subs(alpha, a) for term in TERMS}
        weights += form.kind_weights(spec, part, coef)
    return weights


def batch_objective(spec: LossSpec, P: Polyhedron, m_: int, k_: int, alpha_):
    """:func:`symmetric_objective` of a balanced m x k batch, every anchor alike, on ``P``."""
    return symmetric_objective(spec, P, [(k_, m_ * k_, dict.fromkeys(TERMS, 1))], alpha_)


def _barrier(P: Polyhedron, make, t) -> tuple[np.ndarray, list, float]:
    """The float64 log-barrier point near x* (:func:`~ssem_symbolic.optimum._solver.barrier`),
    its eigenvalues and barrier weight. The start is the origin, or c = 1/(2p) where the
    origin lies on the boundary (the n -> oo limit)."""
    A = np.array([[float(a) for a in row] for row in P.normal])
    b = np.array([float(x) for x in P.offset])
    x = np.zeros(len(P.coords))
    if np.any(b + A @ x <= 0):
        x[P.coords.index("class")] = 1 / (2 * P.p)
    x, s = barrier(A, b, make(float(t), np), x, s_end=1e16, iterations=40, tol=1e-9)
    return x, list(b + A @ x), s


@functools.lru_cache(maxsize=None)
def solve_face(P: Polyhedron, active: tuple[int, ...]):
    """Exact data of a face: None if its normals are dependent, else (N, rows, B): a basis N
    of the directions inside it, and a square subsystem (rows of A_S^T, inverse B) for mu."""
    n = len(P.coords)
    A = sp.Matrix([P.normal[i] for i in active]) if active else sp.zeros(0, n)
    if active and A.rank() < len(active):
        return None
    null = A.nullspace() if active else [sp.eye(n)[:, j] for j in range(n)]
    N = [[sp.Rational(vec[r]) for vec in null] for r in range(n)]
    if not active:
        return N, (), None
    At = A.T
    for rows in itertools.combinations(range(n), len(active)):
        sub = At.extract(list(rows), list(range(len(active))))
        if sub.det() != 0:
            return N, rows, sub.inv()
    return None


def _eigen(P: Polyhedron, x) -> list:
    """lambda_i at x, in mpmath at the working precision."""
    return [mp(b) + mpmath.fsum(mp(a) * xi for a, xi in zip(row, x))
            for row, b in zip(P.normal, P.offset)]


def _project(P: Polyhedron, active, x):
    """The nearest point to x on the face {lambda_i = 0, i in active} (mpmath)."""
    if not active:
        return list(x)
    A = mpmath.matrix([[mp(a) for a in P.normal[i]] for i in active])
    lam = _eigen(P, x)
    r = mpmath.matrix([-lam[i] for i in active])
    y = mpmath.lu_solve(A * A.T, r)
    d = A.T * y
    return [xi + d[j] for j, xi in enumerate(x)]


def _face_minimum(P: Polyhedron, phi, active, start, digits):
    """Newton on the face (mpmath): (x, multipliers) of the face minimiser, or None when the
    face has no minimiser near the polyhedron (or its Hessian is singular)."""
    data = solve_face(P, active)
    if data is None:
        return None
    N, rows, B = data
    x = _project(P, active, start)
    dim = len(N[0]) if N and N[0] else 0
    tol = mpmath.mpf(10) ** (-digits)
    Nm = mpmath.matrix([[mp(a) for a in row] for row in N]) if dim else None
    last = mpmath.inf
    for _ in range(200):
        if dim == 0:
            break
        val, g, H = phi.parts(x)
        gy = Nm.T * mpmath.matrix(g)
        Hy = Nm.T * mpmath.matrix(H) * Nm
        if _near_singular(Hy, digits):
            return None
        dy = -mpmath.lu_solve(Hy, gy)
        dec = -(gy.T * dy)[0]  # the Newton decrement squared
        dx = Nm * dy
        size = max(abs(d) for d in dx)
        # converged: below the tolerance, or stalled at the working precision's noise (on a
        # face as flat as e^{-2/tau} the steps stop shrinking well below sqrt(tol))
        if size < tol or (size < mpmath.sqrt(tol) and size >= last / 2):
            break
        last = size
        t = min(mpmath.mpf(1), 1 / size)  # steps of at most 1 per coordinate
        noise = tol * 1e5 * (1 + abs(val))  # below this val cannot tell a descent
        for _ in range(60):  # backtracking while far away; full steps once dec is tiny
            xn = [x[j] + t * dx[j] for j in range(len(x))]
            if t * dec < noise or phi.parts(xn)[0] <= val - t * dec / 4:
                break
            t /= 2
        else:  # no descent left
            return None
        if t == 1 and size < 1:  # where phi is nearly exponential a Newton step covers
            best = phi.parts(xn)[0]  # about tau: double it while the loss keeps falling
            while t * size < 1:
                xt = [x[j] + 2 * t * dx[j] for j in range(len(x))]
                at = phi.parts(xt)[0]
                if not at < best:
                    break
                t, xn, best = 2 * t, xt, at
        x = xn
        if max(abs(v) for v in x) > 2:  # P lies in [-1, 1]^3: the face minimiser is not in P
            return None
        if max(abs(d) for d in dy) < tol:
            break
    else:
        return None
    _, g, _ = phi.parts(x)
    mus = {}
    for c, i in enumerate(active):
        mus[i] = mpmath.fsum(mp(B[c, j]) * g[r] for j, r in enumerate(rows))
    return x, mus


@takes_convention
def global_optimum(convention: str | LossSpec, m_: int, k_: int, p_: int, alpha_, tau_,
                   digits: int = 30, max_digits: int = MAX_DIGITS) -> Optimum:
    """The minimum of the loss over all unit embeddings of an m x k x p batch (any d >= mkp - 1).

    alpha and tau are read exactly. ``digits`` is the working precision; a sign that is not
    decided there is retried at more digits, up to ``max_digits`` (the face solver's; the
    certificate's own retries go to 1000).

    First the exact SSEM certificate (:func:`~ssem_symbolic.optimum.certify_ssem`, any tau):
    where SSEM holds the optimum, the result is the SSEM point at beta*, with the certificate's
    active set and multipliers. Elsewhere the face solver runs, for tau in :data:`TAU_RANGE`.
    """
    spec = get_spec(convention)
    check_setting(spec, m_, k_, p_, alpha=alpha_, tau=tau_)
    return _SOLVERS[spec.form](spec, m_, k_, p_, alpha_, tau_, digits, max_digits)


def _softmax_optimum(spec, m_, k_, p_, alpha_, tau_, digits, max_digits) -> Optimum:
    """The softmax form: the exact SSEM certificate first, then the face solver off SSEM (a
    temperature per pair type has no certificate in closed form: the face solver alone)."""
    t = exact(tau_)
    if spec.temperatures:
        return _face_solver(spec, m_, k_, p_, alpha_, t, digits, max_digits)
    cert = certify_ssem(spec, m_, k_, p_, alpha_, tau_, digits=digits)
    if cert.valid is not False:
        return _on_ssem(spec, m_, k_, p_, alpha_, t, cert)
    return _face_solver(spec, m_, k_, p_, alpha_, t, digits, max_digits)


def face_tau(spec: LossSpec, tau_, solver: str):
    """tau read exactly, or ValueError (one line) unless it lies in :data:`TAU_RANGE` (and
    every per-type temperature with it) for the face solver behind ``solver``."""
    t = exact(tau_)
    if not exact(TAU_RANGE[0]) <= t <= exact(TAU_RANGE[1]):
        raise ValueError(f"{solver} covers tau in [{TAU_RANGE[0]}, {TAU_RANGE[1]}], got "
                         f"{float(t):g}")
    check_temperatures(spec, t, TAU_RANGE)
    return t


def _face_solver(spec, m_, k_, p_, alpha_, t, digits, max_digits) -> Optimum:
    """The minimum over the polyhedron by the barrier start and KKT face search, for tau in
    :data:`TAU_RANGE`."""
    face_tau(spec, t, "the off-SSEM solver")
    P = polyhedron(m_, k_, p_)
    return minimum(P, batch_objective(spec, P, m_, k_, alpha_), t, digits,
                   max_digits=max_digits)


#: per loss form, the balanced batch's solver: the softmax form has an exact SSEM certificate
#: to try first, the sigmoid form is decided by the face solver alone
_SOLVERS = {"softmax": _softmax_optimum,
            "sigmoid": lambda spec, m_, k_, p_, alpha_, tau_, digits, max_digits: _face_solver(
                spec, m_, k_, p_, alpha_, exact(tau_), digits, max_digits)}


def minimum(P: Polyhedron, make, t, digits: int, *, max_digits: int = MAX_DIGITS,
            report=None) -> Optimum:
    """The minimum of tau phi = ``make(tau, lib)`` over the polyhedron P at temperature t:
    the float64 barrier's point and its evidence on the active set
    (:mod:`~ssem_symbolic.optimum._solver`), then the KKT face search from there. ``report``
    (same arguments as :func:`_report`, the default) reads the result off the point."""
    x0, lam0, s = _barrier(P, make, t)
    order = [S for S, _ in candidates(lam0, [], s)]
    return _solve(P, make, t, x0, order, digits, max_digits=max_digits,
                  report=report or _report)


def _solve(P: Polyhedron, make, t, x0, order, digits, max_digits: int = MAX_DIGITS,
           report=None) -> Optimum:
    """The KKT point among the faces in ``order``, raising the working precision (up to
    ``max_digits``) while a sign is undecided; reported with ``decided=False`` beyond."""
    _report_ = report or _report
    names = P.names
    work = digits
    flat = int(mpmath.ceil(0.87 / mp(t)))  # phi is flat to e^{-2/tau} near its minimiser
    # a sigmoid bias b scales phi's curvature by up to e^{-|b|} against its value: the face
    # Newton steps need that many more digits of precision (not of tolerance)
    curvature = int(math.ceil(0.87 * abs(float(getattr(make(t, np), "bias", 0) or 0))))
    while True:
        with mpmath.workdps(work + guard_digits(t) + flat + curvature + 10):
            phi = make(t, mpmath)
            start = [mp(float(v)) for v in x0]
            resolution = mpmath.mpf(10) ** (-(work - 5))  # the digits kept beyond flatness
            best = None
            for active in order:
                found = _face_minimum(P, phi, active, start, work + flat + 5)
                if found is None:
                    continue
                x, mus = found
                lam = _eigen(P, x)
                signs = [sign(mus[i], resolution) for i in active]
                signs += [sign(lam[j], resolution) for j in range(len(names))
                          if j not in active]
                if any(v == -1 for v in signs):
                    continue
                if all(v == 1 for v in signs):
                    return _report_(P, phi, x, active, mus, lam, True, work)
                if _null_directions(P, phi, x, work + flat):  # a set of minimisers
                    return _report_(P, phi, x, active, mus, lam, True, work)
                if best is None:
                    best = (x, active, mus, lam)
            if best is not None and work >= max_digits:
                return _report_(P, phi, *best, False, work)
            if best is None and work >= max_digits:
                raise NoSolution("no face of the polyhedron satisfies the KKT conditions")
        work = min(max_digits, 4 * work)


def _on_ssem(spec, m_, k_, p_, alpha_, t, cert) -> Optimum:
    """The SSEM point at beta*, where the certificate shows (or cannot exclude, at a boundary)
    that it is the global minimiser."""
    P = polyhedron(m_, k_, p_)
    with mpmath.workdps(cert.digits + guard_digits(t) + 10):
        b = optimal_beta(spec, m_, k_, p_, alpha_, t, digits=cert.digits)
        g = gram_entries(b, m_, k_)
        x = [mpmath.mpf(g[c]) for c in P.coords]
        lam = _eigen(P, x)
        names = set(cert.multipliers)
        active = [i for i, name in enumerate(P.names) if name in names]
        # the certificate's multipliers are phi's; Optimum states tau phi's
        mus = {P.names.index(n): mp_ * float(t) for n, mp_ in cert.multipliers.items()}
        phi = batch_objective(spec, P, m_, k_, alpha_)(t, mpmath)
        return _report(P, phi, x, active, mus, lam, cert.valid is True, cert.digits,
                       snap=False)


def snapped(P: Polyhedron, active, mus, lam, work: int, snap: bool = True) -> tuple:
    """(zero, mus, lam, names): the directions reported active (``active``, and with ``snap``
    every one whose eigenvalue is 0 at the working resolution 10^-(work - 5)), their
    multipliers (0 where the face did not hold them), the eigenvalues with those set to 0, and
    their names."""
    resolution = mpmath.mpf(10) ** (-(work - 5))
    zero = [i for i in range(len(P.names))
            if i in active or (snap and abs(lam[i]) <= resolution)]
    mus = {i: mus.get(i, mpmath.mpf(0)) for i in zero}
    lam = [mpmath.mpf(0) if i in zero else lam[i] for i in range(len(P.names))]
    return zero, mus, lam, [P.names[i] for i in zero]


def _report(P: Polyhedron, phi, x, active, mus, lam, decided, work, snap: bool = True) -> Optimum:
    """What the point x reports: the active set and the variances from its eigenvalues (with
    ``snap``, a direction whose eigenvalue is 0 at the working resolution is active, with
    multiplier 0 where the face did not hold it; without, ``active`` is exact, as on SSEM,
    where beta* = 1 is decided exactly), ``unique`` and the ranges from :func:`_minimisers`."""
    zero, mus, lam, names = snapped(P, active, mus, lam, work, snap)
    point = P.gram(x)
    var = eigen_variances(P, lam)
    val = phi.parts(x)[0] / phi.tau
    ranges = _ranges(P, _minimisers(P, phi, x, work))
    view = float(point["view"]) if "view" in P.coords else None
    within, gone = float(var["within"]), collapsed(names, P.p)
    each = {"size": P.k, "within_class_variance": within, "view_similarity": view,
            "class_similarity": float(point["class"]), "collapsed": gone}
    return Optimum(
        loss_value=float(val), active=tuple(sorted_names(names)),
        multipliers={P.names[i]: float(mus[i]) for i in zero},
        slacks={P.names[j]: float(lam[j]) for j in range(len(P.names)) if j not in zero},
        within_class_variance=within, between_class_variance=float(var["between"]),
        per_class=tuple(dict(each) for _ in range(P.m)),
        merged=(tuple(range(P.m)),) if "between-class" in names else (),
        similarity={(0, 0): float(point["other"])},
        sizes=None if P.k is None else ClassSizes((P.k,) * P.m),
        view=view, class_=each["class_similarity"], other=float(point["other"]),
        unique=not ranges, decided=decided, digits=work, exact_point=tuple(x), ranges=ranges)


def _null_directions(P: Polyhedron, phi, x, digits) -> list:
    """A basis (mpmath vectors) of the directions along which the objective is affine.

    The softmax form (:class:`~ssem_symbolic.forms.LogSumExp`) exactly, from its structure:
    tau phi's Hessian is sum_j L_j Cov_{q_j}(g)/tau with every q_j > 0 on its entries, so d
    is a null direction iff in every log-sum-exp all its coordinates move by one amount (the
    constant self entry by 0). Any other objective: the eigenvectors of its scaled Hessian
    at x whose eigenvalue is below 10^(-digits/2)."""
    n = len(P.coords)
    if isinstance(phi, LogSumExp):
        rows = []
        for _, entries in phi.groups:
            moves = [[sp.Integer(1 if i == j else 0) for j in range(n)] for i, _ in entries]
            rows += [[a - b for a, b in zip(u, v)] for u, v in zip(moves, moves[1:])]
        basis = sp.Matrix(rows).nullspace() if rows else [sp.eye(n)[:, j] for j in range(n)]
        return [[mp(vec[j]) for j in range(n)] for vec in basis]
    H = mpmath.matrix(phi.parts(x)[2])
    scale = max(abs(h) for h in H) or 1
    E, Q = mpmath.eigsy(H / scale)
    cut = mpmath.mpf(10) ** (-digits // 2)
    return [[Q[j, i] for j in range(n)] for i in range(n) if abs(E[i]) < cut]


def _minimisers(P: Polyhedron, phi, x, work) -> list:
    """The vertices of the set of minimisers through the optimum x: x + B y over the null
    directions B of :func:`_null_directions` with grad . d = 0, inside the polyhedron; []
    when x is the only minimiser. A vertex has as many constraints tight as the set has
    dimensions, so every such choice is solved (at most 4 choose 3)."""
    flat = int(mpmath.ceil(0.87 / mp(phi.tau)))
    basis = _null_directions(P, phi, x, work + flat)
    if not basis:
        return []
    g = phi.parts(x)[1]
    tol = mpmath.mpf(10) ** (-(work - 5))
    slopes = [mpmath.fsum(gi * di for gi, di in zip(g, d)) for d in basis]
    top = max(range(len(basis)), key=lambda i: abs(slopes[i]))
    if abs(slopes[top]) > tol * (1 + max(abs(gi) for gi in g)):  # keep grad . d = 0
        basis = [[di - slopes[i] / slopes[top] * dt for di, dt in zip(d, basis[top])]
                 for i, d in enumerate(basis) if i != top]
    if not basis:
        return []
    r = len(basis)
    A = [[mpmath.fsum(mp(a) * d[j] for j, a in enumerate(row)) for d in basis]
         for row in P.normal]  # lambda(x + B y) = lambda(x) + A y
    lam0 = _eigen(P, x)
    vertices = []
    for tight in itertools.combinations(range(len(P.names)), r):
        M = mpmath.matrix([A[i] for i in tight])
        if any(all(A[i][j] == 0 for i in tight) for j in range(r)) or abs(mpmath.det(M)) <= tol:
            # a zero column is singular (mpmath's LU fails on one rather than returning 0)
            continue
        y = mpmath.lu_solve(M, mpmath.matrix([-lam0[i] for i in tight]))
        point = [x[j] + mpmath.fsum(y[i] * basis[i][j] for i in range(r))
                 for j in range(len(x))]
        if all(ev >= -tol for ev in _eigen(P, point)):
            vertices.append(point)
    far = [v for v in vertices if max(abs(a - b) for a, b in zip(v, x)) > mpmath.sqrt(tol)]
    return vertices if far else []


def _ranges(P: Polyhedron, vertices, row=None) -> dict:
    """Per reported quantity its (lowest, highest) over the vertices of the minimiser set
    (each is affine in the point, so these are its range over the set); {} for one point.
    ``row(point)``: the quantities at a vertex (None: a batch's similarities and variances)."""
    if not vertices:
        return {}
    values: dict[str, list[float]] = {}
    for point in vertices:
        for key, val in (row or _batch_row)(P, point).items():
            values.setdefault(key, []).append(float(val))
    return {key: (min(vals), max(vals)) for key, vals in values.items()}


def _batch_row(P: Polyhedron, point) -> dict:
    """A balanced batch's reported quantities at a point of its polyhedron."""
    gram = P.gram(point)
    var = eigen_variances(P, [max(ev, 0) for ev in _eigen(P, point)])
    row = {"class_similarity": gram["class"], "other_similarity": gram["other"],
           "within_class_variance": var["within"],
           "between_class_variance": var["between"]}
    if "view" in P.coords:
        row["view_similarity"] = gram["view"]
    return row


def _near_singular(M, digits) -> bool:
    """Whether the matrix M, scaled to entries of size 1, has a determinant below
    10^(-digits/2): singular at the working precision."""
    scale = max(abs(h) for h in M) or 1
    return abs(mpmath.det(M / scale)) < mpmath.mpf(10) ** (-digits // 2)


#: the grid a scan starts from before it bisects each change of regime
SCAN_POINTS = 41
#: the tau interval a scan over tau covers
TAU_SCAN = ("0.01", "100")


def axis_grid(tau, alpha, tol: float, tau_range=TAU_SCAN, count: int = SCAN_POINTS):
    """The scan of :func:`regimes`: (axis, fixed, points, mid, done, at) for alpha in [0, 1]
    at fixed ``tau`` or tau in ``tau_range`` at fixed ``alpha``; ``at(x)`` gives (alpha, tau)
    at a point, ``mid`` and ``done`` drive the bisection (absolute in alpha, relative in
    tau)."""
    if (tau is None) == (alpha is None):
        raise ValueError("give exactly one of tau (scan over alpha) or alpha (scan over tau)")
    if tau is not None:
        points = [sp.Rational(i, count - 1) for i in range(count)]
        fixed = ({"tau": "learnable", "clamp": float(tau.clamp), "top": float(tau.top)}
                 if isinstance(tau, Learnable) else {"tau": float(exact(tau))})
        return ("alpha", fixed, points, lambda lo, hi: (lo + hi) / 2,
                lambda lo, hi: hi - lo <= tol, lambda x: (x, tau))
    lo_t, hi_t = (exact(v) for v in tau_range)
    if not (exact(TAU_RANGE[0]) <= lo_t < hi_t <= exact(TAU_RANGE[1])):
        raise ValueError(f"the tau range must lie in [{TAU_RANGE[0]:g}, {TAU_RANGE[1]:g}]")
    ratio = float(hi_t / lo_t) ** (1 / (count - 1))
    points = [lo_t] + [exact(f"{float(lo_t) * ratio ** i:.15g}")
                       for i in range(1, count - 1)] + [hi_t]
    return ("tau", {"alpha": float(exact(alpha))}, points,
            lambda lo, hi: exact(mpmath.nstr(mpmath.sqrt(mp(lo) * mp(hi)), 20)),
            lambda lo, hi: hi - lo <= tol * lo, lambda x: (alpha, x))


def flag_change(flag, tol: float, label: str) -> tuple | None:
    """Where ``flag(alpha)`` (a bool) changes on [0, 1]: (alpha, flag(0)) by bisection to
    ``tol`` between the ends, or None when the ends agree (one change is assumed between
    them). ``label`` names the progress bar."""
    bar = progress(label)
    flag = counted(bar, flag)
    lo, hi = exact(0), exact(1)
    try:
        at_lo = flag(lo)
        if at_lo == flag(hi):
            return None
        while hi - lo > tol:
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if flag(mid) == at_lo else (lo, mid)
        return float((lo + hi) / 2), at_lo
    finally:
        bar.close()


def scan(points, key, mid, done) -> list[tuple]:
    """The changes of ``key`` (a hashable regime) along sorted ``points``: (where, before,
    after) per change, each located by bisection until ``done(lo, hi)``. A third regime met
    inside an interval splits it; a regime that starts and ends inside one grid interval is
    not seen. The first entry is ``(points[0], None, key(points[0]))``."""
    bar = progress("regimes: grid, then bisection", total=len(points))
    key = counted(bar, key)
    found = [(x, key(x)) for x in points]

    def locate(lo, a_lo, hi, a_hi) -> list[tuple]:
        while not done(lo, hi):
            xm = mid(lo, hi)
            am = key(xm)
            if am == a_lo:
                lo = xm
            elif am == a_hi:
                hi = xm
            else:
                return locate(lo, a_lo, xm, am) + locate(xm, am, hi, a_hi)
        return [((lo + hi) / 2, a_lo, a_hi)]

    try:
        return [(points[0], None, found[0][1])] + [
            c for (x0, a0), (x1, a1) in zip(found, found[1:]) if a0 != a1
            for c in locate(x0, a0, x1, a1)]
    finally:
        bar.close()


@takes_convention
def balanced_regimes(convention: str | LossSpec, m_: int, k_: int, p_: int, *, tau=None,
                     alpha=None, tol: float = 1e-10, tau_range: tuple[float, float] = TAU_SCAN,
                     points: int = SCAN_POINTS) -> Regimes:
    """Every boundary along alpha in [0, 1] at fixed ``tau``, or along tau in ``tau_range`` at
    fixed ``alpha``, located to ``tol`` (absolute in alpha, relative in tau), with the active
    constraints on each side.

    The scan solves the global optimum on a grid of :data:`SCAN_POINTS` and bisects every
    interval whose ends differ; a regime narrower than the grid spacing that starts and ends
    inside one interval is not seen.

    >>> r = balanced_regimes("supcon-split", 3, 4, 2, tau="0.3")
    >>> for b in r.boundaries:
    ...     print(f"{b.at:.6f}", b.below, "->", b.above)
    0.117939 ('all-ones', 'within-class') -> ('all-ones', 'view', 'within-class')
    0.161546 ('all-ones', 'view', 'within-class') -> ('all-ones', 'view')
    """
    spec = get_spec(convention)
    check_setting(spec, m_, k_, p_, tau=tau, alpha=alpha)
    return regimes_of(lambda a, t: global_optimum(spec, m_, k_, p_, a, t), tau=tau,
                      alpha=alpha, tol=tol, tau_range=tau_range, points=points)


def tau_place(opt: Optimum) -> str | None:
    """Where a learned tau* lies: "clamp", "top" or "interior" (None: tau was fixed)."""
    t = opt.temperature
    if t is None:
        return None
    return "clamp" if t.at_clamp else "top" if t.at_top else "interior"


def regimes_of(solve, *, tau=None, alpha=None, tol: float = 1e-10, tau_range=TAU_SCAN,
               points: int = SCAN_POINTS, sizes: ClassSizes | None = None) -> Regimes:
    """The regimes of any optimum along one axis: ``solve(alpha, tau)`` returns an
    :class:`Optimum` (a balanced batch's, unequal sizes', a dataset's under a sampler). A
    regime is the active set with the merged classes; each is scanned by :func:`scan` and
    reported with the classes collapsed in it (read at a point inside it). ``sizes``: unequal
    class sizes, whose regimes list the collapsed classes and the merges."""
    axis, fixed, grid, mid, done, at = axis_grid(tau, alpha, tol, tau_range, points)
    cache: dict = {}

    def solved(x):
        if x not in cache:
            cache[x] = solve(*at(x))
        return cache[x]

    def key(x):
        opt = solved(x)
        return opt.active, opt.merged, tau_place(opt)

    changes = scan(grid, key, mid, done)
    first, changes = changes[0][2], changes[1:]
    edges = [grid[0]] + [w for w, _, _ in changes] + [grid[-1]]
    keys = [first] + [hi for _, _, hi in changes]
    spans, statuses = [], []
    for a, b, (active, merged, place) in zip(edges, edges[1:], keys):
        inside = next((x for x in grid if a <= x <= b and key(x) == (active, merged, place)),
                      None)
        opt = solved(inside if inside is not None else (a + b) / 2 if axis == "alpha"
                     else mid(a, b))
        status = [c["collapsed"] for c in opt.per_class]
        statuses.append(status)
        span = {"from": float(a), "to": float(b), "active": list(active)}
        if place is not None:  # tau learned: where tau* lies, and its value inside the span
            span |= {"tau_star": place, "tau": opt.temperature.tau}
        if opt.hierarchy is not None:  # a hierarchy: each level's collapse inside the span
            span["levels"] = dict(opt.hierarchy["collapse"])
        if opt.paired is not None:  # paired modalities: the structure inside the span
            span["structure"] = opt.paired["structure"]
        if sizes is None:
            span["collapsed"] = all(status)
        else:
            span |= {"collapsed_classes": [i for i, s in enumerate(status) if s],
                     "merged": [list(pair) for pair in merged]}
        spans.append(span)
    bounds = tuple(Boundary(axis, float(w), lo[0], hi[0],
                            *((lo[1], hi[1]) if sizes is not None else (None, None)),
                            *((lo[2], hi[2]) if lo[2] is not None else ()))
                   for w, lo, hi in changes)
    flips = tuple(tuple(float(w) for j, (w, _, _) in enumerate(changes)
                        if statuses[j][i] != statuses[j + 1][i])
                  for i in range(len(statuses[0])))
    ends = tuple((bool(s0), bool(s1)) for s0, s1 in zip(statuses[0], statuses[-1]))
    return Regimes(axis, fixed, bounds, tuple(spans), sizes, flips, ends)


@takes_convention
def certify_ssem(convention: str | LossSpec, m_: int, k_: int, p_: int, alpha_, tau_,
                 digits: int = 30) -> SSEMCertificate:
    """Decide whether SSEM at beta* is a global minimiser of the loss over unit embeddings.

    alpha and tau are read exactly (:mod:`~ssem_symbolic.vocab`). A multiplier whose sign is
    not decided at the working precision (a genuine boundary) is retried with beta* refined to
    more digits, up to 1000, and only then reported as undecided (``valid=None``).

    >>> certify_ssem("paper", 3, 4, 2, 0.5, "1e-12").valid
    True
    """
    spec = get_spec(convention)
    return _CERTIFICATES[spec.form](spec, m_, k_, p_, alpha_, tau_, digits)


def _sigmoid_certificate(spec, m_, k_, p_, alpha_, tau_, digits) -> SSEMCertificate:
    """The sigmoid form: SSEM holds the optimum iff the global optimum (the face solver's KKT
    point, signs decided at its working precision) lies on SSEM's face (views together, zero
    centroid)."""
    opt = global_optimum(spec, m_, k_, p_, alpha_, tau_, digits=digits)
    b = optimal_beta(spec, m_, k_, p_, alpha_, tau_, digits=digits)
    on = "all-ones" in opt.active and ("view" in opt.active or p_ == 1)
    valid = on if opt.decided else None
    how = ("the global optimum (face solver) lies on SSEM" if valid else
           "the global optimum (face solver) lies off SSEM" if valid is False else
           "the face solver left a sign undecided")
    return SSEMCertificate(valid=valid, beta=float(b), multipliers=dict(opt.multipliers),
                           signs={n: (1 if v > 0 else -1 if v < 0 else 0)
                                  for n, v in opt.multipliers.items()},
                           residual=0.0, digits=opt.digits, how=how)


#: per loss form, how SSEM is certified: the softmax form in closed form at beta*, the sigmoid
#: form by the face solver's point (no exact certificate)
_CERTIFICATES = {"softmax": softmax_certificate, "sigmoid": _sigmoid_certificate}
