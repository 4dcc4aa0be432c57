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
# # 09 - Does a network follow the theory?
#
# Two questions free embeddings cannot answer. First, a network trained on real data: does its
# within-class variance follow the dataset-level optimum as alpha moves? Second, a finite
# embedding dimension d: the optimum needs a Gram matrix of some rank; below it, where does
# alpha_c go? Both runs take minutes, so this notebook reads their saved results (the files in
# `docs/data/`), and prints the command that regenerates each.

# %%
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ssem_symbolic import Batch, optimum
from ssem_symbolic.loss import symmetric_candidate

try:
    ROOT = Path(__file__).resolve().parents[1]
except NameError:  # run as a notebook from notebooks/
    ROOT = Path.cwd().parent
real = json.loads((ROOT / "docs" / "data" / "real-quick.json").read_text())
dims = json.loads((ROOT / "docs" / "data" / "alpha-c-by-dim.json").read_text())
print("regenerate: ssem crosscheck --real --quick --out real-out  (real-out/real.json)")
print("regenerate: python examples/alpha_c_by_dim.py --out alpha-c-by-dim.json")
for s in real["sources"]:
    print(f"{s['name']}: {s['package']} {s['version']}, sha256 {s['sha256'][:16]}..., "
          f"{s['train']} train / {s['test']} test, {s['classes']} classes")

# %% [markdown]
# ## Measured against predicted, along alpha
#
# Dots: the within-class variance of the trained encoder on the training split (mean over
# seeds, bars: 2 standard errors); hollow dots where the dataset-level optimum needs a rank
# above the encoder's d = 32 (the prediction is then a relaxation the network cannot reach).
# Solid line: the dataset-level prediction for the sampler; dashed: the per-batch one.

# %%
names = real["plan"]["datasets"]
taus = real["plan"]["taus"]
fig, axes = plt.subplots(len(taus), len(names), figsize=(3.2 * len(names), 3.0 * len(taus)),
                         squeeze=False)
for j, name in enumerate(names):
    for i, tau in enumerate(taus):
        ax = axes[i][j]
        pts = [p for p in real["points"] if p["dataset"] == name and p["tau"] == tau]
        a = np.array([p["alpha"] for p in pts])
        ax.plot(a, [p["predicted_dataset"] for p in pts], "-", color="C0", label="dataset-level")
        ax.plot(a, [p["predicted_batch"] for p in pts], "--", color="C1", label="per batch")
        for p in pts:
            ax.errorbar(p["alpha"], p["train_within"], yerr=2 * p["train_within_se"], fmt="o",
                        color="C3", mfc="C3" if p["realisable"] else "white")
        ax.set_title(f"{name}, tau {tau:g}", fontsize=9)
        ax.set_ylim(-0.02, 1.02)
        if i == len(taus) - 1:
            ax.set_xlabel("alpha")
        if j == 0:
            ax.set_ylabel("within-class variance")
axes[0][0].legend(fontsize=7)
fig.tight_layout()
plt.show()
counts = {}
for p in real["points"]:
    counts[p["verdict"]] = counts.get(p["verdict"], 0) + 1
print("verdicts:", counts, f"(criterion: within 2 SE + {real['tolerance']})")

# %% [markdown]
# ## What collapse costs: the linear probe

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for j, name in enumerate(names):
    for tau, style in zip(taus, ("-", "--")):
        pts = [p for p in real["points"] if p["dataset"] == name and p["tau"] == tau]
        ax.plot([p["alpha"] for p in pts], [p["probe_accuracy"] for p in pts], style,
                color=f"C{j}", label=f"{name}, tau {tau:g}")
ax.set_xlabel("alpha")
ax.set_ylabel("held-out probe accuracy")
ax.legend(fontsize=7, ncol=2)
plt.show()

# %% [markdown]
# ## alpha_c against the embedding dimension
#
# Free embeddings of a 3 x 4 x 2 batch in R^d, alpha_c located from training for each d. The
# dotted line is the relaxed alpha_c (every unit embedding allowed); the optimum needs the rank
# printed below on the collapsed side and above it on the spreading side.

# %%
rows = [r for r in dims["rows"] if r["located"] is not None]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.errorbar([r["dim"] for r in rows], [r["located"] for r in rows],
            yerr=[3 * (r["uncertainty"] or 0) for r in rows], fmt="o-", label="located in R^d")
ax.axhline(dims["relaxed"], ls=":", color="k", label="relaxed alpha_c")
ax.axvline(dims["rank_needed"]["above"], ls="--", color="C1",
           label=f"rank needed above alpha_c ({dims['rank_needed']['above']})")
ax.set_xscale("log", base=2)
ax.set_xlabel("d")
ax.set_ylabel("alpha_c")
ax.legend(fontsize=8)
plt.show()
print(f"{dims['loss']}, 3 x 4 x 2, tau {dims['tau']}: relaxed alpha_c {dims['relaxed']:.4f}; "
      f"rank {dims['rank_needed']['below']} below, {dims['rank_needed']['above']} above")
for r in dims["rows"]:
    located = "-" if r["located"] is None else f"{r['located']:.4f}"
    print(f"d = {r['dim']:>3}: alpha_c {located}  {r['verdict']}")

# %% [markdown]
# ## What R^d reaches above alpha_c: a bracket on the loss
#
# Above alpha_c the optimum spreads every instance and needs rank m k - 1; in R^d below that,
# the relaxed loss is only a lower bound. Any configuration of R^d bounds the optimum there from
# above: here the symmetric candidate family (the class simplex with instance simplices shared
# by the classes of a block, `ssem_symbolic.loss.symmetric_candidate`, the one that
# `ssem optimum --dim` uses). For supcon on a 10 x 10 x 2 batch at alpha 0.5, tau 0.1, the
# optimum in R^d lies between the two lines; computed live (a second or two).

# %%
batch = Batch.balanced(10, 10, 2)
relaxed = optimum("supcon", batch, "0.5", "0.1")
ds = [18, 27, 36, 54, 72, 99]
found = [symmetric_candidate("supcon", batch, "0.5", "0.1", d) for d in ds]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
ax1.plot(ds, [f["loss_value"] for f in found], "o-", label="candidate in R^d (upper bound)")
ax1.axhline(relaxed.loss_value, ls=":", color="k", label="relaxed optimum (lower bound)")
ax1.set_xlabel("d")
ax1.set_ylabel("loss")
ax1.legend(fontsize=8)
ax2.plot(ds, [f["within_class_variance_per_class"][0] for f in found], "o-",
         label="candidate in R^d")
ax2.axhline(relaxed.within_class_variance, ls=":", color="k", label="relaxed optimum")
ax2.set_xlabel("d")
ax2.set_ylabel("within-class variance")
ax2.legend(fontsize=8)
plt.show()
for d, f in zip(ds, found):
    print(f"d = {d:>3}: loss in [{relaxed.loss_value:.6f}, {f['loss_value']:.6f}], "
          f"{f['groups']} block(s), within-class variance {1 - f['rho']:.4f} "
          f"(relaxed {relaxed.within_class_variance:.4f})")
