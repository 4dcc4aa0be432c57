"""The practical guideline: the collapse threshold for a batch, the alpha (or tau) that gives a
target within-class variance, and the warnings a practitioner needs.

With tau fixed, the within-class variance 1 - beta*(alpha) is 0 up to alpha_c and increases
with alpha after it (proofs: monotone.*), so a target V has at most one alpha, found by
bisection. With alpha fixed it is not monotone in tau (it rises, then falls back towards
collapse as tau grows past the boundary), so a target V can have two temperatures or none;
all are reported.

>>> g = guide_balanced("paper", 3, 4, 2, tau=0.5, target_within=0.1)
>>> round(g["alpha_c"], 6), round(g["alpha"], 6)
(0.351877, 0.429446)
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Mapping

import numpy as np
import mpmath
import sympy as sp

from ..infra import counted, progress
from ..vocab import exact
from ..ssem import alpha_c_limits, alpha_c_value, derive, optimal_beta, tau_c_value
from ..forms import form_of, r
from ..spec import UnsupportedConvention, check_setting, get_spec
from ..setting import Batch, Dataset, takes_convention
from ..spec import k as k_sym, m as m_sym, p as p_sym
from ..optimum import SHOWN_OFF_SSEM, established


class Guide(Mapping):
    """The guide's answer for a setting (:func:`~ssem_symbolic.report.guide`): its values,
    read as a mapping (``g["alpha"]``, ``g["alpha_c"]``; which keys depends on the setting and
    the question, as documented there), with ``findings`` and ``warnings`` as records (a
    ``kind`` and its numbers; the CLI renders them in words). ``as_dict()`` is the JSON shape,
    a copy."""

    def __init__(self, values: dict) -> None:
        self._values = values

    def __getitem__(self, key: str):
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Guide({self._values!r})"

    @property
    def findings(self) -> list:
        return list(self._values.get("findings", []))

    @property
    def warnings(self) -> list:
        return list(self._values.get("warnings", []))

    def as_dict(self) -> dict:
        return copy.deepcopy(self._values)

_TAU_SCAN = np.geomspace(1e-3, 100.0, 2001)


def _guide_applies(spec, m: int, k: int, p: int) -> bool:
    """The guide's searches assume collapse below alpha_c and alpha_c growing with tau. The
    softmax form: the side is proven for every batch, and alpha_c is a Moebius map of r whose
    slope has one sign, checked exactly here. The sigmoid form, and a softmax whose N(r) is
    quadratic (a denominator per term, both holding other classes): both are checked on the
    guide's tau scan in float64 (the generated kernels), not proven between its points."""
    if not form_of(spec).moebius(spec):  # no Moebius map of r: checked on the scan
        import torch

        from ..grid import kernels

        K, t = kernels(spec), torch.as_tensor(_TAU_SCAN)
        a_c = K.alpha_c(t, m, k, p)
        return bool((K.alpha_sides(t, m, k, p) > 0).all() and (a_c.diff() > 0).all())
    d = derive(spec)  # softmax with N affine in r: the slope's sign is one for all r
    slope = d.alpha_c_slope_r.subs({m_sym: m, k_sym: k, p_sym: p, r: sp.Rational(1, 2)})
    return int(d.alpha_side) == 1 and sp.Rational(slope) > 0


def balanced_batch(batch_size: int, num_classes: int) -> tuple[int, int]:
    """(m, k) for a batch of ``batch_size`` instances sampled evenly from ``num_classes``."""
    if num_classes < 2:
        raise ValueError(f"a batch needs at least 2 classes, got {num_classes}")
    if batch_size % num_classes:
        raise ValueError(f"a batch of {batch_size} is not a multiple of its {num_classes} classes: "
                         "balanced sampling needs k = B/C instances per class")
    return num_classes, batch_size // num_classes


def _within(loss, m, k, p, alpha, tau) -> float:
    return float(1 - optimal_beta(loss, m, k, p, alpha, tau))


@takes_convention
def alpha_for_within(convention, m, k, p, tau: float, target: float) -> float:
    """The alpha with 1 - beta*(alpha, tau) = target: bisection down to adjacent doubles,
    then a check that the answer does give the target (to 1e-6 relative). Where the variance
    jumps past the target between two adjacent doubles (at tiny tau it rises from O(tau) to
    its alpha = 1 value within an exponentially thin layer below alpha = 1), ValueError."""
    lo = float(alpha_c_value(convention, m, k, p, tau))
    lo = min(max(lo, 0.0), 1.0)
    top = _within(convention, m, k, p, 1.0, tau)
    if not 0 < target <= top:
        raise ValueError(f"a within-class variance of {target:g} is out of reach at tau = "
                         f"{tau:g}: it ranges over (0, {top:.6g}] for alpha in (alpha_c, 1]")
    hi = 1.0
    for _ in range(1100):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if _within(convention, m, k, p, mid, tau) < target:
            lo = mid
        else:
            hi = mid
    return _checked(target, [(lo, _within(convention, m, k, p, lo, tau)),
                             (hi, _within(convention, m, k, p, hi, tau))], "alpha", tau=tau)


def _checked(target: float, ends: list[tuple[float, float]], name: str, **where) -> float:
    """The end of a bisection bracket whose variance meets the target, or ValueError."""
    (x, w) = min(ends, key=lambda e: abs(e[1] - target))
    if abs(w - target) <= 1e-6 * target + 1e-12:
        return x
    (x0, w0), (x1, w1) = ends
    at = ", ".join(f"{key} = {val:g}" for key, val in where.items())
    raise ValueError(f"no {name} gives within-class variance {target:g} at {at}: it jumps from "
                     f"{w0:.4g} at {name} = {x0!r} to {w1:.4g} at {name} = {x1!r}, adjacent "
                     "doubles")


@takes_convention
def taus_for_within(convention, m, k, p, alpha: float, target: float) -> list[float]:
    """Every tau in [1e-3, 100] with 1 - beta*(alpha, tau) = target (scan, then bisection
    down to adjacent doubles, each answer checked as in :func:`alpha_for_within`)."""
    w = 1 - _beta_grid(convention, m, k, alpha, p)
    out = []
    for i in np.nonzero(np.diff(np.sign(w - target)) != 0)[0]:
        lo, hi = float(_TAU_SCAN[i]), float(_TAU_SCAN[i + 1])
        rising = w[i + 1] > w[i]
        for _ in range(200):
            mid = math.sqrt(lo * hi)
            if mid in (lo, hi):
                break
            if (_within(convention, m, k, p, alpha, mid) < target) == rising:
                lo = mid
            else:
                hi = mid
        out.append(_checked(target, [(lo, _within(convention, m, k, p, alpha, lo)),
                                     (hi, _within(convention, m, k, p, alpha, hi))], "tau",
                            alpha=alpha))
    return out


@takes_convention
def guide_balanced(convention: str, m: int, k: int, p: int = 2, *, tau: float | None = None,
          alpha: float | None = None, target_within: float | None = None) -> dict:
    """The guideline as a dict: ``alpha_c`` and ``alpha`` (tau given) or ``tau_c``,
    ``alpha_c`` and ``tau`` (alpha given), and as data (no words: the CLI says them)
    ``findings`` and ``warnings``, each a list of ``{"kind": ..., values}``.
    ``tau``, ``alpha`` and ``target_within`` are keywords, as in every function that takes
    one of tau and alpha."""
    spec = get_spec(convention)
    if (tau is None) == (alpha is None):
        raise ValueError("give exactly one of tau and alpha")
    check_setting(spec, m, k, p, alpha=alpha, tau=tau)
    if not _guide_applies(spec, m, k, p):
        raise UnsupportedConvention(
            f"ssem guide: {spec.name!r} does not collapse below an alpha_c that grows with tau "
            "(the shape the guide's search assumes); use ssem threshold and ssem optimum")
    if target_within is not None and not 0 <= target_within < 1:
        raise ValueError(f"the target within-class variance must lie in [0, 1), got "
                         f"{target_within}")
    lo, hi = alpha_c_limits(spec, m, k, p)
    out: dict = {"loss": spec.name, "batch": [m, k, p], "warnings": [], "findings": []}

    def warn(kind: str, **values) -> None:
        out["warnings"].append({"kind": kind, **values})

    def say(kind: str, **values) -> None:
        out["findings"].append({"kind": kind, **values})
    if lo > 0:
        warn("every_tau_collapses_below", alpha=str(lo))
    if not form_of(spec).moebius(spec):
        warn("checked_on_a_scan", tau_range=[1e-3, 100])
    if spec.key() in SHOWN_OFF_SSEM:
        warn("ssem_not_the_optimum_everywhere")
    elif not established(spec):
        warn("ssem_not_shown_the_optimum")
    if tau is not None:
        a_c = float(alpha_c_value(spec, m, k, p, tau))
        out["alpha_c"] = a_c
        say("collapse_below_alpha_c", tau=float(tau), alpha_c=a_c)
        if target_within:
            a = alpha_for_within(spec, m, k, p, tau, target_within)
            out["alpha"] = a
            say("alpha_for_target", alpha=a, target_within=float(target_within))
        elif target_within == 0:
            out["alpha"] = a_c
            say("zero_variance_below", alpha_c=a_c)
        _tau_warning(out, spec, m, k, p, out.get("alpha", a_c))
        return out
    t_c = tau_c_value(spec, m, k, p, alpha)
    none = mpmath.isinf(t_c)  # no temperature collapses
    out["tau_c"] = None if none else float(t_c)  # JSON null: no tau collapses
    if none:
        say("no_tau_collapses", alpha=float(alpha), limit=str(hi))
    elif t_c == 0:
        say("every_tau_collapses", alpha=float(alpha), limit=str(lo))
    else:
        say("collapse_above_tau_c", alpha=float(alpha), tau_c=float(t_c))
    if target_within == 0:  # zero variance: exactly the collapsed side, tau >= tau_c
        if none:
            raise ValueError(f"no tau gives within-class variance 0 at alpha = {alpha:g}: no "
                             f"temperature collapses the classes (alpha >= {hi})")
        out["tau"] = float(t_c)
        out["tau_solutions"] = [float(t_c)]
        say("zero_variance_above", tau_c=float(t_c))
    elif target_within is not None:
        taus = taus_for_within(spec, m, k, p, alpha, target_within)
        out["tau_solutions"] = taus
        if not taus:
            raise ValueError(f"no tau in [1e-3, 100] gives within-class variance "
                             f"{target_within:g} at alpha = {alpha:g}")
        out["tau"] = taus[0]
        out["alpha_c"] = float(alpha_c_value(spec, m, k, p, taus[0]))
        say("taus_for_target", taus=taus, target_within=float(target_within))
    _tau_warning(out, spec, m, k, p, alpha)
    return out


def _tau_warning(out, spec, m, k, p, alpha) -> None:
    if alpha is None:
        return
    w = 1 - _beta_grid(spec, m, k, float(alpha), p)
    peak = int(np.argmax(w))
    if 0 < peak < len(w) - 1 and w[peak] - min(w[0], w[-1]) > 1e-9:
        out["warnings"].append({"kind": "not_monotone_in_tau", "alpha": float(alpha),
                                "peak": float(w[peak]), "near_tau": float(_TAU_SCAN[peak])})


def guide_imbalanced(convention, sizes, p: int = 2, *, tau: float | None = None,
                     alpha: float | None = None, target_within: float | None = None) -> dict:
    """The guideline for unequal class sizes, from the imbalanced global optimum: per class,
    where along alpha (``tau`` given) or tau (``alpha`` given) it stops being collapsed; with
    ``target_within`` (``tau`` given), the alpha whose size-weighted within-class variance
    sum_c (k_c / sum k) w_c equals it (bisection to 1e-9 on the exact solver; the weighted
    variance is checked to grow with alpha on the way, and a ValueError says so if it does
    not)."""
    from ..optimum import TAU_RANGE, as_sizes, optimum, regimes

    spec = get_spec(convention)
    sizes = as_sizes(sizes)
    batch = Batch(sizes, p)
    if (tau is None) == (alpha is None):
        raise ValueError("give exactly one of tau and alpha")
    if target_within is not None and not 0 <= target_within < 1:
        raise ValueError(f"the target within-class variance must lie in [0, 1), got "
                         f"{target_within}")
    if target_within is not None and tau is None:
        raise ValueError("with unequal class sizes a target within-class variance is met along "
                         "alpha: give tau")
    out: dict = {"loss": spec.name, "class_sizes": list(sizes.sizes), "warnings": [],
                 "findings": []}

    def say(kind: str, **values) -> None:
        out["findings"].append({"kind": kind, **values})
    kw = {"tau": tau} if tau is not None else {"alpha": alpha,
                                               "tau_range": (TAU_RANGE[0], "100")}
    r = regimes(spec, batch, tol=1e-8, points=21, **kw)
    axis = r.axis
    out[f"{axis}_c_per_class"] = [r.threshold(i) for i in range(sizes.classes)]
    out["collapsed_at_range_ends_per_class"] = [list(e) for e in r.collapsed_at_ends]
    out[f"{axis}_range"] = [r.regimes[0]["from"], r.regimes[-1]["to"]]
    fixed = {"tau": float(tau)} if tau is not None else {"alpha": float(alpha)}
    say("per_class_along", axis=axis, fixed=fixed, views=p,
        span=[r.regimes[0]["from"], r.regimes[-1]["to"]])
    for i, size in enumerate(sizes.sizes):
        say("class_collapse", axis=axis, index=i, size=size,
            changes=list(r.collapse_changes[i]), collapsed_at_start=r.collapsed_at_ends[i][0])
    if target_within:
        def weighted(a) -> float:
            return optimum(spec, batch, a, tau).within_class_variance
        lo, hi = 0.0, 1.0
        if not weighted(lo) <= target_within <= weighted(hi):
            raise ValueError(f"no alpha in [0, 1] gives a size-weighted within-class variance "
                             f"of {target_within} at tau = {tau:g}")
        last = weighted(lo)
        while hi - lo > 1e-9:
            mid = (lo + hi) / 2
            w = weighted(f"{mid:.12f}")
            if w < last - 1e-9:
                raise ValueError("the size-weighted within-class variance is not monotone in "
                                 "alpha here; use ssem regimes and ssem optimum")
            lo, hi = (mid, hi) if w < target_within else (lo, mid)
        out["alpha"] = (lo + hi) / 2
        say("alpha_for_weighted_target", alpha=out["alpha"], target_within=float(target_within),
            fixed=fixed)
    return out


def _beta_grid(convention, m, k, alpha, p) -> np.ndarray:
    """beta* over the guide's tau scan (torch kernels, imported only here: the dataset-level
    guide answers without them)."""
    import torch

    from ..grid import optimal_beta_grid

    return optimal_beta_grid(convention, m, k, p, alpha, torch.as_tensor(_TAU_SCAN)).numpy()


#: the temperatures the uniform-sampler guide scans (the mixture solver's fast range)
UNIFORM_TAUS = ("0.05", "100")


def guide_uniform(convention, classes: int, instances: int | None, p: int, batch: int, *,
                  tau=None, alpha=None, target_within: float | None = None,
                  tol: float = 1e-6) -> dict:
    """The guide for batches of ``batch`` drawn uniformly from ``classes`` x ``instances``
    (an ordinary DataLoader): every answer is the dataset-level one of the uniform sampler
    (:mod:`~ssem_symbolic.optimum`), which training with it follows.

    * ``tau``: alpha_c (the dataset's classes collapse iff alpha <= alpha_c), to ``tol``;
    * ``alpha``: the tau at which the classes start or stop being collapsed in
      :data:`UNIFORM_TAUS`;
    * ``target_within`` with ``tau``: the alpha whose dataset-level within-class variance is
      the target; with ``alpha``: every such tau in :data:`UNIFORM_TAUS` (a scan of 17 points
      in log tau, then bisection, both to ``tol``; each answer checked to 1e-4 of the target).

    The tau range stops at 0.05: below it a point of the uniform mixture's solver takes tens
    of seconds. Each point is solved once (the scans and the reports share the solves).
    """
    from ..optimum import optimum, threshold
    from ..setting import mixture, uniform

    spec = get_spec(convention)
    sampler = uniform(batch)
    data = Dataset(classes, instances, p, sampler)
    if (tau is None) == (alpha is None):
        raise ValueError("give exactly one of tau and alpha")
    out: dict = {"loss": spec.name, "sampler": f"uniform:{batch}", "warnings": []}

    @functools.lru_cache(maxsize=None)
    def solve(a, t):
        return optimum(spec, data, a, t, max_digits=120)

    def within(a, t) -> float:
        return solve(a, t).within_class_variance

    if target_within is None and tau is not None:
        # beside it, the one-batch model at the nearest balanced batch (all C classes,
        # round(B/C) instances each), for comparison; None where no such batch exists
        k = round(batch / classes)
        weights = mixture(spec, classes, instances, p, batch)
        out["alpha_c"] = threshold(spec, data, tau=tau, tol=tol).alpha_c
        out["per_batch"] = None if k < 2 else {
            "batch": [classes, k], "alpha_c": float(alpha_c_value(spec, classes, k, p, tau))}
        return out | {"tau": float(exact(tau)), "expectation": weights.method,
                      "expectation_error": weights.error}
    grid = [float(UNIFORM_TAUS[0]) * (float(UNIFORM_TAUS[1]) / float(UNIFORM_TAUS[0]))
            ** (i / 16) for i in range(17)]
    if target_within is None:
        def collapsed(t) -> float:  # +1 collapsed, -1 not: a root where it changes
            return 1.0 if solve(alpha, t).collapsed else -1.0
        signs = [collapsed(t) for t in (grid[0], grid[-1])]
        roots = _bisect_roots(collapsed, grid, tol, log=True, check=False)
        return out | {"alpha": float(exact(alpha)), "tau_c": roots,
                      "collapsed_at_range_ends": [s > 0 for s in signs],
                      "tau_range": [grid[0], grid[-1]]}
    target = float(target_within)
    if not 0 < target <= 1:
        raise ValueError(f"the target within-class variance must lie in (0, 1], got {target}")
    if tau is not None:
        ends = [(x, within(x, tau)) for x in (0.0, 1.0)]
        roots = _bisect_roots(lambda x: within(x, tau) - target, [0.0, 1.0], tol, log=False)
        key, where = "alpha_for_target", {"tau": float(exact(tau))}
    else:
        ends = [(x, within(alpha, x)) for x in (grid[0], grid[-1])]
        roots = _bisect_roots(lambda x: within(alpha, x) - target, grid, tol, log=True)
        key, where = "taus_for_target", {"alpha": float(exact(alpha))}
    if not roots:
        span = ", ".join(f"{w:.6g} at {x:g}" for x, w in ends)
        raise ValueError(f"a dataset-level within-class variance of {target:g} is out of reach "
                         f"(it is {span} at the ends of the range)")
    return out | where | {"target_within": target,
                          key: roots[0] if key == "alpha_for_target" else roots}


def _bisect_roots(g, grid, tol: float, log: bool, check: bool = True) -> list[float]:
    """Every root of g over ``grid`` (sign changes between its points, then bisection to
    ``tol``, relative when ``log``), each checked (``check``): |g| <= 1e-4 there. A pair of
    roots inside one grid interval is not seen."""
    bar = progress("guide: scan, then bisection", total=len(grid))
    g = counted(bar, g)
    values = [g(x) for x in grid]
    out = []
    for (lo, glo), (hi, ghi) in zip(zip(grid, values), zip(grid[1:], values[1:])):
        if glo == 0:
            out.append(lo)
            continue
        if (glo < 0) == (ghi < 0):
            continue
        while (hi - lo > tol * (lo if log else 1)):
            mid = math.sqrt(lo * hi) if log else (lo + hi) / 2
            if (g(mid) < 0) == (glo < 0):
                lo = mid
            else:
                hi = mid
        x = (lo + hi) / 2
        if not check or abs(g(x)) <= 1e-4:
            out.append(x)
    if values[-1] == 0:
        out.append(grid[-1])
    bar.close()
    return out


#: the alpha grid on which the learned guide looks for a target within-class variance
LEARNED_GRID = 11


def guide_learned(spec, setting, learnable, target_within: float | None = None) -> dict:
    """The guideline with tau learned (a :class:`~ssem_symbolic.vocab.Learnable`), for any
    setting, from the joint optimum over the embeddings and tau (:func:`~ssem_symbolic.
    optimum.optimum` with it at each alpha):

    * ``alpha_c`` and ``collapse_when``: where the learned optimum stops (or starts)
      collapsing every class (:func:`~ssem_symbolic.optimum.threshold` with the Learnable,
      bisection to 1e-6; None when no alpha in [0, 1] changes it);
    * with ``target_within``: ``alphas``, every alpha where the learned optimum's within-class
      variance (of the whole batch) crosses it, found on a grid of :data:`LEARNED_GRID` alphas
      and bisected to 1e-6, with tau* there; ``alpha`` the first of them (None when the grid
      never crosses it: ``within_range`` gives the variance's least and greatest value seen).

    tau* is the lowest loss of a search in tau (a grid, then golden section), not proven the
    global minimum over tau: the warning ``learned_tau_searched`` says so."""
    from ..optimum import optimum, threshold

    if target_within is not None and not 0 <= target_within < 1:
        raise ValueError(f"the target within-class variance must lie in [0, 1), got "
                         f"{target_within}")
    th = threshold(spec, setting, tau=learnable)
    out: dict = {"loss": spec.name, "setting": setting.describe(), "tau": str(learnable),
                 "clamp": float(learnable.clamp), "alpha_c": th.alpha_c,
                 "collapse_when": th.collapse_when, "findings": [],
                 "warnings": [{"kind": "learned_tau_searched", "clamp": float(learnable.clamp),
                               "top": float(learnable.top)}]}
    out["findings"].append({"kind": "learned_collapse", "alpha_c": th.alpha_c,
                            "collapse_when": th.collapse_when,
                            "clamp": float(learnable.clamp)})
    if target_within is None:
        return out
    solved: dict = {}

    def within(a) -> float:
        if a not in solved:
            solved[a] = optimum(spec, setting, a, learnable)
        return solved[a].within_class_variance - target_within

    grid = [sp.Rational(i, LEARNED_GRID - 1) for i in range(LEARNED_GRID)]
    values = [within(a) for a in grid]
    alphas = []
    for (lo, f_lo), (hi, f_hi) in zip(zip(grid, values), zip(grid[1:], values[1:])):
        if f_lo == 0:
            alphas.append(lo)
        elif f_lo * f_hi < 0:
            while hi - lo > sp.Rational(1, 2 ** 20):
                mid = (lo + hi) / 2
                if (within(mid) < 0) == (f_lo < 0):
                    lo = mid
                else:
                    hi = mid
            alphas.append((lo + hi) / 2)
            within(alphas[-1])
    if values[-1] == 0:
        alphas.append(grid[-1])
    found = [{"alpha": float(a), "tau": solved[a].temperature.tau} for a in alphas]
    out["alphas"] = found
    out["alpha"] = found[0]["alpha"] if found else None
    out["within_range"] = [min(values) + target_within, max(values) + target_within]
    out["findings"].append({"kind": "learned_alpha_for_target", "target_within": target_within,
                            "alphas": found, "within_range": out["within_range"]})
    return out
