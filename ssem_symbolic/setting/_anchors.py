"""The symmetric reduction of an imbalanced batch: the invariant Gram family, its PSD
conditions and the reduced loss, exact.

Class c has k_c instances of p views. The loss is convex in the Gram matrix and invariant under
permuting views, instances within a class and classes of equal size, so its minimum over unit
embeddings is its minimum over Gram matrices with one value per pair type *and size group*
(:class:`~ssem_symbolic.setting.ClassSizes` groups classes by size): for group g (size K_g, n_g
classes) the view similarity ``v[g]`` and same-class similarity ``s[g]``, and for groups g <= h
the similarity ``o[g,h]`` of two different classes (``o[g,g]`` when n_g >= 2).

Such a G is PSD iff (eigen-directions, with multiplicities)

* ``view[g]``: 1 - v_g >= 0                                   (n_g K_g (p - 1))
* ``within-class[g]``: 1 + (p - 1) v_g - p s_g >= 0            (n_g (K_g - 1))
* ``between-class[g]``: a_g - p K_g o_gg >= 0, a_g = 1 + (p - 1) v_g + (K_g - 1) p s_g  (n_g - 1)
* the Gram matrix of the size groups' mean embeddings is PSD:
  R_gg = (a_g + (n_g - 1) p K_g o_gg) / (n_g K_g p),  R_gh = o_gh.

R is congruent to the m x m class-mean matrix T restricted to the symmetric subspace, and its
null vector n_g K_g (the group's instances) is the zero centroid (``all-ones``). Class c (in
group g) has ||mu_c||^2 = a_g / (K_g p), within-class variance w_c = 1 - ||mu_c||^2, and is
collapsed iff w_c = 0; classes i, j merge iff ||mu_i - mu_j||^2 = 0.

The reduced loss, per anchor of group g a log-sum-exp over the partners of each of its
denominators (one, or one per term) and a linear pull towards its positives, with the
conventions' means: ``anchors`` gives each anchor weight 1/N in every term, ``pairs`` weight
(its positives)/(all positive pairs of the batch); pair weights multiply the counts (omega_t in
a denominator, pi_t among a term's positives and in the ``pairs`` mean):

    tau phi = sum_g [ sum_D L_gD tau log sum_{s in D} omega_s n_s e^{x_s / tau}
                      - sum_s w_{g,s} x_s ].

On a balanced batch (one group) it is the balanced phi(v, c, o), term for term.

>>> fam = family("paper", ClassSizes((5, 3, 2)), 2)
>>> fam.coords
('v[0]', 's[0]', 'v[1]', 's[1]', 'v[2]', 's[2]', 'o[0,1]', 'o[0,2]', 'o[1,2]')
>>> [c.name for c in fam.linear][:3]
['view[0]', 'within-class[0]', 'view[1]']
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

from ..vocab import exact
from ._sizes import ClassSizes
from ..spec import TERMS, LossSpec, UnsupportedConvention, alpha, get_spec


@dataclass(frozen=True)
class Linear:
    """One linear PSD condition offset + normal . x >= 0 of a size group."""

    name: str
    group: int
    normal: tuple[sp.Rational, ...]
    offset: sp.Rational
    multiplicity: int


@dataclass(frozen=True)
class Family:
    """The invariant Gram family of (spec, sizes, p), exact.

    ``partners[g]``: per pair type, the list of (count per anchor, coordinate index or None for
    the constant self entry 1). ``means``: (R0, (R_j)) with R(x) = R0 + sum_j x_j R_j, the
    group-mean Gram matrix (G x G, rationals).
    """

    spec: LossSpec
    sizes: ClassSizes
    p: int
    coords: tuple[str, ...]
    linear: tuple[Linear, ...]
    means: tuple
    partners: tuple[dict, ...]

    @property
    def index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.coords)}

    def means_matrix(self, x) -> list[list]:
        """R(x) as nested lists (any number type)."""
        R0, Rj = self.means
        G = len(R0)
        return [[R0[a][b] + sum(r[a][b] * xi for r, xi in zip(Rj, x) if r[a][b])
                 for b in range(G)] for a in range(G)]

    def class_mean_sq(self, x, group: int):
        """||mu_c||^2 = a_g / (K_g p) for a class of ``group``."""
        K, _ = self.sizes.groups[group]
        i = self.index
        a = 1
        if f"v[{group}]" in i:
            a += (self.p - 1) * x[i[f"v[{group}]"]]
        if f"s[{group}]" in i:
            a += (K - 1) * self.p * x[i[f"s[{group}]"]]
        return a / sp.Integer(K * self.p) if isinstance(a, sp.Expr) else a / (K * self.p)

    def value(self, x, name: str, default=1):
        """A coordinate's value at x (``default`` when the pair type is absent)."""
        j = self.index.get(name)
        return default if j is None else x[j]

    def other(self, x, g: int, h: int):
        """The similarity of two different classes of groups g and h."""
        return self.value(x, f"o[{min(g, h)},{max(g, h)}]")


def _coords(sizes: ClassSizes, p_: int) -> tuple[str, ...]:
    out = []
    for g, (K, _) in enumerate(sizes.groups):
        if p_ >= 2:
            out.append(f"v[{g}]")
        if K >= 2:
            out.append(f"s[{g}]")
    G = len(sizes.groups)
    for g in range(G):
        for h in range(g, G):
            if g < h or sizes.groups[g][1] >= 2:
                out.append(f"o[{g},{h}]")
    return tuple(out)


#: the pair type of a symmetric family's coordinate, by its name's head: a balanced batch's
#: and a dataset's coordinates are the types themselves, a size-group family's v[g], s[g] and
#: o[g,h] are views, class mates and other classes
_COORDINATE_TYPES = {"v": "view", "s": "class", "o": "other", "superclass": "other"}


def coordinate_type(name: str) -> str:
    """The pair type whose similarity the coordinate ``name`` is.

    A hierarchy's ``superclass`` coordinate is the similarity of two classes of one
    superclass, an ``other`` pair.

    >>> coordinate_type("o[0,1]"), coordinate_type("class"), coordinate_type("superclass")
    ('other', 'class', 'other')
    """
    head = name.split("[", 1)[0]
    return _COORDINATE_TYPES.get(head, head) if "[" in name or head == "superclass" else name


def _lin(*terms) -> dict:
    """An affine expression {coordinate index (None: the constant): exact coefficient}, the sum
    of (coefficient, expression) ``terms``."""
    out: dict = {}
    for c, e in terms:
        for j, x in e.items():
            out[j] = out.get(j, 0) + sp.Rational(c) * x
    return out


@functools.lru_cache(maxsize=None)
def _family(spec: LossSpec, sizes: ClassSizes, p_: int) -> Family:
    """The family's coordinates, PSD conditions and group-mean matrix, built as exact affine
    expressions (no symbolic algebra: a batch of many size groups is built in milliseconds)."""
    spec.plain_batch("a batch of class sizes")
    coords = _coords(sizes, p_)
    index = {c: i for i, c in enumerate(coords)}
    one = {None: sp.Integer(1)}

    def val(name):
        return {index[name]: sp.Integer(1)} if name in index else one

    def split(e):
        return (tuple(sp.Rational(e.get(j, 0)) for j in range(len(coords))),
                sp.Rational(e.get(None, 0)))

    groups = sizes.groups
    G = len(groups)
    linear = []
    a = {}
    for g, (K, n) in enumerate(groups):
        v, s = val(f"v[{g}]"), val(f"s[{g}]")
        a[g] = _lin((1, one), (p_ - 1, v), ((K - 1) * p_, s))
        rows = [("view", _lin((1, one), (-1, v)), n * K * (p_ - 1)),
                ("within-class", _lin((1, one), (p_ - 1, v), (-p_, s)), n * (K - 1))]
        if n >= 2:
            rows.append(("between-class", _lin((1, a[g]), (-p_ * K, val(f"o[{g},{g}]"))),
                         n - 1))
        for name, expr, mult in rows:
            if mult > 0:
                linear.append(Linear(f"{name}[{g}]", g, *split(expr), mult))
    R = [[None] * G for _ in range(G)]
    for g, (K, n) in enumerate(groups):
        for h in range(G):
            if g == h:
                o = val(f"o[{g},{g}]") if n >= 2 else {}
                R[g][g] = _lin((sp.Rational(1, n * K * p_), a[g]),
                               (sp.Rational((n - 1) * p_ * K, n * K * p_), o))
            else:
                R[g][h] = val(f"o[{min(g, h)},{max(g, h)}]")
    parts = [[split(R[g][h]) for h in range(G)] for g in range(G)]
    R0 = tuple(tuple(parts[g][h][1] for h in range(G)) for g in range(G))
    Rj = tuple(tuple(tuple(parts[g][h][0][j] for h in range(G)) for g in range(G))
               for j in range(len(coords)))
    idx = {c: i for i, c in enumerate(coords)}
    partners = []
    for g, (K, n) in enumerate(groups):
        part = {"self": [(1, None)],
                "view": [(p_ - 1, idx[f"v[{g}]"])] if p_ >= 2 else [],
                "class": [((K - 1) * p_, idx[f"s[{g}]"])] if K >= 2 else [],
                "other": [((nh - (g == h)) * Kh * p_, idx[f"o[{min(g, h)},{max(g, h)}]"])
                          for h, (Kh, nh) in enumerate(groups) if nh - (g == h) > 0]}
        partners.append(part)
    return Family(spec, sizes, p_, coords, tuple(linear), (R0, Rj), tuple(partners))


def family(convention, sizes: ClassSizes, p_: int) -> Family:
    """The invariant Gram family of a batch with these class sizes and p views (cached)."""
    return _family(get_spec(convention), sizes, p_)


def positives(spec: LossSpec, term: str, part: dict) -> list[tuple[sp.Expr, int | None]]:
    """(pi_t count, coordinate) of an anchor's positives in ``term``, from its partners
    ``part`` ({pair type: [(count, coordinate)]}), the spec's pair weights pi_t applied (a
    weight of 0 removes the type)."""
    return [(spec.pair_weight(term, t) * c, j) for t in spec.positives(term)
            for c, j in part[t] if spec.pair_weight(term, t) != 0]


def blocks(spec: LossSpec, part: dict, coef: dict) -> tuple[list, dict]:
    """One kind of anchor's share of tau phi: ``coef[term]`` is the total weight of such
    anchors in ``term`` (its W_T times their share of the term's mean). Returns the
    log-sum-exps [(L, [(omega_t count, coordinate)])], one per distinct denominator, and the
    pull {coordinate: weight}: tau phi += sum L tau log sum c e^{x_j/tau} - sum w_j x_j.

    A spec with label ``levels`` reads the supervised term once per level, weighted by its
    lambda_l (:func:`level_parts`); its anchors' ``part`` must then hold a ``superclass``
    entry (a hierarchy's), else :class:`UnsupportedConvention`."""
    dens: dict = {}
    pull: dict = {}
    for reading, weights in _readings(spec, part, coef):
        for term in TERMS:
            pos = positives(spec, term, reading)
            total = sum(c for c, _ in pos)
            if weights.get(term, 0) == 0 or total == 0:
                continue
            den = spec.denominator_for(term)  # its pair types and their weights
            entries = tuple((den.omega[t] * c, j) for t in den for c, j in reading[t]
                            if den.omega[t] != 0)
            dens[entries] = dens.get(entries, 0) + weights[term]
            for c, j in pos:
                pull[j] = pull.get(j, 0) + weights[term] * sp.Rational(c) / total
    out = [(sp.expand(L), list(entries)) for entries, L in dens.items()]
    return out, {j: sp.expand(w) for j, w in pull.items()}


def level_parts(part: dict) -> dict:
    """An anchor's partners per label level: at the class level ``part`` itself (its
    ``superclass`` entries, the classes of its superclass, lie among ``other``); at the
    superclass level each superclass is one class, so those partners move from ``other`` to
    ``class``.

    >>> level_parts({"self": [(1, None)], "class": [(3, 0)], "other": [(8, 1), (24, 2)],
    ...              "superclass": [(8, 1)]})["superclass"]
    {'self': [(1, None)], 'class': [(3, 0), (8, 1)], 'other': [(24, 2)]}
    """
    inner = part["superclass"]
    fine = {t: e for t, e in part.items() if t != "superclass"}
    coarse = dict(fine, **{"class": list(part.get("class", [])) + list(inner),
                           "other": [e for e in part.get("other", []) if e not in inner]})
    return {"class": fine, "superclass": coarse}


def check_part(spec: LossSpec, part: dict) -> None:
    """:class:`UnsupportedConvention` where a cross-modal spec meets an anchor whose partners
    are not read across modalities (``part`` of a batch of pairs holds ``modalities``)."""
    if spec.contrast == "cross-modal" and "modalities" not in part:
        raise UnsupportedConvention(
            f"loss spec {spec.name!r} contrasts across modalities: give a batch of image-text "
            "pairs (--pairs)")


def _readings(spec: LossSpec, part: dict, coef: dict) -> list[tuple[dict, dict]]:
    """(partners, term weights) per reading of the batch: one, or with ``levels`` the class
    level with the self-supervised term and each level's supervised term times lambda_l."""
    check_part(spec, part)
    if "superclass" not in part:
        if spec.levels:
            raise UnsupportedConvention(
                f"loss spec {spec.name!r} sums its supervised term over label levels: give a "
                "hierarchy of superclasses (--hierarchy)")
        return [(part, coef)]
    levels = level_parts(part)
    out = [(levels["class"], {"sup": coef.get("sup", 0) * spec.level_weight("class"),
                              "self": coef.get("self", 0)})]
    if spec.level_weight("superclass"):
        out.append((levels["superclass"],
                    {"sup": coef.get("sup", 0) * spec.level_weight("superclass")}))
    return out


#: the most distinct class sizes (size groups) the imbalanced layers take: an optimum is a
#: G x G matrix inequality in O(G^2) coordinates, solved in mpmath (8 groups: about 6 s)
MAX_GROUPS = 8


def check_sizes(spec: LossSpec, sizes: ClassSizes, p_: int, alpha_=None, *,
                solver: bool = True) -> None:
    """ValueError (one line) unless every anchor has a positive in each term that carries
    weight (at ``alpha_``; at some alpha in [0, 1] when None) and a partner in its
    denominator; with ``solver``, also unless the sizes have at most :data:`MAX_GROUPS`
    distinct values (what the optimum's solver takes)."""
    if isinstance(p_, bool) or not isinstance(p_, int) or p_ < 1:
        raise ValueError(f"views p must be an integer >= 1, got {p_!r}")
    if solver and len(sizes.groups) > MAX_GROUPS:
        raise ValueError(f"the imbalanced solver takes at most {MAX_GROUPS} distinct class sizes, "
                         f"got {len(sizes.groups)}: its work grows steeply with them (8 take "
                         "about 6 s an optimum, 10 about 80 s); round the sizes into fewer "
                         "values")
    spec.check_views(p_)
    fam = _family(spec, sizes, p_)
    for term in used_terms(spec, alpha_):
        if spec.sums_pairs:  # no mean over positives: an anchor needs none
            if not any(fam.partners[g][t] for g in range(len(sizes.groups))
                       for t in spec.denominator):
                raise ValueError(f"the pairs of {spec.name!r} are empty on this batch")
            continue
        for g, (K, _) in enumerate(sizes.groups):
            if sum(c for c, _ in positives(spec, term, fam.partners[g])) == 0:
                label = "supervised" if term == "sup" else "self-supervised"
                pos = set(spec.positives(term))
                need = ("another view (p >= 2) or another instance of its class (size >= 2)"
                        if {"view", "class"} <= pos else
                        "another instance of its class (class size >= 2)" if "class" in pos
                        else "another view (p >= 2)")
                raise ValueError(f"class size {K} with p = {p_}: the {label} term of "
                                 f"{spec.name!r} needs {need} for every anchor")
        if not any(fam.partners[g][t] for g in range(len(sizes.groups))
                   for t in spec.denominator_of(term)):
            raise ValueError(f"the denominator of {spec.name!r} is empty on this batch")


def used_terms(spec: LossSpec, alpha_=None) -> list:
    """The terms that carry weight at ``alpha_`` (read exactly), or at some alpha in [0, 1]
    when None (a scan over alpha)."""
    out = []
    for term in TERMS:
        w = spec.weight(term)
        if (w.subs(alpha, exact(alpha_)) != 0) if alpha_ is not None else (
                w.subs(alpha, 0) != 0 or w.subs(alpha, 1) != 0):
            out.append(term)
    return out


def check_anchor(spec: LossSpec, part: dict, where: str, alpha_=None, hint: str = "") -> None:
    """ValueError (one line) unless an anchor with these partners (``part``, every anchor of a
    symmetric family being alike) has a positive in each term that carries weight (a form
    that sums over pairs needs none) and a partner in its denominator; ``where`` names the
    setting, ``hint`` what a positive needs."""
    for term in used_terms(spec, alpha_):
        if not spec.sums_pairs and not any(part[t] for t in spec.positives(term)):
            label = "supervised" if term == "sup" else "self-supervised"
            raise ValueError(f"the {label} term of {spec.name!r} has no positive on {where}"
                             + (f" ({hint})" if hint else ""))
        if not any(part[t] for t in spec.denominator_of(term)):
            raise ValueError(f"the denominator of {spec.name!r} is empty on {where}")


def anchor_weights(spec: LossSpec, sizes: ClassSizes, p_: int, term: str) -> list[sp.Expr]:
    """Per size group, the total weight of its anchors in ``term``'s mean (summing to 1):
    ``anchors`` n_g K_g p / N; ``pairs`` in proportion to the group's positive pairs (each
    counted with its pair weight)."""
    fam = _family(spec, sizes, p_)
    anchors = [n * K * p_ for K, n in sizes.groups]
    if spec.mean == "anchors":
        total = sum(anchors)
        return [sp.Rational(a, total) for a in anchors]
    pos = [a * sum(c for c, _ in positives(spec, term, fam.partners[g]))
           for g, a in enumerate(anchors)]
    total = sum(pos)
    return [sp.Rational(q) / total if total else sp.Integer(0) for q in pos]


def loss_weights(spec: LossSpec, sizes: ClassSizes, p_: int, alpha_=None):
    """Per size group, :func:`blocks`: its log-sum-exps [(L, [(count, coordinate)])] and its
    pull {coordinate (None: the constant self entry): weight}, polynomials in alpha or exact
    at ``alpha_``."""
    fam = _family(spec, sizes, p_)
    pis = {term: anchor_weights(spec, sizes, p_, term) for term in TERMS}
    out = []
    for g in range(len(sizes.groups)):
        coef = {}
        for term in TERMS:
            W = spec.weight(term)
            coef[term] = (W if alpha_ is None else W.subs(alpha, exact(alpha_))) * pis[term][g]
        out.append(blocks(spec, fam.partners[g], coef))
    return out


def sigmoid_rows(spec: LossSpec, sizes: ClassSizes, p_: int, alpha_=None) -> list:
    """The sigmoid form on the family (:class:`~ssem_symbolic.forms.Separable`'s rows): an
    anchor of group g gives each partner among the pairs its term sees (count c, coordinate j)
    the label y (+1 on the term's positives) and the weight W_T u c, u = 1/N over the batch's
    N anchors (``anchors``) or 1/(all pairs the term sees) (``pairs``); per group the rows
    carry its n_g K_g p anchors. Weights are polynomials in alpha, or exact at ``alpha_``."""
    fam = _family(spec, sizes, p_)
    anchors = [n * K * p_ for K, n in sizes.groups]
    seen = [sum(c for t in spec.denominator for c, _ in fam.partners[g][t])
            for g in range(len(anchors))]
    total = sum(anchors) if spec.mean == "anchors" else sum(
        a * n for a, n in zip(anchors, seen))
    out = []
    for term in TERMS:
        W = spec.weight(term) if alpha_ is None else spec.weight(term).subs(alpha, exact(alpha_))
        for g, a in enumerate(anchors):
            for t in spec.denominator:
                y = 1 if t in spec.positives(term) else -1
                out += [(j, y, sp.expand(W * sp.Rational(a * c, total)))
                        for c, j in fam.partners[g][t]]
    return out


def flat(weights) -> bool:
    """Whether phi is invariant under adding one number to every coordinate (no constant self
    entry in any denominator or pull): its minimisers then form segments along (1, ..., 1).
    ``weights``: :func:`loss_weights`."""
    if any(j is None for logs, _ in weights for L, entries in logs if L != 0
           for _, j in entries):
        return False
    return all(None not in pull or pull[None] == 0 for _, pull in weights)


__all__ = ["Family", "Linear", "anchor_weights", "blocks", "check_anchor", "check_part",
           "check_sizes", "used_terms",
           "coordinate_type",
           "family", "flat", "level_parts",
           "loss_weights", "positives", "sigmoid_rows"]
