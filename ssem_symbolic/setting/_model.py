"""SSEM, the Simplex-to-Simplex Embedding Model: Gram structure, realisability, vectors, variances.

``z_{c,j} = sqrt(beta) mu_c + sqrt(1 - beta) w_{c,j}`` with ``mu`` a regular simplex of m unit
vectors and, per class, ``w_{c,.}`` a regular simplex of k unit vectors orthogonal to all
``mu`` and to the other classes' ``w``. Every view of an instance is the same vector.

>>> gram_entries()["class"]
(beta*k - 1)/(k - 1)
>>> ssem_variances()
{'total': 1, 'within': 1 - beta, 'between': beta}
>>> required_dimension(3, 4)
11
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..vocab import c_sym, o_sym, v_sym  # noqa: F401  (the symmetric Gram coordinates)
from ..spec import PAIR_TYPES, beta, k, m, p, pair_counts


def gram_entries(beta_: sp.Expr = beta, m_: sp.Expr = m, k_: sp.Expr = k) -> dict[str, sp.Expr]:
    """SSEM Gram entry per pair type: self = view = 1, class = x(beta), other = y(beta).

    ``x = (k beta - 1)/(k - 1)`` and ``y = -beta/(m - 1)``.
    """
    return {
        "self": sp.Integer(1),
        "view": sp.Integer(1),
        "class": (k_ * beta_ - 1) / (k_ - 1),
        "other": -beta_ / (m_ - 1),
    }


def symmetric_gram_eigenvalues(
    v: sp.Expr = v_sym, c: sp.Expr = c_sym, o: sp.Expr = o_sym,
    m_: sp.Expr = m, k_: sp.Expr = k, p_: sp.Expr = p,
) -> list[tuple[str, sp.Expr, sp.Expr]]:
    """Eigenvalues of the M x M Gram matrix with one value per pair type (1, v, c, o).

    Returns ``(direction, eigenvalue, multiplicity)``; the eigenvectors are nested contrasts:
    views within an instance, instances within a class, classes, and the all-ones vector.

    >>> [e for _, e, _ in symmetric_gram_eigenvalues()][0]
    1 - v
    """
    return [
        ("view", 1 - v, m_ * k_ * (p_ - 1)),
        ("within-class", 1 + (p_ - 1) * v - p_ * c, m_ * (k_ - 1)),
        ("between-class", 1 + (p_ - 1) * v + (k_ - 1) * p_ * c - k_ * p_ * o, m_ - 1),
        ("all-ones", 1 + (p_ - 1) * v + (k_ - 1) * p_ * c + (m_ - 1) * k_ * p_ * o, sp.Integer(1)),
    ]


def ssem_eigenvalues(beta_: sp.Expr = beta) -> list[tuple[str, sp.Expr, sp.Expr]]:
    """Eigenvalues of the SSEM Gram matrix over all M = m k p embeddings, simplified.

    >>> for name, value, _ in ssem_eigenvalues():
    ...     print(name, value)
    view 0
    within-class -k*p*(beta - 1)/(k - 1)
    between-class beta*k*m*p/(m - 1)
    all-ones 0
    """
    g = gram_entries(beta_)
    out = []
    for name, ev, mult in symmetric_gram_eigenvalues(g["view"], g["class"], g["other"]):
        out.append((name, sp.factor(sp.simplify(ev)), mult))
    return out


def ssem_rank(beta_value: float, m_: int, k_: int) -> int:
    """Rank of the SSEM Gram matrix: mk - 1 for 0 < beta < 1, m - 1 at beta = 1, m(k-1) at 0."""
    if beta_value >= 1:
        return m_ - 1
    if beta_value <= 0:
        return m_ * (k_ - 1)
    return m_ * k_ - 1


def required_dimension(m_: int, k_: int) -> int:
    """Smallest embedding dimension that realises SSEM for every beta in [0, 1]: mk - 1."""
    return m_ * k_ - 1


def _simplex(n: int) -> np.ndarray:
    """n unit vectors in R^(n-1) with pairwise dot -1/(n-1) (Helmert coordinates)."""
    centred = np.eye(n) - 1.0 / n
    helmert = np.zeros((n, n - 1))
    for j in range(1, n):
        helmert[:j, j - 1] = 1.0
        helmert[j, j - 1] = -float(j)
        helmert[:, j - 1] /= np.sqrt(j * (j + 1))
    pts = centred @ helmert
    return pts / np.linalg.norm(pts, axis=1, keepdims=True)


def realise(
    m_: int, k_: int, beta_value: float, d: int | None = None, views: int = 1,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Explicit SSEM vectors, float64: ``(z, labels)`` with z of shape (m k, views, d).

    Instances are ordered class by class; ``labels`` has shape (m k,). ``d`` defaults to
    mk - 1, the least that works for every beta. ``seed`` applies a random rotation.
    """
    if m_ < 2 or k_ < 2:
        raise ValueError("SSEM needs m >= 2 classes and k >= 2 instances per class")
    if not 0.0 <= beta_value <= 1.0:
        raise ValueError(f"beta must lie in [0, 1], got {beta_value}")
    need = required_dimension(m_, k_)
    d = need if d is None else d
    if d < need:
        raise ValueError(f"SSEM with m={m_}, k={k_} needs d >= mk - 1 = {need}, got d={d}")
    mu = _simplex(m_)
    w = _simplex(k_)
    z = np.zeros((m_ * k_, d))
    for c in range(m_):
        base = (m_ - 1) + c * (k_ - 1)
        for j in range(k_):
            z[c * k_ + j, : m_ - 1] = np.sqrt(beta_value) * mu[c]
            z[c * k_ + j, base : base + k_ - 1] = np.sqrt(1.0 - beta_value) * w[j]
    if seed is not None:
        q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
        z = z @ q
    labels = np.repeat(np.arange(m_), k_)
    return np.repeat(z[:, None, :], views, axis=1), labels


def ssem_variances(beta_: sp.Expr = beta) -> dict[str, sp.Expr]:
    """Total, within- and between-class variance on SSEM, derived from the Gram entries.

    ||class mean||^2 and ||mean||^2 are averages of Gram entries, counted by pair type.
    """
    g = gram_entries(beta_)
    n = pair_counts()
    same_class = ("self", "view", "class")
    class_mean_sq = sum(n[t] * g[t] for t in same_class) / (k * p)
    mean_sq = sum(n[t] * g[t] for t in PAIR_TYPES) / (m * k * p)
    total = sp.simplify(1 - mean_sq)
    within = sp.simplify(1 - class_mean_sq)
    return {"total": total, "within": within, "between": sp.simplify(total - within)}


def measured_variances(z, labels) -> dict[str, float]:
    """Variances of unit embeddings z (N, p, d) or (N, d), with class labels (N,).

    total = 1 - ||mean||^2, within = mean over classes of (1 - ||class mean||^2),
    between = total - within (the reference implementation's definitions).
    """
    z = np.asarray(z.detach().cpu().numpy() if hasattr(z, "detach") else z, dtype=np.float64)
    labels = np.asarray(labels.detach().cpu().numpy() if hasattr(labels, "detach") else labels)
    if z.ndim == 3:
        labels = np.repeat(labels, z.shape[1])
        z = z.reshape(-1, z.shape[-1])
    total = 1.0 - float(np.sum(z.mean(axis=0) ** 2))
    classes = np.unique(labels)
    within = float(np.mean([1.0 - np.sum(z[labels == c].mean(axis=0) ** 2) for c in classes]))
    return {"total": total, "within": within, "between": total - within}
