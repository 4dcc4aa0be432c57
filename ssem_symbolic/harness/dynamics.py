"""The reduced dynamics against free unit embeddings trained with the same update rule.

From a symmetric start the simulated Gram values must equal the reduced trajectory at every
step (float64: to 1e-8). From a start perturbed by random noise the trajectory leaves the
symmetric family, and the check compares what carries over:

* the plateau at collapse. The linearisation at complete collapse is governed by H (an element
  of the pair types' algebra) acting on the rows, so *every* perturbation, symmetric or not,
  grows within eigenspace e by the same factor rho_e per step. The plateau is therefore
  predicted from the start itself: log(EXIT / g_e) / log(rho_e), g_e the largest eigenvalue
  of the start's Gram matrix projected on eigenspace e, minimised over the growing spaces.
  Its stated error, from the terms the linearisation drops (relative size EXIT, and the
  perturbation's own relative size in the all-ones direction), is
  (log(1 + EXIT) + log(1 + g_max)) / log(rho) + 1 step;
* the relaxation rate fitted from the tail of the run (the decay of the distance to the
  optimum's Gram values) against the symmetric family's. A perturbation that breaks the
  symmetry relaxes with rates of its own, which the reduced dynamics does not give: the check
  reports the two side by side and says which is slower.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..dynamics import EXIT, Dynamics, escape_rates_per_step
from ..loss import supcl_loss


def _layout(m: int, k: int, p: int):
    inst = [i for i in range(m * k) for _ in range(p)]
    return np.array(inst), np.array([i // k for i in inst])


def symmetric_vectors(m: int, k: int, p: int, x, dim: int | None = None,
                      seed: int = 0) -> torch.Tensor:
    """Unit vectors (m k, p, dim) with the Gram values 1, v, c, o per pair type, randomly
    rotated (``dim`` >= m k p, by default m k p)."""
    inst, lab = _layout(m, k, p)
    v, c, o = x
    same_inst = inst[:, None] == inst[None, :]
    same_cls = lab[:, None] == lab[None, :]
    G = np.where(same_inst, v, np.where(same_cls, c, o))
    np.fill_diagonal(G, 1.0)
    w, U = np.linalg.eigh(G)
    X = U * np.sqrt(np.clip(w, 0, None))
    M = len(inst)
    dim = M if dim is None else dim
    if dim < M:
        raise ValueError(f"free embeddings of {M} rows need dim >= {M}, got {dim}")
    X = np.hstack([X, np.zeros((M, dim - M))])
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))
    X = X @ Q
    return torch.tensor(X / np.linalg.norm(X, axis=1, keepdims=True)).reshape(m * k, p, dim)


def typed_means(X: torch.Tensor, m: int, k: int, p: int) -> tuple[np.ndarray, float]:
    """The mean Gram value per pair type (v, c, o) and the largest spread within a type."""
    inst, lab = _layout(m, k, p)
    Z = torch.nn.functional.normalize(X.reshape(len(inst), -1), dim=-1)
    G = (Z @ Z.T).numpy()
    off = ~np.eye(len(inst), dtype=bool)
    masks = [off & (inst[:, None] == inst[None, :]),
             off & (inst[:, None] != inst[None, :]) & (lab[:, None] == lab[None, :]),
             lab[:, None] != lab[None, :]]
    means = np.array([G[mask].mean() if mask.any() else 1.0 for mask in masks])
    spread = max(float(np.ptp(G[mask])) if mask.any() else 0.0 for mask in masks)
    return means, spread


def _projected_max(X: torch.Tensor, dyn: Dynamics) -> np.ndarray:
    """The largest eigenvalue of the Gram matrix projected on each eigenspace (view, within,
    between)."""
    m, k, p = dyn.m, dyn.k, dyn.p
    M = m * k * p
    Z = X.reshape(M, -1).numpy()
    G = Z @ Z.T
    inst, lab = _layout(m, k, p)
    # projectors: onto instance means, class means and the overall mean
    P_inst = (inst[:, None] == inst[None, :]) / p
    P_cls = (lab[:, None] == lab[None, :]) / (k * p)
    P_all = np.full((M, M), 1.0 / M)
    eye = np.eye(M)
    out = []
    for P in (eye - P_inst, P_inst - P_cls, P_cls - P_all):
        out.append(float(np.linalg.eigvalsh(P @ G @ P).max()))
    return np.array(out)


def check(spec, m: int, k: int, p: int, alpha, tau, *, lr: float, steps: int,
          start, noise: float = 0.0, seed: int = 0, tail: int = 50) -> dict:
    """Simulate gradient descent (step ``lr``) on free unit embeddings from ``start`` (v, c, o),
    perturbed by Gaussian noise of relative size ``noise`` per row, and compare it with the
    reduced trajectory (module docstring)."""
    torch.set_num_threads(1)
    dyn = Dynamics(spec, m, k, p, alpha, tau)
    a, t = float(alpha), float(tau)
    X = symmetric_vectors(m, k, p, start, seed=seed)
    if noise > 0:
        gen = torch.Generator().manual_seed(seed)
        X = X + noise * torch.randn(X.shape, generator=gen, dtype=X.dtype) / math.sqrt(
            X.shape[-1])
        X = torch.nn.functional.normalize(X, dim=-1)
    labels = torch.arange(m).repeat_interleave(k)
    start_max = _projected_max(X, dyn)
    sim, spreads, gam = [], [], []
    for _ in range(steps):
        Xr = X.clone().requires_grad_()
        supcl_loss(Xr, labels, a, t, spec).backward()
        X = torch.nn.functional.normalize((Xr - lr * Xr.grad).detach(), dim=-1)
        means, spread = typed_means(X, m, k, p)
        sim.append(means)
        spreads.append(spread)
        gam.append(_projected_max(X, dyn).max())
    sim = np.array(sim)
    red = dyn.run(np.asarray(start, dtype=float), rule="gd", steps=steps, lr=lr).x[1:]
    out = {"steps": steps, "lr": lr, "noise": noise,
           "max_trajectory_gap": float(np.abs(sim - red).max()),
           "max_spread": float(max(spreads))}
    rates = escape_rates_per_step(dyn, lr)
    growing = [(math.log(EXIT / g) / r, r) for g, r in zip(start_max, rates)
               if r > 0 and 0 < g < EXIT]
    if growing:
        predicted, rate = min(growing)
        left = np.nonzero(np.array(gam) >= EXIT)[0]
        out["plateau"] = None if not len(left) else int(left[0]) + 1
        out["plateau_predicted"] = predicted
        out["plateau_error"] = (math.log(1 + EXIT) + math.log(1 + start_max.max())) / rate + 1
    from ..optimum import optimum
    from ..setting import Batch

    opt = optimum(spec, Batch.balanced(m, k, p), alpha, tau)
    x_star = np.array([opt.view if opt.view is not None else 1.0, opt.class_, opt.other])
    radius = float(max(abs(np.linalg.eigvals(dyn.gd_jacobian(x_star, lr)))))
    out["relaxation_rate_symmetric"] = -math.log(radius) if radius > 0 else math.inf
    dist = np.abs(sim[-tail:] - x_star).max(1)
    keep = dist > 1e-12  # above rounding: the tail of a converged run
    out["relaxation_rate_fitted"] = (float(-np.polyfit(np.arange(len(dist))[keep],
                                                       np.log(dist[keep]), 1)[0])
                                     if keep.sum() >= 5 else None)
    out["final_gap_to_optimum"] = float(np.abs(sim[-1] - x_star).max())
    return out


#: the configurations the cross-check's dynamics section runs per loss (3 x 4 x 2 batch,
#: gradient descent with lr 0.5 from collapsed:1e-6): a symmetric start and two noisy ones
PLAN = ({"alpha": "0.3", "tau": "0.5", "noise": 0.0, "seed": 0},
        {"alpha": "0.3", "tau": "0.5", "noise": 1e-3, "seed": 1},
        {"alpha": "0.9", "tau": "0.5", "noise": 1e-2, "seed": 2})


def crosscheck(losses, steps: int = 150) -> list[dict]:
    """The dynamics section of ``ssem crosscheck``: per loss (softmax or sigmoid spec with a
    valid 3 x 4 x 2 batch) and :data:`PLAN` entry, :func:`check` and its verdicts:

    * ``trajectory`` (symmetric starts): agrees when the simulated Gram values stay within
      1e-8 of the reduced trajectory at every step;
    * ``plateau``: agrees when the simulated plateau lies within the stated error of the
      prediction from the start's projected Gram eigenvalues.

    The relaxation near the optimum is not judged here: 150 steps do not reach the tail, and
    a symmetry-breaking perturbation relaxes at rates of its own (:func:`check` with more
    steps fits them)."""
    out = []
    for spec in losses:
        for cfg in PLAN:
            res = check(spec, 3, 4, 2, cfg["alpha"], cfg["tau"], lr=0.5, steps=steps,
                        start=np.full(3, 1 - 1e-6), noise=cfg["noise"], seed=cfg["seed"])
            verdicts = {}
            if cfg["noise"] == 0:
                verdicts["trajectory"] = ("agrees" if res["max_trajectory_gap"] < 1e-8
                                          else "disagrees")
            if "plateau_predicted" in res and res.get("plateau") is not None:
                verdicts["plateau"] = ("agrees" if abs(res["plateau"] - res["plateau_predicted"])
                                       <= res["plateau_error"] else "disagrees")
            out.append({"loss": spec.name, **cfg, **res, "verdicts": verdicts})
    return out


def section(records: list[dict]) -> str:
    """The dynamics section of report.md."""
    lines = ["## Dynamics: free embeddings against the exact reduced trajectory", "",
             "3 x 4 x 2 batch, gradient descent with lr 0.5 from a start at 1e-6 of complete "
             "collapse, free unit embeddings in float64. Noise: a Gaussian perturbation of "
             "that relative size per row (the start leaves the symmetric family). The plateau "
             "is predicted from the start's projected Gram eigenvalues.", "",
             "| loss | alpha | noise | trajectory gap | plateau (simulated / predicted +- "
             "error) | verdicts |", "|---|---|---|---|---|---|"]
    for r in records:
        plateau = ("-" if r.get("plateau_predicted") is None else
                   f"{r.get('plateau')} / {r['plateau_predicted']:.2f} +- "
                   f"{r['plateau_error']:.2f}")
        verdicts = ", ".join(f"{k} {v}" for k, v in r["verdicts"].items()) or "-"
        lines.append(f"| {r['loss']} | {r['alpha']} | {r['noise']:g} | "
                     f"{r['max_trajectory_gap']:.1e} | {plateau} | {verdicts} |")
    return "\n".join(lines) + "\n"
