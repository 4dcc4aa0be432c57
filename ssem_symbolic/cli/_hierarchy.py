"""``--hierarchy``: a hierarchy of labels (superclasses of classes) in ssem optimum, regimes,
threshold and phase, read once into a :class:`~ssem_symbolic.setting.Hierarchy` and rendered per
level."""

from __future__ import annotations

import re

from ..setting import Hierarchy
from ._render import dumps, scan_footer, scan_lines, threshold_lines

#: the commands that take a hierarchy
COMMANDS = ("optimum", "regimes", "threshold", "phase")


def hierarchy_of(args) -> Hierarchy:
    """The hierarchy ``--hierarchy`` names: ``SxM`` with --per-class and --views, or a labels
    file of one ``superclass class`` pair per line (one instance each)."""
    from ..infra import read_lines

    if args.command not in COMMANDS:
        raise ValueError(f"--hierarchy is taken by ssem {', '.join(COMMANDS)}")
    if any(getattr(args, f, None) is not None for f in ("classes", "class_sizes", "dataset",
                                                        "sampler", "labels", "pairs")):
        raise ValueError("--hierarchy gives the batch: no --classes/--class-sizes/--dataset/"
                         "--pairs")
    if getattr(args, "dim", None) is not None:
        raise ValueError("--dim takes a flat batch; a hierarchy's optimum is reported for any "
                         "d >= S m k p - 1")
    text = args.hierarchy
    if re.fullmatch(r"\s*\d+\s*[xX]\s*\d+\s*", text):
        if args.per_class is None:
            raise ValueError("--hierarchy SxM needs --per-class (instances per class)")
        return Hierarchy.parse(text, args.per_class, args.views)
    if args.per_class is not None:
        raise ValueError("a labels file gives the instances per class: no --per-class")
    pairs = []
    for number, line in enumerate(read_lines(text, "hierarchy labels file"), 1):
        cols = line.split()
        if not cols:
            continue
        if len(cols) != 2:
            raise ValueError(f"hierarchy labels file {text}, line {number}: two labels per line "
                             f"(superclass class), got {line.strip()[:40]!r}")
        pairs.append(tuple(cols))
    return Hierarchy.from_labels(pairs, args.views)


def setting_dict(h: Hierarchy) -> dict:
    return {"superclasses": h.supers, "classes_per_superclass": h.classes_per_super,
            "per_class": h.per_class, "views": h.views}


def _words(levels: dict) -> str:
    """A regime's collapse, level by level, in words."""
    if levels["superclass"]:
        out = "superclass collapse: every superclass is one point"
    elif levels["class"]:
        out = "class collapse: every class is one point, the classes of a superclass apart"
    elif levels["classes_merged"]:
        out = "the classes of a superclass share one mean, each keeps its spread"
    else:
        out = "no collapse: within-class variance survives"
    if levels["superclasses_merged"]:
        out += "; every superclass has the same mean"
    return out


def print_optimum(args, spec, h: Hierarchy, opt) -> int:
    if args.json:
        print(dumps({"loss": spec.name, "setting": setting_dict(h)} | opt.as_dict()))
        return 0
    info = opt.hierarchy
    var = info["variances"]
    rows = [("loss", spec.name), ("setting", h.describe()), ("alpha", args.alpha),
            ("tau", args.tau), ("view_similarity", _fmt(opt.view)),
            ("class_similarity", _fmt(opt.class_)),
            ("superclass_similarity", _fmt(info["superclass_similarity"])),
            ("other_similarity", _fmt(opt.other)),
            ("within_class_variance", _fmt(var["within_class"])),
            ("between_classes_in_superclass", _fmt(var["between_classes_in_superclass"])),
            ("between_superclasses", _fmt(var["between_superclasses"])),
            ("loss_value", _fmt(opt.loss_value))]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
    print(f"\nRegime: {_words(info['collapse'])} [active: {', '.join(opt.active) or 'none'}].")
    if not opt.unique:
        print("The loss is flat along some directions: this is one of a set of minimisers "
              "(--json gives each quantity's range over the set).")
    return 0


def print_regimes(args, spec, h: Hierarchy, result) -> int:
    if args.json:
        print(dumps({"loss": spec.name, "setting": setting_dict(h)} | result.as_dict()))
        return 0
    print("\n".join(scan_lines(spec.name, h.describe(), result)))
    for r in result.regimes:
        print(f"  {result.axis} in [{r['from']:.6g}, {r['to']:.6g}]: {_words(r['levels'])}")
    return 0


#: the levels a threshold reports, in words
_LEVEL_WORDS = {"class": "class collapse (every class one point)",
                "superclass": "superclass collapse (every superclass one point)",
                "classes_merged": "the classes of a superclass share one mean",
                "superclasses_merged": "every superclass has the same mean"}


def print_threshold(args, spec, h: Hierarchy, th) -> int:
    if args.json:
        print(dumps(th.as_dict()))
        return 0
    axis = th.along
    lines, span = threshold_lines(spec.name, h.describe(), th, args.alpha, args.tau)
    print("\n".join(lines))
    for level in ("class", "superclass", "classes_merged", "superclasses_merged"):
        data = th.levels[level]
        lo, hi = data["at_ends"]
        if not data["changes"]:
            state = "everywhere" if lo else "nowhere"
            print(f"  {_LEVEL_WORDS[level]}: {state} in {span}")
            continue
        at = ", ".join(f"{x:.8g}" for x in data["changes"])
        side = (f"{axis} <= {data['changes'][0]:.8g}" if lo and not hi and
                len(data["changes"]) == 1 else f"{axis} >= {data['changes'][0]:.8g}"
                if hi and not lo and len(data["changes"]) == 1 else f"changes at {at}")
        print(f"  {_LEVEL_WORDS[level]}: {side}")
    print(scan_footer(axis))
    return 0


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.10g}"
