"""The tau -> 0 limit of a symmetric family's loss: a small linear program, solved exactly.

As tau -> 0, tau phi tends to a piecewise-linear function of the Gram coordinates x: each
log-sum-exp becomes the maximum of its entries (the softmax form), each softplus the positive
part of its argument (the sigmoid form), so

    tau phi  ->  V(x) = sum_k L_k max_{e in E_k} (a_e x_{j_e} + b_e) - w . x

(:meth:`~ssem_symbolic.forms.LossForm.limit`). Its minimum over the polyhedron P is a linear
program in x and one epigraph variable t_k per maximum: minimise sum_k L_k t_k - w . x subject
to t_k >= a_e x_{j_e} + b_e and lambda_i(x) >= 0. It is solved exactly here, over rationals, by
visiting the vertices of its feasible set (a handful of variables and constraints).

V* = min V says what tau does to the loss near 0: the optimum's loss F(tau) = V*/tau + O(1).
V* < 0: F falls without bound as tau -> 0, so a learnable tau runs to its clamp. V* = 0: F stays
bounded near 0. V* > 0: F grows without bound near 0, so a learnable tau stops above 0.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction

from ..forms import form_of
from ..setting import Polyhedron
from ..spec import LossSpec, UnsupportedConvention


@dataclass(frozen=True)
class Limit:
    """V* = min over P of the tau -> 0 limit of tau phi, exact, and one minimiser ``point``
    (the polyhedron's coordinates, exact; the minimisers may form a larger set, so the point
    is not the limiting geometry); ``sign`` of V* (-1, 0, +1)."""

    value: Fraction
    point: dict

    @property
    def sign(self) -> int:
        return (self.value > 0) - (self.value < 0)

    def as_dict(self) -> dict:
        return {"value": float(self.value), "exact": str(self.value)}


def _solve(A: list, b: list) -> list | None:
    """The solution of the square system A z = b over Fractions, or None if singular."""
    n = len(A)
    M = [list(row) + [rhs] for row, rhs in zip(A, b)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if M[r][col] != 0), None)
        if pivot is None:
            return None
        M[col], M[pivot] = M[pivot], M[col]
        for r in range(n):
            if r != col and M[r][col] != 0:
                f = M[r][col] / M[col][col]
                M[r] = [x - f * y for x, y in zip(M[r], M[col])]
    return [M[i][n] / M[i][i] for i in range(n)]


def tau_zero_limit(spec: LossSpec, P: Polyhedron, weights: list) -> Limit:
    """The exact minimum over the polyhedron ``P`` of the tau -> 0 limit of the objective with
    these family ``weights`` (the form's, as :func:`~ssem_symbolic.optimum.symmetric_objective`
    builds them)."""
    if spec.temperatures:
        raise UnsupportedConvention(f"loss spec {spec.name!r} has a temperature per pair type; "
                                    "the tau -> 0 limit V* takes one temperature")
    merged: dict = {}  # maxima of the same entries add up (the sigmoid form's rows repeat)
    raw, pull = form_of(spec).limit(spec, weights)
    for L, entries in raw:
        key = tuple(sorted(entries, key=repr))
        merged[key] = merged.get(key, 0) + L
    groups = [(L, list(entries)) for entries, L in merged.items() if L != 0]
    n_x, n_t = len(P.coords), len(groups)
    n = n_x + n_t
    frac = Fraction
    cost = [frac(-pull.get(j, 0)) for j in range(n_x)] + [frac(L) for L, _ in groups]
    rows, rhs = [], []  # row . z + rhs >= 0
    for normal, offset in zip(P.normal, P.offset):
        rows.append([frac(a) for a in normal] + [frac(0)] * n_t)
        rhs.append(frac(offset))
    for k, (_, entries) in enumerate(groups):
        for j, a, b in entries:  # t_k - a x_j - b >= 0
            row = [frac(0)] * n
            if j is not None:
                row[j] -= frac(a)
            row[n_x + k] = frac(1)
            rows.append(row)
            rhs.append(-frac(b))
    constant = -frac(pull.get(None, 0))
    best = None
    for chosen in itertools.combinations(range(len(rows)), n):
        z = _solve([rows[i] for i in chosen], [-rhs[i] for i in chosen])
        if z is None or any(sum(r * x for r, x in zip(row, z)) + c < 0
                            for row, c in zip(rows, rhs)):
            continue
        value = sum(c * x for c, x in zip(cost, z)) + constant
        if best is None or value < best[0]:
            best = (value, z)
    if best is None:
        raise ValueError("the tau -> 0 limit has no feasible vertex")
    value, z = best
    return Limit(value, dict(zip(P.coords, z[:n_x])))
