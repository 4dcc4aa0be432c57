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
# # 03 - Phase maps over (alpha, tau), and the guidelines they give
#
# `optimal_beta_grid` solves $\beta^*$ on a whole grid with generated torch kernels.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

import ssem_symbolic as ss
from ssem_symbolic.guide import guide

alpha = torch.linspace(0, 1, 201, dtype=torch.float64)[:, None]
tau = torch.logspace(-2, 1, 241, dtype=torch.float64)[None, :]

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
for ax, name in zip(axes, ss.PRESETS):
    within = 1 - ss.optimal_beta_grid(name, 10, 10, alpha, tau)
    mesh = ax.pcolormesh(tau[0], alpha[:, 0], within, shading="auto", vmin=0, vmax=1)
    ax.plot(tau[0], ss.kernels(name).alpha_c(tau[0], 10, 10, 2), color="white", lw=2)
    ax.set_xscale("log")
    ax.set_title(f"{name}, 10 x 10 x 2")
    ax.set_xlabel("tau")
    ax.set_ylabel("alpha")
fig.colorbar(mesh, ax=axes.tolist(), label="within-class variance 1 - beta*")
plt.show()

# %% [markdown]
# ## Guideline 1: below the white curve the classes collapse.
# Under `paper` the curve never drops below $1/k$: $\alpha \le 1/k$ collapses at every
# temperature.
#
# ## Guideline 2: within-class variance is not monotone in $\tau$.
# Along a horizontal line (fixed $\alpha$) the variance rises, peaks, then falls back to collapse.

# %%
for a in (0.3, 0.6, 0.9):
    w = 1 - ss.optimal_beta_grid("paper", 10, 10, a, tau[0])
    plt.plot(tau[0], w, label=f"alpha = {a}")
plt.xscale("log")
plt.xlabel("tau")
plt.ylabel("within-class variance")
plt.legend()
plt.show()

# %% [markdown]
# ## Guideline 3: the batch composition moves the threshold.
# The same $\tau$, different numbers of classes per batch:

# %%
for m_ in (2, 5, 10, 50):
    low = float(ss.alpha_c_value('paper', m_, 10, 2, 0.1))
    print(f"m = {m_:>2}, k = 10: alpha_c(0.1) = {low:.4f}, "
          f"alpha_c(1) = {float(ss.alpha_c_value('paper', m_, 10, 2, 1.0)):.4f}")

# %% [markdown]
# ## From target to hyperparameter: `ssem guide`

# %%
g = guide("paper", 10, 10, 2, tau=0.5, target_within=0.2)
print("\n".join(g["lines"] + ["warning: " + w for w in g["warnings"]]))
