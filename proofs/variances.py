"""2. Variances on SSEM, and the sphere bound."""

from __future__ import annotations

import sympy as sp

from ._core import Proof, proposition
from ._defs import beta, k, x_of


@proposition("variances.ssem", "On SSEM: total variance 1, within-class 1 - beta, "
             "between-class beta")
def ssem_variances(proof: Proof) -> None:
    # |class mean|^2 = (1/k^2) sum_{j,j'} z_j.z_j' = (k + k(k-1) x)/k^2 (views are copies)
    class_mean_sq = (k + k * (k - 1) * x_of(beta)) / k**2
    proof.symbolic("|class mean|^2 = beta", sp.simplify(class_mean_sq - beta) == 0)
    total = 1 - 0  # the centroid is 0 (ssem.centroid)
    within = 1 - class_mean_sq
    proof.symbolic("within = 1 - beta", sp.simplify(within - (1 - beta)) == 0)
    proof.symbolic("between = total - within = beta", sp.simplify(total - within - beta) == 0)
    from ssem_symbolic.setting import ssem_variances as engine
    from ._defs import engine_symbols
    e = {key: engine_symbols(sp.sympify(val)) for key, val in engine().items()}
    proof.symbolic("the engine's ssem_variances equal these",
                   sp.simplify(e["total"] - 1) == 0 and sp.simplify(e["within"] - (1 - beta)) == 0
                   and sp.simplify(e["between"] - beta) == 0)


@proposition("variances.sphere", "On the sphere, total variance <= 1 - |mean|^2 <= 1, with "
             "equality iff the centroid is 0 and the views coincide")
def sphere(proof: Proof) -> None:
    # instance means zbar_i = (1/p) sum_v z_iv; total = mean_i |zbar_i|^2 - |mean|^2
    for p_, d in ((2, 3), (3, 2)):
        zs = [sp.Matrix(sp.symbols(f"z{i}_0:{d}")) for i in range(p_)]
        s = sum(zs[1:], zs[0])
        lhs = sum(((a - b).T * (a - b))[0] for a in zs for b in zs)
        rhs = 2 * p_ * sum((z.T * z)[0] for z in zs) - 2 * (s.T * s)[0]
        proof.symbolic(f"sum_vv' |z_v - z_v'|^2 = 2p sum |z_v|^2 - 2 |sum z_v|^2 (p={p_}, d={d})",
                       sp.expand(lhs - rhs) == 0)
    proof.argument("hence for unit views |zbar|^2 = 1 - sum_vv' |z_v - z_v'|^2 / (2 p^2) <= 1, "
                   "equality iff all views coincide; and total = mean |zbar_i|^2 - |mean|^2 "
                   "<= 1 - |mean|^2 <= 1, equality iff views coincide and mean = 0")
