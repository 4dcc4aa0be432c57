"""Does the prediction hold for a network on real data? Train an encoder with SupCLLoss on a
real dataset (:mod:`~ssem_symbolic.harness.datasets`), over a grid of alpha at two
temperatures and several seeds, with the class-balanced sampler, and compare what it learned
with the dataset-level optimum for that sampler and with the per-batch one.

Per run: an encoder (an MLP on the flattened input; a small 1-D convolutional net for
MNIST-1D) with unit-norm outputs in R^``dim``, trained by Adam on batches of m classes x k
instances x 2 views (views: a random shift of the image by up to one pixel, or of the series
by up to 5 % of its length, plus Gaussian noise). Measured on the training split and on the
held-out split, two views per example (the reference definitions: within-class variance the
mean over classes of 1 - ||class mean||^2, total 1 - ||mean||^2, between their difference; the
view similarity the mean cosine of an example's two views), and the accuracy of a linear probe
(logistic regression on the training embeddings, scored on the held-out ones).

What counts as agreement is fixed before any run (docs, "Real data"): the predicted
within-class variance lies within 2 standard errors over the seeds, plus TOLERANCE (0.05), of
the measured mean on the training split. alpha_c is located from training alone: the
quadratic through the grid's spreading points (measured within-class variance above SPREAD),
extrapolated to 0, as the free-embedding locator does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from ..loss import SupCLLoss
from .datasets import load
from .dynamics import single_threaded

#: the verdict's allowance for finite training, beyond 2 standard errors over the seeds
TOLERANCE = 0.05
#: measured within-class variance above which a point counts as spread (the locator's fit)
SPREAD = 0.02


@dataclass(frozen=True)
class RealPlan:
    """A real-data plan: datasets, the alpha grid, the temperatures, seeds and training."""

    datasets: tuple
    alphas: tuple
    taus: tuple
    seeds: tuple
    steps: int
    loss: str = "supcon"
    dim: int = 32
    lr: float = 1e-3
    views: int = 2
    #: per dataset the sampler's (m classes, k instances); the default fits every dataset
    batches: dict = field(default_factory=lambda: {"digits": (10, 8), "mnist": (10, 8),
                                                   "mnist1d": (10, 8), "pigcvp": (16, 2)})


PLANS = {
    "tiny": RealPlan(("digits",), (0.2, 0.8), (0.5,), (0,), 40),
    "quick": RealPlan(("digits", "mnist", "mnist1d", "pigcvp"),
                      (0.0, 0.2, 0.4, 0.6, 0.8, 1.0), (0.1, 0.5), (0, 1), 300),
    "full": RealPlan(("digits", "mnist", "mnist1d", "pigcvp"),
                     tuple(np.round(np.linspace(0, 1, 11), 2).tolist()), (0.1, 0.5),
                     (0, 1, 2), 1000),
}


class _MLP(torch.nn.Module):
    def __init__(self, features: int, dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(features, hidden), torch.nn.ReLU(),
            torch.nn.Linear(hidden, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, dim))

    def forward(self, x):
        return self.net(x)


class _Conv1d(torch.nn.Module):
    def __init__(self, length: int, dim: int, channels: int = 32) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Conv1d(1, channels, 5, padding=2), torch.nn.ReLU(),
            torch.nn.Conv1d(channels, channels, 3, padding=1, stride=2), torch.nn.ReLU(),
            torch.nn.Conv1d(channels, channels, 3, padding=1, stride=2), torch.nn.ReLU(),
            torch.nn.Flatten(), torch.nn.Linear(channels * math.ceil(math.ceil(length / 2) / 2),
                                                dim))

    def forward(self, x):
        return self.net(x[:, None, :])


def _encoder(name: str, features: int, dim: int) -> torch.nn.Module:
    return _Conv1d(features, dim) if name == "mnist1d" else _MLP(features, dim)


def _view(x: torch.Tensor, kind: str, side: int | None, gen: torch.Generator,
          noise: float = 0.1) -> torch.Tensor:
    """One random view per row: a shift (image: up to one pixel per axis, zero fill; series:
    circular, up to 5 % of its length) plus Gaussian noise."""
    n = x.shape[0]
    if kind == "image":
        img = torch.nn.functional.pad(x.reshape(n, side, side), (1, 1, 1, 1))
        dy = torch.randint(0, 3, (n,), generator=gen)
        dx = torch.randint(0, 3, (n,), generator=gen)
        rows = (dy[:, None] + torch.arange(side)[None, :])[:, :, None]
        cols = (dx[:, None] + torch.arange(side)[None, :])[:, None, :]
        out = img[torch.arange(n)[:, None, None], rows, cols].reshape(n, -1)
    else:
        top = max(1, int(0.05 * x.shape[1]))
        shift = torch.randint(-top, top + 1, (n,), generator=gen)
        idx = (torch.arange(x.shape[1])[None, :] - shift[:, None]) % x.shape[1]
        out = torch.gather(x, 1, idx)
    return out + noise * torch.randn(out.shape, generator=gen)


def _batch(y: np.ndarray, m: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices of a class-balanced batch: m classes, then k instances of each."""
    classes = rng.choice(int(y.max()) + 1, size=m, replace=False)
    return np.concatenate([rng.choice(np.flatnonzero(y == c), size=k, replace=False)
                           for c in classes])


def train_encoder(data, plan: RealPlan, alpha: float, tau: float, seed: int):
    """An encoder trained with SupCLLoss(alpha, tau, plan.loss) on ``data``'s training split."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    m, k = plan.batches[data.name]
    x = torch.from_numpy(data.x_train)
    model = _encoder(data.name, x.shape[1], plan.dim)
    opt = torch.optim.Adam(model.parameters(), lr=plan.lr)
    loss = SupCLLoss(alpha, tau, plan.loss)
    for _ in range(plan.steps):
        rows = _batch(data.y_train, m, k, rng)
        xb = x[rows]
        z = torch.stack([model(_view(xb, data.kind, data.side, gen))
                         for _ in range(plan.views)], 1)
        value = loss(z, torch.from_numpy(data.y_train[rows]))
        opt.zero_grad()
        value.backward()
        opt.step()
    return model


def _embed(model, data, x: np.ndarray, gen: torch.Generator, views: int) -> torch.Tensor:
    with torch.no_grad():
        xt = torch.from_numpy(x)
        z = torch.stack([model(_view(xt, data.kind, data.side, gen)) for _ in range(views)], 1)
    return torch.nn.functional.normalize(z.double(), dim=-1)


def measure(z: torch.Tensor, y: np.ndarray) -> dict:
    """Within, between and total variance of unit embeddings z (n, p, d) by label, and the
    mean cosine of an example's first two views."""
    flat = z.reshape(-1, z.shape[-1])
    labels = np.repeat(y, z.shape[1])
    mean = flat.mean(0)
    total = 1.0 - float(mean @ mean)
    within = float(np.mean([1.0 - float(flat[labels == c].mean(0).pow(2).sum())
                            for c in np.unique(labels)]))
    views = float((z[:, 0] * z[:, 1]).sum(-1).mean()) if z.shape[1] > 1 else None
    return {"within": within, "between": total - within, "total": total,
            "view_similarity": views}


def probe(model, data) -> float:
    """Held-out accuracy of a logistic-regression probe on the unit embeddings of the clean
    inputs."""
    from sklearn.linear_model import LogisticRegression

    with torch.no_grad():
        tr = torch.nn.functional.normalize(model(torch.from_numpy(data.x_train)), dim=-1)
        te = torch.nn.functional.normalize(model(torch.from_numpy(data.x_test)), dim=-1)
    clf = LogisticRegression(max_iter=2000)
    clf.fit(tr.numpy(), data.y_train)
    return float(clf.score(te.numpy(), data.y_test))


def predict(data, plan: RealPlan, alpha: float, tau: float) -> dict:
    """The within-class variance of the dataset-level optimum for the plan's sampler (C classes
    x n instances, n the smallest class of the training split) and of one batch's."""
    from ..optimum import optimum
    from ..setting import Batch, Dataset, balanced

    from ..optimum import rank_needed

    m, k = plan.batches[data.name]
    n = int(np.bincount(data.y_train).min())
    a, t = repr(float(alpha)), repr(float(tau))
    batch = Batch.balanced(m, k, plan.views)
    per_batch = optimum(plan.loss, batch, a, t)
    out = {"batch": per_batch.within_class_variance, "n": n}
    if (data.classes, n) == (m, k):
        out["dataset"] = out["batch"]
        out["rank"] = rank_needed(plan.loss, batch, per_batch)
    else:
        setting = Dataset(data.classes, n, plan.views, balanced(m, k))
        ds = optimum(plan.loss, setting, a, t)
        out["dataset"] = ds.within_class_variance
        out["rank"] = rank_needed(plan.loss, setting, ds)
    return out


@single_threaded
def run_real(plan: RealPlan, progress=None) -> dict:
    """Every (dataset, alpha, tau, seed) of the plan: records, then per (dataset, alpha, tau)
    the seeds' mean and standard error beside both predictions with the verdict, and per
    (dataset, tau) alpha_c located from training beside the derived ones."""
    runs, points, thresholds, sources = [], [], [], []
    for name in plan.datasets:
        data = load(name)
        sources.append(data.describe())
        for tau in plan.taus:
            row = []
            for alpha in plan.alphas:
                pred = predict(data, plan, alpha, tau)
                measured = []
                for seed in plan.seeds:
                    model = train_encoder(data, plan, alpha, tau, seed)
                    gen = torch.Generator().manual_seed(10_000 + seed)
                    rec = {"dataset": name, "alpha": alpha, "tau": tau, "seed": seed,
                           "train": measure(_embed(model, data, data.x_train, gen, plan.views),
                                            data.y_train),
                           "test": measure(_embed(model, data, data.x_test, gen, plan.views),
                                           data.y_test),
                           "probe_accuracy": probe(model, data)}
                    runs.append(rec)
                    measured.append(rec)
                    if progress is not None:
                        progress(rec)
                point = _point(name, alpha, tau, pred, measured, plan.dim)
                points.append(point)
                row.append(point)
            thresholds.append(_threshold(name, tau, plan, row, data.classes))
    return {"plan": {"datasets": list(plan.datasets), "alphas": list(plan.alphas),
                     "taus": list(plan.taus), "seeds": list(plan.seeds), "steps": plan.steps,
                     "loss": plan.loss, "dim": plan.dim,
                     "batches": {n: list(plan.batches[n]) for n in plan.datasets}},
            "tolerance": TOLERANCE, "sources": sources, "runs": runs, "points": points,
            "thresholds": thresholds}


def _stats(values) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0
    return float(v.mean()), se


def _point(name, alpha, tau, pred, measured, dim: int) -> dict:
    out = {"dataset": name, "alpha": alpha, "tau": tau, "n": pred["n"],
           "predicted_dataset": pred["dataset"], "predicted_batch": pred["batch"],
           "rank_needed": pred["rank"]}
    for split in ("train", "test"):
        for key in ("within", "between", "view_similarity"):
            mean, se = _stats([r[split][key] for r in measured])
            out[f"{split}_{key}"], out[f"{split}_{key}_se"] = mean, se
    out["probe_accuracy"], out["probe_accuracy_se"] = _stats(
        [r["probe_accuracy"] for r in measured])
    allowed = 2 * out["train_within_se"] + TOLERANCE
    gap = out["train_within"] - out["predicted_dataset"]
    out["gap_dataset"], out["gap_batch"] = gap, out["train_within"] - out["predicted_batch"]
    out["allowed"] = allowed
    out["realisable"] = pred["rank"] <= dim
    out["verdict"] = "agrees" if abs(gap) <= allowed else "disagrees"
    out["closer"] = ("dataset" if abs(gap) < abs(out["gap_batch"]) else
                     "batch" if abs(gap) > abs(out["gap_batch"]) else "same")
    return out


def _threshold(name, tau, plan: RealPlan, row: list, classes: int) -> dict:
    """alpha_c from training alone (the spreading points' quadratic extrapolated to 0) beside
    the derived dataset-level and per-batch thresholds."""
    from ..optimum import threshold
    from ..setting import Dataset, balanced
    from ..ssem import alpha_c_value
    from .threshold import _root

    m, k = plan.batches[name]
    n = row[0]["n"]
    x = np.array([p["alpha"] for p in row])
    w = np.array([p["train_within"] for p in row])
    spread = w > SPREAD
    located, note = None, None
    if spread.sum() >= 2 and (~spread).any():
        edge = x[~spread].max()
        located = _root(x[spread], w[spread], float(edge), float(x[spread].min()))
    elif spread.all():
        note = (f"no alpha of the grid collapsed: the smallest within-class variance measured "
                f"is {w.min():.3g} > {SPREAD}")
    else:
        note = "fewer than two spreading points on the grid"
    batch = float(alpha_c_value(plan.loss, m, k, plan.views, repr(float(tau))))
    try:
        data_level = threshold(plan.loss, Dataset(classes, n, plan.views, balanced(m, k)),
                               tau=repr(float(tau)), tol=1e-6).alpha_c
    except ValueError:
        data_level = None
    return {"dataset": name, "tau": tau, "located": located, "dataset_level": data_level,
            "per_batch": batch, "note": note}


def real_report(result: dict) -> str:
    """real.md: the plan, the sources, a table per dataset, the located thresholds and the
    verdict counts, with the criterion."""
    plan = result["plan"]
    lines = ["# Real data: networks against the predictions", "",
             f"{plan['loss']}, encoder output d = {plan['dim']}, {plan['steps']} Adam steps, "
             f"seeds {plan['seeds']}, class-balanced sampler (m classes x k instances: "
             + ", ".join(f"{n} {m} x {k}" for n, (m, k) in plan["batches"].items()) + ").",
             f"Agreement: the dataset-level prediction within 2 standard errors (seeds) + "
             f"{result['tolerance']} of the measured within-class variance (training split). "
             "'closer' names the prediction nearer the measurement; 'rank needed' is the rank "
             f"of the dataset-level optimum's Gram matrix, '> d' where the encoder's d = "
             f"{plan['dim']} cannot reach it (the prediction is then a relaxation's).", "",
             "| dataset | package | version | train | test | classes | sha256 |",
             "|---|---|---|---|---|---|---|"]
    for s in result["sources"]:
        lines.append(f"| {s['name']} | {s['package']} | {s['version']} | {s['train']} | "
                     f"{s['test']} | {s['classes']} | {s['sha256'][:16]} |")
    for name in plan["datasets"]:
        lines += ["", f"## {name}", "",
                  "| tau | alpha | within train (+-se) | within held-out | predicted dataset "
                  "| predicted batch | rank needed | view sim. | probe acc. | verdict | closer |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for p in result["points"]:
            if p["dataset"] != name:
                continue
            lines.append(
                f"| {p['tau']:g} | {p['alpha']:g} | {p['train_within']:.4f} +- "
                f"{p['train_within_se']:.4f} | {p['test_within']:.4f} | "
                f"{p['predicted_dataset']:.4f} | {p['predicted_batch']:.4f} | "
                f"{p['rank_needed']}{'' if p['realisable'] else ' > d'} | "
                f"{p['train_view_similarity']:.3f} | {p['probe_accuracy']:.3f} | "
                f"{p['verdict']} | {p['closer']} |")
    lines += ["", "## alpha_c located from training", "",
              "| dataset | tau | located | dataset-level | per batch | note |",
              "|---|---|---|---|---|---|"]

    def fmt(v):
        return "-" if v is None else f"{v:.4f}"
    for t in result["thresholds"]:
        lines.append(f"| {t['dataset']} | {t['tau']:g} | {fmt(t['located'])} | "
                     f"{fmt(t['dataset_level'])} | {fmt(t['per_batch'])} | "
                     f"{t['note'] or ''} |")
    counts: dict = {}
    for p in result["points"]:
        counts[p["verdict"]] = counts.get(p["verdict"], 0) + 1
    closer: dict = {}
    for p in result["points"]:
        closer[p["closer"]] = closer.get(p["closer"], 0) + 1
    lines += ["", "verdicts: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
              + "; the nearer prediction: " + ", ".join(f"{k} {v}" for k, v in
                                                          sorted(closer.items()))
              + f" ({len(result['points'])} points, {len(result['runs'])} runs"
              + (f", {result['seconds']:.0f} s)" if "seconds" in result else ")")]
    return "\n".join(lines) + "\n"
