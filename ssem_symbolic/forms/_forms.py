"""The loss form as a strategy object: each form answers the same questions about SSEM, so no
caller branches on ``spec.form``. A new form is one module and one entry in :data:`FORMS`."""

from __future__ import annotations

from typing import Protocol

import mpmath
import sympy as sp

from ..spec import TERMS, LossSpec, UnsupportedConvention, get_spec, tau
from ..setting import (blocks, check_part, coordinate_type, family, flat, loss_weights,
                       sigmoid_rows)
from . import _sigmoid, _softmax
from ._numeric import CollapseRule
from ._objective import FamilyObjective, LogSumExp, Stretched


class LossForm(Protocol):
    """What a loss form supplies for one batch (m classes of k instances, p views each).

    Every method takes a resolved :class:`~ssem_symbolic.spec.LossSpec` of this form.
    """

    name: str
    where: dict[str, str]
    tau_c_scan: tuple | None

    def closed_forms(self, spec: LossSpec) -> dict[str, sp.Expr]: ...
    def moebius(self, spec: LossSpec) -> bool: ...
    def in_words(self, spec: LossSpec) -> str: ...
    def summary(self, spec: LossSpec) -> dict[str, str]: ...
    def family_weights(self, spec: LossSpec, sizes, p_: int, alpha_) -> list: ...
    def kind_weights(self, spec: LossSpec, part: dict, coef: dict) -> list: ...
    def objective(self, spec: LossSpec, coords: tuple, weights: list, tau_,
                  lib) -> FamilyObjective: ...
    def flat(self, spec: LossSpec, weights: list) -> bool: ...
    def limit(self, spec: LossSpec, weights: list) -> tuple[list, dict]: ...
    def family_loss(self, spec: LossSpec, sizes, p_: int, entry) -> sp.Expr: ...
    def symmetric_loss(self, spec: LossSpec) -> sp.Expr: ...
    def derive(self, spec: LossSpec) -> _softmax.Derivation: ...
    def reduced(self, spec: LossSpec) -> _softmax.Reduced: ...
    def alpha_c_value(self, spec: LossSpec, m_: int, k_: int, p_: int, tau_,
                      digits: int = 30) -> mpmath.mpf: ...
    def alpha_c_limits(self, spec: LossSpec, m_: int, k_: int, p_: int) -> tuple: ...
    def collapse_rule(self, spec: LossSpec, m_: int, k_: int, p_: int, alpha_,
                      digits: int = 30) -> CollapseRule: ...
    def alpha_side(self, spec: LossSpec, m_: int, k_: int, p_: int, tau_) -> int: ...
    def collapses(self, spec: LossSpec, m_: int, k_: int, p_: int, alpha_, tau_) -> bool: ...
    def loss_value(self, spec: LossSpec, m_: int, k_: int, p_: int, alpha_, tau_, beta_,
                   digits: int = 30) -> mpmath.mpf: ...
    def optimal_beta(self, spec: LossSpec, m_: int, k_: int, p_: int, alpha_, tau_,
                     digits: int = 30, start: mpmath.mpf | None = None) -> mpmath.mpf: ...


class Softmax:
    """The log-sum-exp form: f is convex in beta, f'(1) = N(r)/(tau sum of weights) with N a
    polynomial of degree at most 2 in r = exp(-m/((m-1) tau)), so alpha_c(tau) and tau_c(alpha)
    have closed forms (:func:`~ssem_symbolic.ssem.derive`)."""

    name = "softmax"
    #: the symbols the closed forms are written in, and what they stand for
    where = {"r": "exp(-m/((m-1) tau))"}
    #: how tau_c is found where there is no closed form: None (there always is one)
    tau_c_scan = None

    @staticmethod
    def closed_forms(spec: LossSpec) -> dict[str, sp.Expr]:
        """f(beta), alpha_c(tau) (also in r), tau_c(alpha) and the limits of alpha_c as
        tau -> 0 and oo, exactly."""
        d = _softmax.derive(spec)
        return {"reduced_loss": d.loss, "alpha_c": d.alpha_c, "alpha_c_r": d.alpha_c_r,
                "tau_c": d.tau_c, "alpha_c_tau0": d.alpha_c_tau0,
                "alpha_c_tauinf": d.alpha_c_tauinf}

    @staticmethod
    def moebius(spec: LossSpec) -> bool:
        """Whether alpha_c is a Moebius map of r (N(r) affine in r), so that its monotonicity
        in tau is decided exactly; False for N quadratic in r (a denominator per term, both
        holding other classes)."""
        return sp.degree(sp.expand(_softmax.derive(spec).collapse_r), _softmax.r) < 2

    in_words = staticmethod(_softmax.in_words)

    @staticmethod
    def summary(spec: LossSpec) -> dict[str, str]:
        """What the derivation says about the spec at any batch: the side of alpha_c that
        collapses and the limits of alpha_c as tau -> 0 and oo."""
        d = _softmax.derive(spec)
        side = {1: "alpha <= alpha_c", -1: "alpha >= alpha_c"}.get(int(d.alpha_side),
                                                                   "depends on the batch and tau")
        return {"collapse_side": side, "alpha_c_tau0": str(d.alpha_c_tau0),
                "alpha_c_tauinf": str(d.alpha_c_tauinf)}

    #: on a symmetric family (imbalanced batches, samplers): per anchor kind its log-sum-exps
    #: and pull; the objective
    family_weights = staticmethod(loss_weights)

    @staticmethod
    def flat(spec: LossSpec, weights: list) -> bool:
        """Whether phi is flat along (1, ..., 1): no self entry, and one temperature for the
        pair types (a shift of every similarity then shifts every logit of a log-sum-exp
        alike)."""
        return flat(weights) and len({spec.logit_factor(t) for t in ("view", "class",
                                                                       "other")}) == 1

    @staticmethod
    def limit(spec: LossSpec, weights: list) -> tuple[list, dict]:
        """tau phi as tau -> 0 (log-sum-exp becomes a maximum): sum_j L_j max_{e in D_j} g_e -
        sum_t w_t g_t, as ([(L_j, [(j, a, b): a x_j + b])], {coordinate: w}), exact (the self
        entry is (None, 0, 1))."""
        groups, pull = [], {}
        for logs, kind_pull in weights:
            groups += [(L, [(j, 1, 0) if j is not None else (None, 0, 1) for _, j in entries])
                       for L, entries in logs if L != 0]
            for j, w in kind_pull.items():
                pull[j] = pull.get(j, 0) + w
        return groups, pull

    @staticmethod
    def kind_weights(spec: LossSpec, part: dict, coef: dict) -> list:
        """One kind of anchor (its partners per pair type, ``part``; each term's total weight
        of such anchors, ``coef``): its log-sum-exps and pull (:func:`blocks`)."""
        return [blocks(spec, part, coef)]

    @staticmethod
    def family_loss(spec: LossSpec, sizes, p_: int, entry) -> sp.Expr:
        """phi on a symmetric family: sum of L log sum c e^{k_j x_j/tau} minus the pull
        sum w_j k_j x_j / tau, ``entry(j)`` the coordinate j (1 for the self pair) and k_j its
        pair type's tau / tau_t (1 unless the spec gives ``temperatures``)."""
        if spec.hard_negatives:  # not convex: no symmetric family's loss is the optimum's
            spec.softmax("the reduced loss of a symmetric family")
        coords = family(spec, sizes, p_).coords

        def logit(j):
            return entry(j) if j is None else spec.logit_factor(
                coordinate_type(coords[j])) * entry(j)
        phi = sp.Integer(0)
        for logs, pull in loss_weights(spec, sizes, p_):
            for L, entries in logs:
                phi += L * sp.log(sum(c * sp.exp(logit(j) / tau) for c, j in entries))
            phi -= sum(w * logit(j) for j, w in pull.items()) / tau
        return phi

    @staticmethod
    def objective(spec: LossSpec, coords: tuple, weights: list, tau_,
                  lib) -> FamilyObjective:
        """tau phi on the family: the weighted log-sum-exps, with each coordinate's logits
        scaled by its pair type's tau / tau_t where the spec gives ``temperatures``."""
        if spec.hard_negatives:
            raise UnsupportedConvention(
                f"loss spec {spec.name!r} weights hard negatives (not convex): the convex "
                "solvers do not take it (ssem optimum gives the best symmetric point of a "
                "balanced batch)")
        base = LogSumExp(coords, weights, tau_, lib)
        if not spec.temperatures:
            return base
        return Stretched(base, [spec.logit_factor(coordinate_type(c)) for c in coords])

    symmetric_loss = staticmethod(_softmax.symmetric_loss)
    derive = staticmethod(_softmax.derive)
    reduced = staticmethod(_softmax.reduced)
    alpha_c_value = staticmethod(_softmax.alpha_c_value)
    alpha_c_limits = staticmethod(_softmax.alpha_c_limits)
    collapse_rule = staticmethod(_softmax.collapse_rule)
    alpha_side = staticmethod(_softmax.alpha_side)
    collapses = staticmethod(_softmax.collapses)
    loss_value = staticmethod(_softmax.loss_value)
    optimal_beta = staticmethod(_softmax.optimal_beta)


class Sigmoid:
    """The pairwise sigmoid form (SigLIP-like, with a bias b): f is a sum of softplus terms,
    f'(1) = A + alpha B with A, B in closed form, and tau_c is located by a scan of log tau
    (there is no closed form in tau)."""

    name = "sigmoid"
    where: dict[str, str] = {}
    #: tau_c has no closed form: (points, (low, high)) of the log-tau scan that locates it
    tau_c_scan = (_sigmoid.SCAN, _sigmoid.TAU_SCAN)

    @staticmethod
    def closed_forms(spec: LossSpec) -> dict[str, sp.Expr]:
        """f(beta) and alpha_c(tau) = -A/B, exactly (tau_c has no closed form)."""
        return {"reduced_loss": _sigmoid.reduced(spec), "alpha_c": _sigmoid.alpha_c(spec)}

    @staticmethod
    def moebius(spec: LossSpec) -> bool:
        """alpha_c = -A/B is no Moebius map of r: its monotonicity is checked on a scan."""
        return False

    in_words = staticmethod(_sigmoid.in_words)

    @staticmethod
    def summary(spec: LossSpec) -> dict[str, str]:
        """The form, its bias and alpha_c(tau) = -A/B in closed form."""
        return {"form": "sigmoid", "bias": str(spec.bias), "alpha_c": str(_sigmoid.alpha_c(spec))}

    #: on a symmetric family: the rows of its separable softplus sum, which is never flat
    family_weights = staticmethod(sigmoid_rows)

    @staticmethod
    def flat(spec: LossSpec, weights: list) -> bool:
        return False

    @staticmethod
    def limit(spec: LossSpec, weights: list) -> tuple[list, dict]:
        """tau phi as tau -> 0: tau softplus(-y (g/tau + b)) -> max(0, -y g), so sum_r w_r
        max(0, -y_r g_r); as ([(w_r, [(j, a, b): a x_j + b])], {}), exact."""
        return [(w, [(None, 0, 0), (j, -y, 0) if j is not None else (None, 0, -y)])
                for j, y, w in weights if w != 0], {}

    @staticmethod
    def kind_weights(spec: LossSpec, part: dict, coef: dict) -> list:
        """One kind of anchor's rows: l_T is the sum over the pairs it sees (mean "anchors")
        or their mean (mean "pairs"); label +1 on the term's positives."""
        check_part(spec, part)
        n_seen = sum(c for t in spec.denominator for c, _ in part[t])
        scale = 1 if spec.mean == "anchors" else sp.Rational(1, max(n_seen, 1))
        return [(i, 1 if t in spec.positives(term) else -1, coef[term] * scale * c)
                for term in TERMS for t in spec.denominator for c, i in part[t]]

    @staticmethod
    def objective(spec: LossSpec, coords: tuple, weights: list, tau_,
                  lib) -> FamilyObjective:
        return _sigmoid.Separable(weights, spec.bias, tau_, lib)

    @staticmethod
    def family_loss(spec: LossSpec, sizes, p_: int, entry) -> sp.Expr:
        """phi on a symmetric family: the rows' weighted softplus of -y (x_j/tau + b)."""
        return sum((w * sp.log(1 + sp.exp(-y * (entry(j) / tau + spec.bias)))
                    for j, y, w in sigmoid_rows(spec, sizes, p_)), sp.Integer(0))

    symmetric_loss = staticmethod(_sigmoid.symmetric_loss)
    alpha_c_value = staticmethod(_sigmoid.alpha_c_value)
    alpha_c_limits = staticmethod(_sigmoid.alpha_c_limits)
    alpha_side = staticmethod(_sigmoid.alpha_side)
    collapses = staticmethod(_sigmoid.collapses)
    loss_value = staticmethod(_sigmoid.loss_value)
    optimal_beta = staticmethod(_sigmoid.optimal_beta)

    derive = staticmethod(_softmax.derive)  # refuses: the closed forms in r are softmax's
    reduced = staticmethod(_softmax.reduced)  # refuses likewise

    @staticmethod
    def collapse_rule(spec: LossSpec, m_: int, k_: int, p_: int, alpha_,
                      digits: int = 30) -> CollapseRule:
        return CollapseRule(*_sigmoid.collapse_side_in_tau(spec, m_, k_, p_, alpha_, digits))


FORMS: dict[str, LossForm] = {"softmax": Softmax(), "sigmoid": Sigmoid()}


def form_of(spec: LossSpec) -> LossForm:
    """The strategy object of ``spec``'s loss form."""
    return FORMS[spec.form]


def reduced_loss(convention, sizes, p_: int) -> sp.Expr:
    """phi of the invariant family of a batch with class ``sizes`` (a
    :class:`~ssem_symbolic.setting.ClassSizes`) and p views, symbolic in the coordinates
    (symbols named as :attr:`~ssem_symbolic.setting.Family.coords`), alpha and tau: the loss
    of any embedding whose Gram matrix is in the family, in the spec's form.

    >>> from ssem_symbolic.setting import ClassSizes
    >>> phi = reduced_loss("supcon-split", ClassSizes((2, 2)), 2)
    >>> sorted(map(str, phi.free_symbols))
    ['alpha', 'o[0,0]', 's[0]', 'tau', 'v[0]']
    """
    spec = get_spec(convention)
    x = [sp.Symbol(c, real=True) for c in family(spec, sizes, p_).coords]
    return form_of(spec).family_loss(spec, sizes, p_,
                                     lambda j: sp.Integer(1) if j is None else x[j])
