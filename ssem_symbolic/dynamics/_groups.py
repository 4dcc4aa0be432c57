"""Exact dynamics of a batch of unequal class sizes, per size group.

The symmetric family of class sizes (groups g of n_g classes of K_g instances, p views) is the
set of unit-diagonal PSD matrices in the algebra of matrices that commute with the batch's
symmetries (permuting views, instances of a class, classes of one size). That algebra is
closed under products and is not commutative when sizes differ, but it splits into blocks:

* on each group's *local* eigenspaces (view[g], within[g], between[g]: vectors supported on
  group g that sum to 0 over each instance, class, or the group), an element acts as a number;
* on the G-dimensional span of the group indicators u_g = 1_g / sqrt(N_g) (N_g = n_g K_g p
  embeddings), it acts as a G x G matrix: the coefficient of the pairs of groups g != h times
  sqrt(N_g N_h) off the diagonal.

So an element is 3 G numbers and a G x G matrix, and products are products of those. The
gradient of the loss at a symmetric point is constant on each orbit of pairs (view[g],
class[g], other[g,h]): gbar = phi_x / (its ordered pairs), and the rows' Riemannian gradient is
2 H X with H = sum gbar A - Lambda, Lambda = lambda_g on group g (the tangent projection).
Gradient descent: Y = (I - 2 lr H) G (I - 2 lr H), then each row renormalised by the diagonal
of its group, r_g = (sum_e mult_e y_ge + Y_gg) / N_g. The flow: dG/dt = -2 (H G + G H).

On equal sizes (one group) this is :class:`~ssem_symbolic.dynamics.Dynamics`, the 1 x 1 block
being the all-ones eigenvalue.
"""

from __future__ import annotations

import math

import numpy as np

from ..forms import form_of
from ..setting import ClassSizes, check_sizes, family
from ..spec import LossSpec, get_spec
from ..vocab import check_tau, exact
from ._reduced import Trajectory


class GroupDynamics:
    """The reduced dynamics of (spec, class sizes, p) at (alpha, tau), on the family's
    coordinates (:attr:`coords`, as :func:`~ssem_symbolic.setting.family` names them)."""

    def __init__(self, spec: LossSpec | str, sizes, p_: int, alpha_, tau_) -> None:
        self.spec = get_spec(spec)
        sizes = sizes if isinstance(sizes, ClassSizes) else ClassSizes(tuple(sizes))
        check_sizes(self.spec, sizes, p_, alpha_)
        self.sizes, self.p = sizes, p_
        self.alpha, self.tau = exact(alpha_), check_tau(tau_)
        self.fam = fam = family(self.spec, sizes, p_)
        weights = form_of(self.spec).family_weights(self.spec, sizes, p_, self.alpha)
        self._obj = form_of(self.spec).objective(self.spec, fam.coords, weights,
                                                 float(self.tau), np)
        self.coords = fam.coords
        self.groups = sizes.groups  # ((K_g, n_g), ...)
        G = len(self.groups)
        self.N = np.array([n * K * p_ for K, n in self.groups], dtype=float)
        self.M = float(self.N.sum())
        self.index = {c: i for i, c in enumerate(fam.coords)}
        # ordered pairs of each coordinate's orbit
        pairs = np.zeros(len(fam.coords))
        for c, i in self.index.items():
            kind, where = c[0], c[2:-1]
            if kind == "v":
                K, n = self.groups[int(where)]
                pairs[i] = n * K * p_ * (p_ - 1)
            elif kind == "s":
                K, n = self.groups[int(where)]
                pairs[i] = n * K * p_ * (K - 1) * p_
            else:
                g, h = (int(x) for x in where.split(","))
                (Kg, ng), (Kh, nh) = self.groups[g], self.groups[h]
                pairs[i] = ng * Kg * p_ * (ng - 1) * Kg * p_ if g == h else \
                    2 * ng * Kg * p_ * nh * Kh * p_
        self.pairs = pairs
        # multiplicities of the local eigenspaces (view, within, between) per group
        self.mult = np.array([[n * K * (p_ - 1), n * (K - 1), n - 1] for K, n in self.groups],
                             dtype=float)
        self.G = G

    # --- the representation ----------------------------------------------------------------

    def _val(self, x, name, default=1.0):
        i = self.index.get(name)
        return default if i is None else x[i]

    def represent(self, x, diag=None):
        """(local (G, 3), block (G, G)) of the element with coefficient x[coordinate] on each
        orbit and ``diag[g]`` on group g's diagonal (1 by default: a Gram matrix)."""
        p = self.p
        local = np.zeros((self.G, 3))
        block = np.zeros((self.G, self.G))
        for g, (K, n) in enumerate(self.groups):
            d = 1.0 if diag is None else diag[g]
            v = self._val(x, f"v[{g}]", 0.0 if diag is not None else 1.0)
            s = self._val(x, f"s[{g}]", 0.0)
            o = self._val(x, f"o[{g},{g}]", 0.0)
            local[g] = [d - v, d + (p - 1) * v - p * s, d + (p - 1) * v + (K - 1) * p * s
                        - K * p * o]
            block[g, g] = d + (p - 1) * v + (K - 1) * p * s + (n - 1) * K * p * o
            for h in range(self.G):
                if h != g:
                    block[g, h] = self._val(x, f"o[{min(g, h)},{max(g, h)}]", 0.0) * \
                        math.sqrt(self.N[g] * self.N[h])
        return local, block

    def coordinates(self, local, block) -> np.ndarray:
        """The coordinates of a unit-diagonal element from its representation."""
        p = self.p
        x = np.zeros(len(self.coords))
        for g, (K, n) in enumerate(self.groups):
            v = 1.0 - local[g, 0] if p > 1 else 1.0
            s = (1.0 + (p - 1) * v - local[g, 1]) / p if K > 1 else 1.0
            if f"v[{g}]" in self.index:
                x[self.index[f"v[{g}]"]] = v
            if f"s[{g}]" in self.index:
                x[self.index[f"s[{g}]"]] = s
            if f"o[{g},{g}]" in self.index:
                x[self.index[f"o[{g},{g}]"]] = (1.0 + (p - 1) * v + (K - 1) * p * s
                                                - local[g, 2]) / (K * p)
            for h in range(g + 1, self.G):
                x[self.index[f"o[{g},{h}]"]] = block[g, h] / math.sqrt(self.N[g] * self.N[h])
        return x

    def variances(self, x) -> dict:
        """Within-class (mean over classes of 1 - ||class mean||^2, and per group), between
        and total variance at the point x: a class of group g has ||mean||^2 =
        (1 + (p - 1) v_g + (K_g - 1) p s_g) / (K_g p), and ||overall mean||^2 =
        sum_gh sqrt(N_g N_h) B_gh / M^2 from the G x G block."""
        p = self.p
        per_group = []
        for g, (K, n) in enumerate(self.groups):
            v = self._val(x, f"v[{g}]", 1.0)
            s = self._val(x, f"s[{g}]", 1.0)
            per_group.append(1.0 - (1.0 + (p - 1) * v + (K - 1) * p * s) / (K * p))
        _, block = self.represent(x)
        root = np.sqrt(self.N)
        total = 1.0 - float(root @ block @ root) / self.M ** 2
        counts = np.array([n for _, n in self.groups], dtype=float)
        within = float(np.dot(counts, per_group) / counts.sum())
        return {"within": within, "between": total - within, "total": total,
                "per_group": per_group}

    def loss(self, x) -> float:
        return float(self._obj.parts(list(map(float, x)), hessian=False)[0]) / self._obj.tau

    def _H(self, x):
        """The representation of H (the Riemannian gradient is 2 H X)."""
        _, grad, _ = self._obj.parts(list(map(float, x)), hessian=False)
        gbar = np.asarray(grad, dtype=float) / self._obj.tau / np.where(self.pairs > 0,
                                                                        self.pairs, 1.0)
        p = self.p
        lam = np.zeros(self.G)
        for g, (K, n) in enumerate(self.groups):
            total = 0.0
            for name, count in ((f"v[{g}]", p - 1), (f"s[{g}]", (K - 1) * p),
                                (f"o[{g},{g}]", (n - 1) * K * p)):
                if name in self.index:
                    i = self.index[name]
                    total += count * gbar[i] * x[i]
            for h, (Kh, nh) in enumerate(self.groups):
                if h != g:
                    i = self.index[f"o[{min(g, h)},{max(g, h)}]"]
                    total += nh * Kh * p * gbar[i] * x[i]
            lam[g] = total
        return self.represent(gbar, diag=-lam)

    # --- the updates -----------------------------------------------------------------------

    def _normalise(self, local, block):
        r = ((self.mult * local).sum(1) + np.diag(block)) / self.N
        return local / r[:, None], block / np.sqrt(np.outer(r, r)), r

    def gd_step(self, x, lr: float) -> np.ndarray:
        """One step x <- normalise(x - lr grad) of every embedding, exactly."""
        gl, gb = self.represent(x)
        hl, hb = self._H(x)
        nl, nb = 1.0 - 2.0 * lr * hl, np.eye(self.G) - 2.0 * lr * hb
        local, block, _ = self._normalise(nl * gl * nl, nb @ gb @ nb)
        return self.coordinates(local, block)

    def flow_rhs(self, x) -> np.ndarray:
        """d(coordinates)/dt of the gradient flow (linear in the representation)."""
        gl, gb = self.represent(x)
        hl, hb = self._H(x)
        dl, db = -4.0 * hl * gl, -2.0 * (hb @ gb + gb @ hb)
        # the coordinates are affine in the representation: apply their linear part
        return self.coordinates(dl, db) - self.coordinates(0 * gl, 0 * gb)

    def momentum_step(self, x, b, lr: float, beta: float):
        """One heavy-ball step: (x, b) -> (x', b'), b the buffer operator's representation
        (local, block): m = B X, m <- beta m + grad, x <- normalise(x - lr m)."""
        gl, gb = self.represent(x)
        hl, hb = self._H(x)
        bl, bb = beta * b[0] + 2.0 * hl, beta * b[1] + 2.0 * hb
        nl, nb = 1.0 - lr * bl, np.eye(self.G) - lr * bb
        # the buffer's operator is not symmetric once sizes differ: Y Y^T = N G N^T
        local, block, r = self._normalise(nl * gl * nl, nb @ gb @ nb.T)
        # X' = D^-1/2 N X, so the buffer B' X = B' N^-1 D^1/2 X'
        scale = np.sqrt(r)
        with np.errstate(divide="ignore", invalid="ignore"):
            new_local = np.where(nl != 0, bl / nl, bl) * scale[:, None]
        new_block = bb @ np.linalg.inv(nb) @ np.diag(scale)
        return self.coordinates(local, block), (new_local, new_block)

    def run(self, start, *, rule: str = "gd", steps: int = 1000, lr: float | None = None,
            momentum: float | None = None, horizon: float | None = None,
            dt: float | None = None) -> Trajectory:
        """A trajectory from ``start`` (coordinates): ``gd`` (``steps`` of size ``lr``),
        ``momentum`` (and ``momentum`` = beta) or ``flow`` (Runge-Kutta 4 over ``horizon`` in
        steps ``dt``, by default horizon / 2000)."""
        x = np.asarray(start, dtype=float)
        xs, times = [x], [0.0]
        if rule == "gd":
            for i in range(steps):
                x = self.gd_step(x, lr)
                xs.append(x)
                times.append(i + 1.0)
        elif rule == "momentum":
            b = (np.zeros((self.G, 3)), np.zeros((self.G, self.G)))
            for i in range(steps):
                x, b = self.momentum_step(x, b, lr, momentum)
                xs.append(x)
                times.append(i + 1.0)
        elif rule == "flow":
            if horizon is None or not horizon > 0:
                raise ValueError("the flow needs a horizon > 0")
            n = max(1, int(math.ceil(horizon / (dt or horizon / 2000))))
            dt = horizon / n
            for i in range(n):
                k1 = self.flow_rhs(x)
                k2 = self.flow_rhs(x + dt / 2 * k1)
                k3 = self.flow_rhs(x + dt / 2 * k2)
                k4 = self.flow_rhs(x + dt * k3)
                x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
                xs.append(x)
                times.append((i + 1) * dt)
        else:
            raise ValueError(f"unknown update rule {rule!r}; use flow, gd or momentum")
        X = np.array(xs)
        if not np.isfinite(X).all():
            raise ValueError("the trajectory left the sphere's Gram set (NaN): the step is "
                             "beyond the stable range")
        return Trajectory(X, np.array([self.loss(v) for v in X]), np.array(times), rule, lr,
                          momentum)

    def gd_jacobian(self, x, lr: float, h: float = 1e-6) -> np.ndarray:
        """d(gd_step)/dx at x by central differences of the exact map."""
        x = np.asarray(x, dtype=float)
        cols = []
        for i in range(len(x)):
            e = np.zeros(len(x))
            e[i] = h
            cols.append((self.gd_step(x + e, lr) - self.gd_step(x - e, lr)) / (2 * h))
        return np.column_stack(cols)

    def flow_jacobian(self, x, h: float = 1e-6) -> np.ndarray:
        """d(flow_rhs)/dx at x by central differences."""
        x = np.asarray(x, dtype=float)
        cols = []
        for i in range(len(x)):
            e = np.zeros(len(x))
            e[i] = h
            cols.append((self.flow_rhs(x + e) - self.flow_rhs(x - e)) / (2 * h))
        return np.column_stack(cols)

    def point(self, opt) -> np.ndarray:
        """The coordinates of an :class:`~ssem_symbolic.optimum.Optimum`: per size group
        (unequal sizes), or per pair type (one size group)."""
        x = np.zeros(len(self.coords))
        if not opt.symmetric:
            by_size = {c["size"]: c for c in opt.per_class}
            for g, (K, _) in enumerate(self.groups):
                c = by_size[K]
                for name, key in ((f"v[{g}]", "view_similarity"),
                                  (f"s[{g}]", "class_similarity")):
                    if name in self.index:
                        x[self.index[name]] = c[key]
            for (g, h), value in opt.similarity.items():
                x[self.index[f"o[{g},{h}]"]] = value
            return x
        for name, value in (("v[0]", opt.view), ("s[0]", opt.class_), ("o[0,0]", opt.other)):
            if name in self.index:
                x[self.index[name]] = value
        return x
