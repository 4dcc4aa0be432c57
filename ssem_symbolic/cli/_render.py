"""The words: what the library returns as data (kinds and numbers), said in sentences.

The guide's findings and warnings and an imbalanced scan's per-class collapse are rendered
here, so that no result of the library carries prose.
"""

from __future__ import annotations

from ..setting import ClassSizes


def class_collapse(axis: str, changes: list, collapsed_at_start: bool) -> str:
    """Where one class collapses along the scanned axis."""
    if not changes:
        return ("collapsed over the whole range" if collapsed_at_start
                else "not collapsed in the range")
    if len(changes) == 1:
        return f"collapsed for {axis} {'<=' if collapsed_at_start else '>='} {changes[0]:.8g}"
    return f"collapse changes at {axis} = " + ", ".join(f"{c:.8g}" for c in changes)


def _fixed(fixed: dict) -> str:
    (name, value), = fixed.items()
    return f"{name} = {value:g}"


def finding(out: dict, f: dict) -> str:
    """One finding of a guide (``out``) in words."""
    kind = f["kind"]
    if kind == "collapse_below_alpha_c":
        m, k, p = out["batch"]
        return (f"At tau = {f['tau']:g} with m = {m} classes x k = {k} instances x p = {p} "
                f"views, the classes collapse (zero within-class variance) iff alpha <= "
                f"{f['alpha_c']:.6g}.")
    if kind == "alpha_for_target":
        return (f"alpha = {f['alpha']:.6g} gives within-class variance {f['target_within']:g} "
                f"(beta* = {1 - f['target_within']:g}).")
    if kind == "zero_variance_below":
        return f"Any alpha <= {f['alpha_c']:.6g} gives zero within-class variance."
    if kind == "no_tau_collapses":
        return (f"At alpha = {f['alpha']:g} no temperature collapses the classes "
                f"(alpha >= {f['limit']}).")
    if kind == "every_tau_collapses":
        return (f"At alpha = {f['alpha']:g} every temperature collapses the classes "
                f"(alpha <= {f['limit']}).")
    if kind == "collapse_above_tau_c":
        return f"At alpha = {f['alpha']:g} the classes collapse iff tau >= {f['tau_c']:.6g}."
    if kind == "zero_variance_above":
        return (("Every tau" if f["tau_c"] == 0 else f"Every tau >= {f['tau_c']:.6g}")
                + " gives within-class variance 0 (the classes collapse).")
    if kind == "taus_for_target":
        taus = f["taus"]
        return ("tau = " + " or ".join(f"{t:.6g}" for t in taus)
                + f" gives within-class variance {f['target_within']:g}"
                + (" (the variance is not monotone in tau: both work)" if len(taus) > 1 else "")
                + ".")
    if kind == "per_class_along":
        lo, hi = f["span"]
        sizes = ClassSizes(tuple(out["class_sizes"]))
        return (f"At {_fixed(f['fixed'])} with class sizes {sizes} and p = {f['views']} views, "
                f"per class along {f['axis']} in [{lo:g}, {hi:g}]:")
    if kind == "class_collapse":
        return (f"  class {f['index']} (k = {f['size']}): "
                + class_collapse(f["axis"], f["changes"], f["collapsed_at_start"]))
    if kind == "alpha_for_weighted_target":
        return (f"alpha = {f['alpha']:.8f} gives a size-weighted within-class variance of "
                f"{f['target_within']:g} at {_fixed(f['fixed'])}.")
    raise ValueError(f"no words for the finding {kind!r}")


def warning(out: dict, w: dict) -> str:
    """One warning of a guide (``out``) in words."""
    kind, loss = w["kind"], out["loss"]
    if kind == "every_tau_collapses_below":
        return (f"under {loss}, alpha <= {w['alpha']} (= lim alpha_c as tau -> 0) collapses "
                "the classes at every temperature")
    if kind == "checked_on_a_scan":
        return (f"{loss}: collapse below an alpha_c that grows with tau, and a within-class "
                "variance that grows with alpha above it, are checked on a tau scan of "
                "[1e-3, 100], not proven; each answer is checked to give its target")
    if kind == "ssem_not_the_optimum_everywhere":
        return (f"{loss}: SSEM is not the optimum everywhere (at small alpha and tau the views "
                "of an instance move apart); these SSEM numbers may not describe training "
                "there")
    if kind == "ssem_not_shown_the_optimum":
        return (f"{loss}: SSEM is not shown to hold the optimum everywhere (`ssem optimum` "
                "certifies each point); where it fails these SSEM numbers do not describe "
                "training")
    if kind == "not_monotone_in_tau":
        return (f"within-class variance is not monotone in tau at alpha = {w['alpha']:.4g}: "
                f"it peaks at {w['peak']:.4g} near tau = {w['near_tau']:.3g} and falls on "
                "both sides")
    raise ValueError(f"no words for the warning {kind!r}")


def guide_lines(out: dict) -> list[str]:
    """Every finding of a guide, in words."""
    return [finding(out, f) for f in out["findings"]]


def guide_warnings(out: dict) -> list[str]:
    """Every warning of a guide, in words (the JSON of ``ssem guide`` carries these)."""
    return [warning(out, w) for w in out["warnings"]]
