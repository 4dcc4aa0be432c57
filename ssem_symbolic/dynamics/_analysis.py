"""What a reduced trajectory says: plateaus, the time to the optimum, the relaxation and escape
rates, the stable step sizes, and the trajectory summary the CLI prints.

Definitions (every number below is measured on the exact reduced trajectory, or derived from
the exact Jacobians):

* the **plateau** at complete collapse lasts until the Gram matrix's largest eigenvalue off
  the all-ones direction reaches :data:`EXIT` (0.1; every one of them is 0 at collapse, the
  all-ones one M). From a start at distance eps (every such eigenvalue equal to eps) the
  linearised flow predicts log(EXIT / eps) / lambda, lambda the largest escape rate; a step of
  gradient descent multiplies eigenvalue e by rho_e = ((1 - 2 lr h_e) / (1 - 2 lr h_ones))^2,
  so log(EXIT / eps) / log(rho). The prediction neglects the nonlinear terms, which are of
  relative size EXIT. ``loss_plateau`` is the stretch until the loss has moved by 1 % of its
  total change along the trajectory (what a loss curve shows);
* the **time to the optimum** is the first time after which every coordinate stays within
  ``tol`` of the global optimum's;
* the **relaxation rate** is minus the largest real part of the flow's Jacobian at the optimum
  (per unit time), or minus the log of the spectral radius of the map's Jacobian (per step);
  both are rates within the symmetric family.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._reduced import SPACES, Dynamics, Trajectory

#: the Gram eigenvalue (off the all-ones direction) at which a start near collapse has left it
EXIT = 0.1


def _read_start(text: str, n: int, names: str) -> tuple[np.ndarray, float | None]:
    """``collapsed:EPS`` (every coordinate 1 - EPS), ``uniform`` (all 0) or ``n`` values;
    the point and EPS (None for the other two)."""
    text = text.strip()
    if text.startswith("collapsed:"):
        try:
            eps = float(text.split(":", 1)[1])
        except ValueError:
            raise ValueError(f"start {text!r}: collapsed:EPS takes a number") from None
        if not 0 < eps < 1:
            raise ValueError(f"start {text!r}: EPS must lie in (0, 1)")
        return np.full(n, 1.0 - eps), eps
    if text == "uniform":
        return np.zeros(n), None
    try:
        x = np.array([float(t) for t in text.split(",")])
    except ValueError:
        raise ValueError(f"start {text!r}: give collapsed:EPS, uniform or {names}") from None
    if x.shape != (n,) or not np.isfinite(x).all():
        count = {3: "three"}.get(n, str(n))
        raise ValueError(f"start {text!r}: {names} are {count} finite numbers")
    return x, None


def parse_start(text: str, dyn: Dynamics) -> np.ndarray:
    """``collapsed:EPS`` (every Gram eigenvalue but the all-ones one equal to EPS),
    ``uniform`` (the d -> oo limit of random embeddings: the identity Gram matrix) or
    ``v,c,o``; ValueError in one line unless the start is a Gram matrix of unit vectors."""
    x, _ = _read_start(text, 3, "v,c,o")
    if dyn.p == 1:
        x[0] = 1.0
    g = dyn.gamma(x)
    if (g < -1e-12).any():
        bad = SPACES[int(np.argmin(g))]
        raise ValueError(f"start {text!r} is not a Gram matrix of unit vectors: its {bad} "
                         f"eigenvalue is {g.min():.3g} < 0")
    return x


def escape_rates_per_step(dyn: Dynamics, lr: float) -> list[float]:
    """log rho_e per step of gradient descent at complete collapse, on (view, within,
    between)."""
    h = dyn.h(np.ones(3))
    base = (1 - 2 * lr * h[3]) ** 2
    return [math.log((1 - 2 * lr * h[e]) ** 2 / base) if (1 - 2 * lr * h[e]) != 0 else -math.inf
            for e in range(3)]


def stable_lr(dyn: Dynamics, x_star, hi: float = 1e4) -> float:
    """The largest step size for which gradient descent's map is a contraction at the
    optimum (spectral radius of its Jacobian < 1), by bisection on the exact map."""
    def radius(lr):
        return float(max(abs(np.linalg.eigvals(dyn.gd_jacobian(x_star, lr)))))
    lo, top = 0.0, 1e-3
    while radius(top) < 1 and top < hi:
        lo, top = top, top * 2
    if top >= hi:
        return math.inf
    for _ in range(60):
        mid = (lo + top) / 2
        if radius(mid) < 1:
            lo = mid
        else:
            top = mid
    return lo


@dataclass(frozen=True)
class Summary:
    """The numbers ``ssem dynamics`` prints (see the module docstring)."""

    rule: str
    coords: tuple  #: the names of the coordinates of ``optimum`` and ``final``
    optimum: tuple
    optimum_loss: float
    collapse_rates: list
    collapse_rates_per_step: list | None
    plateau: float | None
    plateau_predicted: float | None
    loss_plateau: float | None
    time_to_optimum: float | None
    relaxation_rate: float
    relaxation_rate_per_step: float | None
    stable_lr: float | None
    final: tuple
    final_loss: float
    integration_error: float | None = None

    def as_dict(self) -> dict:
        rates = (dict(zip(SPACES[:3], self.collapse_rates)) if len(self.coords) == 3 and
                 self.coords[0] == "view" else list(self.collapse_rates))
        return {"rule": self.rule, "optimum": dict(zip(self.coords, self.optimum)),
                "optimum_loss": self.optimum_loss,
                "escape_rates_from_collapse": rates,
                "escape_rates_from_collapse_per_step": None if self.collapse_rates_per_step
                is None else dict(zip(SPACES[:3], self.collapse_rates_per_step)),
                "plateau": self.plateau, "plateau_predicted": self.plateau_predicted,
                "loss_plateau": self.loss_plateau,
                "time_to_optimum": self.time_to_optimum,
                "relaxation_rate": self.relaxation_rate,
                "relaxation_rate_per_step": self.relaxation_rate_per_step,
                "stable_lr": self.stable_lr, "final": dict(zip(self.coords, self.final)),
                "final_loss": self.final_loss, "integration_error": self.integration_error}


def summarise(dyn: Dynamics, traj: Trajectory, x_star, optimum_loss: float, *,
              eps: float | None = None, tol: float = 1e-6) -> Summary:
    """The summary of ``traj`` against the optimum ``x_star`` (see the module docstring);
    ``eps``: the start's distance from collapse, for the predicted plateau."""
    x_star = np.asarray(x_star, dtype=float)
    rates = dyn.collapse_rates()
    per_step = escape_rates_per_step(dyn, traj.lr) if traj.rule == "gd" else None
    loss = traj.loss
    change = abs(loss[0] - loss[-1])
    moved = np.nonzero(np.abs(loss - loss[0]) > 0.01 * change)[0] if change > 0 else []
    loss_plateau = float(traj.time[moved[0]]) if len(moved) else None
    plateau = predicted = None
    if eps is not None and eps < EXIT:
        gam = np.array([dyn.gamma(x)[:3] for x in traj.x]).max(1)
        left = np.nonzero(gam >= EXIT)[0]
        plateau = float(traj.time[left[0]]) if len(left) else None
        if traj.rule == "gd":
            top = max(per_step)
            predicted = math.log(EXIT / eps) / top if top > 0 else None
        elif traj.rule == "flow":
            top = max(rates)
            predicted = math.log(EXIT / eps) / top if top > 0 else None
    far = np.nonzero(np.abs(traj.x - x_star).max(1) > tol)[0]
    reached = None if len(far) and far[-1] == len(traj.x) - 1 else (
        float(traj.time[far[-1] + 1]) if len(far) else 0.0)
    relax_step, lr_max = None, None
    if traj.rule == "gd":
        radius = float(max(abs(np.linalg.eigvals(dyn.gd_jacobian(x_star, traj.lr)))))
        relax_step = -math.log(radius) if radius > 0 else math.inf
        lr_max = stable_lr(dyn, x_star)
    return Summary(traj.rule, ("view", "class", "other"), tuple(float(v) for v in x_star),
                   float(optimum_loss), rates,
                   per_step, plateau, predicted, loss_plateau, reached, dyn.relaxation_rate(x_star),
                   relax_step, lr_max, tuple(float(v) for v in traj.x[-1]),
                   float(loss[-1]), traj.error)


def relaxation_at(spec, m_: int, k_: int, p_: int, alpha_, tau_) -> float:
    """The flow's relaxation rate at the global optimum of (spec, m x k x p) at (alpha, tau)."""
    from ..optimum import optimum
    from ..setting import Batch

    opt = optimum(spec, Batch.balanced(m_, k_, p_), alpha_, tau_)
    x = np.array([opt.view if opt.view is not None else 1.0, opt.class_, opt.other])
    return Dynamics(spec, m_, k_, p_, alpha_, tau_).relaxation_rate(x)


def slowing_prefactor(spec, m_: int, k_: int, p_: int, tau_):
    """The prefactor A of critical slowing down, rate ~ A |alpha - alpha_c|, exactly (SymPy).

    Below alpha_c the optimum is the class-collapse vertex x_v = (1, 1, -1/(m - 1)) (views and
    classes collapsed, the class means a simplex), where it stays whatever alpha; the
    within-class direction relaxes at -4 h_within(x_v; alpha), and the loss is linear in
    alpha, so the rate is 4 |d h_within / d alpha| (alpha_c - alpha) exactly. Above alpha_c
    the within-class eigenvalue grows from 0 at the rate that keeps h_within = 0 and the slow
    eigenvalue is -4 gamma_within d h_within / d gamma_within; the second factor cancels
    against the growth of gamma_within, leaving the same A on both sides when the other
    coordinates stay pinned at x_v to first order. A = 4 |d h_within / d alpha| at x_v, a
    function of tau alone. None when the collapsed optimum is not that vertex (p = 1, or a
    spec whose class means do not form a centred simplex at alpha_c).

    >>> slowing_prefactor("supcon", 3, 4, 2, "1/2")
    8/21
    """
    import sympy as sp

    from ..optimum import optimum
    from ..forms import reduced_loss
    from ..setting import Batch, ClassSizes
    from ..spec import alpha as alpha_symbol, pair_counts, tau as tau_symbol
    from ..ssem import alpha_c_value
    from ..vocab import check_tau

    if p_ < 2:
        return None
    a_c = float(alpha_c_value(spec, m_, k_, p_, tau_))
    below = optimum(spec, Batch.balanced(m_, k_, p_), repr(max(a_c - 1e-3, 0.0)), tau_)
    vertex = (1, 1, sp.Rational(-1, m_ - 1))
    if max(abs(float(a) - float(b)) for a, b in zip(
            (below.view, below.class_, below.other), vertex)) > 1e-9:
        return None
    phi = reduced_loss(spec, ClassSizes((k_,) * m_), p_).subs(tau_symbol, check_tau(tau_))
    coords = [sp.Symbol(c, real=True) for c in ("v[0]", "s[0]", "o[0,0]")]
    grad = [sp.diff(phi, c).subs(dict(zip(coords, vertex))) for c in coords]
    counts = pair_counts(m_, k_, p_)
    n = [sp.Integer(int(counts[t])) for t in ("view", "class", "other")]
    M = sp.Integer(m_ * k_ * p_)
    gbar = [g / (M * c) for g, c in zip(grad, n)]
    theta_within = (p_ - 1, -p_, 0)
    h = sum(t * g for t, g in zip(theta_within, gbar)) - sum(
        g * c * x for g, c, x in zip(gbar, n, vertex))
    return sp.nsimplify(sp.simplify(4 * abs(sp.diff(h, alpha_symbol))))


@dataclass(frozen=True)
class Slowing:
    """Critical slowing down at alpha_c(tau): the relaxation rate ~ A |alpha - alpha_c|^z on
    each side. ``exponent`` and ``prefactor`` per side ("below", "above"), from exact
    Jacobians at alpha_c -+ delta, delta in ``deltas``: the slope and intercept of
    log rate against log delta."""

    alpha_c: float
    deltas: tuple
    rates: dict
    exponent: dict
    prefactor: dict
    #: the prefactor in closed form (:func:`slowing_prefactor`), the same on both sides; None
    #: where the collapsed optimum is not the centred-simplex vertex
    exact_prefactor: object = None

    def as_dict(self) -> dict:
        return {"alpha_c": self.alpha_c, "deltas": list(self.deltas),
                "rates": {s: list(r) for s, r in self.rates.items()},
                "exponent": self.exponent, "prefactor": self.prefactor,
                "exact_prefactor": (None if self.exact_prefactor is None
                                    else str(self.exact_prefactor))}


def critical_slowing(spec, m_: int, k_: int, p_: int, tau_,
                     deltas=(1e-3, 2e-3, 4e-3)) -> Slowing:
    """The relaxation rate near alpha_c: it vanishes linearly on both sides.

    Why the exponent is 1: at a fixed point every eigen-direction e has h_e gamma_e = 0. On the
    collapsed side gamma_within = 0 and the within direction relaxes at -4 h_within, a KKT
    multiplier that vanishes linearly at alpha_c; on the other side h_within = 0 and the rate
    is -4 (d h_within / d gamma_within) gamma_within, with gamma_within (the within-class
    eigenvalue) growing linearly from 0. Each prefactor is fitted here from exact rates at
    alpha_c -+ delta, beside its closed form (:func:`slowing_prefactor`).
    """
    from ..ssem import alpha_c_value

    a_c = float(alpha_c_value(spec, m_, k_, p_, tau_))
    rates, exponent, prefactor = {}, {}, {}
    for side, sign in (("below", -1), ("above", 1)):
        r = [relaxation_at(spec, m_, k_, p_, repr(a_c + sign * d), tau_) for d in deltas]
        rates[side] = tuple(r)
        slope, intercept = np.polyfit(np.log(deltas), np.log(r), 1)
        exponent[side], prefactor[side] = float(slope), float(math.exp(intercept))
    return Slowing(a_c, tuple(deltas), rates, exponent, prefactor,
                   slowing_prefactor(spec, m_, k_, p_, tau_))


def parse_group_start(text: str, dyn) -> np.ndarray:
    """:func:`parse_start` for unequal class sizes: ``collapsed:EPS`` (every coordinate
    1 - EPS), ``uniform`` (all 0) or one value per coordinate (``dyn.coords``)."""
    x, _ = _read_start(text, len(dyn.coords), "one value per coordinate ("
                       + ", ".join(dyn.coords) + ")")
    local, block = dyn.represent(x)
    if (local[dyn.mult > 0] < -1e-12).any() or np.linalg.eigvalsh(block).min() < -1e-9:
        raise ValueError(f"start {text!r} is not a Gram matrix of unit vectors (a PSD "
                         "condition fails)")
    return x


def summarise_groups(dyn, traj: Trajectory, x_star, optimum_loss: float, *,
                     tol: float = 1e-6) -> Summary:
    """The summary of a trajectory of unequal class sizes: rates from the exact maps'
    Jacobians (central differences), no closed-form plateau prediction."""
    x_star = np.asarray(x_star, dtype=float)
    at_collapse = np.linalg.eigvals(dyn.flow_jacobian(np.ones(len(dyn.coords)))).real
    loss = traj.loss
    change = abs(loss[0] - loss[-1])
    moved = np.nonzero(np.abs(loss - loss[0]) > 0.01 * change)[0] if change > 0 else []
    far = np.nonzero(np.abs(traj.x - x_star).max(1) > tol)[0]
    reached = None if len(far) and far[-1] == len(traj.x) - 1 else (
        float(traj.time[far[-1] + 1]) if len(far) else 0.0)
    relax = float(-max(np.linalg.eigvals(dyn.flow_jacobian(x_star)).real))
    relax_step, lr_max = None, None
    if traj.rule == "gd":
        radius = float(max(abs(np.linalg.eigvals(dyn.gd_jacobian(x_star, traj.lr)))))
        relax_step = -math.log(radius) if radius > 0 else math.inf
        lr_max = stable_lr(dyn, x_star)
    return Summary(traj.rule, tuple(dyn.coords), tuple(float(v) for v in x_star),
                   float(optimum_loss), sorted(float(r) for r in at_collapse), None, None,
                   None, float(traj.time[moved[0]]) if len(moved) else None, reached, relax,
                   relax_step, lr_max, tuple(float(v) for v in traj.x[-1]), float(loss[-1]))
