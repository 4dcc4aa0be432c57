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
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

import ssem_symbolic as ss
from ssem_symbolic.ssem import alpha_c_value
from ssem_symbolic.spec import PRESETS, load_spec
from ssem_symbolic.grid import kernels, optimal_beta_grid
from ssem_symbolic.setting import Batch
from ssem_symbolic.cli import guide_lines, guide_warnings
from ssem_symbolic.report import guide

alpha = torch.linspace(0, 1, 201, dtype=torch.float64)[:, None]
tau = torch.logspace(-2, 1, 241, dtype=torch.float64)[None, :]

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
for ax, name in zip(axes, PRESETS):
    within = 1 - optimal_beta_grid(name, 10, 10, 2, alpha, tau)
    mesh = ax.pcolormesh(tau[0], alpha[:, 0], within, shading="auto", vmin=0, vmax=1)
    ax.plot(tau[0], kernels(name).alpha_c(tau[0], 10, 10, 2), color="white", lw=2)
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
    w = 1 - optimal_beta_grid("paper", 10, 10, 2, a, tau[0])
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
    low = float(alpha_c_value('paper', m_, 10, 2, 0.1))
    print(f"m = {m_:>2}, k = 10: alpha_c(0.1) = {low:.4f}, "
          f"alpha_c(1) = {float(alpha_c_value('paper', m_, 10, 2, 1.0)):.4f}")

# %% [markdown]
# ## From target to hyperparameter: `ssem guide`

# %%
g = guide("paper", Batch.balanced(10, 10, 2), tau=0.5, target_within=0.2)
print("\n".join(guide_lines(g) + ["warning: " + w for w in guide_warnings(g)]))

# %% [markdown]
# ## Your own convention, from a spec file
# Any convention written as a TOML or JSON spec file runs through the same maps. This cell reads
# the file named by the environment variable `SSEM_SPEC` (default: the shipped
# `examples/specs/views-then-class.toml`, which collapses *above* its threshold), and maps its
# global optimum: within-class variance and regimes.

# %%
here = Path(globals().get("__file__", "03_phase_maps.py")).resolve().parent
spec = load_spec(os.environ.get("SSEM_SPEC",
                                   str(here.parent / "examples/specs/views-then-class.toml")))
print("convention:", spec.name, "| key:", spec.key())
side = {1: "alpha <= alpha_c", -1: "alpha >= alpha_c"}.get(ss.derive(spec).alpha_side,
                                                              "either side")
print(f"collapse iff {side}; alpha_c(0.5) at 10 x 10 x 2 = "
      f"{float(alpha_c_value(spec, 10, 10, 2, 0.5)):.6f}")
pm = ss.phase_map(spec, ss.Batch.balanced(10, 10, 2), alpha[::4, 0].numpy(), tau[0, ::4].numpy())
print("regimes on the map:", [list(r) for r in pm.regimes])
fig, (a0, a1) = plt.subplots(1, 2, figsize=(11, 4))
mesh = a0.pcolormesh(pm.tau, pm.alpha, pm.within_class_variance, shading="auto", vmin=0)
a0.plot(pm.tau, pm.alpha_c, color="white", lw=2)
a1.pcolormesh(pm.tau, pm.alpha, pm.regime, shading="auto", cmap="tab10", vmin=-1, vmax=9)
for ax, title in ((a0, "within-class variance (global optimum)"), (a1, "regime index")):
    ax.set_xscale("log")
    ax.set_xlabel("tau")
    ax.set_ylabel("alpha")
    ax.set_title(f"{spec.name}: {title}", fontsize=9)
fig.colorbar(mesh, ax=a0)
plt.show()
