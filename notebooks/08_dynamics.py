# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 08 - How fast does a batch collapse?
#
# The symmetry that reduces the optimum to a small polyhedron also reduces the dynamics: from
# a symmetric start, gradient descent on the sphere stays in the family of Gram matrices with
# one value per pair type, and each step is an exact map of the family's four eigenvalues.
# This notebook draws trajectories on both sides of alpha_c, the relaxation rate against
# |alpha - alpha_c| (critical slowing down, exponent 1), and the plateau at collapse against
# its start eps and the step size, with free embeddings simulated by torch on every curve.

# %%
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from ssem_symbolic.dynamics import Dynamics, critical_slowing, parse_start, summarise
from ssem_symbolic.harness.dynamics import relaxation
from ssem_symbolic.loss import supcl_loss
from ssem_symbolic.optimum import optimum
from ssem_symbolic.setting import Batch
from ssem_symbolic.ssem import alpha_c_value

torch.set_num_threads(1)
SPEC, M, K, P, TAU = "supcon", 3, 4, 2, "0.5"
alpha_c = float(alpha_c_value(SPEC, M, K, P, TAU))
print(f"alpha_c({TAU}) = {alpha_c:.6f} for {SPEC} on a {M} x {K} x {P} batch")


# %% [markdown]
# Free embeddings, for the simulated points: vectors whose Gram matrix has the start's values,
# then SupCLLoss's gradient, the step and the renormalisation, in float64.

# %%
def simulate(alpha, x0, lr, steps):
    inst = [i for i in range(M * K) for _ in range(P)]
    lab = [i // K for i in inst]
    v, c, o = x0
    G = np.array([[1.0 if a == b else v if inst[a] == inst[b] else c if lab[a] == lab[b]
                   else o for b in range(len(inst))] for a in range(len(inst))])
    w, U = np.linalg.eigh(G)
    X = U * np.sqrt(np.clip(w, 0, None))
    X = torch.tensor(X / np.linalg.norm(X, axis=1, keepdims=True)).reshape(M * K, P, -1)
    labels = torch.arange(M).repeat_interleave(K)
    out = []
    for _ in range(steps):
        Xr = X.clone().requires_grad_()
        supcl_loss(Xr, labels, alpha, float(TAU), SPEC).backward()
        X = torch.nn.functional.normalize((Xr - lr * Xr.grad).detach(), dim=-1)
        Z = X.reshape(M * K * P, -1)
        Gm = (Z @ Z.T).numpy()
        out.append((Gm[0, 1], Gm[0, 2], Gm[0, -1]))  # a view, class and other partner
    return np.array(out)


# %% [markdown]
# ## Trajectories on both sides of alpha_c
#
# Below alpha_c the batch leaves complete collapse only as far as class collapse (c -> 1);
# above it the instances of a class spread too. Lines: the exact reduced map; dots: simulated
# free embeddings, every 20th step.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for ax, alpha in zip(axes, (alpha_c - 0.1, alpha_c + 0.2)):
    dyn = Dynamics(SPEC, M, K, P, repr(alpha), TAU)
    x0 = parse_start("collapsed:1e-3", dyn)
    traj = dyn.run(x0, rule="gd", steps=400, lr=0.5)
    sim = simulate(alpha, x0, 0.5, 400)
    for i, name in enumerate(("v", "c", "o")):
        line, = ax.plot(traj.time, traj.x[:, i], label=name)
        ax.plot(np.arange(1, 401)[::20], sim[::20, i], "o", color=line.get_color(), ms=3)
    print(f"alpha {alpha:.3f}: largest gap reduced vs simulated "
          f"{np.abs(traj.x[1:] - sim).max():.1e}")
    ax.set_title(f"alpha = {alpha:.3f} ({'below' if alpha < alpha_c else 'above'} alpha_c)")
    ax.set_xlabel("step")
    ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Critical slowing down
#
# At a fixed point every eigen-direction has h_e gamma_e = 0. On the collapsed side the
# within-class direction relaxes at -4 h_within, a KKT multiplier that vanishes linearly at
# alpha_c; above it, at -4 (d h_within / d gamma_within) gamma_within, with the within-class
# eigenvalue growing linearly from 0. So the relaxation rate vanishes as |alpha - alpha_c|^1 on
# both sides. Dots: the decay rate fitted from simulated free embeddings started near the
# optimum (per step of lr 0.5, divided by the lr to compare with the flow's rate).

# %%
slow = critical_slowing(SPEC, M, K, P, TAU, deltas=(1e-3, 3e-3, 1e-2, 3e-2))
print({side: round(z, 4) for side, z in slow.exponent.items()}, "exponents")
print({side: round(a, 4) for side, a in slow.prefactor.items()}, "prefactors")


def fitted_rate(alpha, lr=0.5, steps=60, eps=1e-4):
    dyn = Dynamics(SPEC, M, K, P, repr(alpha), TAU)
    opt = optimum(SPEC, Batch.balanced(M, K, P), repr(alpha), TAU)
    x_star = np.array([opt.view, opt.class_, opt.other])
    w, V = np.linalg.eig(dyn.gd_jacobian(x_star, lr))
    d = np.real(V[:, int(np.argmax(abs(w)))])
    # the sign that keeps the start a Gram matrix of unit vectors (the optimum sits on faces)
    d = max((d, -d), key=lambda u: dyn.gamma(x_star + eps * u).min())
    sim = simulate(alpha, x_star + eps * d, lr, steps)
    dist = np.abs(sim - x_star).max(1)
    keep = dist > 1e-14  # above rounding
    return -np.polyfit(np.arange(steps)[keep], np.log(dist[keep]), 1)[0] / lr


fig, ax = plt.subplots(figsize=(6, 4))
for side, sign, colour in (("below", -1, "C0"), ("above", 1, "C1")):
    deltas = np.logspace(-3, -1.3, 12)
    ax.loglog(deltas, slow.prefactor[side] * deltas ** slow.exponent[side], color=colour,
              label=f"{side}: {slow.prefactor[side]:.3f} |alpha - alpha_c|^"
                    f"{slow.exponent[side]:.3f}")
    pts = [0.01, 0.03]
    ax.loglog(pts, [fitted_rate(alpha_c + sign * d) for d in pts], "o", color=colour)
ax.set_xlabel("|alpha - alpha_c|")
ax.set_ylabel("relaxation rate")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The simulated rates sit slightly off the line at the larger distances: there the exact rate
# departs from its linear asymptote, and a finite step (lr 0.5) differs from the flow.

# %% [markdown]
# ## The plateau at collapse
#
# From a start at distance eps of complete collapse, the batch leaves it after
# log(0.1 / eps) / rate steps: the plateau a loss curve shows at the start of training. A
# smaller step size stretches it in proportion. Dots: simulated free embeddings.

# %%
alpha = alpha_c + 0.2
dyn = Dynamics(SPEC, M, K, P, repr(alpha), TAU)
opt = optimum(SPEC, Batch.balanced(M, K, P), repr(alpha), TAU)
x_star = [opt.view, opt.class_, opt.other]
fig, ax = plt.subplots(figsize=(6, 4))
for lr, colour in ((0.5, "C0"), (0.2, "C1")):
    epss = np.logspace(-10, -2, 9)
    plateaus = []
    for eps in epss:
        traj = dyn.run(parse_start(f"collapsed:{eps}", dyn), rule="gd", steps=1500, lr=lr)
        s = summarise(dyn, traj, x_star, opt.loss_value, eps=eps)
        plateaus.append((s.plateau, s.plateau_predicted))
    plateaus = np.array(plateaus)
    ax.plot(epss, plateaus[:, 1], color=colour, label=f"log(0.1/eps)/rate, lr {lr}")
    ax.plot(epss, plateaus[:, 0], "x", color=colour, label=f"exact map, lr {lr}")
    for eps in (1e-8, 1e-4):  # simulated: the first step a Gram eigenvalue reaches 0.1
        sim = simulate(alpha, parse_start(f"collapsed:{eps}", dyn), lr, 400)
        gam = np.array([dyn.gamma(x)[:3].max() for x in sim])
        ax.plot([eps], [int(np.argmax(gam >= 0.1)) + 1], "o", color=colour)
ax.set_xscale("log")
ax.set_xlabel("eps (distance from complete collapse)")
ax.set_ylabel("plateau (steps)")
ax.legend(fontsize=8)
plt.show()
print(f"escape rate per unit time {max(dyn.collapse_rates()):.4f}; "
      f"log(0.1/1e-8)/rate = {math.log(0.1 / 1e-8) / max(dyn.collapse_rates()):.1f} time units")

# %% [markdown]
# ## Off the symmetric family: how fast a real run settles
#
# The relaxation rate above is the symmetric family's. A perturbation that breaks the symmetry
# has rates of its own: the full linearisation of gradient descent at an explicit optimal
# embedding (rotations and radial directions projected out) gives them. Its slowest mode is
# what a generic run shows in ||G - G*||; the mean Gram value per pair type sees a
# symmetry-breaking mode only at second order, so it settles at min(r_sym, 2 r). Lines: the
# predicted rates; dots: a run from the optimum perturbed by noise 1e-3, free embeddings.

# %%
rel = relaxation(SPEC, M, K, P, "0.3", TAU, lr=0.5, noise=1e-3, seed=1)
print(f"symmetric family {rel['rate_symmetric']:.6g} per step; full linearisation "
      f"{rel['rate_predicted']:.6g} +- {rel['rate_error']:.1e} (fitted {rel['rate_fitted']:.6g}, "
      f"{rel['verdict']}); per-type means {rel['typed_rate_predicted']:.6g} predicted, "
      f"{rel['typed_rate_fitted']:.6g} fitted")
fig, ax = plt.subplots(figsize=(6, 4))
names = ["symmetric family", "||G - G*||", "per-type means"]
predicted = [rel["rate_symmetric"], rel["rate_predicted"], rel["typed_rate_predicted"]]
fitted = [None, rel["rate_fitted"], rel["typed_rate_fitted"]]
ax.bar(names, predicted, color="C0", alpha=0.5, label="predicted")
ax.plot([1, 2], fitted[1:], "o", color="C1", label="fitted on free embeddings")
ax.set_yscale("log")
ax.set_ylabel("relaxation rate per step")
ax.legend(fontsize=8)
plt.show()
