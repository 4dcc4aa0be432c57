"""The two objectives every solver minimises, each in float64 (numpy) or mpmath: the softmax
form's weighted log-sum-exps (:class:`LogSumExp`) and the sigmoid form's separable softplus sum
(:class:`~ssem_symbolic.forms.Separable`). Both give ``parts(x) -> (tau phi, gradient,
Hessian)`` on the coordinates of a symmetric family."""

from __future__ import annotations

from typing import Protocol

import mpmath
import numpy as np
import sympy as sp

from ..vocab import mp


class FamilyObjective(Protocol):
    """tau phi on a symmetric family's coordinates."""

    tau: object

    def parts(self, x, hessian: bool = True) -> tuple: ...


class LogSumExp:
    """The softmax form's tau phi on a symmetric family (weighted log-sum-exps minus a linear
    pull), its gradient and Hessian, in float64 (``lib`` numpy) or mpmath.

    ``weights``: per anchor kind, its log-sum-exps [(L, [(count, coordinate)])] and its pull
    {coordinate (None: the constant self entry): weight}
    (:func:`~ssem_symbolic.setting.loss_weights`, :func:`~ssem_symbolic.setting.blocks`)."""

    def __init__(self, coords, weights, tau_, lib) -> None:
        self.lib = lib
        num = float if lib is np else mp
        log = np.log if lib is np else mpmath.log
        self.tau = num(tau_)
        n = len(coords)
        self.w = [num(0)] * n
        self.const = num(0)
        self.groups = []
        for logs, pull in weights:  # per anchor kind: its log-sum-exps and its pull
            for j, wj in pull.items():
                if j is None:
                    self.const += num(wj)
                else:
                    self.w[j] += num(wj)
            for L, counts in logs:
                entries = [(j, log(num(sp.Rational(c)))) for c, j in counts]
                if L != 0 and entries:
                    self.groups.append((num(L), entries))
        if lib is np:  # float64: the groups as arrays, one padded row per group
            width = max((len(e) for _, e in self.groups), default=1)
            self._L = np.array([L for L, _ in self.groups])
            self._J = np.full((len(self.groups), width), n)  # index n: the constant 1
            self._logc = np.full((len(self.groups), width), -np.inf)
            for g, (_, entries) in enumerate(self.groups):
                for e, (j, ln) in enumerate(entries):
                    self._J[g, e] = n if j is None else j
                    self._logc[g, e] = ln
            self._onehot = np.eye(n + 1)[self._J]  # (groups, width, n + 1)

    def parts(self, x, hessian: bool = True):
        """(tau phi, gradient, Hessian or None) at x."""
        if self.lib is np:
            return self._parts_np(np.asarray(x, dtype=float), hessian)
        return self._parts_loop(x, hessian)

    def _parts_loop(self, x, hessian: bool = True):
        """:meth:`parts` group by group (the mpmath path; in float64 the benchmark's
        reference)."""
        lib = self.lib
        exp = np.exp if lib is np else mpmath.exp
        log = np.log if lib is np else mpmath.log
        n = len(x)
        val = -sum(wi * xi for wi, xi in zip(self.w, x)) - self.const
        grad = [-wi for wi in self.w]
        hess = [[0] * n for _ in range(n)] if hessian else None
        for L, entries in self.groups:
            z = [ln + (x[j] if j is not None else 1) / self.tau for j, ln in entries]
            top = max(z)
            e = [exp(zi - top) for zi in z]
            total = sum(e)
            val += L * self.tau * (top + log(total))
            q = [(j, ei / total) for (j, _), ei in zip(entries, e) if j is not None]
            for j, qj in q:
                grad[j] += L * qj
            if hessian:
                for j, qj in q:
                    hess[j][j] += L * qj / self.tau
                    for i, qi in q:
                        hess[i][j] -= L * qi * qj / self.tau
        return val, grad, hess


    def _parts_np(self, x: np.ndarray, hessian: bool):
        n = len(x)
        w = np.array(self.w, dtype=float)
        val = -float(w @ x) - self.const
        if not len(self.groups):
            return val, list(-w), [[0.0] * n for _ in range(n)] if hessian else None
        z = self._logc + np.append(x, 1.0)[self._J] / self.tau
        top = z.max(axis=1)
        e = np.exp(z - top[:, None])
        total = e.sum(axis=1)
        val += float(self.tau * (self._L @ (top + np.log(total))))
        Q = np.einsum("ge,gen->gn", e / total[:, None], self._onehot)[:, :n]
        LQ = self._L[:, None] * Q
        grad = LQ.sum(axis=0) - w
        hess = None
        if hessian:
            hess = (np.diag(LQ.sum(axis=0)) - Q.T @ LQ) / self.tau
        return val, grad, hess


class Stretched:
    """An objective whose coordinate j enters every logit multiplied by ``factors[j]`` (a
    temperature per pair type: tau_t = tau / factor): tau phi(x) = base(K x), K = diag(factors),
    with gradient K grad and Hessian K H K. ``base`` is the one-temperature objective on the
    same family (its pulls and log-sum-exps are linear in the logits, so scaling a coordinate's
    logits is evaluating it at K x)."""

    def __init__(self, base: LogSumExp, factors) -> None:
        self.base = base
        self.tau = base.tau
        self.lib = base.lib
        num = float if base.lib is np else mp
        self.k = [num(sp.Rational(f)) for f in factors]

    def parts(self, x, hessian: bool = True):
        """(tau phi, gradient, Hessian or None) at x."""
        k = self.k
        if self.lib is np:
            K = np.array(k)
            val, grad, hess = self.base.parts(K * np.asarray(x, dtype=float), hessian)
            return val, K * np.asarray(grad), None if hess is None else K[:, None] * hess * K
        val, grad, hess = self.base.parts([ki * xi for ki, xi in zip(k, x)], hessian)
        grad = [ki * gi for ki, gi in zip(k, grad)]
        if hess is not None:
            hess = [[k[i] * hess[i][j] * k[j] for j in range(len(k))] for i in range(len(k))]
        return val, grad, hess
