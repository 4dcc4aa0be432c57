"""Exact training dynamics of a balanced batch in its symmetric family.

The loss is invariant under permuting views, instances of a class and classes, and under
rotations; gradient descent on the sphere with the normalising retraction, its flow and
heavy-ball momentum are equivariant. A start in the symmetric family (one Gram value per pair
type: v, c, o) therefore stays in it, and the Gram matrix follows a closed system.

The family's Gram matrices lie in the commutative algebra spanned by I and the adjacency
matrices A_V, A_C, A_O of the pair types (a Bose-Mesner algebra: A_V^2 = (p-1) I + (p-2) A_V,
A_V A_C = (p-1) A_C, ..., its intersection numbers are the pair-type counts). Its common
eigenspaces are the polyhedron's directions, with eigenvalues theta_t(e) of A_t:

    e          mult          A_V     A_C        A_O
    view       m k (p - 1)   -1      0          0
    within     m (k - 1)     p - 1   -p         0
    between    m - 1         p - 1   (k - 1) p  -k p
    ones       1             p - 1   (k - 1) p  (m - 1) k p

so G = I + v A_V + c A_C + o A_O has eigenvalues gamma_e = 1 + sum_t x_t theta_t(e).

At a symmetric point the loss's gradient in G is gbar_t = phi_t / (M n_t) on every entry of type
t (phi_t = d phi / d x_t, M n_t ordered pairs of type t), and the Riemannian gradient of the
rows is T = 2 H X with H = sum_t gbar_t A_t - (sum_t gbar_t n_t x_t) I (the tangent
projection removes the diagonal). On eigenspace e, H is the number

    h_e = sum_t gbar_t (theta_t(e) - n_t x_t).

Hence, per eigenspace:

* flow:            d gamma_e / dt = -4 h_e gamma_e;
* gradient descent, x <- normalise(x - eta grad):
                   gamma_e' = (1 - 2 eta h_e)^2 gamma_e / r,
                   r = sum_e mult_e (1 - 2 eta h_e)^2 gamma_e / M;
* heavy ball, m <- beta m + grad, x <- normalise(x - eta m): the buffer is B X with B in the
  algebra (eigenvalues b_e): b'_e = beta b_e + 2 h_e, N_e = (1 - eta b'_e) / sqrt(r),
  gamma_e' = N_e^2 gamma_e, b_e <- b'_e / N_e.

The coordinates follow from (gamma_view, gamma_within, gamma_between) by the triangular map
above. Complete collapse (gamma = (0, 0, 0, M)) is a fixed point of all three; linearised
there, gamma_e grows at the rate -4 h_e in the flow (so its Jacobian's eigenvalues are
-4 h_e(1, 1, 1), e in view, within, between), and a start at distance eps leaves it after
t ~ log(1/eps) / max_e(-4 h_e).

>>> d = Dynamics("supcon", 3, 4, 2, "3/10", "1/2")
>>> d.collapse_rates_exact()  # view, within, between: > 0 leaves collapse
[-41/345, 28/345, 8/23]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..forms import form_of
from ..forms import reduced_loss
from ..setting import ClassSizes, family
from ..spec import LossSpec, check_setting, get_spec, pair_counts
from ..spec import alpha as alpha_symbol, tau as tau_symbol
from ..vocab import check_tau, exact

#: the eigenspaces, in the order of every eigenvalue vector here
SPACES = ("view", "within", "between", "ones")
#: the pair types that carry a coordinate
TYPES = ("view", "class", "other")


@dataclass(frozen=True)
class Trajectory:
    """A reduced trajectory: ``x`` (steps + 1, 3) the (v, c, o) after each step (v = 1
    where p = 1), ``loss`` the loss at each, ``rule`` and its parameters, and ``time``
    (the flow's time at each point, or the step number)."""

    x: np.ndarray
    loss: np.ndarray
    time: np.ndarray
    rule: str
    lr: float | None = None
    momentum: float | None = None
    #: the flow's integration error: the largest difference from the same integration with
    #: half the step, over the trajectory (Runge-Kutta 4: the half-step run is 16 times
    #: closer); None for the exact maps
    error: float | None = None


class Dynamics:
    """The reduced dynamics of (spec, m x k x p balanced batch) at (alpha, tau); see the module
    docstring. ``dataset=(C, n)``: the embeddings are a dataset's, C classes x n instances,
    and the loss the expected loss of the class-balanced sampler of m x k batches; every batch
    sees the same Gram values, so its gradient in the dataset's Gram matrix is phi_t / (the
    dataset's ordered pairs of type t) on every entry of type t, and the maps are those of
    the expected gradient (the flow is the small-step limit of SGD with that sampler)."""

    def __init__(self, spec: LossSpec | str, m_: int, k_: int, p_: int, alpha_, tau_, *,
                 dataset: tuple[int, int] | None = None) -> None:
        self.spec = get_spec(spec)
        check_setting(self.spec, m_, k_, p_, alpha=alpha_, tau=tau_)
        # the loss is the m x k x p batch's; the embeddings, and so the algebra, are the
        # dataset's (C classes x n instances) when one is given: the expected-gradient
        # dynamics under the class-balanced sampler of m classes x k instances
        self.batch = (m_, k_, p_)
        if dataset is not None:
            C, n = dataset
            if not (isinstance(C, int) and isinstance(n, int) and C >= m_ and n >= k_):
                raise ValueError(f"the dataset needs C >= m and n >= k instances (integers), "
                                 f"got {dataset} for a {m_} x {k_} batch")
            m_, k_ = C, n
        self.alpha, self.tau = exact(alpha_), check_tau(tau_)
        sizes = ClassSizes((self.batch[1],) * self.batch[0])
        fam = family(self.spec, sizes, p_)
        weights = form_of(self.spec).family_weights(self.spec, sizes, p_, self.alpha)
        self._obj = form_of(self.spec).objective(self.spec, fam.coords, weights,
                                                 float(self.tau), np)
        self._index = [fam.coords.index(c) if c in fam.coords else None
                       for c in ("v[0]", "s[0]", "o[0,0]")]
        # the reduced loss's gradient, derived symbolically and compiled to float arithmetic
        # (a step costs microseconds: no objective assembly per call)
        phi = reduced_loss(self.spec, sizes, p_).subs({alpha_symbol: self.alpha,
                                                       tau_symbol: self.tau})
        syms = [sp.Symbol(c, real=True) for c in ("v[0]", "s[0]", "o[0,0]")]
        args = [sp.Dummy(f"x{i}") for i in range(3)]
        phi = phi.subs(dict(zip(syms, args)))
        self._grad = sp.lambdify(args, [sp.diff(phi, a) for a in args], "math")
        self._phi = sp.lambdify(args, phi, "math")
        self._symbolic = (phi, args)
        self._algebra(m_, k_, p_)

    @classmethod
    def under(cls, spec: LossSpec | str, data, alpha_, tau_) -> "Dynamics":
        """The expected-gradient dynamics of a dataset (:class:`~ssem_symbolic.setting.Dataset`)
        under its sampler. ``balanced``: as ``dataset=(C, n)``. ``uniform`` and
        ``all-subsets``: the expected batch loss is a mixture over the anchor's class count,
        a function of the dataset's (v, c, o) (:func:`~ssem_symbolic.optimum.dataset_objective`);
        invariant under the dataset's symmetries, its gradient at a symmetric point is
        phi_t / (the dataset's ordered pairs of type t) on every entry of type t, so the maps
        are the same with that phi. A fixed partition is not symmetric: refused."""
        smp = data.sampler
        if smp.kind == "balanced":
            if data.instances is None:
                raise ValueError("the dynamics need a finite dataset (C x n instances)")
            return cls(spec, smp.m, smp.k, data.views, alpha_, tau_,
                       dataset=(data.classes, data.instances))
        if not smp.composition_varies:
            raise ValueError(f"the {smp.kind} sampler does not treat the dataset's instances "
                             "alike: its expected loss leaves the symmetric family, and its "
                             "dynamics are not reduced")
        if data.instances is None:
            raise ValueError("the dynamics need a finite dataset (C x n instances)")
        from ..optimum import dataset_objective

        self = cls.__new__(cls)
        self.spec = get_spec(spec)
        coords, self._obj = dataset_objective(self.spec, data, alpha_, tau_)
        self.batch = (smp.kind, smp.batch)
        self._algebra(data.classes, data.instances, data.views)
        self.alpha, self.tau = exact(alpha_), check_tau(tau_)
        self._index = [coords.index(c) if c in coords else None
                       for c in ("view", "class", "other")]
        self._grad = self._phi = self._symbolic = None  # the mixture: no closed form here
        return self

    def _algebra(self, m_: int, k_: int, p_: int) -> None:
        """The pair types' algebra of the embeddings' m_ x k_ x p_ family."""
        self.m, self.k, self.p = m_, k_, p_
        counts = {t: int(c) for t, c in pair_counts(m_, k_, p_).items()}
        self.n = np.array([counts[t] for t in TYPES], dtype=float)
        self.M = m_ * k_ * p_
        p, k = p_, k_
        self.theta = np.array([[-1, 0, 0], [p - 1, -p, 0], [p - 1, (k - 1) * p, -k * p],
                               [p - 1, (k - 1) * p, (m_ - 1) * k * p]], dtype=float)
        self.mult = np.array([m_ * k_ * (p_ - 1), m_ * (k_ - 1), m_ - 1, 1], dtype=float)
        self._t = [tuple(float(v) for v in row) for row in self.theta]  # plain floats
        self._m = [float(v) for v in self.mult]
        self._n = tuple(float(v) for v in self.n)

    # --- the pieces ------------------------------------------------------------------------

    def _coords(self, x) -> list[float]:
        return [float(x[i]) for i, j in enumerate(self._index) if j is not None]

    def loss(self, x) -> float:
        """phi at (v, c, o)."""
        try:
            if self._phi is None:
                raise ValueError("no closed form")
            return float(self._phi(float(x[0]), float(x[1]), float(x[2])))
        except (OverflowError, ValueError):  # plain floats overflowed: the stable objective
            return float(self._obj.parts(self._coords(x), hessian=False)[0]) / self._obj.tau

    def gradient(self, x) -> np.ndarray:
        """(phi_v, phi_c, phi_o) at (v, c, o) (0 for a coordinate the batch lacks), from the
        symbolic derivative of the reduced loss."""
        try:
            if self._grad is None:
                raise OverflowError("no closed form")
            return np.array(self._grad(float(x[0]), float(x[1]), float(x[2])), dtype=float)
        except OverflowError:  # exp overflowed in plain floats: the log-sum-exp objective
            _, g, _ = self._obj.parts(self._coords(x), hessian=False)
            out = np.zeros(3)
            it = iter(np.asarray(g, dtype=float) / self._obj.tau)
            for i, j in enumerate(self._index):
                if j is not None:
                    out[i] = next(it)
            return out

    def variances(self, x) -> dict:
        """Within-class, between-class and total variance at (v, c, o)."""
        from ..setting import variances

        return {k: float(v) for k, v in variances(*map(float, x), self.m, self.k,
                                                   self.p).items()}

    def gamma(self, x) -> np.ndarray:
        """The Gram matrix's eigenvalues on (view, within, between, ones)."""
        return 1.0 + self.theta @ np.asarray(x, dtype=float)

    def coords(self, gamma) -> np.ndarray:
        """(v, c, o) from the eigenvalues (the triangular inverse of :meth:`gamma`)."""
        p, k = self.p, self.k
        v = 1.0 - gamma[0] if p > 1 else 1.0
        c = (1.0 + (p - 1) * v - gamma[1]) / p
        o = (1.0 + (p - 1) * v + (k - 1) * p * c - gamma[2]) / (k * p)
        return np.array([v, c, o])

    def h(self, x) -> np.ndarray:
        """h_e on each eigenspace: the Riemannian gradient is 2 H X."""
        x = np.asarray(x, dtype=float)
        gbar = self.gradient(x) / (self.M * np.where(self.n > 0, self.n, 1.0))
        return self.theta @ gbar - float(gbar @ (self.n * x))

    # --- the updates -----------------------------------------------------------------------

    def flow_rhs(self, x) -> np.ndarray:
        """d(v, c, o)/dt of the gradient flow on the product of spheres."""
        x = np.asarray(x, dtype=float)
        dg = -4.0 * self.h(x) * self.gamma(x)
        p, k = self.p, self.k
        dv = -dg[0] if p > 1 else 0.0
        dc = ((p - 1) * dv - dg[1]) / p
        do = ((p - 1) * dv + (k - 1) * p * dc - dg[2]) / (k * p)
        return np.array([dv, dc, do])

    def gd_step(self, x, lr: float) -> np.ndarray:
        """One step x <- normalise(x - lr grad) of every embedding, exactly."""
        return np.array(self._gd_step(float(x[0]), float(x[1]), float(x[2]), float(lr)))

    def _gd_step(self, v: float, c: float, o: float, lr: float) -> tuple:
        """:meth:`gd_step` in plain floats (a trajectory's inner loop: microseconds)."""
        try:
            if self._grad is None:
                raise OverflowError("no closed form")
            gv, gc, go = self._grad(v, c, o)
        except OverflowError:
            gv, gc, go = self.gradient((v, c, o))
        nv, nc, no = self._n
        M = self.M
        gv, gc, go = (gv / (M * nv) if nv else 0.0), gc / (M * nc), go / (M * no)
        shift = gv * nv * v + gc * nc * c + go * no * o
        p, k = self.p, self.k
        t = self._t
        out = []
        total = 0.0
        for e in range(4):
            h = t[e][0] * gv + t[e][1] * gc + t[e][2] * go - shift
            gam = 1.0 + t[e][0] * v + t[e][1] * c + t[e][2] * o
            val = (1.0 - 2.0 * lr * h) ** 2 * gam
            out.append(val)
            total += self._m[e] * val
        r = total / M
        g0, g1, g2 = out[0] / r, out[1] / r, out[2] / r
        v2 = 1.0 - g0 if p > 1 else 1.0
        c2 = (1.0 + (p - 1) * v2 - g1) / p
        o2 = (1.0 + (p - 1) * v2 + (k - 1) * p * c2 - g2) / (k * p)
        return v2, c2, o2

    def momentum_step(self, x, b, lr: float, beta: float):
        """One heavy-ball step: (x, b) -> (x', b'), b the buffer operator's eigenvalues."""
        g = self.gamma(x)
        bp = beta * b + 2.0 * self.h(x)
        f = (1.0 - lr * bp) ** 2
        r = float(self.mult @ (f * g)) / self.M
        N = (1.0 - lr * bp) / math.sqrt(r)
        with np.errstate(divide="ignore", invalid="ignore"):
            b_new = np.where(N != 0, bp / N, bp)
        return self.coords(f * g / r), b_new

    # --- fixed points ------------------------------------------------------------------------

    def collapse_rates_exact(self) -> list:
        """:meth:`collapse_rates` exactly: -4 h_e at v = c = o = 1 from the reduced loss's
        symbolic gradient there (sympy; None for the view direction where p = 1).

        >>> Dynamics("supcon", 3, 4, 2, "3/10", "1/2").collapse_rates_exact()
        [-41/345, 28/345, 8/23]
        """
        if self._symbolic is None:
            raise ValueError("exact collapse rates need the reduced loss in closed form (a "
                             "batch, or the class-balanced sampler); use collapse_rates")
        phi, args = self._symbolic
        at = {a: 1 for a in args}
        grad = [sp.nsimplify(sp.simplify(sp.diff(phi, a).subs(at))) for a in args]
        M = sp.Integer(self.M)
        n = [sp.Integer(int(v)) for v in self.n]
        gbar = [g / (M * c) if c else sp.Integer(0) for g, c in zip(grad, n)]
        shift = sum(g * c for g, c in zip(gbar, n))
        out = []
        for e in range(3):
            h = sum(sp.Integer(int(t)) * g for t, g in zip(self.theta[e], gbar)) - shift
            out.append(None if e == 0 and self.p == 1 else sp.simplify(-4 * h))
        return out

    def collapse_rates(self) -> list[float]:
        """The flow's Jacobian eigenvalues at complete collapse, on (view, within, between):
        -4 h_e(1, 1, 1). A positive one is an escape rate (the direction grows)."""
        h = self.h(np.ones(3))
        rates = -4.0 * h[:3]
        return [float(r) if (i or self.p > 1) else 0.0 for i, r in enumerate(rates)]

    # --- linearisation ---------------------------------------------------------------------

    def _present(self) -> list[int]:
        """The coordinates the batch has (v is absent where p = 1)."""
        return [i for i, j in enumerate(self._index) if j is not None]

    def flow_jacobian(self, x) -> np.ndarray:
        """d(flow_rhs)/d(v, c, o) at x, from the loss's Hessian (exact in float64), on the
        coordinates the batch has."""
        x = np.asarray(x, dtype=float)
        _, _, hess = self._obj.parts(self._coords(x), hessian=True)
        idx = self._present()
        H = np.zeros((3, 3))
        H[np.ix_(idx, idx)] = np.asarray(hess, dtype=float) / self._obj.tau
        scale = self.M * np.where(self.n > 0, self.n, 1.0)
        gbar = self.gradient(x) / scale
        dgbar = H / scale[:, None]  # d gbar_t / d x_s
        dh = self.theta @ dgbar - ((self.n * x) @ dgbar + self.n * gbar)[None, :]
        g, h = self.gamma(x), self.h(x)
        dgam = -4.0 * (g[:, None] * dh + h[:, None] * self.theta)  # d(dgamma_e/dt)/dx
        p, k = self.p, self.k
        L = np.zeros((3, 3))  # dx = L dgamma[:3], the triangular inverse's linear part
        if p > 1:
            L[0] = [-1, 0, 0]
        L[1] = ((p - 1) * L[0] - np.array([0, 1, 0])) / p
        L[2] = ((p - 1) * L[0] + (k - 1) * p * L[1] - np.array([0, 0, 1])) / (k * p)
        J = L @ dgam[:3]
        return J[np.ix_(idx, idx)]

    def gd_jacobian(self, x, lr: float, h: float = 1e-6) -> np.ndarray:
        """d(gd_step)/d(v, c, o) at x by central differences of the exact map (step ``h``)."""
        idx = self._present()
        x = np.asarray(x, dtype=float)
        J = np.zeros((len(idx), len(idx)))
        for a, i in enumerate(idx):
            e = np.zeros(3)
            e[i] = h
            J[:, a] = ((self.gd_step(x + e, lr) - self.gd_step(x - e, lr)) / (2 * h))[idx]
        return J

    def relaxation_rate(self, x) -> float:
        """The flow's slowest decay rate at a fixed point x: minus the largest real part of the
        Jacobian's eigenvalues (within the symmetric family)."""
        return float(-max(np.linalg.eigvals(self.flow_jacobian(x)).real))

    # --- trajectories ------------------------------------------------------------------------

    def run(self, start, *, rule: str = "flow", steps: int = 1000, lr: float | None = None,
            momentum: float | None = None, horizon: float | None = None,
            dt: float | None = None) -> Trajectory:
        """A trajectory from ``start`` (v, c, o). ``flow``: classical Runge-Kutta 4 over
        ``horizon`` (time) in steps of ``dt`` (by default 0.05 / the fastest rate at the start,
        at most 1/100 of the horizon); ``gd``: ``steps`` exact steps of size ``lr``;
        ``momentum``: heavy ball with ``lr`` and ``momentum`` (beta)."""
        x = np.asarray(start, dtype=float).copy()
        xs, times = [x.copy()], [0.0]
        if rule == "flow":
            if horizon is None or not horizon > 0:
                raise ValueError("the flow needs a horizon > 0")
            if dt is None:
                fastest = max(float(np.abs(self.flow_jacobian(x)).sum(1).max()), 1e-12)
                dt = min(0.05 / fastest, horizon / 100)
            n = max(1, int(math.ceil(horizon / dt)))
            dt = horizon / n

            def rk4(y, h):
                k1 = self.flow_rhs(y)
                k2 = self.flow_rhs(y + h / 2 * k1)
                k3 = self.flow_rhs(y + h / 2 * k2)
                k4 = self.flow_rhs(y + h * k3)
                return y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            half, error = x.copy(), 0.0
            for i in range(n):
                x = rk4(x, dt)
                half = rk4(rk4(half, dt / 2), dt / 2)
                error = max(error, float(np.abs(x - half).max()))
                xs.append(x.copy())
                times.append((i + 1) * dt)
        elif rule == "gd":
            state = tuple(float(v) for v in x)
            lr = float(lr)
            for i in range(steps):
                state = self._gd_step(*state, lr)
                xs.append(state)
            times += [float(i + 1) for i in range(steps)]
        elif rule == "momentum":
            b = np.zeros(4)
            for i in range(steps):
                x, b = self.momentum_step(x, b, lr, momentum)
                xs.append(x.copy())
                times.append(float(i + 1))
        else:
            raise ValueError(f"unknown update rule {rule!r}; use flow, gd or momentum")
        X = np.array(xs, dtype=float)
        if not np.isfinite(X).all():
            raise ValueError("the trajectory left the sphere's Gram set (NaN): the step is "
                             "beyond the stable range")
        loss = np.array([self.loss(x) for x in xs])
        return Trajectory(X, loss, np.array(times), rule, lr, momentum,
                          error if rule == "flow" else None)
