"""``--pairs``: a batch of paired modalities (image-text pairs, as CLIP and SigLIP train on) in
ssem optimum, regimes, threshold and phase, read once into a :class:`~ssem_symbolic.setting.Paired`
and rendered with its structure and modality gap."""

from __future__ import annotations

import re

from ..setting import Paired
from ._render import dumps, scan_footer, scan_lines, threshold_lines

#: the commands that take a batch of pairs
COMMANDS = ("optimum", "regimes", "threshold", "phase")


def paired_of(args) -> Paired:
    """The batch ``--pairs`` names: ``N`` pairs without labels, or ``MxK``, M classes of K
    pairs each."""
    if args.command not in COMMANDS:
        raise ValueError(f"--pairs is taken by ssem {', '.join(COMMANDS)}")
    if any(getattr(args, f, None) is not None for f in ("classes", "per_class", "class_sizes",
                                                        "dataset", "sampler", "hierarchy")):
        raise ValueError("--pairs gives the batch: no --classes/--per-class/--class-sizes/"
                         "--dataset/--hierarchy")
    if getattr(args, "dim", None) is not None:
        raise ValueError("--dim takes a flat batch; the optimum of pairs is reported for any "
                         "d >= 2 N - 1")
    if args.views != 2:
        raise ValueError("--pairs has two modalities per instance: no --views")
    text = args.pairs.strip()
    match = re.fullmatch(r"(\d+)(?:\s*[xX]\s*(\d+))?", text)
    if match is None:
        raise ValueError(f"--pairs is N (pairs without labels) or MxK (M classes of K pairs), "
                         f"got {text!r}")
    return Paired(int(match.group(1)), int(match.group(2) or 1))


def setting_dict(b: Paired) -> dict:
    return {"pairs": b.pairs, "classes": b.classes, "per_class": b.per_class}


#: each structure in words
STRUCTURES = {"simplex": "simplex: every image equals its text, the pairs a regular simplex",
              "aligned": "aligned: every image equals its text (no modality gap)",
              "antipodal": "antipodal: all images one point, all texts its antipode",
              "between": "between the simplex and the antipodal structure"}


def print_optimum(args, spec, b: Paired, opt) -> int:
    if args.json:
        print(dumps({"loss": spec.name, "setting": setting_dict(b)} | opt.as_dict()))
        return 0
    info = opt.paired
    rows = [("loss", spec.name), ("setting", b.describe()), ("contrast", spec.contrast),
            ("alpha", args.alpha), ("tau", args.tau),
            ("matched_similarity", _fmt(opt.view))]
    if b.per_class >= 2:
        rows += [("class_similarity", _fmt(opt.class_)),
                 ("class_similarity_intra", _fmt(info["class_similarity_intra"]))]
    rows += [("other_similarity", _fmt(opt.other)),
             ("other_similarity_intra", _fmt(info["other_similarity_intra"])),
             ("modality_gap", _fmt(info["modality_gap"])),
             ("loss_value", _fmt(opt.loss_value))]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
    print(f"\nStructure: {STRUCTURES[info['structure']]} [active: {', '.join(opt.active)}].")
    if b.per_class >= 2:
        print("Every class collapses." if opt.collapsed else "No class collapses.")
    if not opt.unique:
        print("The loss is flat along some directions: this is one of a set of minimisers "
              "(--json gives each quantity's range over the set).")
    return 0


def print_regimes(args, spec, b: Paired, result) -> int:
    if args.json:
        print(dumps({"loss": spec.name, "setting": setting_dict(b)} | result.as_dict()))
        return 0
    print("\n".join(scan_lines(spec.name, b.describe(), result)))
    for r in result.regimes:
        labels = ("" if b.per_class == 1 else
                  "; classes collapsed" if r["collapsed"] else "; classes spread")
        print(f"  {result.axis} in [{r['from']:.6g}, {r['to']:.6g}]: "
              f"{STRUCTURES[r['structure']]}{labels}")
    return 0


def print_threshold(args, spec, b: Paired, th) -> int:
    if args.json:
        print(dumps(th.as_dict()))
        return 0
    axis = th.along
    lines, _ = threshold_lines(spec.name, b.describe(), th, args.alpha, args.tau)
    print("\n".join(lines))
    structure = th.levels["structure"]
    if not structure["changes"]:
        print(f"  structure: {structure['at_ends'][0]} over the whole range")
    for change in structure["changes"]:
        print(f"  {axis} = {change['at']:.8g}: {change['below']} -> {change['above']}")
    if b.per_class >= 2:
        cls = th.levels["class"]
        print("  class collapse: " + (", ".join(f"changes at {axis} = {x:.8g}"
                                                for x in cls["changes"]) or
                                       ("everywhere" if cls["at_ends"][0] else "nowhere")))
    print(scan_footer(axis))
    return 0


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.10g}"
