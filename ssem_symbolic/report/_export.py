"""Formula sheets: every result of the derivation for one loss convention, as LaTeX, Markdown,
standalone Python (``math`` only) or JSON (SymPy ``srepr``, which round-trips exactly).

The sheet holds the reduced loss f(beta), f'(beta), the beta* equation, alpha_c(tau) (also in
r = exp(-m/((m-1) tau))), tau_c(alpha) and its domain, the SSEM variances and the limits of
alpha_c. Symbols: m classes, k instances per class, p views, alpha, tau, beta.

>>> sheet = formula_sheet("paper")
>>> sheet["alpha_c_tau0"], sheet["alpha_c_tauinf"]
(1/k, 1)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from ..ssem import derive
from ..forms import r
from ..ssem import vertex_multipliers
from ..setting import ssem_variances
from ..spec import LossSpec, alpha, get_spec
from ..setting import takes_convention

#: (key, title) in the order the sheet shows them
ITEMS = (
    ("reduced_loss", "Reduced loss f(beta) on SSEM"),
    ("dloss", "Its derivative f'(beta)"),
    ("beta_star_equation", "beta*: 1 if alpha <= alpha_c(tau), else the root in (0, 1) of"),
    ("alpha_c", "Collapse threshold: collapse (beta* = 1) iff alpha <= alpha_c(tau)"),
    ("alpha_c_r", "alpha_c as a function of r"),
    ("r", "where"),
    ("tau_c", "Its inverse: collapse iff tau >= tau_c(alpha), "
              "for alpha_c(0+) < alpha < alpha_c(oo)"),
    ("alpha_c_tau0", "lim alpha_c as tau -> 0+ "
                     "(alpha at or below it: every tau collapses, tau_c = 0)"),
    ("alpha_c_tauinf", "lim alpha_c as tau -> oo (alpha at or above it: no tau collapses)"),
    ("within_class_variance", "Within-class variance on SSEM"),
    ("between_class_variance", "Between-class variance on SSEM"),
    ("mu_view", "Global optimum: class collapse (v = c = 1, centroid 0) is optimal iff the "
                "three KKT multipliers at that vertex are >= 0 (p >= 2); the view one"),
    ("mu_within", "the within-class one (it vanishes at alpha_c)"),
    ("mu_all_ones", "the all-ones (zero centroid) one"),
)

#: the sigmoid form's sheet: tau_c has no closed form there (two exponentials of 1/tau), and
#: which side of alpha_c collapses is the sign of B
SIGMOID_ITEMS = (
    ("reduced_loss", "Reduced loss f(beta) on SSEM (sigma the logistic function)"),
    ("dloss", "Its derivative f'(beta)"),
    ("beta_star_equation", "beta*: 1 if the batch collapses (tau f'(1) <= 0: f is convex), else "
                           "the root in (0, 1) of"),
    ("collapse_slope", "tau f'(1) = A + alpha B: the batch collapses iff it is <= 0"),
    ("alpha_c", "Collapse threshold alpha_c(tau) = -A/B: collapse iff alpha <= alpha_c where "
                "B > 0, iff alpha >= alpha_c where B < 0"),
    ("alpha_coefficient", "B, the coefficient of alpha in tau f'(1)"),
    ("within_class_variance", "Within-class variance on SSEM"),
    ("between_class_variance", "Between-class variance on SSEM"),
)


def items(spec: LossSpec) -> tuple[tuple[str, str], ...]:
    """(key, title) of the sheet of ``spec``'s form."""
    return SHEETS[spec.form].items


def _sigmoid_sheet(spec: LossSpec) -> dict[str, sp.Expr]:
    from ..forms import sigmoid
    from ..spec import tau

    var = ssem_variances()
    dloss = sigmoid.slope(spec, smooth=True) / tau
    A, B = sigmoid.slope_parts(spec, smooth=True)
    return {"reduced_loss": sigmoid.reduced(spec, smooth=True), "dloss": dloss,
            "beta_star_equation": sp.Eq(dloss, 0), "collapse_slope": A + alpha * B,
            "alpha_c": -A / B, "alpha_coefficient": B,
            "within_class_variance": var["within"], "between_class_variance": var["between"]}


@takes_convention
def formula_sheet(convention: str | LossSpec) -> dict[str, sp.Expr]:
    """The sheet's expressions, exact (no floats), keyed as in :func:`items` (the sigmoid
    form's are written in the logistic function sigma and softplus)."""
    spec = get_spec(convention)
    return SHEETS[spec.form].build(spec)


def _softmax_sheet(spec: LossSpec) -> dict[str, sp.Expr]:
    d = derive(spec)
    var = ssem_variances()
    mus = vertex_multipliers(spec)
    tau = next(s for s in d.alpha_c.free_symbols if s.name == "tau")
    m = next(s for s in d.alpha_c.free_symbols if s.name == "m")
    return {
        "reduced_loss": d.loss,
        "dloss": d.dloss,
        "beta_star_equation": sp.Eq(d.dloss, 0),
        "alpha_c": d.alpha_c,
        "alpha_c_r": d.alpha_c_r,
        "r": sp.Eq(r, sp.exp(-m / ((m - 1) * tau))),
        "tau_c": d.tau_c,
        "alpha_c_tau0": d.alpha_c_tau0,
        "alpha_c_tauinf": d.alpha_c_tauinf,
        "within_class_variance": var["within"],
        "between_class_variance": var["between"],
        "mu_view": mus["view"],
        "mu_within": mus["within-class"],
        "mu_all_ones": mus["all-ones"],
    }


def _header(loss: str) -> str:
    spec = get_spec(loss)
    text = (f"SSEM formula sheet, loss convention '{spec.name}': {spec.description}. "
            "Symbols: m classes, k instances per class, p views, alpha (weight of the "
            "self-supervised term), tau (temperature), beta (SSEM parameter).")
    return text + SHEETS[spec.form].note(spec)


#: LaTeX titles: every symbol in math mode (text-mode < and > print as inverted marks)
_LATEX_TITLES = {
    "reduced_loss": r"Reduced loss $f(\beta)$ on SSEM",
    "dloss": r"Its derivative $f'(\beta)$",
    "beta_star_equation": r"$\beta^*$: $1$ if $\alpha \le \alpha_c(\tau)$, else the root in "
                          r"$(0, 1)$ of",
    "alpha_c": r"Collapse threshold: collapse ($\beta^* = 1$) iff $\alpha \le \alpha_c(\tau)$",
    "alpha_c_r": r"$\alpha_c$ as a function of $r$",
    "r": "where",
    "tau_c": r"Its inverse: collapse iff $\tau \ge \tau_c(\alpha)$, for "
             r"$\alpha_c(0^+) < \alpha < \alpha_c(\infty)$",
    "alpha_c_tau0": r"$\lim_{\tau \to 0^+} \alpha_c$ (for $\alpha$ at or below it every $\tau$ "
                    r"collapses: $\tau_c = 0$)",
    "alpha_c_tauinf": r"$\lim_{\tau \to \infty} \alpha_c$ (for $\alpha$ at or above it no "
                      r"$\tau$ collapses)",
    "within_class_variance": "Within-class variance on SSEM",
    "between_class_variance": "Between-class variance on SSEM",
    "mu_view": r"Global optimum: class collapse ($v = c = 1$, centroid $0$) is optimal iff "
               r"the three KKT multipliers at that vertex are $\ge 0$ ($p \ge 2$); the view "
               "one",
    "mu_within": r"the within-class one (it vanishes at $\alpha_c$)",
    "mu_all_ones": "the all-ones (zero centroid) one",
    "collapse_slope": r"$\tau f'(1) = A + \alpha B$: the batch collapses iff it is $\le 0$",
    "alpha_coefficient": r"$B$, the coefficient of $\alpha$ in $\tau f'(1)$",
}
_SIGMOID_LATEX_TITLES = {
    "reduced_loss": r"Reduced loss $f(\beta)$ on SSEM ($\sigma$ the logistic function)",
    "beta_star_equation": r"$\beta^*$: $1$ if the batch collapses ($\tau f'(1) \le 0$: $f$ is "
                          r"convex), else the root in $(0, 1)$ of",
    "alpha_c": r"Collapse threshold $\alpha_c(\tau) = -A/B$: collapse iff $\alpha \le "
               r"\alpha_c$ where $B > 0$, iff $\alpha \ge \alpha_c$ where $B < 0$",
}

#: a formula longer than this (characters of LaTeX) is broken at its top-level + and -
_BREAK_AT = 110

# \fiteq{...}: the formula at its natural size, or scaled down to the line width if wider
_FITEQ = r"""\newsavebox{\ssemeqbox}
\newcommand{\fiteq}[1]{\sbox{\ssemeqbox}{$\displaystyle #1$}%
  \ifdim\wd\ssemeqbox>0.92\linewidth\resizebox{0.92\linewidth}{!}{\usebox{\ssemeqbox}}%
  \else\usebox{\ssemeqbox}\fi}"""


@takes_convention
def to_latex(convention: str) -> str:
    """A standalone LaTeX document (amsmath, graphicx): symbols in math mode, long formulas
    broken at their top-level sums, and any line still wider than the text scaled to fit."""
    spec = get_spec(convention)
    sheet = formula_sheet(convention)
    lines = [r"\documentclass{article}", r"\usepackage{amsmath}",
             r"\usepackage{graphicx}", _FITEQ, r"\begin{document}",
             r"\section*{SSEM formula sheet: \texttt{" + _latex_text(spec.name) + "}}",
             _latex_text(spec.description.capitalize() or spec.name) + ".",
             r"Symbols: $m$ classes, $k$ instances per class, $p$ views, $\alpha$ (weight of "
             r"the self-supervised term), $\tau$ (temperature), $\beta$ (SSEM parameter).", ""]
    titles = _LATEX_TITLES | SHEETS[spec.form].latex_titles
    for key, _ in items(spec):
        lines += [titles[key] + ":", *_latex_display(key, sheet[key]), ""]
    lines.append(r"\end{document}")
    return "\n".join(lines) + "\n"


def _latex_display(key: str, expr: sp.Expr) -> list[str]:
    """``lhs = expr`` as a display; broken over lines at top-level terms when long."""
    if isinstance(expr, sp.Eq):
        lhs, rhs = sp.latex(expr.lhs) + " = ", expr.rhs
        if rhs == 0 and isinstance(expr.lhs, sp.Add):
            lhs, rhs = "0 = ", expr.lhs
    else:
        lhs, rhs = _latex_lhs(key), expr
    terms = sp.Add.make_args(rhs) if isinstance(rhs, sp.Add) else (rhs,)
    if len(sp.latex(rhs)) <= _BREAK_AT or len(terms) == 1:
        return [r"\[", r"\fiteq{" + lhs + sp.latex(rhs) + "}", r"\]"]
    rows = []
    for i, term in enumerate(sorted(terms, key=sp.default_sort_key)):
        body = sp.latex(term)
        if i and not body.startswith("-"):
            body = "+ " + body
        rows.append((lhs if i == 0 else "") + r" &\fiteq{" + body + "}")
    return [r"\begin{align*}", (r" \\" + "\n").join(rows), r"\end{align*}"]


def _latex_lhs(key: str) -> str:
    return {"reduced_loss": r"f(\beta) = ", "dloss": r"f'(\beta) = ",
            "alpha_c": r"\alpha_c(\tau) = ", "alpha_c_r": r"\alpha_c = ",
            "tau_c": r"\tau_c(\alpha) = ", "alpha_c_tau0": r"\lim_{\tau \to 0^+} \alpha_c = ",
            "alpha_c_tauinf": r"\lim_{\tau \to \infty} \alpha_c = ",
            "within_class_variance": r"\mathrm{Var}_{\mathrm{within}} = ",
            "between_class_variance": r"\mathrm{Var}_{\mathrm{between}} = ",
            "mu_view": r"\mu_{\mathrm{view}} = ", "mu_within": r"\mu_{\mathrm{within}} = ",
            "mu_all_ones": r"\mu_{\mathrm{all\text{-}ones}} = ",
            "collapse_slope": r"\tau f'(1) = ", "alpha_coefficient": "B = "}[key]


def _latex_text(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("&", r"\&"), ("%", r"\%"),
                 ("#", r"\#"), ("{", r"\{"), ("}", r"\}"), ("^", r"\^{}"), ("$", r"\$"),
                 ("<", r"$<$"), (">", r"$>$")):
        text = text.replace(a, b)
    return text


@takes_convention
def to_markdown(convention: str) -> str:
    sheet = formula_sheet(convention)
    lines = [f"# SSEM formula sheet: `{get_spec(convention).name}`", "", _header(convention), ""]
    for key, title in items(get_spec(convention)):
        body = sp.latex(sheet[key]) if key in ("r", "beta_star_equation") else (
            _latex_lhs(key) + sp.latex(sheet[key]))
        lines += [f"**{title}:**", "", "$$", body, "$$", ""]
    return "\n".join(lines)


@takes_convention
def to_json(convention: str) -> str:
    """srepr of each expression: ``sympify(text)`` gives back the identical expression (the
    sigmoid form's sigma and softplus written out in exponentials, which plain SymPy reads)."""
    spec = get_spec(convention)
    sheet = formula_sheet(spec)
    return json.dumps({"loss": spec.name, "header": _header(convention),
                       "symbols": "m, k, p: positive integers; alpha: nonnegative; tau: "
                                  "positive; beta, r: see titles",
                       "titles": dict(items(spec)),
                       "expressions": {key: sp.srepr(SHEETS[spec.form].readable(val))
                                       for key, val in sheet.items()}},
                      indent=1) + "\n"


def _in_docstring(text: str) -> str:
    """``text`` safe inside a triple-quoted docstring: backslashes and quotes escaped (a spec
    name may hold three double quotes)."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


@takes_convention
def to_python(convention: str) -> str:
    """A module that needs nothing but ``math``: f, f', alpha_c, tau_c, beta_star, variances.

    f and f' use the log-sum-exp shift (no overflow); beta_star bisects the increasing f'
    in double precision (accurate to ~1e-12 for tau >= 1e-2; at smaller tau f' can
    underflow near alpha = 1: use ``ssem_symbolic.optimal_beta`` there).
    """
    spec = get_spec(convention)
    return SHEETS[spec.form].python(spec)


def _softmax_python(spec: LossSpec) -> str:
    d = derive(spec)
    from ..grid import stabilise  # torch-free at import: the sheet's kernel helper

    f, f1 = stabilise((d.loss, d.dloss))

    def code(expr):
        return sp.pycode(expr, fully_qualified_modules=True)
    return f'''"""{_in_docstring(_header(spec))}

Generated by `ssem export --format python` from the exact derivation; needs only `math`.
beta_star bisects the increasing f' in double precision (about 1e-12 for tau >= 1e-2).
"""

import math


def loss(beta, alpha, tau, m, k, p):
    """f(beta): the loss of the SSEM batch at beta (stable log-sum-exp)."""
    return {code(f)}


def dloss(beta, alpha, tau, m, k, p):
    """f'(beta), increasing in beta (f is convex)."""
    return {code(f1)}


def alpha_c(tau, m, k, p):
    """Collapse (beta* = 1) iff alpha <= alpha_c(tau)."""
    return {code(d.alpha_c)}


{_tau_c_code(d, code)}


{_beta_star_code("alpha <= alpha_c(tau, m, k, p)")}'''


def _sigmoid_python(spec: LossSpec) -> str:
    """The sigmoid form's module: softplus and sigma written stably with ``math``; tau_c by the
    log-tau scan and bisection of :mod:`~ssem_symbolic.forms` (no closed form)."""
    from ..forms import sigmoid

    sheet = _sigmoid_sheet(spec)

    def code(expr):
        return sp.pycode(expr, fully_qualified_modules=True)
    return f'''"""{_in_docstring(_header(spec))}

Generated by `ssem export --format python` from the exact derivation; needs only `math`.
beta_star bisects the increasing f' in double precision (about 1e-12 for tau in [1e-3, 1e3]);
tau_c scans {sigmoid.SCAN} points of log tau over \
[{sigmoid.TAU_SCAN[0]}, {sigmoid.TAU_SCAN[1]}] and bisects the sign change.
"""

import math


def softplus(x):
    """log(1 + e^x), without overflow."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def logistic(x):
    """sigma(x) = 1 / (1 + e^-x), without overflow."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def loss(beta, alpha, tau, m, k, p):
    """f(beta): the loss of the SSEM batch at beta."""
    return {code(sheet["reduced_loss"])}


def dloss(beta, alpha, tau, m, k, p):
    """f'(beta), increasing in beta (f is convex)."""
    return {code(sheet["dloss"])}


def collapse_slope(alpha, tau, m, k, p):
    """tau f'(1): the batch collapses iff it is <= 0."""
    return {code(sheet["collapse_slope"])}


def alpha_c(tau, m, k, p):
    """-A/B: collapse iff alpha <= alpha_c where B > 0, iff alpha >= alpha_c where B < 0."""
    return {code(sheet["alpha_c"])}


def collapses(alpha, tau, m, k, p):
    return collapse_slope(alpha, tau, m, k, p) <= 0


{_scan_tau_c_code()}

{_beta_star_code("collapses(alpha, tau, m, k, p)")}'''


def _scan_tau_c_code() -> str:
    """tau_c of an exported module without a closed form (the sigmoid form; a quadratic N):
    the module's ``collapses`` on the log-tau scan of :mod:`~ssem_symbolic.forms`, then
    bisection; an interval of tau raises."""
    from ..forms import sigmoid

    lo, hi = sigmoid.TAU_SCAN
    return f'''def tau_c(alpha, m, k, p):
    """(tau_c, side): collapse iff tau >= tau_c ("tau>=") or tau <= tau_c ("tau<=");
    (0.0, "always"), (math.inf, "never"); ValueError where the collapse changes more than once
    along tau (an interval). A scan of {sigmoid.SCAN} points of log tau over [{lo}, {hi}], then
    bisection."""
    lo, hi = math.log({lo}), math.log({hi})
    grid = [math.exp(lo + (hi - lo) * i / {sigmoid.SCAN - 1}) for i in range({sigmoid.SCAN})]
    flags = [collapses(alpha, t, m, k, p) for t in grid]
    changes = [i for i in range(len(grid) - 1) if flags[i] != flags[i + 1]]
    if not changes:
        return (0.0, "always") if flags[0] else (math.inf, "never")
    if len(changes) > 1:
        raise ValueError("the collapse changes more than once along tau at this alpha")
    a, b = grid[changes[0]], grid[changes[0] + 1]
    for _ in range(200):
        mid = math.sqrt(a * b)
        if mid in (a, b):
            break
        a, b = (mid, b) if collapses(alpha, mid, m, k, p) == flags[changes[0]] else (a, mid)
    return math.sqrt(a * b), ("tau>=" if flags[-1] else "tau<=")
'''


def _beta_star_code(collapsed: str) -> str:
    """beta_star (1 where ``collapsed``, else the bisected root of the increasing f') and the
    variances, for an exported module."""
    return f'''def beta_star(alpha, tau, m, k, p):
    """The optimal SSEM parameter: between-class variance; within-class is 1 - beta_star."""
    if {collapsed}:
        return 1.0
    lo, hi = 0.0, 1.0
    if dloss(lo, alpha, tau, m, k, p) >= 0:
        return 0.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if dloss(mid, alpha, tau, m, k, p) > 0:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-15:
            break
    return (lo + hi) / 2


def within_class_variance(alpha, tau, m, k, p):
    return 1.0 - beta_star(alpha, tau, m, k, p)


def between_class_variance(alpha, tau, m, k, p):
    return beta_star(alpha, tau, m, k, p)
'''


def _tau_c_code(d, code) -> str:
    """The exported tau_c: the closed form where N(r) is affine in r; where it is quadratic
    (a denominator per term, both holding other classes), the scan of the sigmoid form's
    module on the sign of N, which refuses an interval of tau."""
    from ..forms import r as r_sym
    from ..spec import m, tau

    if not isinstance(d.tau_c, sp.Tuple):
        return f'''def tau_c(alpha, m, k, p):
    """Collapse iff tau >= tau_c(alpha); 0.0 when every tau collapses, math.inf when none."""
    if alpha <= {code(d.alpha_c_tau0)}:
        return 0.0
    if alpha >= {code(d.alpha_c_tauinf)}:
        return math.inf
    return {code(d.tau_c)}
'''
    margin = d.collapse_r.subs(r_sym, sp.exp(-m / ((m - 1) * tau)))
    return f'''def collapses(alpha, tau, m, k, p):
    """N(exp(-m/((m-1) tau))) <= 0: a positive multiple of f'(1)."""
    return {code(margin)} <= 0


{_scan_tau_c_code()}'''


FORMATS = {"latex": to_latex, "markdown": to_markdown, "python": to_python, "json": to_json}


@dataclass(frozen=True)
class Sheet:
    """A loss form's formula sheet: its items (key, title), their expressions, a sentence for
    the header, extra LaTeX titles, how an expression is written so that plain SymPy reads it
    back (``sympify``), and the stand-alone Python module."""

    items: tuple
    build: Callable[[LossSpec], dict]
    note: Callable[[LossSpec], str]
    latex_titles: dict
    readable: Callable[[sp.Expr], sp.Expr]
    python: Callable[[LossSpec], str]


#: one sheet per loss form (a new form adds its entry here)
SHEETS = {
    "softmax": Sheet(ITEMS, _softmax_sheet, lambda spec: "", {}, lambda e: e, _softmax_python),
    "sigmoid": Sheet(SIGMOID_ITEMS, _sigmoid_sheet,
                     lambda spec: (f" The pairwise sigmoid form, bias b = {spec.bias}; "
                                   "tau_c(alpha) has no closed form here (`ssem threshold "
                                   "--alpha` finds it)."),
                     _SIGMOID_LATEX_TITLES, lambda e: e.rewrite(sp.exp), _sigmoid_python),
}


@takes_convention
def export(convention: str | LossSpec, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    return FORMATS[fmt](convention)
