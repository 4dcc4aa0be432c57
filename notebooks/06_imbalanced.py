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
# # 06 - Imbalanced batches: per-class collapse, merging classes, and the peers at alpha = 0
#
# Class $c$ has $k_c$ instances. The loss is still convex in the Gram matrix and invariant
# under permuting classes *of equal size*, so its minimum over all unit embeddings is the
# minimum over a Gram family with one value per pair type and size group: $v_g$, $s_g$ and
# $o_{gh}$. The feasible set is a spectrahedron: linear conditions per size group, and the
# Gram matrix $R$ of the size groups' mean embeddings PSD. This notebook shows the family, the
# per-class thresholds of $[5, 3, 2]$, a batch where the minority classes merge, and what the
# peers state at $\alpha = 0$, with brute force over free unit vectors as the referee.

# %%
import matplotlib.pyplot as plt
import numpy as np

from ssem_symbolic.loss import minimise_sizes
from ssem_symbolic.setting import family
from ssem_symbolic.optimum import optimum, regimes
from ssem_symbolic.setting import Batch
from ssem_symbolic.setting import ClassSizes

# %% [markdown]
# ## 1. The family of $[5, 3, 2]$ with two views
# Three size groups: nine coordinates, six linear conditions and a 3 x 3 matrix inequality.

# %%
sizes = ClassSizes.parse("5,3,2")
fam = family("paper", sizes, 2)
print("coordinates:", fam.coords)
for c in fam.linear:
    print(f"  {c.name:<18} multiplicity {c.multiplicity}")
print("R at the origin (each group's mean embedding, squared):", fam.means[0])

# %% [markdown]
# ## 2. Per-class thresholds: the largest class spreads first
# Along $\alpha$ at $\tau = 0.5$, each class stops being collapsed at its own $\alpha$. The
# engine finds the boundaries (a 41-point scan, then bisection); a class's end is where it
# turns from collapsed to not.

# %%
ends = {}
for name in ("paper", "supcon", "supcon-split"):
    r = regimes(name, Batch(sizes, 2), tau="0.5", tol=1e-5, points=11)
    ends[name] = [r.threshold(i) for i in range(sizes.classes)]
    shown = ", ".join(f"k={s}: {e:.6f}" for s, e in zip(sizes.sizes, ends[name]))
    print(f"{name:<13} alpha where each class stops being collapsed: {shown}")

# %% [markdown]
# The per-class within-class variance against $\alpha$ (paper), and brute force on both sides
# of the largest class's threshold:

# %%
alphas = np.linspace(0, 1, 11)
curves = np.array([[c["within_class_variance"] for c in
                    optimum("paper", Batch(sizes, 2), f"{a:.4f}", "0.5").per_class]
                   for a in alphas])
fig, ax = plt.subplots(figsize=(5, 3.5))
for i, size in enumerate(sizes.sizes):
    ax.plot(alphas, curves[:, i], label=f"k = {size}")
end = ends["paper"][0]
for a in (end - 0.03, end + 0.03):
    ref = minimise_sizes("paper", sizes.sizes, 2, a, 0.5, seed=0)
    pred = optimum("paper", Batch(sizes, 2), f"{a:.6f}", "0.5")
    ax.scatter([a] * 3, ref.per_class_within, color="black", zorder=3)
    print(f"alpha = {a:.4f}: brute force {np.round(ref.per_class_within, 6)}, "
          f"engine {np.round([c['within_class_variance'] for c in pred.per_class], 6)}")
    assert max(abs(x - c["within_class_variance"])
               for x, c in zip(ref.per_class_within, pred.per_class)) < 1e-6
ax.set_xlabel("alpha")
ax.set_ylabel("within-class variance of the class")
ax.legend()
plt.show()

# %% [markdown]
# ## 3. The peers at $\alpha = 0$ (supervised term only)
#
# **Minority classes collapse together** (Nguyen, Aeron, Brown, Ishwar 2026, as the issue
# summarises them: past an imbalance threshold the minority classes merge). Their setting is
# SupCon without a self-supervised term; ours at $\alpha = 0$ is the same loss, with two views
# per instance. We did not have their paper's numbers here, so this is the statement, not a
# number-for-number comparison. The engine finds the merge, and the temperature at which it
# starts, for one majority class of 12 and three minority classes of 2:

# %%
r = regimes("supcon", Batch("1x12,3x2", 2), alpha=0, tau_range=("1", "10"), tol=1e-5, points=6)
for b in r.boundaries:
    print(f"tau = {b.at:.6f}: merged {[list(q) for q in b.merged_below]} -> "
          f"{[list(q) for q in b.merged_above]}")
merge_tau = next(b.at for b in r.boundaries if b.merged_above)
for t in (merge_tau * 0.8, merge_tau * 1.25):
    opt = optimum("supcon", Batch("1x12,3x2", 2), 0, f"{t:.6f}")
    ref = minimise_sizes("supcon", [12, 2, 2, 2], 2, 0.0, t, seed=0)
    mus = [ref.z[ref.labels == c].reshape(-1, ref.z.shape[-1]).mean(0) for c in range(4)]
    gap = min(np.linalg.norm(mus[i] - mus[j]) for i in range(1, 4) for j in range(i + 1, 4))
    print(f"tau = {t:.4f}: engine merged {list(opt.merged)}; brute force: smallest distance "
          f"between minority class means {gap:.2e}")
    assert (gap < 1e-5) == bool(opt.merged)

# %% [markdown]
# **Size-dependent angles between classes** (Vock, Duchesnay, Dufumier 2026: a geometric
# framework for weighted contrastive losses). At $\alpha = 0$ and collapse, the cosine between
# two class means depends on their sizes; on a balanced batch it is the simplex value
# $-1/(m-1)$. The engine's cosines, per pair of size groups:

# %%
for spec_sizes in ("4,4,4", "5,3,2", "1x20,3x2"):
    opt = optimum("supcon", Batch(spec_sizes, 2), 0, "0.5")
    groups = opt.sizes.groups
    cos = ", ".join(f"({groups[g][0]},{groups[h][0]}): {v:+.4f}" for (g, h), v in
                    opt.similarity.items())
    print(f"sizes {spec_sizes:<9} collapsed {opt.collapsed}; cosine of class means by sizes: "
          f"{cos}")
print("balanced simplex value -1/(m - 1) =", -1 / 2)

# %% [markdown]
# Where the settings differ: the peers study one view per instance and no self-supervised term;
# with $p = 2$ and $\alpha = 0$ our supervised positives include the other view (`supcon`),
# which pulls the views together and does not change the class-mean geometry once the views
# coincide (they do here: `view` is active in every result above). Kini et al. (ICLR 2024)
# study SupCon with and without a ReLU on the features; the toolkit models no ReLU, so their
# ReLU results (an orthogonal frame) are outside this model.
