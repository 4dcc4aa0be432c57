"""Exact derivation on SSEM: reduced loss, convexity, collapse threshold, beta*.

For a :class:`~ssem_symbolic.spec.LossSpec` the loss of a batch whose Gram matrix has one
value per pair type (self 1, view v, class c, other o) is, per anchor,

    phi(v, c, o) = log sum_{t in den} n_t exp(g_t / tau)
                   - [(1 - alpha) <g>_sup + alpha <g>_self] / tau,

with ``n_t`` the pair counts and ``<g>_T`` the count-weighted mean of g over the positive
types T. On SSEM (v = 1, c = x(beta), o = y(beta)) this is the reduced loss f(beta).

* f is convex: f'' = Var_q(g')/tau^2 with q the softmax weights n_t e^{g_t/tau}/D.
* Collapse (beta* = 1) iff f'(1) <= 0. f' is affine in alpha, so collapse iff
  alpha <= alpha_c(tau).
* At beta = 1 the Gram values are 1 and -1/(m-1) only, so with r = exp(-m/((m-1) tau))
  alpha_c is a ratio of affine functions of r; inverting it gives tau_c(alpha) in closed form.

>>> d = derive("paper")
>>> d.alpha_c_r
(k*m*r - r + 1)/(k*(m*r - r + 1))
>>> d.alpha_c_tau0, d.alpha_c_tauinf
(1/k, 1)
>>> round(float(alpha_c_value("paper", 2, 2, 2, 1)), 4)  # docs/references.md: 0.6192
0.6192
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import mpmath
import sympy as sp

from ..infra import cache_load, cache_store
from ._numeric import CollapseRule, bracketed_newton, guard_digits
from ..setting import c_sym, gram_entries, o_sym, v_sym
from ..vocab import TABLE
from ..vocab import check_tau, exact, mp
from ..spec import (LossSpec, UnsupportedConvention, alpha, beta, get_spec, k, m, p,
                    pair_counts, tau)
from ..setting import takes_convention

r = sp.Symbol("r", positive=True)  # r = exp(-m/((m - 1) tau)), increasing in tau, in (0, 1)


def _loss_parts(spec: LossSpec) -> tuple[list[tuple[sp.Expr, sp.Expr]], sp.Expr]:
    """([(W_j, D_j)], pull) with phi = sum_j W_j log D_j - pull / tau, as functions of
    (v, c, o): one (W, D) per distinct denominator."""
    g = {t.name: t.gram for t in TABLE}
    logs = [(w, sum(n_t * sp.exp(g[t] / tau) for t, n_t in den.counts().items()))
            for den, w in spec.denominators()]
    pull = sum(
        spec.weight(term) * sum(pos_counts(spec, term)[t] * g[t] for t in spec.positives(term))
        / sum(pos_counts(spec, term)[t] for t in spec.positives(term))
        for term in ("sup", "self")
    )
    return logs, pull


def pos_counts(spec: LossSpec, term: str, *batch) -> dict[str, sp.Expr]:
    """pi_t n_t per pair type: the counts as they enter ``term``'s mean over positives."""
    return {t: spec.pair_weight(term, t) * c for t, c in pair_counts(*batch).items()}


@takes_convention
def symmetric_loss(convention: str | LossSpec) -> sp.Expr:
    """phi(v, c, o): the loss of a Gram matrix with one value per pair type (see module doc;
    either form: :func:`ssem_symbolic.ssem.symmetric_loss`)."""
    spec = get_spec(convention)
    logs, pull = _loss_parts(spec)
    return sum(w * sp.log(d) for w, d in logs) - pull / tau


_PROBES = ((2, 2, 2, "0.7", "0.3", "1.3"), (3, 4, 2, "0.25", "0.8", "0.37"),
           (5, 3, 3, "0.9", "0.1", "2.5"))


def _not_zero(expr: sp.Expr) -> bool:
    """True unless expr vanishes at the probe points (m, k, p, alpha, beta, tau), to 1e-40.

    Used to check identities whose exp terms SymPy cannot cancel symbolically; 60 digits.
    """
    fn = sp.lambdify((m, k, p, alpha, beta, tau), expr, modules="mpmath")
    with mpmath.workdps(60):
        return any(abs(fn(*(mpmath.mpf(x) for x in probe))) > mpmath.mpf(10) ** -40
                   for probe in _PROBES)


def _on_ssem(expr: sp.Expr, beta_: sp.Expr = beta) -> sp.Expr:
    g = gram_entries(beta_)
    return expr.subs({v_sym: g["view"], c_sym: g["class"], o_sym: g["other"]})


@dataclass(frozen=True)
class Derivation:
    """Every exact result for one loss spec, symbolic in m, k, p, alpha, tau (and beta)."""

    spec: LossSpec
    loss: sp.Expr  #: f(beta)
    dloss: sp.Expr  #: f'(beta)
    d2loss: sp.Expr  #: f''(beta)
    softmax_variance: sp.Expr  #: Var_q(g'(beta)) / tau^2, shown equal to f''
    alpha_c: sp.Expr  #: alpha_c(tau)
    alpha_c_r: sp.Expr  #: alpha_c as a function of r = exp(-m/((m-1) tau))
    tau_c: sp.Expr  #: tau_c(alpha), where N changes sign (the side: collapse_rule)
    tau_c_ratio: sp.Expr  #: Q(alpha), rational, with tau_c = m / ((m - 1) log Q)
    alpha_c_tau0: sp.Expr  #: lim alpha_c as tau -> 0+
    alpha_c_tauinf: sp.Expr  #: lim alpha_c as tau -> oo
    alpha_c_slope_r: sp.Expr  #: d alpha_c / d r (its sign gives the monotonicity in tau)
    collapse_r: sp.Expr  #: N(r) = c0 + c1 r, a positive multiple of f'(1): collapse iff N <= 0
    alpha_side: sp.Expr  #: +1 collapse iff alpha <= alpha_c; -1 iff alpha >= alpha_c; 0 unproven

    def as_dict(self) -> dict[str, sp.Expr]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "spec"}


def _ssem_denominator(spec: LossSpec, den) -> sp.Expr:
    """D(beta) = sum_t omega_t n_t e^{g_t/tau} over the pair types of ``den`` (a
    :class:`~ssem_symbolic.spec.Denominator`), those with equal Gram values grouped."""
    g, n = gram_entries(), den.counts()
    by_value: dict[sp.Expr, sp.Expr] = {}
    for t in den:
        by_value[g[t]] = by_value.get(g[t], 0) + n[t]  # SymPy's canonical forms: 1, x, y
    return sp.Add(*(count * sp.exp(value / tau) for value, count in by_value.items()))


def _ssem_pull(spec: LossSpec) -> sp.Expr:
    """(1 - alpha) <g>_sup + alpha <g>_self on SSEM: the positives' (weighted) mean Gram
    values."""
    g = gram_entries()
    return sum(
        spec.weight(term) * sp.factor(sp.cancel(
            sum(pos_counts(spec, term)[t] * g[t] for t in spec.positives(term))
            / sum(pos_counts(spec, term)[t] for t in spec.positives(term))))
        for term in ("sup", "self")
    )


def _rational_identity(lhs: sp.Expr, rhs: sp.Expr) -> bool:
    """lhs == rhs as rational functions, with every exp(...) atom an independent symbol."""
    atoms = (lhs.atoms(sp.exp) | rhs.atoms(sp.exp))
    names = {a: sp.Dummy(positive=True) for a in atoms}
    return sp.cancel(sp.together((lhs - rhs).xreplace(names))) == 0


def _softmax_variance(spec: LossSpec) -> sp.Expr:
    """sum_j W_j Var_{q_j}(g') / tau^2: each log-sum-exp's softmax variance of the slopes."""
    g = gram_entries()
    out = sp.Integer(0)
    for den, weight in spec.denominators():
        n = den.counts()
        w = {t: n[t] * sp.exp(g[t] / tau) for t in den}
        total = sum(w.values())
        slope = {t: sp.diff(g[t], beta) for t in den}
        mean = sum(w[t] * slope[t] for t in w) / total
        second = sum(w[t] * slope[t] ** 2 for t in w) / total
        out += weight * (second - mean**2) / tau**2
    return out


def _nonnegative_everywhere(expr: sp.Expr) -> bool:
    """True when expr >= 0 for every batch (m, k >= 2, p >= 1), shown by writing m = 2 + M,
    k = 2 + K, p = 1 + P (M, K, P >= 0) and finding no negative coefficient in the expanded
    numerator over a positive denominator: a proof, not a probe."""
    M, K, P = sp.symbols("M K P", nonnegative=True)
    num, den = sp.fraction(sp.cancel(sp.together(expr.subs({m: 2 + M, k: 2 + K, p: 1 + P}))))
    num, den = sp.Poly(sp.expand(num), M, K, P), sp.Poly(sp.expand(den), M, K, P)
    if all(c <= 0 for c in den.coeffs()):
        num, den = -num, -den
    return all(c >= 0 for c in den.coeffs()) and all(c >= 0 for c in num.coeffs())


def _proven_sign(expr: sp.Expr) -> int:
    """+1 or -1 when expr (in m, k, p only) has that sign for every batch, 0 when unproven."""
    if expr == 0:
        return 0
    if _nonnegative_everywhere(expr):
        return 1
    if _nonnegative_everywhere(-expr):
        return -1
    return 0


@dataclass(frozen=True)
class Reduced:
    """What the numbers need, derived quickly: f(beta) and N(r), a positive multiple of f'(1)
    (collapse iff N <= 0). :func:`derive` adds the closed forms and their proofs."""

    spec: LossSpec
    loss: sp.Expr  #: f(beta)
    collapse_r: sp.Expr  #: N(r) = c0 + c1 r (+ c2 r^2 with a per-term denominator), affine in alpha


@functools.lru_cache(maxsize=None)
@takes_convention
def reduced(convention: str | LossSpec) -> Reduced:
    """f(beta) and N(r) for any spec (also one whose f'(1) ignores alpha).

    At beta = 1 every Gram value is 1 or -1/(m-1), so dividing the softmax by e^{1/tau} leaves
    weights n_t r^{u_t} with u_t in {0, 1}: tau (sum of weights) f'(1) = N(r) = c0 + c1 r.
    """
    spec = get_spec(convention)
    spec.softmax("the reduction to N(r)")
    dens = spec.denominators()
    f = sum(w * sp.log(_ssem_denominator(spec, den)) for den, w in dens) - _ssem_pull(spec) / tau
    g = gram_entries()
    _, pull = _loss_parts(spec)
    pull_slope = sp.diff(_on_ssem(pull), beta)

    def power(t):  # x(1) = 1 and y(1) = -1/(m-1), exactly
        return 0 if g[t].subs(beta, 1) == 1 else 1
    if len(dens) == 1:
        (den, w), = dens
        n = den.counts()
        coef = [sp.Integer(0), sp.Integer(0)]
        for t in den:
            coef[power(t)] += n[t] * (w * sp.diff(g[t], beta) - pull_slope)
        return Reduced(spec, f, coef[0] + coef[1] * r)
    # a denominator per term: tau f'(1) = sum_j W_j Num_j(r) / D_j(r) - pull', times the
    # positive prod_j D_j(r)
    parts = []
    for den, w in dens:
        n = den.counts()
        parts.append((w, sum(n[t] * sp.diff(g[t], beta) * r ** power(t) for t in den),
                      sum(n[t] * r ** power(t) for t in den)))
    total = sp.Mul(*(d for _, _, d in parts))
    numerator = sp.expand(sum(w * num * sp.cancel(total / d) for w, num, d in parts)
                          - pull_slope * total)
    # both denominators hold other-class pairs: N is quadratic in r, and the collapse region
    # along tau can be an interval (collapse_rule says so where it is)
    return Reduced(spec, f, numerator)


def _derive(spec: LossSpec) -> Derivation:
    red = reduced(spec)
    f = red.loss
    f1 = sp.diff(f, beta)
    f2 = sp.diff(f1, beta)
    var = _softmax_variance(spec)
    if not _rational_identity(f2, var):
        raise ArithmeticError(f"{spec.name}: f'' is not the softmax variance; convexity unproven")
    c0, c1, c2 = _coefficients(red.collapse_r)
    numerator = c0 + c1 * r + c2 * r**2
    slope_alpha = sp.factor(sp.cancel(sp.diff(numerator, alpha)))
    if sp.diff(slope_alpha, alpha) != 0:
        raise ArithmeticError(f"{spec.name}: f'(1) is not affine in alpha")
    if slope_alpha == 0:  # beta* and the collapse still follow, from N alone (reduced)
        raise UnsupportedConvention(
            f"loss spec {spec.name!r}: f'(1) does not depend on alpha (both terms pull alike at "
            "collapse), so there is no collapse threshold in alpha to derive")
    a_c_r = sp.factor(sp.cancel(-numerator.subs(alpha, 0) / slope_alpha))  # N affine in alpha
    a_c = a_c_r.subs(r, sp.exp(-m / ((m - 1) * tau)))
    # the same threshold straight from f'(1) in tau: a check on the change of variable
    if _not_zero(f1.subs(beta, 1).subs(alpha, a_c) * tau):
        raise ArithmeticError(f"{spec.name}: alpha_c does not solve f'(1) = 0")
    slope = sp.factor(sp.cancel(sp.diff(a_c_r, r)))
    lim0, liminf = (_limit_r(a_c_r, x) for x in (0, 1))  # tau -> 0+ is r -> 0+; oo is 1-
    if c2 == 0:
        ratio = sp.factor(sp.cancel(-c1 / c0))  # 1/r at the threshold: N = c0 + c1 r = 0
        t_c = m / ((m - 1) * sp.log(ratio))
    else:  # N = 0 at two r: both temperatures (collapse_rule decides which lie in (0, oo))
        root = sp.sqrt(c1**2 - 4 * c0 * c2)
        ratio = sp.Tuple(*(sp.factor(sp.cancel(2 * c2)) / (-c1 + sign * root)
                           for sign in (-1, 1)))
        t_c = sp.Tuple(*(m / ((m - 1) * sp.log(q)) for q in ratio))
    return Derivation(
        spec=spec,
        loss=f,
        dloss=f1,
        d2loss=f2,
        softmax_variance=var,
        alpha_c=a_c,
        alpha_c_r=a_c_r,
        tau_c=t_c,
        tau_c_ratio=ratio,
        alpha_c_tau0=lim0,
        alpha_c_tauinf=liminf,
        alpha_c_slope_r=slope,
        collapse_r=numerator,
        alpha_side=sp.Integer(_side(slope_alpha)),
    )


def _limit_r(expr: sp.Expr, x: int) -> sp.Expr:
    """expr at r = x, or its one-sided limit there when the value is 0/0."""
    value = sp.factor(sp.cancel(expr.subs(r, x)))
    if value.has(sp.nan, sp.zoo):
        value = sp.simplify(sp.limit(expr, r, x, "+" if x == 0 else "-"))
    return value


def _coefficients(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """(c0, c1, c2) of a polynomial of degree at most 2 in r, each factored."""
    poly = sp.expand(expr)
    if sp.degree(poly, r) > 2:
        raise ArithmeticError("N(r) has degree above 2")
    return tuple(sp.factor(sp.cancel(poly.coeff(r, i))) for i in range(3))


def _side(slope_alpha: sp.Expr) -> int:
    """+1: f'(1) grows with alpha at every tau and batch (collapse iff alpha <= alpha_c);
    -1: it falls (collapse iff alpha >= alpha_c); 0: the sign is not proven for every batch
    (then each batch and tau is decided exactly from N). A polynomial of degree <= 2 in r
    keeps the sign of its Bernstein coefficients on [0, 1] (a0, a0 + a1/2, a0 + a1 + a2)."""
    a0, a1, a2 = _coefficients(slope_alpha)
    signs = [_proven_sign(sp.factor(sp.cancel(b))) for b in (a0, a0 + a1 / 2, a0 + a1 + a2)]
    if all(x == 1 for x in signs):
        return 1
    if all(x == -1 for x in signs):
        return -1
    return 0


@functools.lru_cache(maxsize=None)
def _derive_cached(spec: LossSpec) -> Derivation:
    name = "derivation:" + spec.key()
    hit = cache_load(name)
    if hit is not None and set(hit) == set(Derivation.__dataclass_fields__) - {"spec"}:
        return Derivation(spec=spec, **hit)
    d = _derive(spec)
    cache_store(name, d.as_dict())
    return d


@takes_convention
def derive(convention: str | LossSpec) -> Derivation:
    """The exact derivation for a convention spec or preset name (derived once, then cached).
    Softmax form only."""
    spec = get_spec(convention)
    spec.softmax("the closed-form derivation in r = exp(-m/((m-1) tau)) (the sigmoid form's "
                 "alpha_c(tau) is alpha_c_value)")
    return _derive_cached(spec)


# --- numbers, with mpmath -------------------------------------------------------------

ARGS = (beta, alpha, tau, m, k, p)


def term_pieces(loss: sp.Expr) -> tuple[sp.Expr, ...]:
    """Split f = w (log sum_i n_i e^{a_i} + rest) (w > 0, not depending on beta), so that
    f' D / w = sum_i n_i c_i e^{a_i} with c_i = a_i' + rest' and D = sum_i n_i e^{a_i}.

    Returns (log n_i + a_i)_i, (c_i)_i, (c_i')_i, (a_i')_i: no exponential at all, so both
    solvers (mpmath and torch) work with log-magnitudes and never overflow or underflow.
    """
    logs = [t for t in sp.Add.make_args(loss) if t.atoms(sp.log)]
    if not logs:  # a denominator of the anchor alone: log e^{1/tau} = 1/tau, f is affine
        slope = sp.diff(loss, beta)
        return sp.Integer(0), slope, sp.diff(slope, beta), sp.Integer(0)
    if len(loss.atoms(sp.log)) > 1:
        return _product_pieces(loss)
    if len(logs) != 1:
        raise ValueError("the reduced loss is not w log(sum of exponentials) + rest")
    weight, log = logs[0].as_independent(sp.log, as_Add=False)
    if not isinstance(log, sp.log) or weight.has(beta) or weight.has(sp.exp):
        raise ValueError("the reduced loss is not w log(sum of exponentials) + rest")
    rest = (loss - logs[0]) / weight  # f / w = log D + rest: the same root and sign of f'
    logs = [log]
    if rest.atoms(sp.exp):
        raise ValueError("the reduced loss has exponentials outside its log-sum-exp")
    logw, c, dc, da = [], [], [], []
    for term in sp.Add.make_args(logs[0].args[0]):
        (e,) = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.exp)]
        a = e.args[0]
        logw.append(sp.log(term / e) + a)
        c.append(sp.diff(a + rest, beta))
        dc.append(sp.diff(c[-1], beta))
        da.append(sp.diff(a, beta))
    return (*logw, *c, *dc, *da)


def _product_pieces(loss: sp.Expr) -> tuple[sp.Expr, ...]:
    """:func:`term_pieces` for f = sum_j W_j log D_j + rest (a denominator per term): with
    D_j = sum_i n_ji e^{a_ji}, f' prod_j D_j = sum over one exponential of each D_j of
    prod_j n_ji e^{a_ji} (sum_j W_j a_ji' + rest'), a sum of exponentials again: each piece
    has log-weight sum_j (log n_ji + a_ji), c = sum_j W_j a_ji' + rest', and
    a' = sum_j a_ji'. The W_j may vanish at an end of [0, 1] in alpha, so nothing is divided
    by them."""
    import itertools

    atoms = sorted(loss.atoms(sp.log), key=sp.default_sort_key)
    marks = [sp.Dummy() for _ in atoms]
    marked = loss.xreplace(dict(zip(atoms, marks)))  # f is linear in each log
    weights = [sp.diff(marked, x) for x in marks]
    rest = marked.xreplace({x: 0 for x in marks})
    if rest.atoms(sp.exp, sp.log) or any(w.has(beta) for w in weights):
        raise ValueError("the reduced loss is not sum_j W_j log(sum of exponentials) + rest")
    sums = []
    for atom in atoms:
        terms = []
        for term in sp.Add.make_args(atom.args[0]):
            (e,) = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.exp)]
            terms.append((sp.log(term / e), e.args[0]))
        sums.append(terms)
    logw, c, dc, da = [], [], [], []
    for combo in itertools.product(*sums):
        logw.append(sum(ln + a for ln, a in combo))
        c.append(sum(w * sp.diff(a, beta) for w, (_, a) in zip(weights, combo))
                 + sp.diff(rest, beta))
        dc.append(sp.diff(c[-1], beta))
        da.append(sum(sp.diff(a, beta) for _, a in combo))
    return (*logw, *c, *dc, *da)


def _mp_lambdify(args, expr):
    """lambdify to mpmath, with every argument made an mpf first (ints and floats would make
    the generated code do 1/(k - 1) or 1/tau in double precision)."""
    raw = sp.lambdify(args, expr, modules="mpmath")
    return lambda *xs: raw(*(mpmath.mpf(x) for x in xs))


@functools.lru_cache(maxsize=None)
def _numeric(spec: LossSpec):
    f = reduced(spec).loss
    return {"f": _mp_lambdify(ARGS, f), "pieces": _mp_lambdify(ARGS, list(term_pieces(f)))}


@functools.lru_cache(maxsize=None)
def _alpha_c_coefficients(spec: LossSpec, m_: int, k_: int, p_: int):
    """(a, b), exact rationals per power of r: N(r) = a(r) + alpha b(r) on this batch, so
    alpha_c = -a(r)/b(r). Read off :func:`reduced` (no closed-form derivation: a cold call
    needs no proofs, limits or factoring)."""
    n = sp.expand(reduced(spec).collapse_r.subs({m: m_, k: k_, p: p_}))
    slope = sp.expand(sp.diff(n, alpha))
    if slope.has(alpha):
        raise ArithmeticError(f"{spec.name}: f'(1) is not affine in alpha")
    if slope == 0:
        raise UnsupportedConvention(
            f"loss spec {spec.name!r}: f'(1) does not depend on alpha on a batch of "
            f"m = {m_}, k = {k_}, p = {p_} (both terms pull alike at collapse), so there is "
            "no collapse threshold in alpha")
    base = sp.expand(n.subs(alpha, 0))
    return tuple(tuple(sp.Rational(e.coeff(r, i)) for i in range(3)) for e in (base, slope))


@takes_convention
def alpha_c_value(convention: str | LossSpec, m_: int, k_: int, p_: int, tau_,
                  digits: int = 30) -> mpmath.mpf:
    """alpha_c(tau) for a batch, evaluated through r = exp(-m/((m-1) tau)) (exact at every
    tau > 0: r is a tiny but exact mpmath number as tau -> 0)."""
    spec = get_spec(convention)
    spec.softmax("the closed-form alpha_c in r = exp(-m/((m-1) tau))")
    a, b = _alpha_c_coefficients(spec, m_, k_, p_)
    with mpmath.workdps(digits + 10):
        rr = mpmath.exp(-mpmath.mpf(m_) / ((m_ - 1) * mp(tau_)))

        def at(c):
            return mpmath.fsum(mp(x) * rr**i for i, x in enumerate(c))
        return +(-at(a) / at(b))


@takes_convention
def alpha_c_limits(convention: str | LossSpec, m_: int, k_: int,
                   p_: int) -> tuple[sp.Expr, sp.Expr]:
    """(lim alpha_c as tau -> 0+, lim alpha_c as tau -> oo) for this batch, exactly (rational
    for the softmax form; the sigmoid form's may hold e^b)."""
    spec = get_spec(convention)
    d = derive(spec)
    at = {m: m_, k: k_, p: p_}
    return sp.Rational(d.alpha_c_tau0.subs(at)), sp.Rational(d.alpha_c_tauinf.subs(at))


def _collapse_coefficients(spec: LossSpec, m_: int, k_: int, p_: int, a: sp.Rational):
    """(c0, c1, c2), exact: a positive multiple of f'(1) is c0 + c1 r + c2 r^2 with
    r = e^{-m/((m-1) tau)} (c2 = 0 unless both terms' denominators hold other classes)."""
    n = sp.expand(reduced(spec).collapse_r.subs({m: m_, k: k_, p: p_, alpha: a}))
    return tuple(sp.Rational(n.coeff(r, i)) for i in range(3))


@takes_convention
def collapse_rule(convention: str | LossSpec, m_: int, k_: int, p_: int, alpha_,
                  digits: int = 30) -> CollapseRule:
    """The collapse region along tau at this alpha, decided exactly.

    f'(1) has the sign of c0 + c1 r (:func:`_collapse_coefficients`), exact rationals at the
    exact alpha; r runs over (0, 1) as tau runs over (0, oo). Where it changes sign,
    tau_c = m/((m-1) (log|c1| - log|c0|)) at ``digits`` + 10 digits: nothing cancels.
    """
    spec = get_spec(convention)
    c0, c1, c2 = _collapse_coefficients(spec, m_, k_, p_, exact(alpha_))
    if c2 != 0:
        return _quadratic_rule(spec, m_, c0, c1, c2, alpha_, digits)
    if c0 <= 0 and c0 + c1 <= 0:
        return CollapseRule("always", mpmath.mpf(0))
    if c0 >= 0 and c0 + c1 >= 0:
        return CollapseRule("never")
    with mpmath.workdps(digits + 10):  # the rule keeps these digits (no rounding on return)
        t_c = mpmath.mpf(m_) / ((m_ - 1) * (_log_rational(abs(c1)) - _log_rational(abs(c0))))
        return CollapseRule("tau>=" if c1 < 0 else "tau<=", t_c)


def _quadratic_rule(spec, m_, c0, c1, c2, alpha_, digits) -> CollapseRule:
    """collapse_rule where N = c0 + c1 r + c2 r^2: its sign changes inside r in (0, 1) (tau in
    (0, oo)), exactly; two of them are an interval of tau, refused. Zero leading coefficients
    are divided out first (r > 0), so N's sign near r = 0 is that of its first nonzero one."""
    q = [c0, c1, c2]
    while q and q[0] == 0:
        q.pop(0)
    if len(q) <= 1:  # one sign on (0, 1) (or N = 0: collapse, as f'(1) <= 0)
        return CollapseRule("always", mpmath.mpf(0)) if not q or q[0] < 0 else \
            CollapseRule("never")
    with mpmath.workdps(digits + 10):
        if len(q) == 2:
            root = -q[0] / q[1]  # exact
            roots = [mpmath.mpf(int(root.p)) / int(root.q)] if 0 < root < 1 else []
        else:
            disc = q[1]**2 - 4 * q[0] * q[2]
            roots = []
            if disc > 0:  # a double root does not change the sign
                sq = mpmath.sqrt(mp(disc))
                roots = sorted(x for x in ((-mp(q[1]) - sq) / (2 * mp(q[2])),
                                           (-mp(q[1]) + sq) / (2 * mp(q[2]))) if 0 < x < 1)
        taus = [mpmath.mpf(m_) / ((1 - m_) * mpmath.log(x)) for x in roots]
        if not roots:
            return (CollapseRule("always", mpmath.mpf(0)) if q[0] < 0
                    else CollapseRule("never"))
        if len(roots) == 2:
            where = "outside" if q[0] < 0 else "inside"  # the sign of N near r = 0
            raise UnsupportedConvention(
                f"loss spec {spec.name!r}: at alpha = {alpha_} the batch collapses for tau "
                f"{where} the interval of tau [{float(taus[0]):.6g}, {float(taus[1]):.6g}] "
                "(f'(1) is quadratic in exp(-m/((m-1) tau)) here), not on one side of a "
                "threshold")
        # one sign change: no collapse at small tau (N > 0 near r = 0) means collapse above
        return CollapseRule("tau>=" if q[0] > 0 else "tau<=", taus[0])


@takes_convention
def alpha_side(convention: str | LossSpec, m_: int, k_: int, p_: int, tau_) -> int:
    """+1 when the batch collapses iff alpha <= alpha_c(tau) at this tau, -1 when iff
    alpha >= alpha_c(tau), 0 when f'(1) does not depend on alpha there; decided exactly."""
    spec = get_spec(convention)
    slope = sp.expand(sp.diff(reduced(spec).collapse_r, alpha).subs({m: m_, k: k_, p: p_}))
    c0, c1, c2 = (sp.Rational(slope.coeff(r, i)) for i in range(3))
    if c2 == 0 and c0 * (c0 + c1) > 0:  # affine in r with one sign at both ends
        return 1 if c0 > 0 else -1
    with mpmath.workdps(60):
        x = mpmath.exp(-mpmath.mpf(m_) / ((m_ - 1) * mp(tau_)))
        at_tau = mp(c0) + mp(c1) * x + mp(c2) * x**2
    return 0 if at_tau == 0 else (1 if at_tau > 0 else -1)


def _log_rational(q: sp.Rational) -> mpmath.mpf:
    return mpmath.log(int(q.p)) - mpmath.log(int(q.q))


@takes_convention
def collapses(convention: str | LossSpec, m_: int, k_: int, p_: int, alpha_, tau_) -> bool:
    """Whether the batch collapses (beta* = 1, i.e. f'(1) <= 0) at (alpha, tau).

    The one decision behind ``threshold``, ``optimum``, ``guide`` and :func:`optimal_beta`, on
    the exact reading of alpha and tau; tau is compared with tau_c at 40 digits and more (up
    to 1000) until the two differ. Any supported convention, whichever side collapses.
    """
    spec = get_spec(convention)
    t = exact(tau_)
    digits = 30
    c0, c1, c2 = _collapse_coefficients(spec, m_, k_, p_, exact(alpha_))
    while c2 != 0:  # quadratic in r: the sign of N at this tau (the region may be an interval)
        with mpmath.workdps(digits + 10):
            x = mpmath.exp(-mpmath.mpf(m_) / ((m_ - 1) * mp(t)))
            n = mp(c0) + mp(c1) * x + mp(c2) * x**2
            if abs(n) > mpmath.mpf(10) ** -digits or digits >= 1000:
                return bool(n <= 0)
        digits *= 4
    while True:
        rule = collapse_rule(spec, m_, k_, p_, alpha_, digits=digits)
        if rule.kind in ("always", "never"):
            return rule.kind == "always"
        with mpmath.workdps(digits + 10):
            gap = mpmath.mpf(int(t.p)) / int(t.q) - rule.tau_c
            if abs(gap) > mpmath.mpf(10) ** -digits * (1 + rule.tau_c) or digits >= 1000:
                return rule.holds(t)
        digits *= 4


@takes_convention
def loss_value(convention: str | LossSpec, m_: int, k_: int, p_: int, alpha_, tau_, beta_,
               digits: int = 30) -> mpmath.mpf:
    """f(beta; alpha, tau, m, k, p), the loss of the SSEM embedding at beta."""
    t = check_tau(tau_)
    with mpmath.workdps(digits + 10 + guard_digits(t)):
        f = _numeric(get_spec(convention))["f"]
        value = f(mpmath.mpf(beta_), mp(alpha_), mp(t), m_, k_, p_)
    with mpmath.workdps(digits + 10):
        return +value


def _psi(pieces, x, a, t, batch) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(psi, psi') with psi = log P+ - log P-, P+- the positive and negative parts of
    f' D = sum_i n_i c_i e^{a_i} (see :func:`term_pieces`): the sign and root of f', each part a
    log-sum-exp, nearly linear in beta where f' is nearly exponential (small tau)."""
    vals = pieces(x, a, t, *batch)
    n = len(vals) // 4
    parts: dict[int, list[tuple[mpmath.mpf, mpmath.mpf]]] = {1: [], -1: []}
    for lw, c, dc, da in zip(vals[:n], vals[n:2 * n], vals[2 * n:3 * n], vals[3 * n:]):
        # a pair type with count 0 on this batch (view at p = 1) has log-weight -inf: absent
        if c != 0 and lw != -mpmath.inf:
            parts[1 if c > 0 else -1].append((lw + mpmath.log(abs(c)), dc / c + da))
    if not parts[-1]:
        return mpmath.inf, mpmath.mpf(0)
    if not parts[1]:
        return -mpmath.inf, mpmath.mpf(0)
    out = []
    for sign in (1, -1):
        top = max(mag for mag, _ in parts[sign])
        ws = [(mpmath.exp(mag - top), rate) for mag, rate in parts[sign]]
        total = mpmath.fsum(w for w, _ in ws)
        out.append((top + mpmath.log(total), mpmath.fsum(w * rate for w, rate in ws) / total))
    (lp, rp), (lm, rm) = out
    return lp - lm, rp - rm


@takes_convention
def optimal_beta(convention: str | LossSpec, m_: int, k_: int, p_: int, alpha_, tau_,
                 digits: int = 30, start: mpmath.mpf | None = None) -> mpmath.mpf:
    """beta* = argmin over [0, 1] of the convex f, to ``digits`` significant digits.

    Exactly 1 when the batch collapses (:func:`collapses`); otherwise the root in (0, 1) of
    psi = log P+ - log P- (same sign and root as f', see :func:`_psi`), by Newton steps kept
    inside a shrinking bisection bracket. psi is nearly linear at every tau, so a handful of
    steps suffice. ``start`` (a lower-precision beta*) seeds a high-precision refinement.
    The work runs at ``digits`` plus :func:`guard_digits` (at tau = 1e-100, 1 - beta* is about
    1e-100 and is kept to ``digits`` significant digits). tau must lie in
    :data:`~ssem_symbolic.vocab.TAU_RANGE`."""
    spec = get_spec(convention)
    t_exact = check_tau(tau_)
    if collapses(spec, m_, k_, p_, alpha_, t_exact):
        return mpmath.mpf(1)
    pieces = _numeric(spec)["pieces"]
    batch = (m_, k_, p_)
    digits = max(digits, 30) + guard_digits(t_exact)
    with mpmath.workdps(digits + 10):
        a, t = mp(alpha_), mp(t_exact)
        if _psi(pieces, mpmath.mpf(0), a, t, batch)[0] >= 0:
            return mpmath.mpf(0)
        return bracketed_newton(lambda x: _psi(pieces, x, a, t, batch), start, digits, 400,
                                f"alpha = {alpha_}, tau = {tau_}")


def in_words(spec: LossSpec) -> str:
    """The per-anchor loss of a softmax spec in words (``ssem spec show``)."""
    def types(ts):
        return " + ".join(ts)
    how = ("one mean over all positive ordered pairs" if spec.mean == "pairs"
           else "a mean per anchor, then over anchors")
    w_sup, w_self = (str(spec.weight(t)) for t in ("sup", "self"))
    if spec.per_term:
        dens = {t: types(spec.denominator_of(t)) for t in ("sup", "self")}
        out = (f"per anchor a and term T: p_T(b|a) = exp(s_ab/tau) / sum over den_T of "
               f"exp(s_ac/tau), den_sup = {dens['sup']}, den_self = {dens['self']}\n"
               f"L = ({w_sup}) * mean over {types(spec.sup)} positives of -log p_sup(b|a)\n"
               f"  + ({w_self}) * mean over {types(spec.self_)} positives of -log "
               f"p_self(b|a)\nmeans: {how}")
    else:
        out = (f"per anchor a: p(b|a) = exp(s_ab/tau) / sum over {types(spec.denominator)} of "
               "exp(s_ac/tau)\n"
               f"L = ({w_sup}) * mean over {types(spec.sup)} positives of -log p(b|a)\n"
               f"  + ({w_self}) * mean over {types(spec.self_)} positives of -log p(b|a)\n"
               f"means: {how}")
    if spec.decoupled:
        out += "\ndecoupled: positives outside the denominator enter only as -s_ab/tau"
    for place, t, w in spec.pair_weights:
        where = ("in the denominator: exp(s_ac/tau) times" if place == "denominator" else
                 f"in the {place.split('.')[1]} term's denominator: exp(s_ac/tau) times"
                 if place.startswith("denominator.") else
                 f"among the {place} positives: the mean weights -log p(b|a) by")
        out += f"\npair weight: {t} pairs {where} {w}"
    if spec.hard_negatives:
        out += (f"\nhard negatives: each term's negatives (its denominator's non-positives) "
                f"weighted by exp({spec.hard_negatives} s_an/tau), normalised to mean 1")
    for t, ratio in spec.temperatures:
        out += (f"\ntemperature: {t} pairs at tau_{t} = {ratio} tau (every s_ab/tau of such a "
                f"pair reads s_ab/({ratio} tau))")
    return out
