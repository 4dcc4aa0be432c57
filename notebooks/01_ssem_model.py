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
# # 01 - The Simplex-to-Simplex Embedding Model
#
# SSEM places the m class centres on a regular simplex and, inside each class, the k instances
# on a second simplex orthogonal to everything else:
# $z_{c,j} = \sqrt{\beta}\,\mu_c + \sqrt{1-\beta}\,w_{c,j}$, every view of an instance a copy.
# One number, $\beta \in [0, 1]$, moves the batch from the all-instance simplex to class collapse.
# Everything below is computed by `ssem_symbolic`, exactly.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp

from ssem_symbolic.setting import (
    gram_entries,
    measured_variances,
    realise,
    ssem_eigenvalues,
    ssem_variances,
)
from ssem_symbolic.spec import beta

# %% [markdown]
# ## Gram entries per pair type
# self = view = 1, class $x(\beta)$, other $y(\beta)$:

# %%
g = gram_entries()
g

# %% [markdown]
# At $\beta = 1$ every class is one point (class collapse); at $\beta = (m-1)/(mk-1)$ the class and
# other similarities coincide: the regular simplex over all N = mk instances.

# %%
m, k = sp.symbols("m k", positive=True, integer=True)
b_simplex = (m - 1) / (m * k - 1)
sp.simplify(g["class"].subs(beta, b_simplex) - g["other"].subs(beta, b_simplex))

# %% [markdown]
# ## Eigenvalues of the block Gram matrix, with multiplicities
# view directions, within-class, between-class and the all-ones direction. All are $\ge 0$ on
# $[0, 1]$; the all-ones eigenvalue is 0, so the centroid is 0; the rank is $mk - 1$.

# %%
for name, value, mult in ssem_eigenvalues():
    print(f"{name:>14}: {str(value):<32} x {mult}")

# %% [markdown]
# ## Variances: total 1, within-class $1 - \beta$, between-class $\beta$

# %%
ssem_variances()

# %% [markdown]
# The same, measured on explicit SSEM vectors:

# %%
z, labels = realise(3, 4, 0.8, d=16, views=2, seed=0)
measured_variances(z, labels)

# %% [markdown]
# ## A picture: m = 3, k = 2
# SSEM for m = 3, k = 2 needs $d = mk - 1 = 5$ dimensions. We realise it exactly in $d = 5$ and
# show its projection on the three principal axes of the $\beta = 0.5$ batch, for several
# $\beta$: as $\beta \to 1$ the two instances of each class merge.

# %%
zs = {b: realise(3, 2, b, d=5, views=1)[0][:, 0] for b in (0.2, 0.5, 0.8, 1.0)}
_, _, vt = np.linalg.svd(zs[0.5], full_matrices=False)
axes3 = vt[:3].T

fig = plt.figure(figsize=(14, 3.6))
for i, (b, z5) in enumerate(zs.items()):
    ax = fig.add_subplot(1, 4, i + 1, projection="3d")
    pts = z5 @ axes3
    for c, colour in enumerate(("C0", "C1", "C2")):
        ax.scatter(*pts[2 * c: 2 * c + 2].T, color=colour, s=60)
        ax.plot(*pts[2 * c: 2 * c + 2].T, color=colour, lw=1)
    ax.scatter(0, 0, 0, color="black", marker="x")
    ax.set_title(f"beta = {b}: within-class variance {1 - b:.1f}", fontsize=9)
plt.tight_layout()
plt.show()

# %% [markdown]
# At $\beta = 1$ the two instances of each class coincide (class collapse); the centroid (x) is 0
# for every $\beta$.
