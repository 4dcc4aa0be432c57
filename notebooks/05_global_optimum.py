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
# # 05 - The global optimum beyond SSEM: the polyhedron, its faces, two boundaries
#
# Every convention is convex in the Gram matrix and symmetric, so its minimum over all unit
# embeddings is the minimum of $\varphi(v, c, o)$ over a polyhedron of symmetric Gram
# matrices. SSEM is one face of it. Under `supcon-split` the optimum leaves that face at small
# $\alpha$ and $\tau$. This notebook walks through the polyhedron, its faces and the two
# `supcon-split` boundaries, and checks them against brute force over free unit vectors.

# %%
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp

import ssem_symbolic as ss
from ssem_symbolic.ssem import alpha_c_value
from ssem_symbolic.setting import symmetric_gram_eigenvalues
from ssem_symbolic.loss import minimise
from ssem_symbolic.ssem import collapse_boundaries, vertex_multipliers
from ssem_symbolic.setting import polyhedron
from ssem_symbolic.spec import k, m, p, tau

# %% [markdown]
# ## 1. The polyhedron
# A symmetric Gram matrix has one value per pair type: view $v$, class $c$, other $o$. It is
# PSD iff four eigenvalues are $\ge 0$; each names an eigen-direction (views of an instance,
# instances of a class, classes, the centroid):

# %%
for name, ev, mult in symmetric_gram_eigenvalues():
    print(f"{name:>14}: {ev} >= 0   (multiplicity {mult})")
P = polyhedron(3, 4, 2)
print("SSEM at beta = 1 (v = c = 1, o = -1/2):", P.eigenvalues([1, 1, sp.Rational(-1, 2)]))

# %% [markdown]
# ## 2. The collapsed vertex, in closed form
# At $v = c = 1$, $o = -1/(m-1)$ the point is fixed, so its KKT multipliers are closed forms,
# affine in $\alpha$. Collapse is optimal iff all three are $\ge 0$. Their roots are the
# boundaries of the collapse region: the within-class root is $\alpha_c(\tau)$, and under
# `supcon-split` the view root is a second boundary.

# %%
mus = vertex_multipliers("supcon-split")
print("mu_view =", mus["view"])
roots = collapse_boundaries("supcon-split")
for name, root in roots.items():
    print(name, "->", root)
batch = {m: 3, k: 4, p: 2}
for t in ("0.1", "0.3", "1"):
    view_root = float(roots["view"].subs(batch).subs(tau, sp.Rational(t)))
    print(f"tau = {t}: view boundary {view_root:.6f}, "
          f"alpha_c {float(alpha_c_value('supcon-split', 3, 4, 2, t)):.6f}")

# %% [markdown]
# At $\tau = 1$ the view root is negative: the view multiplier is positive on all of
# $[0, 1]$, and only $\alpha_c$ remains. So two boundaries at small $\tau$, one at large.
# The engine finds them numerically, without the closed form:

# %%
for t in ("0.3", "1"):
    r = ss.regimes("supcon-split", ss.Batch.balanced(3, 4, 2), tau=t)
    for b in r.boundaries:
        print(f"tau = {t}: alpha = {b.at:.10f}  {list(b.below)} -> {list(b.above)}")
for name in ("paper", "supcon"):
    found = ss.regimes(name, ss.Batch.balanced(3, 4, 2), tau="0.3")
    print(name, "boundaries at tau = 0.3:", len(found.boundaries))

# %% [markdown]
# ## 3. v*, within- and between-class variance against alpha, and brute force
# Curves: the global optimum. Dashed: the best SSEM embedding ($1 - \beta^*$). Points: brute
# force over free unit vectors ($d = mkp$, L-BFGS, no formula), at $m, k, p = 2, 3, 2$.

# %%
alphas = np.linspace(0, 0.4, 41)
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
for t, color in (("0.15", "C0"), ("0.3", "C1"), ("1", "C2")):
    opts = [ss.optimum("supcon-split", ss.Batch.balanced(2, 3, 2), f"{a:.4f}", t) for a in alphas]
    axes[0].plot(alphas, [o.view for o in opts], color=color, label=f"tau = {t}")
    axes[1].plot(alphas, [o.within_class_variance for o in opts], color=color)
    axes[1].plot(alphas, [1 - float(ss.optimal_beta("supcon-split", 2, 3, 2, f"{a:.4f}", t))
                          for a in alphas], color=color, ls="--", lw=0.8)
    axes[2].plot(alphas, [o.between_class_variance for o in opts], color=color)
worst = 0.0
for a, t, color in ((0.0, 0.3, "C1"), (0.06, 0.3, "C1"), (0.3, 0.3, "C1"), (0.0, 0.15, "C0"),
                    (0.3, 1.0, "C2")):
    bf = minimise("supcon-split", 2, 3, 2, a, t, seed=0)
    opt = ss.optimum("supcon-split", ss.Batch.balanced(2, 3, 2), str(a), str(t))
    worst = max(worst, abs(bf.view_similarity - opt.view),
                abs(bf.variances["within"] - opt.within_class_variance))
    axes[0].scatter([a], [bf.view_similarity], color=color, edgecolors="black", zorder=3)
    axes[1].scatter([a], [bf.variances["within"]], color=color, edgecolors="black", zorder=3)
    axes[2].scatter([a], [bf.variances["between"]], color=color, edgecolors="black", zorder=3)
for ax, label in zip(axes, ("view similarity v*", "within-class variance",
                            "between-class variance")):
    ax.set_xlabel("alpha")
    ax.set_ylabel(label)
axes[0].legend()
fig.suptitle("supcon-split, m, k, p = 2, 3, 2: global optimum (lines), SSEM (dashed), "
             "brute force (points)", fontsize=10)
plt.tight_layout()
print(f"largest brute-force difference: {worst:.1e}")

# %% [markdown]
# Below the view boundary the views of an instance move apart while the instances of a class
# keep one centroid of their views; the within-class variance is then not zero, although SSEM
# would predict collapse. Brute force lands on the global optimum, not on SSEM.
