"""The pairwise sigmoid form (SigLIP style): the loss, its reduction to SSEM, the collapse
threshold and beta*, exactly where they have closed forms and to stated precision where not.

Per anchor a and term T, every partner b among the pairs the spec lists (its ``denominator``)
contributes softplus(-y (s_ab/tau + b0)) = log(1 + e^{-y (s_ab/tau + b0)}), with y = +1 for
T's positives and -1 for the rest. A term sums over partners and takes the mean over anchors
(``mean = "anchors"``: SigLIP's normalisation) or takes the mean over all its pairs
(``"pairs"``); L = sum_T W_T L_T with the term weights W_T (1 - alpha and alpha by default).

With one value per pair type (self 1, view v, class c, other o) this is

    phi = sum_T W_T / N_T sum_{t in den} n_t softplus(-y_Tt (g_t/tau + b0)),

(N_T = 1, or the number of pairs per anchor), a separable convex function of the Gram
entries, invariant under the batch's symmetries: the symmetric reduction holds as for the
softmax form, and the global optimum is the minimum of phi over the same polyhedron.

On SSEM f(beta) = phi(1, x(beta), y(beta)) is convex: f'' = sum W/N n g'^2 s(1 - s)/tau^2 with
s = sigma(-y (g/tau + b0)), so the batch collapses iff f'(1) <= 0. At beta = 1 the class and
other entries are 1 and -1/(m - 1), so tau f'(1) = A + alpha B with A, B sums of sigmoids of
1/tau + b0 and -1/((m - 1) tau) + b0: alpha_c(tau) = -A/B in closed form. tau_c(alpha) has
none (two exponentials of tau): it is located by a scan of :data:`SCAN` points in log tau over
the solver's range and bisection, which misses two sign changes closer than the scan spacing.

>>> from ssem_symbolic.spec import LossSpec
>>> spec = LossSpec("s", ["view", "class", "other"], ["view", "class"], ["view"], "anchors",
...                 form="sigmoid")
>>> a_c = alpha_c(spec).subs({m: 3, k: 4, p: 2})
>>> sp.limit(a_c, tau, 0, "+"), sp.limit(a_c, tau, sp.oo)
(0, 1)
"""

from __future__ import annotations

import functools

import mpmath
import sympy as sp

from ._functions import logistic, softplus
from ._numeric import bracketed_newton
from ..setting import gram_entries
from ..vocab import TABLE
from ..vocab import check_tau, mp
from ..spec import TERMS, LossSpec, UnsupportedConvention, alpha, beta, k, m, p, pair_counts, tau

#: points of the log-tau scan that locates tau_c, over [1e-3, 1e4]
SCAN = 400
TAU_SCAN = ("0.001", "1e4")


def _exp_softplus(x: sp.Expr) -> sp.Expr:
    return sp.log(1 + sp.exp(x))


def _exp_logistic(x: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-x))


def _fns(smooth: bool):
    """(softplus, sigma): exponentials (exact display, limits) or the SymPy functions of
    :mod:`~ssem_symbolic.forms` (stable torch kernels)."""
    return (softplus, logistic) if smooth else (_exp_softplus, _exp_logistic)


def _norm(spec: LossSpec, n: dict):
    """N_T: 1 ("anchors": a sum over partners) or the pairs per anchor ("pairs": a mean)."""
    return 1 if spec.mean == "anchors" else sum(n[t] for t in spec.denominator)


def _sign(spec: LossSpec, term: str, t: str) -> int:
    """y: +1 for the term's positives, -1 for the other pairs it sees."""
    return 1 if t in spec.positives(term) else -1


def sign_weights(spec: LossSpec, n: dict) -> list[tuple[str, dict[int, sp.Expr]]]:
    """Per pair type t of the denominator: {y: sum_T W_T n_t / N_T over the terms that give t
    the label y}, affine in alpha (``n``: the pair counts, symbolic or numbers)."""
    spec.plain_batch("the sigmoid form's closed forms on SSEM")
    out = []
    for t in spec.denominator:
        weights: dict[int, sp.Expr] = {}
        for term in TERMS:
            y = _sign(spec, term, t)
            weights[y] = weights.get(y, 0) + spec.weight(term) * n[t] / _norm(spec, n)
        out.append((t, {y: sp.factor(w) for y, w in weights.items()}))
    return out


def symmetric_loss(spec: LossSpec, smooth: bool = False) -> sp.Expr:
    """phi(v, c, o) of the module docstring."""
    g = {t.name: t.gram for t in TABLE}
    soft, _ = _fns(smooth)
    return sum((w * soft(-y * (g[t] / tau + spec.bias))
                for t, ws in sign_weights(spec, pair_counts()) for y, w in ws.items()),
               sp.Integer(0))


@functools.lru_cache(maxsize=None)
def reduced(spec: LossSpec, smooth: bool = False) -> sp.Expr:
    """f(beta): phi on SSEM."""
    from ..vocab import c_sym, o_sym, v_sym

    g = gram_entries()
    return symmetric_loss(spec, smooth).subs({v_sym: g["view"], c_sym: g["class"],
                                              o_sym: g["other"]})


@functools.lru_cache(maxsize=None)
def slope(spec: LossSpec, smooth: bool = False) -> sp.Expr:
    """tau f'(beta) = sum_t sum_y w_ty (-y) g_t'(beta) sigma(-y (g_t(beta)/tau + b)) (the
    derivative of softplus is sigma; only class and other pairs move with beta)."""
    g = gram_entries()
    _, sig = _fns(smooth)
    total = sp.Integer(0)
    for t, ws in sign_weights(spec, pair_counts()):
        rate = sp.diff(g[t], beta)
        if rate == 0:
            continue
        for y, w in ws.items():
            total += w * (-y) * rate * sig(-y * (g[t] / tau + spec.bias))
    return total


@functools.lru_cache(maxsize=None)
def slope_parts(spec: LossSpec, smooth: bool = False) -> tuple[sp.Expr, sp.Expr]:
    """(A, B) with tau f'(1) = A + alpha B (f'(1) is affine in alpha: the term weights are)."""
    total = sp.expand(slope(spec, smooth).subs(beta, 1))
    return total.subs(alpha, 0), sp.diff(total, alpha)


def alpha_c(spec: LossSpec) -> sp.Expr:
    """alpha_c(tau) = -A/B (where B = 0 the collapse does not depend on alpha)."""
    A, B = slope_parts(spec)
    return -A / B


def alpha_c_limits(spec: LossSpec, m_: int, k_: int, p_: int) -> tuple[sp.Expr, sp.Expr]:
    """(lim alpha_c as tau -> 0+, lim as tau -> oo) for a batch, exactly (SymPy's limits of
    the closed form, simplified)."""
    a_c = alpha_c(spec).subs({m: m_, k: k_, p: p_})
    return tuple(sp.simplify(sp.limit(a_c, tau, end, "+" if end == 0 else "-"))
                 for end in (0, sp.oo))


def _numeric(spec: LossSpec):
    A, B = slope_parts(spec)
    f = reduced(spec)
    df = sp.diff(f, beta)
    args = (beta, alpha, tau, m, k, p)
    lam = functools.partial(sp.lambdify, modules="mpmath")
    return {"A": lam((tau, m, k, p), A), "B": lam((tau, m, k, p), B), "f": lam(args, f),
            "df": lam(args, df), "d2f": lam(args, sp.diff(df, beta))}


_NUMERIC: dict = {}


def numeric(spec: LossSpec) -> dict:
    """mpmath functions of A, B, f, f', f'' (built once per spec)."""
    if spec not in _NUMERIC:
        _NUMERIC[spec] = _numeric(spec)
    return _NUMERIC[spec]


def _mp(*xs):
    return [mpmath.mpf(x) if not isinstance(x, mpmath.mpf) else x for x in xs]


def slope_at_one(spec: LossSpec, m_: int, k_: int, p_: int, alpha_, tau_,
                 digits: int = 30) -> mpmath.mpf:
    """tau f'(1) at (alpha, tau), read exactly, at ``digits`` + 10 digits."""
    fn = numeric(spec)
    with mpmath.workdps(digits + 10):
        t, a = mp(tau_), mp(alpha_)
        mm, kk, pp = _mp(m_, k_, p_)
        return +(fn["A"](t, mm, kk, pp) + a * fn["B"](t, mm, kk, pp))


def alpha_c_value(spec: LossSpec, m_: int, k_: int, p_: int, tau_,
                  digits: int = 30) -> mpmath.mpf:
    """alpha_c(tau) = -A/B for a batch; ValueError where B = 0 (no threshold in alpha)."""
    fn = numeric(spec)
    with mpmath.workdps(digits + 10):
        t = mp(check_tau(tau_))
        mm, kk, pp = _mp(m_, k_, p_)
        B = fn["B"](t, mm, kk, pp)
        if B == 0:
            raise UnsupportedConvention(f"loss spec {spec.name!r}: f'(1) does not depend on "
                                        "alpha here, so there is no collapse threshold in alpha")
        return +(-fn["A"](t, mm, kk, pp) / B)


def alpha_side(spec: LossSpec, m_: int, k_: int, p_: int, tau_) -> int:
    """+1: collapse iff alpha <= alpha_c at this tau; -1: iff alpha >= alpha_c; 0: f'(1) does
    not depend on alpha."""
    with mpmath.workdps(50):
        B = numeric(spec)["B"](mp(tau_), *_mp(m_, k_, p_))
    return 0 if B == 0 else (1 if B > 0 else -1)


def collapses(spec: LossSpec, m_: int, k_: int, p_: int, alpha_, tau_) -> bool:
    """beta* = 1 iff f'(1) <= 0, its sign taken at 40 digits and more (up to 1000) until it is
    clear of the working resolution (an exact zero counts as collapse)."""
    check_tau(tau_)
    digits = 30
    while True:
        value = slope_at_one(spec, m_, k_, p_, alpha_, tau_, digits)
        if abs(value) > mpmath.mpf(10) ** -digits or digits >= 1000:
            return bool(value <= 0)
        digits *= 4


def loss_value(spec: LossSpec, m_: int, k_: int, p_: int, alpha_, tau_, beta_,
               digits: int = 30) -> mpmath.mpf:
    """f(beta; alpha, tau, m, k, p)."""
    with mpmath.workdps(digits + 10):
        return +numeric(spec)["f"](mpmath.mpf(beta_), mp(alpha_), mp(check_tau(tau_)),
                                   *_mp(m_, k_, p_))


def optimal_beta(spec: LossSpec, m_: int, k_: int, p_: int, alpha_, tau_,
                 digits: int = 30, start=None) -> mpmath.mpf:
    """beta* = argmin over [0, 1] of the convex f: 1 where the batch collapses, 0 where
    f'(0) >= 0, else the root of f' by Newton steps inside a shrinking bisection bracket, to
    ``digits`` digits."""
    if collapses(spec, m_, k_, p_, alpha_, tau_):
        return mpmath.mpf(1)
    fn = numeric(spec)
    with mpmath.workdps(digits + 20):
        a, t = mp(alpha_), mp(tau_)
        batch = _mp(m_, k_, p_)
        if fn["df"](mpmath.mpf(0), a, t, *batch) >= 0:
            return mpmath.mpf(0)
        return bracketed_newton(
            lambda x: (fn["df"](x, a, t, *batch), fn["d2f"](x, a, t, *batch)), start, digits,
            2000, f"alpha = {alpha_}, tau = {tau_}")


def tau_roots(spec: LossSpec, m_: int, k_: int, p_: int, alpha_,
              digits: int = 30) -> list[mpmath.mpf]:
    """The temperatures where f'(1) changes sign at this alpha, located by the log-tau scan of
    the module docstring and bisection to ``digits`` digits."""
    with mpmath.workdps(digits + 10):
        lo, hi = (mpmath.log(mp(x)) for x in TAU_SCAN)
        grid = [mpmath.exp(lo + (hi - lo) * i / (SCAN - 1)) for i in range(SCAN)]
        vals = [slope_at_one(spec, m_, k_, p_, alpha_, x, digits) for x in grid]
        roots = []
        for (x0, v0), (x1, v1) in zip(zip(grid, vals), zip(grid[1:], vals[1:])):
            if v0 == 0:
                roots.append(x0)
            elif v0 * v1 < 0:
                a_, b_ = x0, x1
                for _ in range(4 * digits):
                    mid = mpmath.sqrt(a_ * b_)
                    vm = slope_at_one(spec, m_, k_, p_, alpha_, mid, digits)
                    if (vm < 0) == (v0 < 0):
                        a_ = mid
                    else:
                        b_ = mid
                roots.append(mpmath.sqrt(a_ * b_))
        return roots


def collapse_side_in_tau(spec: LossSpec, m_: int, k_: int, p_: int, alpha_,
                         digits: int = 30) -> tuple[str, mpmath.mpf | None]:
    """("always" | "never" | "tau>=" | "tau<=", tau_c or None): where the batch collapses
    along tau at this alpha; UnsupportedConvention where f'(1) changes sign more than once
    (the collapse region is then not one side of a threshold)."""
    roots = tau_roots(spec, m_, k_, p_, alpha_, digits)
    if not roots:
        small = slope_at_one(spec, m_, k_, p_, alpha_, TAU_SCAN[0], digits)
        return ("always" if small <= 0 else "never"), (mpmath.mpf(0) if small <= 0 else None)
    if len(roots) > 1:
        raise UnsupportedConvention(
            f"loss spec {spec.name!r}: at alpha = {alpha_} f'(1) changes sign {len(roots)} times "
            f"along tau (near {', '.join(f'{float(r):.4g}' for r in roots)}): the collapse "
            "region is not one side of a threshold")
    above = slope_at_one(spec, m_, k_, p_, alpha_, roots[0] * 2, digits)
    return ("tau>=" if above <= 0 else "tau<="), roots[0]


class Separable:
    """tau phi = tau sum_r w_r softplus(-y_r (x_{j_r}/tau + b)) with its gradient and (diagonal)
    Hessian, float64 (``lib`` numpy) or mpmath: the sigmoid form on any symmetric family, from
    its rows (coordinate j, or None for the constant self entry 1; label y; weight w, exact)."""

    def __init__(self, rows, bias, tau_, lib) -> None:
        import numpy as np

        self.lib = lib
        num = float if lib is np else mp
        self.tau = num(tau_)
        self.bias = num(bias)
        self.rows = [(j, y, num(sp.Rational(w))) for j, y, w in rows if w != 0]

    def parts(self, x, hessian: bool = True):
        """(tau phi, gradient, Hessian or None) at x."""
        import numpy as np

        lib_np = self.lib is np
        exp = np.exp if lib_np else mpmath.exp
        log1p = np.log1p if lib_np else mpmath.log1p
        n = len(x)
        val = 0
        grad = [0] * n
        hess = [[0] * n for _ in range(n)] if hessian else None
        for i, y, w in self.rows:
            g = x[i] if i is not None else 1
            z = -y * (g / self.tau + self.bias)
            # softplus(z), sigma(z) and sigma(-z), each without overflow or cancellation
            e = exp(-abs(z))
            soft = (z if z > 0 else 0) + log1p(e)
            sig, sig_neg = (1 / (1 + e), e / (1 + e)) if z > 0 else (e / (1 + e), 1 / (1 + e))
            val = val + self.tau * w * soft
            if i is not None:
                grad[i] += -y * w * sig
                if hessian:
                    hess[i][i] += w * sig * sig_neg / self.tau
        return val, grad, hess


def in_words(spec: LossSpec) -> str:
    """The per-pair loss of a sigmoid spec in words (``ssem spec show``)."""
    def types(ts):
        return " + ".join(ts)
    w_sup, w_self = (str(spec.weight(t)) for t in ("sup", "self"))
    total = ("summed over partners, then the mean over anchors" if spec.mean == "anchors"
             else "the mean over all its pairs")
    return (f"per pair (a, b), b among {types(spec.denominator)}: "
            f"softplus(-y (s_ab/tau + {spec.bias})), y = +1 for the term's positives, -1 "
            f"otherwise\nL = ({w_sup}) * [y = +1 on {types(spec.sup)}]\n"
            f"  + ({w_self}) * [y = +1 on {types(spec.self_)}]\neach term {total}")
