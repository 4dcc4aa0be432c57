"""Sweeps: the default cross-check plan, and a runner that trains it in batches and appends
each finished configuration to results.jsonl (skipping, with ``resume``, what is there)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..ssem import alpha_c_value
from ..optimum import regimes
from ..setting import Batch
from .crosscheck import CrossCheck, finish_learned, locate_threshold, record, refine_group
from ..spec import PRESETS, LossSpec, get_spec
from ..optimum import established
from .results import ResultsFile
from .train import TrainConfig, train, train_free_learned

#: the clamp of the plan's runs that learn tau (tau >= 0.1)
LEARNED_CLAMP = 0.1
#: torch threads per unit: one (float32 sums in one order, so the records are the same on
#: every executor; and on a loaded machine a thread per core is about 2x slower)
THREADS = 1


@dataclass
class Plan:
    """What a cross-check runs: point configurations and threshold searches."""

    points: list[TrainConfig]
    thresholds: list[dict] = field(default_factory=list)  # locate_threshold keyword arguments
    size: str = "quick"


_SIZES = {
    # batch (m, k, p), d, free steps, taus, alpha offsets from alpha_c, (gaussian steps,
    # digits steps), seeds per located threshold, how many losses also get tau_c located
    "tiny": dict(batch=(2, 2, 2), dim=8, steps=300, taus=(0.5,), offsets=(-0.2, 0.2),
                 mlp=(60, 40), sizes=((3, 2),), imbalanced_alphas=(0.5,), seeds=2,
                 tau_thresholds=0, minibatch=(16, 200), point_seeds=1, boundaries=False),
    "quick": dict(batch=(3, 4, 2), dim=24, steps=1500, taus=(0.3, 1.0),
                  offsets=(-0.2, -0.05, 0.05, 0.2), mlp=(800, 600),
                  sizes=((5, 3, 2), (20, 2)), imbalanced_alphas=(0.2, 0.35, 0.5), seeds=2,
                  tau_thresholds=1, minibatch=(48, 3000), point_seeds=1, boundaries=False),
    "full": dict(batch=(4, 5, 2), dim=40, steps=3000, taus=(0.05, 0.1, 0.3, 1.0),
                 offsets=(-0.3, -0.15, -0.05, -0.02, 0.02, 0.05, 0.15, 0.3),
                 mlp=(2000, 1500), sizes=((5, 3, 2), (20, 2), (6, 6, 2, 2)),
                 imbalanced_alphas=(0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.7), seeds=3,
                 tau_thresholds=len(PRESETS), minibatch=(48, 6000), point_seeds=3,
                 boundaries=True),
}


def default_plan(losses: tuple, size: str = "quick", sizes=None) -> Plan:
    """Free embeddings on a grid straddling alpha_c for every loss, alpha = 0 and 1 included
    (``full``: straddling every boundary of the global optimum's regimes, 3 seeds each);
    free embeddings that learn tau (clamp :data:`LEARNED_CLAMP`) on both sides of
    alpha_c(clamp), judged against the joint optimum (the first loss; ``full``: every loss);
    at small tau for conventions whose SSEM validity is not established (supcon-split fails
    there); the Gaussian MLP and digits (paper,
    below and above alpha_c); alpha_c of every loss at tau = 0.5 located from training alone
    (:mod:`~ssem_symbolic.harness.threshold`), and tau_c at alpha = 0.3 for the first loss
    (quick) or every loss (full).

    Imbalanced batches (``sizes``, by default [5, 3, 2] and a 10:1 batch [20, 2]; a
    :class:`~ssem_symbolic.setting.ClassSizes` replaces them): free embeddings at tau = 0.5 on an
    alpha grid that crosses the per-class thresholds of [5, 3, 2] for every loss, and the
    Gaussian MLP on the first size vector."""
    cfg = _SIZES[size]
    losses = tuple(get_spec(loss) for loss in losses)
    m, k, p = cfg["batch"]
    points = []
    for loss in losses:
        for tau in cfg["taus"]:
            # alpha_c, and with ``boundaries`` every boundary of the global optimum's regimes
            centres = {float(alpha_c_value(loss, m, k, p, tau))}
            if cfg["boundaries"]:
                centres |= {b.at for b in regimes(loss, Batch.balanced(m, k, p), tau=tau,
                                                    tol=1e-6).boundaries}
            alphas = {0.0, 1.0} | {round(min(1.0, max(0.0, c + off)), 4)
                                   for c in centres for off in cfg["offsets"]}
            points += [TrainConfig("free", loss, a, tau, m, k, p, cfg["dim"], cfg["steps"],
                                   seed=seed)
                       for a in sorted(alphas) for seed in range(cfg["point_seeds"])]
        if not established(loss) and size != "tiny":  # small tau: where SSEM may fail
            # the landscape is flat there (loss within 2e-4 of its minimum after 1500 steps
            # with the views still 0.01 off): train longer
            points.append(TrainConfig("free", loss, 0.0, 0.1, m, k, p, cfg["dim"],
                                      cfg["steps"] * 8 // 3))
            points += _view_boundary_scan(loss, m, k, p, cfg)
    g_steps, d_steps = cfg["mlp"]
    mlp_loss = PRESETS["paper"] if PRESETS["paper"] in losses else losses[0]
    # tau learned with the embeddings (from 0.5, clamped at LEARNED_CLAMP) on both sides of
    # the collapse threshold at the clamp, where training takes tau: the first loss (quick),
    # every loss (full)
    for loss in {"tiny": (), "quick": (mlp_loss,), "full": losses}[size]:
        a_c = float(alpha_c_value(loss, m, k, p, LEARNED_CLAMP))
        points += [TrainConfig("free", loss, a, 0.5, m, k, p, cfg["dim"], cfg["steps"],
                               clamp=LEARNED_CLAMP)
                   for a in sorted({round(min(1.0, max(0.0, a_c + off)), 4)
                                    for off in (-0.1, 0.1)})]
    for a in (0.1, 0.9):
        points.append(TrainConfig("gaussian", mlp_loss, a, 0.5, m, k, p, cfg["dim"], g_steps,
                                  lr=0.003))
        points.append(TrainConfig("digits", mlp_loss, a, 0.5, m, k, p, cfg["dim"], d_steps,
                                  lr=0.003))
    imbalanced = cfg["sizes"] if sizes is None else (tuple(sizes.sizes),)
    for i, class_sizes in enumerate(imbalanced):
        dim = max(cfg["dim"], sum(class_sizes) * p)  # d >= the embeddings: no rank limit
        for loss in (losses if i == 0 else (mlp_loss,)):
            points += [TrainConfig("free", loss, a, 0.5, dim=dim, views=p, steps=cfg["steps"],
                                   sizes=class_sizes) for a in cfg["imbalanced_alphas"]]
    points.append(TrainConfig("gaussian", mlp_loss, 0.3, 0.5, dim=cfg["dim"], views=p,
                              steps=g_steps, lr=0.003, sizes=imbalanced[0]))
    points += _minibatch_points(losses, mlp_loss, cfg, size)
    thresholds = [dict(loss=loss, m=m, k=k, p=p, tau=0.5, steps=cfg["steps"], dim=cfg["dim"],
                       seeds=cfg["seeds"]) for loss in losses]
    # along tau the fit's points sit at small tau (0.4 for paper), where training converges
    # more slowly: twice the steps (paper's tau_c lands 0.9 % off at 1500, 0.06 % at 3000)
    thresholds += [dict(loss=loss, m=m, k=k, p=p, alpha=0.3, steps=2 * cfg["steps"],
                        dim=cfg["dim"], seeds=cfg["seeds"])
                   for loss in losses[:cfg["tau_thresholds"]]]
    return Plan(points, thresholds, size)


#: per loss form, whether its mini-batch training is judged against the dataset-level optimum
#: (the sigmoid form is not: see :func:`_minibatch_points`)
_MINIBATCH_JUDGED = {"softmax": True, "sigmoid": False}


def _minibatch_points(losses: tuple, main: LossSpec, cfg: dict, size: str) -> list:
    """Mini-batch training of a whole dataset's free embeddings, against the dataset-level
    optimum: C = 3 classes of n = 8 with batches of k = 2 per class at alpha = 0.9 (where the
    per-batch prediction is off by more than the tolerance); uniform batches of 6 at alpha =
    0.8 (where the class-balanced sampler's prediction is off); Cho et al.'s N = 8 two-view
    instances in batches of 2 (supcon-split at alpha = 0, tau = 1, an instance being a class
    of two one-view members), whose dataset optimum is the simplex where one batch alone
    would put the pair antipodal. None for the sigmoid form: Adam on its sampled batches
    stops short of the dataset-level optimum by more than the verdict's tolerance at the
    harness's step size (0.022 at lr 0.05, 0.011 at 0.01, 0.005 at 0.002 on 3 x 8 x 2,
    balanced 3:2, alpha 0.8, tau 0.5), while L-BFGS on its expected loss lands on it
    (tests/test_dataset.py)."""
    if not _MINIBATCH_JUDGED[main.form]:
        return []
    dim, steps = cfg["minibatch"]
    points = [TrainConfig("minibatch", main, 0.9, 0.5, 3, 8, 2, dim, steps,
                          sampler="balanced:3:2")]
    if size == "tiny":
        return points
    points.append(TrainConfig("minibatch", main, 0.8, 0.5, 3, 8, 2, dim, steps,
                              sampler="uniform:6"))
    if PRESETS["supcon-split"] in losses:
        points.append(TrainConfig("minibatch", PRESETS["supcon-split"], 0.0, 1.0, 8, 2, 1, 16,
                                  steps, sampler="balanced:2:2"))
    return points


def _view_boundary_scan(loss: LossSpec, m: int, k: int, p: int, cfg: dict) -> list:
    """Free-embedding points on both sides of every boundary where ``view`` enters or leaves
    the active set (views of an instance rejoin or split) along alpha at the plan's smallest
    tau: the regimes of the global optimum, off SSEM."""
    if p < 2:
        return []
    tau = min(cfg["taus"])
    found = regimes(loss, Batch.balanced(m, k, p), tau=tau)
    alphas = sorted({round(min(1.0, max(0.0, b.at + off)), 4)
                     for b in found.boundaries if ("view" in b.below) != ("view" in b.above)
                     for off in (-0.04, 0.04)})
    return [TrainConfig("free", loss, a, tau, m, k, p, cfg["dim"], cfg["steps"])
            for a in alphas]


def threshold_key(spec: dict) -> str:
    """A threshold search's identifier; its convention by name and content key."""
    def value(v):
        return f"{v.name}[{v.key()}]" if isinstance(v, LossSpec) else v
    return "threshold:" + ",".join(f"{k}={value(v)}" for k, v in sorted(spec.items()))


def run(plan: Plan, out: Path, resume: bool = False, device: str = "cpu",
        progress: bool = True, warn: Callable[[str], None] = print,
        validity: bool = True, executor: str = "local", address: str | None = None,
        jobs: int = 1, threads: int | None = THREADS) -> CrossCheck:
    """Train what ``plan`` asks (batched where it can), appending each result durably.

    ``executor``: ``local`` (in this process, one unit after another, on ``threads`` torch
    threads; ``jobs`` > 1: that many worker processes of one thread each) or ``ray`` (each unit a
    Ray task, on a local Ray instance or the cluster at ``address``; see
    :mod:`~ssem_symbolic.harness.executors`). Either way only this process writes
    results.jsonl, one record per finished configuration, and the records are the same."""
    results = ResultsFile(out / "results.jsonl", warn=warn)
    with results.locked():
        return _run_locked(plan, results, resume, device, progress, validity, executor,
                           address, jobs, threads)


def execute(kind: str, unit, device: str, validity: bool,
            threads: int | None = THREADS) -> list[dict]:
    """Train one unit of a plan (a batched group of free configurations, one network, or a
    threshold search) and return its records, each with the unit's wall time (``seconds``)
    and how many records share it (``unit_size``), on ``threads`` torch threads (None: torch's
    default, for benchmarks/threads.py)."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _execute(kind, unit, device, validity)
    finally:
        torch.set_num_threads(before)


def _execute(kind: str, unit, device: str, validity: bool) -> list[dict]:
    start = time.perf_counter()
    if kind == "free":
        z, labels, taus = train_free_learned(unit, device)
        refined = refine_group(unit, z, labels, taus)
        if unit[0].clamp is not None:
            refined, taus = finish_learned(unit, z, labels, taus, refined)
        recs = [record(c, z[i], labels, validity, refined=refined[i], tau=taus[i])
                for i, c in enumerate(unit)]
    elif kind == "net":
        trace: list = []
        z, labels = train(unit, device, trace=trace if unit.trainer == "minibatch" else None)
        recs = [record(unit, z, labels, validity, trace)]
    else:
        spec = dict(unit)
        res = locate_threshold(spec.pop("loss"), spec.pop("m"), spec.pop("k"), spec.pop("p"),
                               device=device, **spec)
        recs = [res | {"key": threshold_key(unit)}]
    seconds = time.perf_counter() - start
    return [rec | {"seconds": seconds, "unit_size": len(recs)} for rec in recs]


def timing(records: list[dict], cpus: int) -> dict:
    """The plan's work from its records: the units' total and longest wall time, and the time
    on ``cpus`` workers, about max(longest, total / cpus) (units run whole, one per CPU)."""
    total = sum(r["seconds"] / r.get("unit_size", 1) for r in records if "seconds" in r)
    longest = max((r["seconds"] for r in records if "seconds" in r), default=0.0)
    return {"total": total, "longest": longest, "on": cpus,
            "estimate": max(longest, total / cpus)}


def _run_locked(plan: Plan, results: ResultsFile, resume: bool, device: str, progress: bool,
                validity: bool, executor: str = "local", address: str | None = None,
                jobs: int = 1, threads: int | None = THREADS) -> CrossCheck:
    if resume:
        done = results.load()
        wanted = {c.key() for c in plan.points} | {threshold_key(t) for t in plan.thresholds}
        foreign = sorted(set(done) - wanted)
        if foreign:
            raise ValueError(
                f"{results.path.parent} holds {len(foreign)} record(s) of another plan (e.g. "
                f"{foreign[0]!r}); resume with the size and --loss of the run that made it, or "
                "give another --out")
    else:
        results.reset()
        done = {}
    todo_points = [c for c in plan.points if c.key() not in done]
    todo_thresholds = [t for t in plan.thresholds if threshold_key(t) not in done]
    units = _units(todo_points) + [("threshold", t) for t in todo_thresholds]
    bar = _bar(len(units), progress)

    def finished(recs: list[dict]) -> None:
        results.append(recs)
        for rec in recs:
            done[rec["key"]] = rec
        bar.update(1)

    try:
        if executor == "ray":
            from .executors import run_on_ray

            run_on_ray(execute, units, device, validity, finished, address)
        elif executor == "local" and jobs > 1 and len(units) > 1:
            from .executors import run_in_processes

            run_in_processes(execute, units, device, validity, finished,
                             min(jobs, len(units)))
        elif executor == "local":
            for kind, unit in units:
                finished(execute(kind, unit, device, validity, threads))
        else:
            raise ValueError(f"unknown executor {executor!r}: use local or ray")
    finally:
        bar.close()
    points = [done[c.key()] for c in plan.points]
    thresholds = [done[threshold_key(t)] for t in plan.thresholds]
    return CrossCheck(points, thresholds)


def _units(configs: list[TrainConfig]) -> list[tuple[str, object]]:
    """Free configurations grouped into batches (one tensor program each); others alone."""
    groups: dict[tuple, list[TrainConfig]] = {}
    units: list[tuple[str, object]] = []
    for c in configs:
        if c.trainer == "free":
            groups.setdefault(c.group(), []).append(c)
        else:
            units.append(("net", c))
    return [("free", g) for g in groups.values()] + units


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(total: int, show: bool):
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc="cross-check", unit="run", leave=False)
