"""The words: what the library returns as data (kinds and numbers), said in sentences.

The guide's findings and warnings and an imbalanced scan's per-class collapse are rendered
here, so that no result of the library carries prose.
"""

from __future__ import annotations

import json
import math

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
    if kind == "learned_collapse":
        if f["alpha_c"] is None:
            return (f"With tau learned (>= {f['clamp']:g}) no alpha in [0, 1] changes whether "
                    "the classes collapse.")
        rule = f["collapse_when"].replace("alpha_c", f"{f['alpha_c']:.6g}")
        return f"With tau learned (>= {f['clamp']:g}) the classes collapse iff {rule}."
    if kind == "learned_alpha_for_target":
        if not f["alphas"]:
            lo, hi = f["within_range"]
            return (f"No alpha in [0, 1] gives within-class variance {f['target_within']:g} with "
                    f"tau learned: it stays in [{lo:.4g}, {hi:.4g}].")
        return " ".join(f"alpha = {x['alpha']:.6g} gives within-class variance "
                        f"{f['target_within']:g}, with tau learned at {x['tau']:.6g}."
                        for x in f["alphas"])
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
    if kind == "dimension":
        found = w["found"]
        expect = (f"the best configuration found there ({found['method']}) has within-class "
                  f"variance {per_class(found['within_class_variance_per_class'])}, against "
                  f"{per_class(w['relaxed_within_per_class'])} at the relaxed optimum"
                  if "loss_value" in found else found["method"])
        return (f"at alpha = {w['alpha']:.6g} the optimum needs rank {w['rank_needed']} > d = "
                f"{w['dim']}: a model with {w['dim']}-dimensional embeddings cannot reach it, "
                "and the within-class variance it reaches can differ from the target; in "
                f"R^{w['dim']} {expect}")
    if kind == "learned_tau_searched":
        return (f"tau* is the lowest loss of a search over tau in [{w['clamp']:g}, {w['top']:g}] "
                "(33 points in log tau, then golden section) at each alpha, not proven the "
                "global minimum over tau")
    raise ValueError(f"no words for the warning {kind!r}")


def per_class(values) -> str:
    """Within-class variances in words: one number where every class has it."""
    shown = [f"{v:.4g}" for v in values]
    return (f"{shown[0]} in every class" if len(set(shown)) == 1
            else ", ".join(shown) + " per class")


def guide_lines(out: dict) -> list[str]:
    """Every finding of a guide, in words."""
    return [finding(out, f) for f in out["findings"]]


def guide_warnings(out: dict) -> list[str]:
    """Every warning of a guide, in words (the JSON of ``ssem guide`` carries these)."""
    return [warning(out, w) for w in out["warnings"]]


# --- ssem explain -------------------------------------------------------------------------

def _ref_label(name: str, out: dict) -> str:
    dataset = "dataset" in out["setting"]
    return {"complete-collapse": "complete collapse", "class-collapse": "class collapse",
            "random": "random, d -> inf", "random-d": "random, d = {}",
            "ssem": "SSEM optimum",
            "floor": "floor of one batch" if dataset else "floor",
            "dataset-floor": "floor (dataset)"}[name].format(
                next((r["what"].rsplit(" ", 1)[-1] for r in out["references"]
                      if r["name"] == "random-d"), ""))


def _names(names: list, out: dict) -> str:
    return " = ".join(_ref_label(n, out) for n in names)


def explain_finding(out: dict, f: dict) -> str:
    """One finding of ``ssem explain`` in words."""
    kind = f["kind"]
    if kind == "collapse_equals_random":
        return (f"Complete collapse and random embeddings (d -> inf) give the same loss, "
                f"{f['value']:.6g}: every logit of an anchor is then the same. A curve that "
                "sits at this value cannot tell them apart; the spread of the embeddings "
                "(their effective rank) can.")
    if kind == "optimum_collapsed":
        return "At this alpha and tau the optimum itself collapses every class."
    if kind == "ssem_below_optimum":
        return "SSEM does not reach the floor here: the optimal embedding leaves SSEM."
    if kind == "dataset_floor_above_batch_floor":
        return (f"Training with the sampler converges to the dataset-level floor, "
                f"{f['difference']:.4g} above one batch's own optimum.")
    if kind == "below_floor":
        return (f"The value {f['value']:.6g} is below the floor {f['floor']:.6g} by "
                f"{-f['gap']:.4g}: no unit embeddings reach it for the loss described here.")
    if kind == "below_expected_floor":
        return (f"The value {f['value']:.6g} is below the dataset-level floor {f['floor']:.6g} "
                f"by {-f['gap']:.4g}. That floor is an expectation over the sampler's batches: "
                "one batch of another composition can lie below it, a mean over many batches "
                "cannot.")
    if kind == "at_reference":
        return (f"The value {f['value']:.6g} sits at {_names(f['references'], out)} "
                f"(within {f['distance']:.2g}).")
    if kind == "between":
        if f["lower"] is None or f["upper"] is None:
            side = "above every reference" if f["lower"] is not None else "below every reference"
            return f"The value {f['value']:.6g} lies {side}."
        return (f"The value {f['value']:.6g} lies between {_ref_label(f['lower'], out)} and "
                f"{_ref_label(f['upper'], out)}, {f['fraction']:.0%} of the way up.")
    raise ValueError(f"no words for the finding {kind!r}")


def explain_advice(out: dict, a: dict) -> str:
    """One piece of advice of ``ssem explain`` in words."""
    kind, gap = a["kind"], a.get("gap")
    to_floor = "" if gap is None else f" The gap to the floor is {gap:.4g}."
    if kind == "check_the_setting":
        return ("The loss you run differs from this one: check the convention (a scaled "
                "implementation such as supcontrast multiplies the loss by tau / "
                "base_temperature), tau, alpha, the views and the batch composition.")
    if kind == "no_structure_yet":
        return ("The embeddings carry no class or instance structure yet, or all sit at one "
                "point." + to_floor + " Training starts here, and a plateau here in the first "
                "steps is common. If it lasts: check the learning rate and its warm-up, and that "
                "the encoder's output is not constant (a dead projection head, a large weight "
                "decay).")
    if kind == "stuck_at_class_collapse":
        return ("Every class sits at one point although the optimum keeps the classes "
                "spread." + to_floor + " Training has not left class collapse: more steps or a "
                "larger learning rate.")
    if kind == "class_collapse_is_optimal":
        return ("Class collapse is the optimum here." + to_floor + " To keep within-class "
                "spread, raise alpha above alpha_c (ssem threshold --tau ...).")
    if kind == "converged":
        shape = "collapses every class" if a["collapsed"] else "keeps the classes spread"
        return ("Training has reached the floor: nothing is left to gain. The optimum here "
                f"{shape}; to change that, change alpha or tau (ssem guide).")
    if kind == "at_batch_floor":
        return ("The value is at one batch's own optimum, below what training with this "
                "sampler converges to: a single batch fitted on its own (a sampler that "
                "repeats it?).")
    if kind == "near_ssem":
        return "The value is at the best SSEM embedding." + to_floor
    if kind == "still_descending":
        return (f"The gap to the floor is {gap:.4g}: training is still descending, or stopped "
                "above the optimum.")
    raise ValueError(f"no words for the advice {kind!r}")


def explain_lines(out: dict) -> list[str]:
    """``ssem explain``'s text: the references as a table, then the reading."""
    st = out["setting"]
    if "dataset" in st:
        C, n = st["dataset"]
        where = f"a {C} x {'inf' if n is None else n} x {st['views']} dataset, {st['sampler']}"
    else:
        sizes = ClassSizes(tuple(st["class_sizes"]))
        where = (f"a {sizes.classes} x {sizes.sizes[0]} x {st['views']} batch" if sizes.balanced
                 else f"a batch of class sizes {sizes}, {st['views']} views")
    scale = "" if out["scale"] == 1 else f", scale {out['scale']:.6g}"
    lines = [f"{out['loss']} on {where}, alpha = {out['alpha']:g}, tau = {out['tau']:g}{scale}",
             ""]
    width = max(len(_ref_label(r["name"], out)) for r in out["references"])
    for r in out["references"]:
        err = f" +- {r['error']:.1g}" if r["error"] > 1e-9 else ""
        lines.append(f"  {_ref_label(r['name'], out):<{width}}  {r['value']:>12.6f}{err:<10}"
                     f"  {r['what']}")
    lines += [""] + [f"note: {n}" for n in out["notes"]]
    lines += [explain_finding(out, f) for f in out["findings"]]
    lines += [explain_advice(out, a) for a in out["advice"]]
    return [line for i, line in enumerate(lines) if line or (i and lines[i - 1])]


# --- ssem diagnose ------------------------------------------------------------------------

def diagnose_lines(out: dict) -> list[str]:
    """``ssem diagnose``'s text: the references, the plateaus and the reading of the end."""
    lines = [f"{out['loss']}: {out['entries']} log entries, steps {out['first_step']:g} .. "
             f"{out['last_step']:g}"]
    if out["varying"]:
        lines.append("alpha or tau change along the log: the plateaus are read against each "
                     "entry's own references; the table is the last entry's")
    width = max(len(_ref_label(r["name"], out)) for r in out["references"])
    lines += [""] + [f"  {_ref_label(r['name'], out):<{width}}  {r['value']:>12.6f}"
                     for r in out["references"]] + [""]
    lines += [f"note: {n}" for n in out["notes"]]
    if not out["plateaus"]:
        lines.append("No plateau: the loss never stayed at a reference.")
    for p in out["plateaus"]:
        lines.append(f"Plateau at {_names(p['references'], out)} ({p['value']:.6g}): steps "
                     f"{p['first_step']:g} .. {p['last_step']:g} ({p['entries']} entries).")
    final = out["final"]
    lines.append(f"Final loss {out['final_value']:.6g} (the median of the last "
                 f"{out['final_entries']} entries).")
    lines += [explain_finding(out, f) for f in final["findings"]
              if f["kind"] not in ("collapse_equals_random",)]
    lines += [explain_advice(out, a) for a in final["advice"]]
    return lines


# --- ssem dynamics ------------------------------------------------------------------------

def dynamics_lines(out: dict) -> list[str]:
    """``ssem dynamics``'s text."""
    if "dataset" in out:
        C, n = out["dataset"]
        where = (f"a {C} x {n} x {out['views']} dataset, {out['sampler']} (the expected "
                 "gradient)")
    else:
        sizes = ClassSizes(tuple(out["class_sizes"]))
        where = (f"a {sizes.classes} x {sizes.sizes[0]} x {out['views']} batch"
                 if sizes.balanced else f"a batch of class sizes {sizes}, {out['views']} views")
    rule = ("the gradient flow" if out["rule"] == "flow" else
            f"gradient descent, lr {out['lr']:g}" if out["rule"] == "gd" else
            f"heavy-ball momentum, lr {out['lr']:g}, beta {out['beta']:g}")
    unit = "time" if out["rule"] == "flow" else "steps"
    lines = [f"{out['loss']} on {where}, alpha = {out['alpha']:g}, tau = "
             f"{out['tau']:g}: {rule}, from {out['start']}", ""]
    rates = out["escape_rates_from_collapse"]
    if isinstance(rates, dict):
        lines.append("escape rates from complete collapse (flow, per unit time): " + ", ".join(
            f"{e} {r:.6g}" for e, r in rates.items()) + "  (> 0: the direction leaves "
            "collapse)")
    else:
        lines.append("the flow's Jacobian at complete collapse, eigenvalues: " + ", ".join(
            f"{r:.6g}" for r in rates) + "  (> 0: a direction leaves collapse)")
    if out["escape_rates_from_collapse_per_step"]:
        lines.append("  per step of gradient descent: " + ", ".join(
            f"{e} {r:.6g}" for e, r in out["escape_rates_from_collapse_per_step"].items()))
    if out["plateau"] is not None:
        pred = ("" if out["plateau_predicted"] is None else
                f"; predicted log(0.1/eps)/rate: {out['plateau_predicted']:.6g}")
        lines.append(f"plateau at collapse: left (a Gram eigenvalue reaches 0.1) after "
                     f"{out['plateau']:g} {unit}{pred}")
    if out["loss_plateau"] is not None:
        lines.append(f"the loss stays within 1% of its start for {out['loss_plateau']:g} "
                     f"{unit}")
    short = {"view": "v", "class": "c", "other": "o"}
    lines.append("optimum: " + ", ".join(f"{short.get(n, n)} {x:.6g}"
                                         for n, x in out["optimum"].items())
                 + f" (loss {out['optimum_loss']:.6g})")
    if out["time_to_optimum"] is None:
        lines.append(f"not within {out['tol']:g} of the optimum by the end: the end is "
                     + ", ".join(f"{short.get(n, n)} {x:.6g}" for n, x in out["final"].items()))
    else:
        lines.append(f"within {out['tol']:g} of the optimum from {out['time_to_optimum']:g} "
                     f"{unit} on")
    relax = f"relaxation rate at the optimum: {out['relaxation_rate']:.6g} per unit time"
    if out["relaxation_rate_per_step"] is not None:
        relax += f", {out['relaxation_rate_per_step']:.6g} per step"
    lines.append(relax + " (within the symmetric family)")
    generic = out.get("generic_relaxation")
    if generic is not None and generic["computed"]:
        rate = generic["rate_per_step"]
        if rate <= 0:
            lines.append(f"a generic perturbation of the optimum grows at this lr (its slowest "
                         f"mode's factor per step is {math.exp(-rate):.6g} >= 1): the optimum "
                         "is unstable off the symmetric family")
        else:
            kind = ("" if generic["first_order"] else
                    "; these modes tilt rows out of the optimum's span and move G only at "
                    "second order")
            lines.append(f"a generic perturbation relaxes at {rate:.6g} per step (the full "
                         f"linearisation, {generic['multiplicity']} of {generic['modes']} "
                         f"modes off the rotations{kind}); the mean Gram value per pair type "
                         f"at {generic['per_type_means_rate_per_step']:.6g} per step")
    elif generic is not None:
        lines.append(f"a generic perturbation's relaxation: not computed ({generic['reason']})")
    if out.get("integration_error") is not None:
        lines.append(f"the flow by Runge-Kutta 4: its largest error along the trajectory, "
                     f"against half the step, {out['integration_error']:.1e}")
    if out["stable_lr"] is not None:
        line = (f"stable step sizes: lr < {out['stable_lr']:.6g} (the map contracts at the "
                "optimum within the symmetric family)")
        if generic is not None and generic["computed"]:
            line += (f"; lr < {generic['stable_lr']:.6g} for every perturbation" if
                     generic["stable_lr"] > 0 else "; the optimum is a saddle off the family")
        lines.append(line)
    return lines


def dynamics_grid_lines(out: dict) -> list[str]:
    """ssem dynamics over a grid of alpha and/or tau: the plateau at collapse per point (a
    table when the grid is small) and where the points settle."""
    plateau = [v for row in out["plateau"] for v in row]
    settled = [v for row in out["settled"] for v in row]
    alphas, taus = out["alpha"], out["tau"]
    sizes = out["class_sizes"]
    batch = (f"{len(sizes)} x {sizes[0]} x {out['views']}" if len(set(sizes)) == 1
             else f"sizes {sizes}, p = {out['views']}")
    lines = [f"{out['loss']} on a {batch} batch: gradient descent, lr {out['lr']:g}, "
             f"{out['steps']} steps from {out['start']}, at {len(alphas)} alpha x "
             f"{len(taus)} tau at once", ""]
    left = [v for v in plateau if v >= 0]
    lines.append("plateau at collapse (steps until a Gram eigenvalue reaches 0.1): " + (
        f"{min(left)} to {max(left)} steps" if left else "not left at any point")
        + (f"; not left within {out['steps']} steps at {len(plateau) - len(left)} points"
           if len(left) < len(plateau) else ""))
    if len(alphas) <= 12 and len(taus) <= 8:
        lines.append("")
        lines.append("alpha \\ tau " + "".join(f"{t:>9.4g}" for t in taus))
        for a, row in zip(alphas, out["plateau"]):
            lines.append(f"{a:<11.4g}" + "".join(f"{v:>9d}" if v >= 0 else f"{'-':>9}"
                                                  for v in row))
    lines.append("")
    lines.append(f"settled (the last step moved every coordinate by at most {out['tol']:g}): "
                 f"{sum(settled)} of {len(settled)} points; settled is not converged to the "
                 "optimum beyond the stable step size (ssem dynamics at one point says)")
    return lines


def dumps(obj) -> str:
    """JSON with null where a number is not finite (JSON has no infinity or NaN)."""
    def clean(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {key: clean(v) for key, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x
    return json.dumps(clean(obj), allow_nan=False)


def scan_lines(loss: str, setting: str, result) -> list[str]:
    """The header of a family's regime scan (loss, setting, axis) and its boundaries."""
    fixed = ", ".join(f"{key} = {val:g}" for key, val in result.fixed.items())
    bounds = result.boundaries
    return ([f"loss     {loss}", f"setting  {setting}", f"scan     {result.axis} at {fixed}",
             "", f"{len(bounds)} boundar{'y' if len(bounds) == 1 else 'ies'} along "
             f"{result.axis}:"]
            + [f"  {result.axis} = {b.at:.10f}: [{', '.join(b.below)}] -> "
               f"[{', '.join(b.above)}]" for b in bounds] + ["", "Regimes:"])


def threshold_lines(loss: str, setting: str, th, alpha, tau) -> tuple[list[str], str]:
    """The header of a family's threshold (loss, setting, the scan) and the span scanned."""
    axis = th.along
    where = f"tau = {tau:g}" if axis == "alpha" else f"alpha = {alpha:g}"
    span = "[0, 1]" if axis == "alpha" else f"[{th.tau_range[0]:g}, {th.tau_range[1]:g}]"
    return [f"loss     {loss}", f"setting  {setting}", f"scan     {axis} in {span} at {where}",
            ""], span


def scan_footer(axis: str) -> str:
    """How a family's threshold was located."""
    return (f"\nEach change is a boundary of the regime scan (ssem regimes), located to "
            f"{'1e-10' if axis == 'alpha' else '1e-10, relative'} on the exact optimum.")

