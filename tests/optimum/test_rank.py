"""The rank an optimum needs (closed form per regime, and per size group) against the
numerical rank of the optimum's Gram matrix built here, and --dim's answer in R^d."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from ssem_symbolic.optimum import optimum, rank_formula, rank_needed
from ssem_symbolic.setting import Batch
from ssem_symbolic.spec import k as k_sym, m as m_sym, p as p_sym


def _gram_balanced(opt, m, k, p):
    inst = [i for i in range(m * k) for _ in range(p)]
    lab = [i // k for i in inst]
    return np.array([[1.0 if a == b else (opt.view if inst[a] == inst[b] else
                                          opt.class_ if lab[a] == lab[b] else opt.other)
                      for b in range(len(inst))] for a in range(len(inst))])


def _gram_imbalanced(opt, sizes, p):
    groups = [K for K, _ in opt.sizes.groups]
    per = {c["size"]: c for c in opt.per_class}
    labels = [c for c, n in enumerate(sizes) for _ in range(n)]
    inst = [i for i in range(len(labels)) for _ in range(p)]
    lab = [labels[i] for i in inst]
    M = len(inst)
    G = np.eye(M)
    for a in range(M):
        for b in range(M):
            if a == b:
                continue
            if inst[a] == inst[b]:
                G[a, b] = per[sizes[lab[a]]]["view_similarity"]
            elif lab[a] == lab[b]:
                G[a, b] = per[sizes[lab[a]]]["class_similarity"]
            else:
                g, h = sorted((groups.index(sizes[lab[a]]), groups.index(sizes[lab[b]])))
                G[a, b] = opt.similarity[(g, h)]
    return G


BALANCED = [(name, (m, k, p), alpha, tau)
            for name in ("paper", "supcon", "supcon-split")
            for (m, k, p) in ((3, 4, 2), (2, 3, 3), (4, 3, 2))
            for alpha, tau in (("0.05", "0.5"), ("0.9", "0.5"))]
IMBALANCED = [("supcon", (4, 2, 2), 2, "0.3", "0.5"), ("paper", (3, 3, 2), 2, "0.7", "0.4"),
              ("supcon-split", (3, 2, 2), 2, "0.05", "0.5"), ("spread", (2, 2, 3), 2, "0.9",
                                                               "0.5")]


@pytest.mark.parametrize("name, batch, alpha, tau", BALANCED)
def test_the_closed_form_rank_is_the_numerical_rank_balanced(name, batch, alpha, tau):
    m, k, p = batch
    opt = optimum(name, Batch.balanced(m, k, p), alpha, tau)
    numerical = np.linalg.matrix_rank(_gram_balanced(opt, m, k, p), tol=1e-8)
    assert rank_needed(name, Batch.balanced(m, k, p), opt) == numerical
    assert int(rank_formula(opt.active).subs({m_sym: m, k_sym: k, p_sym: p})) == numerical


@pytest.mark.parametrize("name, sizes, p, alpha, tau", IMBALANCED)
def test_the_rank_per_size_group_is_the_numerical_rank(name, sizes, p, alpha, tau):
    opt = optimum(name, Batch(sizes, p), alpha, tau)
    numerical = np.linalg.matrix_rank(_gram_imbalanced(opt, sizes, p), tol=1e-8)
    assert rank_needed(name, Batch(sizes, p), opt) == numerical


def test_at_least_twenty_settings_are_checked():
    assert len(BALANCED) + len(IMBALANCED) >= 20


@pytest.mark.slow
def test_the_configuration_found_in_r_d_is_no_worse_than_fifty_seeds_nor_below_the_bound(
        capsys):
    from ssem_symbolic.cli import main
    from ssem_symbolic.loss import minimise_sizes

    assert main(["optimum", "--loss", "supcon", "--classes", "3", "--per-class", "2",
                 "--alpha", "0.3", "--tau", "0.5", "--dim", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["realisable"] is False and out["rank_needed"] == 5
    found = out["best_in_dim"]["loss_value"]
    seeds = [minimise_sizes("supcon", (2, 2, 2), 2, 0.3, 0.5, d=3, seed=s).loss
             for s in range(100, 150)]
    assert found <= min(seeds) + 1e-6
    assert found >= out["loss_value"] - 1e-9  # the relaxation bounds every configuration


@pytest.mark.slow
def test_regimes_with_dim_give_each_regime_its_closed_form_rank(capsys):
    from ssem_symbolic.cli import main

    assert main(["regimes", "--loss", "supcon-split", "--classes", "3", "--per-class", "4",
                 "--tau", "0.3", "--dim", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ranks = [(r["rank_formula"], r["rank"], r["realisable"]) for r in out["regimes"]]
    assert ranks == [("k*m*p - k*m + m - 1", 14, False), ("m - 1", 2, True),
                     ("k*m - 1", 11, False)]
    assert main(["regimes", "--loss", "supcon-split", "--classes", "3", "--per-class", "4",
                 "--tau", "0.3", "--json"]) == 0
    assert "rank" not in json.loads(capsys.readouterr().out)["regimes"][0]


def test_guide_warns_where_the_recommended_optimum_needs_more_than_d(capsys):
    """supcon 3 x 2 x 2 at the alpha that gives within-class variance 0.1: the spreading
    optimum needs rank m k - 1 = 5. In R^3 the guide states the variance of the best
    configuration it finds, which an independent search (other seeds, run to the end) matches;
    in R^5 it says nothing."""
    from ssem_symbolic.cli import main
    from ssem_symbolic.loss import minimise_sizes

    args = ["guide", "--loss", "supcon", "--classes", "3", "--per-class", "2", "--tau", "0.5",
            "--target-within", "0.1", "--json"]
    assert main([*args, "--dim", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    (warning,) = [w for w in out["warnings"] if "needs rank" in w]
    assert "needs rank 5 > d = 3" in warning
    stated = float(re.search(r"has within-class variance ([0-9.]+) in every class", warning)[1])
    reference = min((minimise_sizes("supcon", (2, 2, 2), 2, out["alpha"], 0.5, d=3, seed=s)
                     for s in range(100, 103)), key=lambda r: r.loss)
    assert abs(stated - np.mean(reference.per_class_within)) < 2e-3
    assert stated < 0.1 - 0.005  # R^3 cannot hold the relaxed optimum's spread
    assert main([*args, "--dim", "5"]) == 0
    assert not any("needs rank" in w for w in json.loads(capsys.readouterr().out)["warnings"])


@pytest.mark.slow
def test_regimes_and_guide_with_dim_on_unequal_sizes(capsys):
    """Sizes 4, 3, 2 with the views of an instance together (supcon, tau 0.5): all classes
    collapsed need the simplex of 3 class points, rank 2; each class that spreads adds its
    k_c - 1 instance directions (2 + 3 = 5, + 2 = 7, + 1 = 8 = 9 instances - 1)."""
    from ssem_symbolic.cli import main

    assert main(["regimes", "--loss", "supcon", "--class-sizes", "4,3,2", "--tau", "0.5",
                 "--dim", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ranks = [r["rank"] for r in out["regimes"]]
    assert ranks[:4] == [2, 5, 7, 8] and set(ranks[4:]) <= {8}  # alpha = 1 may stand apart
    assert [r["realisable"] for r in out["regimes"]] == [n <= 5 for n in ranks]
    args = ["guide", "--loss", "supcon", "--class-sizes", "4,3,2", "--tau", "0.5",
            "--target-within", "0.3", "--json"]
    assert main([*args, "--dim", "4"]) == 0
    (warning,) = [w for w in json.loads(capsys.readouterr().out)["warnings"]
                  if "needs rank" in w]
    assert "needs rank 8 > d = 4" in warning
    # the variance to expect in R^4, per class (three numbers: the sizes differ)
    assert re.search(r"has within-class variance [0-9.]+, [0-9.]+, [0-9.]+ per class", warning)
    assert main([*args, "--dim", "8"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []
