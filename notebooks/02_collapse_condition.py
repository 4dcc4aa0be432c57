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
# # 02 - The reduced loss and the collapse condition
#
# Step by step for the `paper` convention, then the other two, showing where they differ.
# The loss is $L = (1-\alpha) L_{sup} + \alpha L_{self}$ at temperature $\tau$.

# %%

import ssem_symbolic as ss
from ssem_symbolic.ssem import alpha_c_value
from ssem_symbolic.spec import PRESETS
from ssem_symbolic.ssem import symmetric_loss
from ssem_symbolic.spec import get_spec

# %% [markdown]
# ## 1. One value per pair type
# Every convention is a `LossSpec`: which pair types enter the denominator, which are positives
# of each term. On a Gram matrix with values (self 1, view v, class c, other o) the loss per
# anchor is $\varphi(v, c, o)$:

# %%
spec = get_spec("paper")
print(spec)
symmetric_loss("paper")

# %% [markdown]
# ## 2. On SSEM: the reduced loss $f(\beta)$

# %%
d = ss.derive("paper")
d.loss

# %% [markdown]
# ## 3. Convexity: $f''$ is a softmax variance, so $\beta^*$ is unique

# %%
d.softmax_variance

# %% [markdown]
# ## 4. Collapse iff $f'(1) \le 0$; $f'(1)$ is affine in $\alpha$, so collapse iff
# $\alpha \le \alpha_c(\tau)$. With $r = e^{-m/((m-1)\tau)}$ the threshold is a Moebius map of $r$:

# %%
d.alpha_c_r

# %%
d.alpha_c

# %% [markdown]
# Its limits: $\tau \to 0$ and $\tau \to \infty$. Under `paper`, $\alpha \le 1/k$ collapses at every
# temperature.

# %%
d.alpha_c_tau0, d.alpha_c_tauinf

# %% [markdown]
# ## 5. Inverted: $\tau_c(\alpha)$, collapse iff $\tau \ge \tau_c$

# %%
d.tau_c

# %% [markdown]
# ## 6. The three conventions side by side

# %%
for name in PRESETS:
    dd = ss.derive(name)
    print(f"{name:>13}: alpha_c(r) = {dd.alpha_c_r}")
    print(f"{'':>13}  tau -> 0: {dd.alpha_c_tau0},  tau -> oo: {dd.alpha_c_tauinf}")

# %% [markdown]
# `supcon` puts the anchor's own views among the supervised positives and drops the anchor from
# the denominator: its threshold starts at 0 as $\tau \to 0$, so at small temperature almost any
# self-supervised weight prevents collapse. `supcon-split` removes the views from the supervised
# positives: its threshold starts at $(p-1)/(kp-1)$.
#
# Numbers for a batch of 10 classes x 10 instances x 2 views:

# %%
for name in PRESETS:
    print(name, [round(float(alpha_c_value(name, 10, 10, 2, t)), 4)
                 for t in (0.05, 0.1, 0.5, 1.0)])

# %% [markdown]
# Where SSEM itself is not the optimum (supcon-split at small alpha and tau), the KKT certificate
# says so:

# %%
ss.certify_ssem("supcon-split", 3, 2, 2, 0.0, 0.3)
