"""Loss conventions as data: :class:`LossSpec`, the presets, and the symbols. The pair types
themselves (names, counts, masks, group sums, Gram symbols) are one table in :mod:`.pairs`.

Relative to an anchor embedding ``a``, every embedding ``b`` of a balanced batch
(m classes, k instances per class, p views per instance) has one *pair type*:

* ``self``  -- b = a                                  (1 per anchor)
* ``view``  -- same instance, another view            (p - 1 per anchor)
* ``class`` -- same class, another instance           ((k - 1) p per anchor)
* ``other`` -- another class                          ((m - 1) k p per anchor)

A contrastive loss ``L = (1 - alpha) L_sup + alpha L_self`` is fully described, per anchor,
by the pair types in the softmax denominator and the positive pair types of each term.
Every term is ``mean over positives of -log softmax``; ``mean`` says how the means are taken
on a real batch ("pairs": one mean over all positive ordered pairs; "anchors": per-anchor
mean, then mean over anchors). On a balanced batch both give the same value.

>>> PRESETS["paper"].positives("sup")
('class',)
>>> pair_counts(m, k, p)["other"]
k*p*(m - 1)
"""

from __future__ import annotations

import dataclasses
import enum
import re
from dataclasses import dataclass
from collections.abc import Callable
from typing import Literal

import sympy as sp

from ..vocab import LEVELS, PAIR_TYPES, TABLE
from ..vocab import exact

# --- symbols, with the assumptions the derivation relies on -------------------------
m = sp.Symbol("m", positive=True, integer=True)  # classes in the batch
k = sp.Symbol("k", positive=True, integer=True)  # instances per class
p = sp.Symbol("p", positive=True, integer=True)  # views per instance
alpha = sp.Symbol("alpha", real=True, nonnegative=True)  # weight of the self-supervised term
_ALPHA = alpha  # for functions whose parameter is named alpha
tau = sp.Symbol("tau", positive=True)  # temperature
beta = sp.Symbol("beta", real=True, nonnegative=True)  # SSEM between-class variance


def pair_counts(m_: sp.Expr = m, k_: sp.Expr = k, p_: sp.Expr = p) -> dict[str, sp.Expr]:
    """Number of embeddings of each pair type seen from one anchor (balanced batch; the
    counts of :data:`~ssem_symbolic.vocab.TABLE`)."""
    return {t.name: sp.sympify(t.count(m_, k_, p_)) for t in TABLE}


def check_batch(m_, k_, p_) -> None:
    """ValueError (one line) unless m >= 2, k >= 2, p >= 1 are integers."""
    for name, value, least in (("classes m", m_, 2), ("instances per class k", k_, 2),
                               ("views p", p_, 1)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        if value < least:
            why = {"classes m": "a contrastive batch needs at least two classes",
                   "instances per class k": "the supervised term and SSEM need same-class "
                   "partners",
                   "views p": "every instance has at least one view"}[name]
            raise ValueError(f"{name} must be >= {least} ({why}), got {value}")


def pull_weights(spec: LossSpec, m_: int, k_: int, p_: int, alpha_=None) -> dict:
    """w_t per pair type: each term's weight spread over its positives in proportion to their
    counts on a balanced batch, times their pair weights in that term (phi = L log D - sum_t
    w_t g_t / tau). Polynomials in alpha, or exact rationals at ``alpha_`` (read exactly).

    >>> pull_weights(PRESETS["supcon"], 3, 4, 2)["view"]
    6*alpha/7 + 1/7
    """
    out = {t.name: sp.Integer(0) for t in TABLE}
    for term in TERMS:
        pos = spec.positives(term)
        n = {t: int(c) * spec.pair_weight(term, t) for t, c in pair_counts(m_, k_, p_).items()}
        total = sum(n[t] for t in pos)
        weight = spec.weight(term) if alpha_ is None else spec.weight(term).subs(
            alpha, exact(alpha_))
        if total == 0 or weight == 0:
            continue
        for t in pos:
            out[t] += weight * sp.Rational(n[t]) / total
    return {t: sp.expand(w) for t, w in out.items()}


class NoSolution(ArithmeticError):
    """A solver found no answer inside its documented range (no face or candidate satisfies
    the KKT conditions, Newton did not converge): out of its reach, not a bug."""


class UnsupportedConvention(ValueError):
    """A loss spec the engine does not support; the message says why, in one line."""


class Term(str, enum.Enum):
    """The two terms of L = W_sup L_sup + W_self L_self ((1 - alpha, alpha) by default), with
    the names spec files give them. A Term is never a pair type: ``Term.SELF_SUPERVISED`` (the
    term, "self" in a file) is not the pair type ``self`` (an anchor with itself, a
    :class:`~ssem_symbolic.vocab.PairType`). Being a ``str``, a Term compares and hashes as
    its name, so "sup" and "self" still work wherever a term is asked for.

    >>> Term("self") is Term.SELF_SUPERVISED, f"{Term.SUPERVISED}"
    (True, 'sup')
    """

    SUPERVISED = "sup"
    SELF_SUPERVISED = "self"

    __str__ = str.__str__
    __format__ = str.__format__
    __hash__ = str.__hash__


#: the two terms, in the order of ``LossSpec.weights``
TERMS: tuple[Term, ...] = tuple(Term)


def _types(spec_name: str, field_name: str, value) -> tuple[str, ...]:
    """A field's pair types, canonical: a tuple in PAIR_TYPES order, each once."""
    if isinstance(value, str):
        value = (value,)
    try:
        items = list(value)
    except TypeError:
        raise UnsupportedConvention(f"loss spec {spec_name!r}: {field_name} must be a list of "
                                    f"pair types, got {value!r}") from None
    bad = [t for t in items if t not in PAIR_TYPES]
    if bad:
        raise UnsupportedConvention(f"loss spec {spec_name!r}: {field_name} has unknown pair "
                                    f"type(s) {bad}; use {', '.join(PAIR_TYPES)}")
    if not items:
        raise UnsupportedConvention(f"loss spec {spec_name!r}: {field_name} has no pair types")
    return tuple(t for t in PAIR_TYPES if t in items)


def _denominator(spec_name: str, value):
    """The denominator canonical: one tuple of pair types shared by both terms, or, given per
    term as {"sup": [...], "self": [...]} with different contents, a dict of two tuples."""
    if isinstance(value, dict):
        unknown = set(value) - set(TERMS)
        missing = set(TERMS) - set(value)
        if unknown or missing:
            raise UnsupportedConvention(
                f"loss spec {spec_name!r}: a denominator per term needs exactly the keys "
                f"{', '.join(TERMS)}" + (f"; unknown {sorted(unknown)}" if unknown else ""))
        dens = {t: _types(spec_name, f"denominator.{t}", value[t]) for t in TERMS}
        if len(set(dens.values())) == 1:
            return dens[TERMS[0]]
        return dens
    return _types(spec_name, "denominator", value)


#: where a pair-type weight may sit: the denominators (both, or one term's:
#: "denominator.sup", "denominator.self"), or a term's positives
PLACES: tuple[str, ...] = ("denominator", "sup", "self")
_DEN_PLACES = {f"denominator.{t.value}": t.value for t in Term}


def _pair_weight_triples(name: str, value) -> tuple:
    """(place, type, weight) triples from the dict form: ``{"denominator": {type: w}}``
    (both terms' denominators), ``{"denominator": {"sup": {type: w}, "self": {...}}}`` (each
    term's own), ``{"sup": {type: w}}`` and ``{"self": {...}}`` (the positives)."""
    unknown = set(value) - set(PLACES)
    if unknown:
        raise UnsupportedConvention(f"loss spec {name!r}: pair_weights has unknown place(s) "
                                    f"{sorted(unknown)}; use {', '.join(PLACES)}")
    out = []
    try:
        for place, table in value.items():
            table = dict(table)
            if place == "denominator" and table and all(isinstance(v, dict)
                                                         for v in table.values()):
                bad = set(table) - set(TERMS)
                if bad:
                    raise UnsupportedConvention(
                        f"loss spec {name!r}: pair_weights.denominator per term takes the keys "
                        f"sup and self, got {sorted(bad)}")
                out += [(f"denominator.{term}", t, w) for term, sub in table.items()
                        for t, w in dict(sub).items()]
            else:
                out += [(place, t, w) for t, w in table.items()]
    except UnsupportedConvention:
        raise
    except (TypeError, ValueError):
        raise UnsupportedConvention(f"loss spec {name!r}: pair_weights must map each place "
                                    "to a table of pair type = weight") from None
    return tuple(out)


def _pair_weights(spec) -> None:
    """Canonicalise ``spec.pair_weights`` in place: exact nonnegative rationals, each type
    present in its place; a zero weight removes the type from its place (so the denominators and
    positives hold only weighted types), a weight of 1 is the default and is dropped.
    Denominator weights are kept once for both terms ("denominator") where the two terms'
    denominators weigh every type they share alike, else per term ("denominator.sup",
    "denominator.self")."""
    name, value = spec.name, spec.pair_weights
    if isinstance(value, dict):
        value = _pair_weight_triples(name, value)
    out = {}
    for place, t, w in value:
        if place not in PLACES and place not in _DEN_PLACES:
            raise UnsupportedConvention(f"loss spec {name!r}: pair_weights has unknown place "
                                        f"{place!r}; use {', '.join(PLACES)}")
        try:
            w = exact(w)
        except (TypeError, ValueError):
            raise UnsupportedConvention(f"loss spec {name!r}: pair weight {place}.{t} must be "
                                        f"a number, got {w!r}") from None
        if w < 0:
            raise UnsupportedConvention(f"loss spec {name!r}: pair weight {place}.{t} is "
                                        f"negative ({w}); weights must be >= 0")
        _in_range(name, f"pair weight {place}.{t}", w)
        if place == "denominator":
            held = set(spec.denominator_of("sup")) | set(spec.denominator_of("self"))
        elif place in _DEN_PLACES:
            held = set(spec.denominator_of(_DEN_PLACES[place]))
        else:
            held = set(spec.positives(place))
        if t not in held:
            where = ("a denominator" if place == "denominator" else
                     f"the {_DEN_PLACES[place]} denominator" if place in _DEN_PLACES else
                     f"the {place} positives")
            raise UnsupportedConvention(f"loss spec {name!r}: pair weight {place}.{t}: {t!r} is "
                                        f"not in {where}")
        out[(place, t)] = w
    # each term's denominator weights: its own, else the shared ones, else 1
    omega = {term: {t: out.get((f"denominator.{term}", t), out.get(("denominator", t), 1))
                    for t in spec.denominator_of(term)} for term in TERMS}
    dens = {term: tuple(t for t in spec.denominator_of(term) if omega[term][t] != 0)
            for term in TERMS}
    if dens["sup"] != spec.denominator_of("sup") or dens["self"] != spec.denominator_of("self"):
        object.__setattr__(spec, "denominator", _denominator(name, dens))
    for place in TERMS:
        zero = {t for (p_, t), w in out.items() if p_ == place and w == 0}
        if zero:
            object.__setattr__(spec, "sup" if place == "sup" else "self_", _types(
                name, place, tuple(x for x in spec.positives(place) if x not in zero)))
    shared = all(omega["sup"][t] == omega["self"][t]
                 for t in set(dens["sup"]) & set(dens["self"]))
    kept = [(p_, t, w) for (p_, t), w in out.items() if p_ in TERMS and w not in (0, 1)]
    for term in TERMS:
        for t in dens[term]:
            if omega[term][t] != 1:
                kept.append(("denominator" if shared else f"denominator.{term}", t,
                             omega[term][t]))
    object.__setattr__(spec, "pair_weights", tuple(sorted(set(kept))))


class Denominator(tuple):
    """One softmax denominator: its pair types (the tuple itself) and their weights
    ``omega`` (type -> exact weight, 1 where the spec gives none). Two denominators are equal
    when both their types and their weights are.

    >>> d = PRESETS["supcon"].denominators()[0][0]
    >>> d, d.counts(3, 4, 2)["class"]
    (('view', 'class', 'other'), 6)
    """

    omega: dict

    def __new__(cls, types: tuple[str, ...], omega: dict | None = None):
        self = super().__new__(cls, types)
        self.omega = {t: sp.Integer(1) * (omega or {}).get(t, 1) for t in types}
        return self

    def __eq__(self, other: object) -> bool:
        return (tuple(self) == tuple(other) if isinstance(other, tuple) else False) and \
            self.omega == getattr(other, "omega", {t: 1 for t in other})

    def __hash__(self) -> int:
        return hash((tuple(self), tuple(self.omega.items())))

    def __reduce__(self):
        return Denominator, (tuple(self), self.omega)

    def counts(self, *batch) -> dict:
        """omega_t n_t per pair type of the denominator: the counts as they enter it
        (symbolic in m, k, p, or at ``batch`` = (m, k, p))."""
        n = pair_counts(*batch)
        return {t: self.omega[t] * n[t] for t in self}


#: the pair types a temperature of its own may be given to (the self pair's logit is 1/tau)
TEMPERATURE_TYPES = ("view", "class", "other")


def _temperatures(spec) -> tuple:
    """``temperatures`` canonical: sorted (pair type, ratio) pairs, tau_t = ratio x tau, exact
    positive ratios other than 1, each type in a denominator or among the positives; the
    softmax form only."""
    value = spec.temperatures
    name = spec.name
    try:
        items = dict(value).items()
    except (TypeError, ValueError):
        raise UnsupportedConvention(f"loss spec {name!r}: temperatures must be a table of pair "
                                    f"type = ratio (tau_t = ratio x tau), got {value!r}") from None
    out = []
    seen = set().union(*(spec.denominator_of(t) for t in TERMS), spec.sup, spec.self_)
    for t, ratio in items:
        if t not in TEMPERATURE_TYPES:
            raise UnsupportedConvention(f"loss spec {name!r}: temperatures take the pair types "
                                        f"{', '.join(TEMPERATURE_TYPES)} (the self pair's logit "
                                        f"is 1/tau), got {t!r}")
        if t not in seen:
            raise UnsupportedConvention(f"loss spec {name!r}: temperature of {t!r}, a pair type "
                                        "the loss never sees")
        try:
            ratio = exact(ratio)
        except (TypeError, ValueError):
            raise UnsupportedConvention(f"loss spec {name!r}: the temperature ratio of {t} must "
                                        f"be a number, got {ratio!r}") from None
        if not ratio > 0:
            raise UnsupportedConvention(f"loss spec {name!r}: the temperature ratio of {t} must "
                                        f"be > 0, got {ratio}")
        if not sp.Rational(1, 1000) <= ratio <= 1000:
            raise UnsupportedConvention(f"loss spec {name!r}: the temperature ratio of {t} "
                                        f"({float(ratio):g}) lies outside 1e-3 .. 1e3")
        if ratio != 1:
            out.append((t, ratio))
    if out and spec.form != "softmax":
        raise UnsupportedConvention(f"loss spec {name!r}: temperatures per pair type take the "
                                    "softmax form")
    return tuple(sorted(out, key=lambda x: PAIR_TYPES.index(x[0])))


def _hard_negatives(spec) -> sp.Rational:
    """``hard_negatives`` canonical: beta, an exact number in [0, 100]; beta > 0 takes the
    softmax form with unweighted pair types."""
    name = spec.name
    try:
        beta = exact(spec.hard_negatives)
    except (TypeError, ValueError):
        raise UnsupportedConvention(f"loss spec {name!r}: hard_negatives must be a number "
                                    f"(beta), got {spec.hard_negatives!r}") from None
    if not 0 <= beta <= 100:
        raise UnsupportedConvention(f"loss spec {name!r}: hard_negatives (beta) must lie in "
                                    f"[0, 100], got {beta}")
    if beta and (spec.form != "softmax" or spec.pair_weights or spec.temperatures):
        raise UnsupportedConvention(f"loss spec {name!r}: hard negatives take the softmax form "
                                    "with unweighted pair types and one temperature")
    return beta


def _levels(spec) -> tuple:
    """``levels`` canonical: () for one level of labels, else ((level, lambda), ...) for every
    level of :data:`~ssem_symbolic.vocab.LEVELS` (the class level's lambda 1 unless given):
    the supervised term becomes sum_l lambda_l L_sup read at level l, each lambda an exact
    number >= 0, the superclass's > 0; the softmax form without hard negatives only."""
    name = spec.name
    try:
        items = dict(spec.levels).items()
    except (TypeError, ValueError):
        raise UnsupportedConvention(f"loss spec {name!r}: levels must be a table of level = "
                                    f"weight, got {spec.levels!r}") from None
    if not items:
        return ()
    out = {"class": sp.Integer(1)}
    for level, w in items:
        if level not in LEVELS:
            raise UnsupportedConvention(f"loss spec {name!r}: levels take {', '.join(LEVELS)}, "
                                        f"got {level!r}")
        try:
            w = exact(w)
        except (TypeError, ValueError):
            raise UnsupportedConvention(f"loss spec {name!r}: the weight of level {level} must "
                                        f"be a number, got {w!r}") from None
        if w < 0:
            raise UnsupportedConvention(f"loss spec {name!r}: the weight of level {level} must "
                                        f"be >= 0, got {w}")
        _in_range(name, f"the weight of level {level}", w)
        out[level] = w
    if not out.get("superclass", 0):
        raise UnsupportedConvention(f"loss spec {name!r}: levels needs a superclass weight > 0 "
                                    "(without it the loss has one level: scale weights instead)")
    if spec.form != "softmax" or spec.hard_negatives:
        raise UnsupportedConvention(f"loss spec {name!r}: label levels take the softmax form "
                                    "without hard negatives")
    return tuple((level, out[level]) for level in LEVELS)


#: what an anchor is contrasted with on a batch of paired modalities (image and text):
#: "all" (every other embedding, as on any batch) or "cross-modal" (the other modality only,
#: as CLIP and SigLIP do; such a spec takes a batch of pairs)
CONTRASTS = ("all", "cross-modal")


def _contrast(spec) -> str:
    """``contrast`` checked: one of :data:`CONTRASTS`; a cross-modal loss never pairs an
    embedding with itself (no ``self`` pair type) and reads one level of labels."""
    if spec.contrast not in CONTRASTS:
        raise UnsupportedConvention(f"loss spec {spec.name!r}: contrast must be one of "
                                    f"{', '.join(CONTRASTS)}, got {spec.contrast!r}")
    if spec.contrast == "cross-modal":
        seen = set().union(*(spec.denominator_of(t) for t in TERMS), spec.sup, spec.self_)
        if "self" in seen:
            raise UnsupportedConvention(f"loss spec {spec.name!r}: a cross-modal contrast never "
                                        "pairs an embedding with itself: drop the self pair type")
        if spec.levels or spec.hard_negatives:
            raise UnsupportedConvention(f"loss spec {spec.name!r}: a cross-modal contrast takes "
                                        "neither label levels nor hard negatives")
    return spec.contrast


#: the largest |bias| of the sigmoid form (the solvers are checked up to it)
MAX_BIAS = 1000


def _softmax_rules(spec, name: str, bias) -> None:
    if bias != 0:
        raise UnsupportedConvention(f"loss spec {name!r}: a bias needs form = 'sigmoid' (a "
                                    "softmax is unchanged by a constant on every logit)")


def _sigmoid_rules(spec, name: str, bias) -> None:
    if spec.per_term or spec.pair_weights:
        raise UnsupportedConvention(f"loss spec {name!r}: the sigmoid form takes one set of "
                                    "pairs and unweighted pair types")
    for term in TERMS:
        outside = set(spec.positives(term)) - set(spec.denominator)
        if outside:
            raise UnsupportedConvention(
                f"loss spec {name!r}: in the sigmoid form the {term} positives must lie among "
                f"the pairs of the denominator; {sorted(outside)} do not")


@dataclass(frozen=True)
class FormFields:
    """What a loss form adds to a spec: its own fields (written in the key and the canonical
    form), whether each term is a sum over the pairs an anchor sees rather than a log-ratio
    averaged over its positives, and the checks its spec must pass."""

    fields: tuple[str, ...]
    sums_pairs: bool
    check: Callable


#: per loss form, its fields and rules (the form's mathematics is in ``ssem_symbolic.forms``)
FORM_FIELDS = {"softmax": FormFields((), False, _softmax_rules),
               "sigmoid": FormFields(("bias",), True, _sigmoid_rules)}


def _form(spec) -> None:
    """Check the loss form and read the bias exactly. The sigmoid form sums a binary
    logistic loss over the pairs of its "denominator" (the pairs it sees), so each term's
    positives must lie among them; it takes one set of pairs and unweighted pair types."""
    name = spec.name
    if spec.form not in FORM_FIELDS:
        raise UnsupportedConvention(f"loss spec {name!r}: form must be 'softmax' or 'sigmoid', "
                                    f"got {spec.form!r}")
    try:
        bias = exact(spec.bias)
    except (TypeError, ValueError):
        raise UnsupportedConvention(f"loss spec {name!r}: bias must be a number, got "
                                    f"{spec.bias!r}") from None
    if abs(bias) > MAX_BIAS:
        raise UnsupportedConvention(f"loss spec {name!r}: bias {sp.N(bias, 3)} is out of range: "
                                    f"|bias| <= {MAX_BIAS} (beyond, every pair's logistic loss "
                                    "is saturated below e^-1000)")
    object.__setattr__(spec, "bias", bias)
    FORM_FIELDS[spec.form].check(spec, name, bias)


DEFAULT_WEIGHTS = ((sp.Integer(1), sp.Integer(-1)), (sp.Integer(0), sp.Integer(1)))

#: how an implementation treats an anchor with no positive in a term: "drop" leaves it out of
#: the term's mean (pytorch-metric-learning's SupConLoss), "zero" counts it as a loss of 0 in
#: the mean over all anchors (SupContrast's SupConLoss)
NO_POSITIVE_RULES = ("drop", "zero")

_SCALE_TEXT = re.compile(r"^[0-9A-Za-z_.*/+\- ()]+$")
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def _parameters(spec_name: str, value) -> tuple:
    """The preset's own parameters canonical: sorted (name, exact positive number) pairs."""
    if isinstance(value, tuple):
        value = dict(value)
    if not isinstance(value, dict):
        raise UnsupportedConvention(f"loss spec {spec_name!r}: parameters must be a table of "
                                    f"name = number, got {value!r}")
    out = []
    for name, v in value.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name in ("tau", "alpha"):
            raise UnsupportedConvention(f"loss spec {spec_name!r}: parameter name {name!r} must "
                                        "be an identifier other than tau and alpha")
        try:
            v = exact(v)
        except (TypeError, ValueError):
            raise UnsupportedConvention(f"loss spec {spec_name!r}: parameter {name} must be a "
                                        f"number, got {v!r}") from None
        if not v > 0:
            raise UnsupportedConvention(f"loss spec {spec_name!r}: parameter {name} must be > 0, "
                                        f"got {v}")
        _in_range(spec_name, f"parameter {name}", v)
        out.append((name, v))
    return tuple(sorted(out))


def _scale(spec_name: str, value, parameters: tuple) -> sp.Expr:
    """The loss scale canonical: an exact expression in tau and the spec's parameters (a
    number, or text such as "tau/base_temperature"), positive for every tau > 0 at the
    parameters' values. Only numbers, names, + - * / and parentheses are read."""
    if isinstance(value, sp.Expr):
        expr = value
    elif isinstance(value, str) and not re.fullmatch(r"\s*[-+0-9./eE ]+\s*", value):
        if not _SCALE_TEXT.fullmatch(value) or "__" in value or len(value) > 200:
            raise UnsupportedConvention(f"loss spec {spec_name!r}: scale {value!r} may use only "
                                        "numbers, tau, the spec's parameters, + - * / and "
                                        "parentheses")
        names = set(_NAME.findall(re.sub(r"\d+(\.\d*)?([eE][-+]?\d+)?", " ", value)))
        allowed = {"tau"} | {n for n, _ in parameters}
        if names - allowed:
            raise UnsupportedConvention(f"loss spec {spec_name!r}: scale {value!r} names "
                                        f"{sorted(names - allowed)[0]!r}, which is neither tau "
                                        "nor one of the spec's parameters")
        from sympy.parsing.sympy_parser import parse_expr, rationalize, standard_transformations

        local = {n: sp.Symbol(n, positive=True) for n in allowed - {"tau"}} | {"tau": tau}
        try:
            expr = parse_expr(value, local_dict=local, global_dict={"Integer": sp.Integer,
                              "Float": sp.Float, "Rational": sp.Rational, "Symbol": sp.Symbol},
                              transformations=standard_transformations + (rationalize,))
        except Exception:  # any parse failure is the same one-line refusal
            raise UnsupportedConvention(f"loss spec {spec_name!r}: scale {value!r} is not an "
                                        "expression") from None
    else:
        try:
            expr = exact(value)
        except (TypeError, ValueError):
            raise UnsupportedConvention(f"loss spec {spec_name!r}: scale must be a number or an "
                                        f"expression in tau, got {value!r}") from None
    expr = sp.nsimplify(sp.sympify(expr), rational=True) if expr.has(sp.Float) else expr
    at = expr.subs({sp.Symbol(n, positive=True): v for n, v in parameters})
    if at.free_symbols - {tau} or not (at.is_positive or sp.simplify(at).is_positive):
        raise UnsupportedConvention(f"loss spec {spec_name!r}: scale {expr} must be positive for "
                                    "every tau > 0 (a scale multiplies the loss)")
    return expr


#: the range of a nonzero weight's magnitude (beyond it the exact derivation's rationals grow
#: without bound, and float kernels overflow)
WEIGHT_RANGE = (sp.Rational(1, 10**12), sp.Integer(10**12))


def _in_range(name: str, what: str, w: sp.Rational) -> None:
    if w != 0 and not WEIGHT_RANGE[0] <= abs(w) <= WEIGHT_RANGE[1]:
        raise UnsupportedConvention(f"loss spec {name!r}: {what} {float(w):g} is out of range: "
                                    "a nonzero weight lies within 1e-12 .. 1e12 in magnitude "
                                    "(scale the weights together)")


def _weights(spec_name: str, value) -> tuple:
    """Term weights canonical: ((a0, a1) sup, (a0, a1) self), exact rationals, each term's
    weight a0 + a1 alpha >= 0 on [0, 1] and their sum > 0 there (so the loss stays convex)."""
    if isinstance(value, dict):
        unknown = set(value) - set(TERMS)
        if unknown:
            raise UnsupportedConvention(f"loss spec {spec_name!r}: weights has unknown term(s) "
                                        f"{sorted(unknown)}; use {', '.join(TERMS)}")
        value = tuple(value.get(t, DEFAULT_WEIGHTS[i]) for i, t in enumerate(TERMS))
    try:
        out = tuple((exact(a0), exact(a1)) for a0, a1 in value)
    except (TypeError, ValueError):
        raise UnsupportedConvention(f"loss spec {spec_name!r}: weights must give (a0, a1) per "
                                    f"term, W = a0 + a1 alpha; got {value!r}") from None
    if len(out) != len(TERMS):
        raise UnsupportedConvention(f"loss spec {spec_name!r}: weights needs one (a0, a1) per "
                                    f"term ({', '.join(TERMS)})")
    for term, pair in zip(TERMS, out):
        for x in pair:
            _in_range(spec_name, f"the {term} weight", x)
    for term, (a0, a1) in zip(TERMS, out):
        if a0 < 0 or a0 + a1 < 0:
            raise UnsupportedConvention(f"loss spec {spec_name!r}: the {term} weight "
                                        f"{a0} + {a1} alpha is negative on [0, 1]")
    if any(sum(a0 + a1 * x for a0, a1 in out) <= 0 for x in (0, 1)):
        raise UnsupportedConvention(f"loss spec {spec_name!r}: the term weights sum to 0")
    return out


@dataclass(frozen=True, eq=False)
class LossSpec:
    """A contrastive loss described by pair types.

    ``denominator``: pair types in the softmax denominator of every anchor, shared by both
    terms; or one per term, ``{"sup": [...], "self": [...]}`` (e.g. a class-conditional
    self-supervised term, whose denominator holds only the anchor's class).
    ``sup`` / ``self_``: positive pair types of the supervised (weight 1 - alpha) and the
    self-supervised (weight alpha) term.  ``mean``: "pairs" or "anchors".

    ``weights`` (optional): each term's weight as a0 + a1 alpha, by default (1 - alpha, alpha);
    (1, alpha) gives L_sup + alpha L_self. Positives may lie outside the denominator (a
    decoupled loss, Yeh et al. 2022): ``-log p`` becomes -s_ab/tau + log sum_den e^{s_ac/tau}.

    Canonical on construction: lists or tuples, in any order, with repeats, become one tuple
    in the order of :data:`PAIR_TYPES`. Equality, hashing and :meth:`key` depend on the content
    only, never on ``name`` or ``description``. A spec the engine cannot handle raises
    :class:`UnsupportedConvention` with the reason.

    >>> spec = LossSpec("a", ["other", "view", "class", "view"], ["class"], ["view"], "anchors")
    >>> spec.denominator, spec == PRESETS["supcon-split"]
    (('view', 'class', 'other'), True)
    """

    name: str
    denominator: tuple[str, ...]
    sup: tuple[str, ...]
    self_: tuple[str, ...]
    mean: Literal["pairs", "anchors"]
    description: str = ""
    #: term weights as (a0, a1) per term: W = a0 + a1 alpha; default (1 - alpha, alpha)
    weights: tuple = DEFAULT_WEIGHTS
    #: weights per pair type inside the denominators ("denominator": one weight per type,
    #: the same in every denominator holding it) and inside each term's positives ("sup",
    #: "self"); given as {place: {type: weight}}, canonical as sorted (place, type, weight)
    #: triples of the weights other than 1. Default: every weight 1
    pair_weights: tuple = ()
    #: "softmax" (InfoNCE: -log of a softmax over the denominator) or "sigmoid" (pairwise,
    #: SigLIP style: every pair of the denominator a binary logistic loss, positive or not)
    form: Literal["softmax", "sigmoid"] = "softmax"
    #: the sigmoid form's bias b: a pair's logit is s/tau + b (exact; 0 by default)
    bias: object = 0
    #: a factor on the whole loss, exact in tau and ``parameters`` (SupContrast multiplies by
    #: tau / base_temperature): it changes every loss value, never the optimal geometry
    scale: object = 1
    #: the implementation's own parameters that ``scale`` names (as (name, value) pairs, or a
    #: dict), e.g. base_temperature
    parameters: tuple = ()
    #: an anchor without a positive in a term: "drop" (out of the term's mean) or "zero" (a
    #: loss of 0, kept in the mean over all anchors); see :data:`NO_POSITIVE_RULES`
    no_positive: Literal["drop", "zero"] = "drop"
    #: the number of views the implementation it reproduces is defined for (None: any)
    views: int | None = None
    #: a temperature per pair type, as a ratio to tau: tau_t = ratio x tau (a sharper one for
    #: other-class pairs: {"other": "1/2"}); given as {type: ratio}, canonical as sorted
    #: (type, ratio) pairs of the ratios other than 1. Default: tau for every pair type
    temperatures: tuple = ()
    #: hard-negative weighting (Robinson et al. 2021): beta >= 0, each anchor's negatives
    #: weighted in proportion to exp(beta s / tau), normalised to mean 1 (0: none)
    hard_negatives: object = 0
    #: label levels (a hierarchy of superclasses): the supervised term summed over the levels,
    #: sum_l lambda_l L_sup(labels of level l), as multi-level SupCon losses do; given as
    #: {level: lambda} ({"superclass": "1/2"}; the class level's lambda is 1 unless given),
    #: canonical as (level, lambda) pairs. Default: one level, the classes
    levels: tuple = ()
    #: on a batch of paired modalities, what an anchor is contrasted with: "all" or
    #: "cross-modal" (CLIP's and SigLIP's: an image against the texts, a text against the
    #: images; every pair type read across the modalities); see :data:`CONTRASTS`
    contrast: str = "all"

    def __post_init__(self) -> None:
        for field_name in ("sup", "self_"):
            object.__setattr__(self, field_name,
                               _types(self.name, field_name.rstrip("_"),
                                      getattr(self, field_name)))
        object.__setattr__(self, "denominator", _denominator(self.name, self.denominator))
        if self.mean not in ("pairs", "anchors"):
            raise UnsupportedConvention(f"loss spec {self.name!r}: mean must be 'pairs' or "
                                        f"'anchors', got {self.mean!r}")
        object.__setattr__(self, "weights", _weights(self.name, self.weights))
        _pair_weights(self)
        _form(self)
        object.__setattr__(self, "temperatures", _temperatures(self))
        object.__setattr__(self, "hard_negatives", _hard_negatives(self))
        object.__setattr__(self, "levels", _levels(self))
        _contrast(self)
        object.__setattr__(self, "parameters", _parameters(self.name, self.parameters))
        object.__setattr__(self, "scale", _scale(self.name, self.scale, self.parameters))
        if self.no_positive not in NO_POSITIVE_RULES:
            raise UnsupportedConvention(f"loss spec {self.name!r}: no_positive must be one of "
                                        f"{', '.join(NO_POSITIVE_RULES)}, got "
                                        f"{self.no_positive!r}")
        if self.views is not None and (isinstance(self.views, bool) or
                                       not isinstance(self.views, int) or self.views < 1):
            raise UnsupportedConvention(f"loss spec {self.name!r}: views must be a positive "
                                        f"integer (the views the implementation takes), got "
                                        f"{self.views!r}")

    def scale_at(self, tau_) -> sp.Expr:
        """The factor on the loss at temperature ``tau_`` (read exactly), the parameters
        substituted.

        >>> from ssem_symbolic.spec import get_spec
        >>> get_spec("supcontrast").scale_at("0.1")
        10/7
        """
        return self.scale_in_tau().subs(tau, exact(tau_))

    def scale_in_tau(self) -> sp.Expr:
        """The factor on the loss as an exact expression in tau, the parameters substituted
        (1 for every spec that gives no ``scale``)."""
        return self.scale.subs({sp.Symbol(n, positive=True): v for n, v in self.parameters})

    def with_parameters(self, **values) -> LossSpec:
        """This spec with some of its parameters set (``base_temperature=0.1``)."""
        known = dict(self.parameters)
        unknown = sorted(set(values) - set(known))
        if unknown:
            have = ", ".join(known) or "none"
            raise ValueError(f"loss {self.name!r} has no parameter {unknown[0]!r} (its "
                             f"parameters: {have})")
        return dataclasses.replace(self, parameters=tuple((known | values).items()))

    def check_views(self, p_: int) -> None:
        """ValueError (one line) unless the spec is defined for ``p_`` views."""
        if self.views is not None and p_ != self.views:
            raise ValueError(f"loss {self.name!r} reproduces an implementation defined for "
                             f"{self.views} views, got p = {p_}")

    @property
    def sums_pairs(self) -> bool:
        """Whether each term is a sum over the pairs an anchor sees (the sigmoid form's
        logistic loss per pair), not a log-ratio averaged over the anchor's positives (the
        softmax form): an anchor then needs no positive, and counts once in a mean over
        anchors whatever its positives."""
        return FORM_FIELDS[self.form].sums_pairs

    @property
    def decoupled(self) -> bool:
        """Whether some positives lie outside their term's denominator (Yeh et al.'s
        decoupling: the loss is then -s_ab/tau + log sum_den exp(s_ac/tau), still convex in the
        Gram matrix)."""
        return any(set(self.positives(t)) - set(self.denominator_of(t)) for t in TERMS)

    @property
    def per_term(self) -> bool:
        """Whether the two terms have different denominators (``denominator`` is then a dict
        ``{"sup": ..., "self": ...}``)."""
        return isinstance(self.denominator, dict)

    def denominator_of(self, term: str) -> tuple[str, ...]:
        """The pair types in the softmax denominator of ``term`` ("sup" or "self")."""
        if term not in TERMS:
            raise ValueError(f"unknown term {term!r}; expected one of {', '.join(TERMS)}")
        return self.denominator[term] if self.per_term else self.denominator

    def denominators(self) -> tuple[tuple[Denominator, sp.Expr], ...]:
        """The distinct denominators (:class:`Denominator`: pair types and their weights),
        each with the weight of its log-sum-exp in phi (the sum of the weights of the terms
        that use it): phi = sum_j W_j log D_j - pull / tau.

        >>> PRESETS["supcon"].denominators()
        ((('view', 'class', 'other'), 1),)
        """
        out: dict[Denominator, sp.Expr] = {}
        for term in TERMS:
            den = self.denominator_for(term)
            out[den] = sp.expand(out.get(den, 0) + self.weight(term))
        return tuple(out.items())

    def denominator_for(self, term: str) -> Denominator:
        """``term``'s denominator with its pair weights."""
        return Denominator(self.denominator_of(term),
                           {t: self.den_weight(term, t) for t in self.denominator_of(term)})

    def den_weight(self, term: str, t: str) -> sp.Rational:
        """omega_t: the weight of pair type ``t`` in ``term``'s denominator (1 unless
        ``pair_weights`` says otherwise)."""
        return next((w for p_, t_, w in self.pair_weights
                     if t_ == t and p_ in ("denominator", f"denominator.{term}")), sp.Integer(1))

    def pair_weight(self, place: str, t: str) -> sp.Rational:
        """The weight of pair type ``t`` in ``place`` ("denominator", "sup" or "self"): 1
        unless ``pair_weights`` says otherwise. Where the terms weigh their denominators
        differently, "denominator" is ambiguous: use :meth:`den_weight`.

        >>> LossSpec("w", ["view", "class", "other"], ["view", "class"], ["view"], "anchors",
        ...          pair_weights={"denominator": {"class": "1/2"}}).pair_weight("denominator",
        ...                                                                    "class")
        1/2
        """
        if place == "denominator":
            weights = {self.den_weight(term, t) for term in TERMS
                       if t in self.denominator_of(term)}
            if len(weights) > 1:
                raise ValueError(f"the terms of {self.name!r} weigh {t} pairs differently in "
                                 "their denominators: use den_weight(term, type)")
            return weights.pop() if weights else sp.Integer(1)
        return next((w for p_, t_, w in self.pair_weights if (p_, t_) == (place, t)),
                    sp.Integer(1))

    def softmax(self, layer: str) -> None:
        """:class:`UnsupportedConvention` naming ``layer`` (a part of the engine built on the
        softmax's log-sum-exp with one temperature: the closed forms on SSEM) unless the spec
        has the softmax form and one temperature for every pair type."""
        if self.form != "softmax":
            raise UnsupportedConvention(f"loss spec {self.name!r} has the {self.form} form; "
                                        f"{layer} takes the softmax form")
        if self.temperatures:
            raise UnsupportedConvention(
                f"loss spec {self.name!r} has a temperature per pair type; {layer} takes one "
                "temperature (use ssem optimum, regimes or threshold, which take both)")
        if self.hard_negatives:
            raise UnsupportedConvention(
                f"loss spec {self.name!r} weights hard negatives (not convex); {layer} takes "
                "a convex loss (ssem optimum gives the best symmetric point of a balanced "
                "batch)")
        self.plain_batch(layer)

    def plain_batch(self, layer: str) -> None:
        """:class:`UnsupportedConvention` naming ``layer`` (a part of the engine built on a
        flat batch) where the spec needs a richer setting: label levels (a hierarchy) or a
        cross-modal contrast (a batch of pairs)."""
        if self.levels:
            raise UnsupportedConvention(
                f"loss spec {self.name!r} sums its supervised term over label levels; {layer} "
                "takes one level (ssem optimum, regimes and threshold take a --hierarchy)")
        if self.contrast == "cross-modal":
            raise UnsupportedConvention(
                f"loss spec {self.name!r} contrasts across modalities; {layer} takes one set of "
                "embeddings (ssem optimum, regimes and threshold take --pairs)")

    def level_weight(self, level: str) -> sp.Rational:
        """lambda_l, the weight of the supervised term read at label level ``level`` (1 for
        the classes and 0 for the superclasses where the spec gives no ``levels``).

        >>> LossSpec("h", ["view", "class", "other"], ["view", "class"], ["view"], "anchors",
        ...          levels={"superclass": "1/2"}).level_weight("superclass")
        1/2
        """
        return dict(self.levels).get(level, sp.Integer(level == "class"))

    def logit_factor(self, t: str) -> sp.Rational:
        """tau / tau_t: the factor on pair type ``t``'s logit s/tau (1 unless
        ``temperatures`` gives t a ratio).

        >>> LossSpec("t", ["view", "class", "other"], ["view", "class"], ["view"], "anchors",
        ...          temperatures={"other": "1/2"}).logit_factor("other")
        2
        """
        return 1 / next((r for t_, r in self.temperatures if t_ == t), sp.Integer(1))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LossSpec) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def positives(self, term: str) -> tuple[str, ...]:
        """Positive pair types of ``term`` (a :class:`Term`, or "sup" or "self")."""
        if term == Term.SUPERVISED:
            return self.sup
        if term == Term.SELF_SUPERVISED:
            return self.self_
        raise ValueError(f"unknown term {term!r}; expected one of {', '.join(TERMS)}")

    def weight(self, term: str) -> sp.Expr:
        """Weight of ``term`` in the total loss, a0 + a1 alpha: by default 1 - alpha for
        "sup" and alpha for "self"."""
        if term not in TERMS:
            raise ValueError(f"unknown term {term!r}; expected one of {', '.join(TERMS)}")
        a0, a1 = self.weights[TERMS.index(term)]
        return a0 + a1 * alpha

    def key(self) -> str:
        """A stable text key: the spec's content, not its name."""
        den = ("/".join(",".join(self.denominator[t]) for t in TERMS) if self.per_term
               else ",".join(self.denominator))
        parts = [den, ",".join(self.sup), ",".join(self.self_), self.mean]
        if self.weights != DEFAULT_WEIGHTS:
            parts.append(";".join(f"{a0},{a1}" for a0, a1 in self.weights))
        if self.pair_weights:
            parts.append("pw:" + ";".join(f"{p_}.{t}={w}" for p_, t, w in self.pair_weights))
        parts += [f"{self.form}:{getattr(self, f)}" for f in FORM_FIELDS[self.form].fields]
        if self.scale != 1:
            parts.append(f"scale:{self.scale}" + "".join(f";{n}={v}" for n, v in self.parameters))
        if self.no_positive != "drop":
            parts.append(f"no_positive:{self.no_positive}")
        if self.views is not None:
            parts.append(f"views:{self.views}")
        if self.temperatures:
            parts.append("temperatures:" + ";".join(f"{t}={r}" for t, r in self.temperatures))
        if self.hard_negatives:
            parts.append(f"hard_negatives:{self.hard_negatives}")
        if self.levels:
            parts.append("levels:" + ";".join(f"{lv}={w}" for lv, w in self.levels))
        if self.contrast != "all":
            parts.append(f"contrast:{self.contrast}")
        return "|".join(parts)

    def canonical(self) -> dict:
        """The canonical form, as a spec file holds it (TOML/JSON keys)."""
        den = ({t.value: list(self.denominator[t]) for t in TERMS} if self.per_term
               else list(self.denominator))
        out = {"name": self.name, "mean": self.mean, "denominator": den,
               "sup": list(self.sup), "self": list(self.self_)}
        if self.weights != DEFAULT_WEIGHTS:
            out["weights"] = {term.value: [str(a0), str(a1)]
                              for term, (a0, a1) in zip(TERMS, self.weights)}
        if self.pair_weights:
            table: dict = {}
            for place, t, w in self.pair_weights:
                where = table
                if place in _DEN_PLACES:  # {"denominator": {"sup": {...}, "self": {...}}}
                    where = table.setdefault("denominator", {})
                    place = _DEN_PLACES[place]
                where.setdefault(place, {})[t] = str(w)
            out["pair_weights"] = table
        if self.form != "softmax":  # the default form is left out, as every default is
            out |= {"form": self.form} | {f: str(getattr(self, f))
                                          for f in FORM_FIELDS[self.form].fields}
        if self.scale != 1:
            out["scale"] = str(self.scale)
        if self.parameters:
            out["parameters"] = {n: str(v) for n, v in self.parameters}
        if self.no_positive != "drop":
            out["no_positive"] = self.no_positive
        if self.views is not None:
            out["views"] = self.views
        if self.temperatures:
            out["temperatures"] = {t: str(r) for t, r in self.temperatures}
        if self.hard_negatives:
            out["hard_negatives"] = str(self.hard_negatives)
        if self.levels:
            out["levels"] = {lv: str(w) for lv, w in self.levels}
        if self.contrast != "all":
            out["contrast"] = self.contrast
        return out | {"description": self.description}


PRESETS: dict[str, LossSpec] = {
    "paper": LossSpec(
        name="paper",
        denominator=("self", "view", "class", "other"),
        sup=("class",),
        self_=("self", "view"),
        mean="pairs",
        description="the paper's reference implementation: all M x M pairs, self included",
    ),
    "supcon": LossSpec(
        name="supcon",
        denominator=("view", "class", "other"),
        sup=("view", "class"),
        self_=("view",),
        mean="anchors",
        description="Khosla et al. L_out (the pairs of SupContrast and PML, unscaled); SimCLR "
                    "self term",
    ),
    "supcon-split": LossSpec(
        name="supcon-split",
        denominator=("view", "class", "other"),
        sup=("class",),
        self_=("view",),
        mean="anchors",
        description="as supcon, but supervised positives exclude the anchor's own views",
    ),
}
