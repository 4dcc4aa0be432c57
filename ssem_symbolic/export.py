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

import sympy as sp

from .codegen import stabilise
from .derive import derive, r
from .faces import vertex_multipliers
from .model import ssem_variances
from .spec import takes_convention, LossSpec, get_spec

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


@takes_convention
def formula_sheet(convention: str | LossSpec) -> dict[str, sp.Expr]:
    """The sheet's expressions, exact (no floats), keyed as in :data:`ITEMS`."""
    d = derive(get_spec(convention))
    var = ssem_variances()
    mus = vertex_multipliers(get_spec(convention))
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
    return (f"SSEM formula sheet, loss convention '{spec.name}': {spec.description}. "
            "Symbols: m classes, k instances per class, p views, alpha (weight of the "
            "self-supervised term), tau (temperature), beta (SSEM parameter).")


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
    for key, _ in ITEMS:
        lines += [_LATEX_TITLES[key] + ":", *_latex_display(key, sheet[key]), ""]
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
            "mu_all_ones": r"\mu_{\mathrm{all\text{-}ones}} = "}[key]


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
    for key, title in ITEMS:
        body = sp.latex(sheet[key]) if key in ("r", "beta_star_equation") else (
            _latex_lhs(key) + sp.latex(sheet[key]))
        lines += [f"**{title}:**", "", "$$", body, "$$", ""]
    return "\n".join(lines)


@takes_convention
def to_json(convention: str) -> str:
    """srepr of each expression: ``sympify(text)`` gives back the identical expression."""
    sheet = formula_sheet(convention)
    return json.dumps({"loss": get_spec(convention).name, "header": _header(convention),
                       "symbols": "m, k, p: positive integers; alpha: nonnegative; tau: "
                                  "positive; beta, r: see titles",
                       "titles": dict(ITEMS),
                       "expressions": {key: sp.srepr(val) for key, val in sheet.items()}},
                      indent=1) + "\n"


@takes_convention
def to_python(convention: str) -> str:
    """A module that needs nothing but ``math``: f, f', alpha_c, tau_c, beta_star, variances.

    f and f' use the log-sum-exp shift (no overflow); beta_star bisects the increasing f'
    in double precision (accurate to ~1e-12 for tau >= 1e-2; at smaller tau f' can
    underflow near alpha = 1: use ``ssem_symbolic.optimal_beta`` there).
    """
    d = derive(get_spec(convention))
    f, f1 = stabilise((d.loss, d.dloss))
    lo, hi = d.alpha_c_tau0, d.alpha_c_tauinf

    def code(expr):
        return sp.pycode(expr, fully_qualified_modules=True)
    return f'''"""{_header(convention)}

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


def tau_c(alpha, m, k, p):
    """Collapse iff tau >= tau_c(alpha); 0.0 when every tau collapses, math.inf when none."""
    if alpha <= {code(lo)}:
        return 0.0
    if alpha >= {code(hi)}:
        return math.inf
    return {code(d.tau_c)}


def beta_star(alpha, tau, m, k, p):
    """The optimal SSEM parameter: between-class variance; within-class is 1 - beta_star."""
    if alpha <= alpha_c(tau, m, k, p):
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


FORMATS = {"latex": to_latex, "markdown": to_markdown, "python": to_python, "json": to_json}


@takes_convention
def export(convention: str | LossSpec, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    return FORMATS[fmt](convention)
