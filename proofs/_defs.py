"""The definitions the proofs start from, written from docs/conventions.md and docs/theory.md alone.

Nothing here comes from ``ssem_symbolic``; the proofs compare the engine against these.
"""

from __future__ import annotations

import itertools

import sympy as sp

m, k, p = sp.symbols("m k p", positive=True, integer=True)
alpha = sp.Symbol("alpha", nonnegative=True)
tau = sp.Symbol("tau", positive=True)
beta = sp.Symbol("beta", real=True)
v, c, o = sp.symbols("v c o", real=True)
TYPES = ("self", "view", "class", "other")

#: docs/conventions.md, per anchor: denominator types, positives of each term, how means are taken
CONVENTIONS = {
    "paper": dict(den=TYPES, sup=("class",), self=("self", "view"), mean="pairs"),
    "supcon": dict(den=("view", "class", "other"), sup=("view", "class"), self=("view",),
                   mean="anchors"),
    "supcon-split": dict(den=("view", "class", "other"), sup=("class",), self=("view",),
                         mean="anchors"),
}


def embeddings(m_: int, k_: int, p_: int) -> list[tuple[int, int, int]]:
    """The M = m k p embeddings as (class, instance, view)."""
    return list(itertools.product(range(m_), range(k_), range(p_)))


def pair_type(a: tuple, b: tuple) -> str:
    if a == b:
        return "self"
    if a[:2] == b[:2]:
        return "view"
    if a[0] == b[0]:
        return "class"
    return "other"


def counts_general() -> dict[str, sp.Expr]:
    """Per anchor, the number of embeddings of each pair type (counted in the proof)."""
    return {"self": sp.Integer(1), "view": p - 1, "class": (k - 1) * p, "other": (m - 1) * k * p}


def simplex(n: int) -> list[sp.Matrix]:
    """n unit vectors in R^n with pairwise dot -1/(n-1): e_i - centroid, normalised."""
    vecs = []
    for i in range(n):
        e = sp.Matrix([sp.Integer(1) if j == i else 0 for j in range(n)]) - sp.ones(n, 1) / n
        vecs.append(e / sp.sqrt(sp.Rational(n - 1, n)))
    return vecs


def ssem_vectors(m_: int, k_: int) -> list[sp.Matrix]:
    """z_{c,j} = sqrt(beta) mu_c + sqrt(1 - beta) w_{c,j}, block coordinates (docs/theory.md, SSEM):
    mu in the first m coordinates, class c's w in its own block of k coordinates."""
    mus, ws = simplex(m_), simplex(k_)
    dim = m_ + m_ * k_
    out = []
    for cls in range(m_):
        for j in range(k_):
            z = sp.zeros(dim, 1)
            z[:m_, 0] = sp.sqrt(beta) * mus[cls]
            z[m_ + cls * k_: m_ + (cls + 1) * k_, 0] = sp.sqrt(1 - beta) * ws[j]
            out.append(z)
    return out


def x_of(b):
    return (k * b - 1) / (k - 1)


def y_of(b):
    return -b / (m - 1)


def phi(name: str) -> sp.Expr:
    """The loss of a Gram matrix with one value per pair type (self 1, view v, class c,
    other o), per anchor, from the pair counts: log sum_den n_t e^{g_t/tau} minus the
    weighted positive means over tau (every anchor sees the same counts, so both mean
    conventions give this)."""
    conv = CONVENTIONS[name]
    n = counts_general()
    g = {"self": sp.Integer(1), "view": v, "class": c, "other": o}
    den = sum(n[t] * sp.exp(g[t] / tau) for t in conv["den"])

    def mean(types):
        return sum(n[t] * g[t] for t in types) / sum(n[t] for t in types)
    return sp.log(den) - ((1 - alpha) * mean(conv["sup"]) + alpha * mean(conv["self"])) / tau


def on_ssem(expr: sp.Expr, b=beta) -> sp.Expr:
    return expr.subs({v: 1, c: x_of(b), o: y_of(b)})


def same_rational_function(lhs: sp.Expr, rhs: sp.Expr) -> bool:
    """lhs == rhs as rational functions once every exp(...) and log(...) atom is a symbol."""
    atoms = (lhs.atoms(sp.exp) | rhs.atoms(sp.exp) | lhs.atoms(sp.log) | rhs.atoms(sp.log))
    names = {a: sp.Dummy(positive=True) for a in atoms}
    return sp.cancel(sp.together((lhs - rhs).xreplace(names))) == 0


def engine_symbols(expr: sp.Expr) -> sp.Expr:
    """Map the engine's symbols (same names, possibly other assumptions) onto ours."""
    ours = {s.name: s for s in (m, k, p, alpha, tau, beta, v, c, o)}
    return expr.xreplace({s: ours[s.name] for s in expr.free_symbols if s.name in ours})


def positive_polynomial(expr: sp.Expr, shifts: dict) -> bool:
    """True if the numerator and denominator of expr, after substituting each symbol by
    (lower bound + a fresh positive symbol), are polynomials with nonnegative coefficients
    (not both zero): then expr > 0 on the whole range. ``shifts``: {symbol: lower bound}."""
    fresh = {s: lo + sp.Dummy(positive=True) for s, lo in shifts.items()}
    num, den = sp.fraction(sp.cancel(sp.together(expr.subs(fresh))))
    gens = [d for d in fresh.values() for d in d.free_symbols]

    def nonneg(poly_expr):
        poly = sp.Poly(sp.expand(poly_expr), *gens)
        coeffs = poly.coeffs()
        return all(co.is_number and co >= 0 for co in coeffs) and any(co > 0 for co in coeffs)
    if num.could_extract_minus_sign() and den.could_extract_minus_sign():
        num, den = -num, -den
    return (nonneg(num) and nonneg(den)) or (nonneg(-num) and nonneg(-den))


def canon(expr: sp.Expr) -> sp.Expr:
    """Every exp/log argument put in the canonical form of a rational function (cancel), so
    that equal exponentials written differently become the same atom."""
    return expr.replace(lambda e: isinstance(e, (sp.exp, sp.log)),
                        lambda e: e.func(sp.cancel(sp.together(e.args[0]))))


def same(lhs: sp.Expr, rhs: sp.Expr) -> bool:
    """lhs == rhs: canonical exp/log arguments, then a rational-function identity in them."""
    return same_rational_function(canon(sp.expand_log(lhs, force=False)),
                                  canon(sp.expand_log(rhs, force=False)))


def split_log(f: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """f = log(D) + R with one log: (D, R)."""
    logs = [t for t in sp.Add.make_args(f) if isinstance(t, sp.log)]
    if len(logs) != 1:
        raise ValueError("expected exactly one log term")
    return logs[0].args[0], f - logs[0]


def reduced_loss(name: str) -> sp.Expr:
    """The proof's own f(beta): phi on SSEM."""
    return on_ssem(phi(name))


def equal_in_tau(lhs: sp.Expr, rhs: sp.Expr) -> bool:
    """lhs == rhs exactly, for expressions whose only symbol is tau and whose exponentials are
    e^(a/tau) with rational a: with L the lcm of the denominators of the a's, every e^(a/tau)
    is U^(a L) for U = e^(1/(L tau)); exp(lhs - rhs) is then a rational function of U, and the
    identity is decided by cancel."""
    diff = sp.expand_log(lhs - rhs, force=True)
    if diff.free_symbols - {tau}:
        raise ValueError("equal_in_tau needs m, k, p (and alpha, beta) substituted")
    ratio = sp.exp(diff)
    coeffs = set()
    for _ in range(3):
        ratio = sp.powsimp(sp.expand(ratio), force=True)
    for e in ratio.atoms(sp.exp):
        a = sp.nsimplify(sp.cancel(e.args[0] * tau))
        if not a.is_Rational:
            return False
        coeffs.add(a)
    lcm = sp.ilcm(*[a.q for a in coeffs]) if coeffs else 1
    u = sp.Dummy(positive=True)
    powered = ratio.replace(lambda e: isinstance(e, sp.exp),
                            lambda e: u ** (sp.nsimplify(sp.cancel(e.args[0] * tau)) * lcm))
    return sp.cancel(sp.together(powered - 1)) == 0


BATCHES = [(m_, k_, p_) for m_ in (2, 3, 5) for k_ in (2, 3, 4) for p_ in (1, 2, 3)]
