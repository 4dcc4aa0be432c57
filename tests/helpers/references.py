"""Per-pair loss definitions written for the tests, in plain Python floats: nothing here calls
the package, which is what they check. A spec is read only for its fields (pairs, positives,
weights, mean, form, bias), never for a derived quantity.

``kinds[a][b]`` is the pair type of embeddings a and b (self, view, class, other) and
``sims[a][b]`` their cosine similarity.
"""

from __future__ import annotations

import math


def kinds_of(instances: list, labels: list) -> list[list[str]]:
    """Pair types of embeddings with these instance ids and class labels."""
    M = len(instances)
    return [["self" if a == b else "view" if instances[a] == instances[b] else
             "class" if labels[a] == labels[b] else "other" for b in range(M)]
            for a in range(M)]


def from_embeddings(z, labels) -> tuple[list, list]:
    """(kinds, sims) of z (N, p, d) with labels (N,): rows normalised, instance-major."""
    import torch

    n, views, _ = z.shape
    flat = torch.nn.functional.normalize(z.reshape(n * views, -1).double(), dim=-1).tolist()
    inst = [i for i in range(n) for _ in range(views)]
    lab = [int(labels[i]) for i in inst]
    sims = [[sum(x * y for x, y in zip(u, v)) for v in flat] for u in flat]
    return kinds_of(inst, lab), sims


def batch_loss(spec, kinds, sims, alpha: float, tau: float) -> float:
    """L = sum_T W_T L_T, W = (1 - alpha, alpha) unless the spec says otherwise.

    Softmax form: anchor a's log-probability of b is s_ab/tau_ab - log D_a with
    D_a = sum_{c in den_T} omega(a, c) e^{s_ac/tau_ac}, tau_ab = tau x the ratio the spec's
    ``temperatures`` give the pair's type (tau where they give none); L_T is the mean of
    -log p over the term's positives, each weighted by pi(a, b), taken per anchor then over
    the anchors that have one ("anchors"), or over all positive pairs ("pairs"); a term with
    no positive adds 0.

    Sigmoid form: every pair (a, b) whose type is in the pairs the spec sees contributes
    log(1 + exp(-y (s_ab/tau + bias))), y = +1 on the term's positives; L_T is their sum per
    anchor averaged over all anchors ("anchors"), or their mean over all pairs ("pairs").
    """
    M = len(kinds)
    total = 0.0
    for i, term in enumerate(("sup", "self")):
        w0, w1 = (float(x) for x in spec.weights[i])
        weight = w0 + w1 * alpha
        if spec.form == "sigmoid":
            bias = float(spec.bias)
            values = [math.log1p(math.exp(-(1 if kinds[a][b] in spec.positives(term) else -1)
                                          * (sims[a][b] / tau + bias)))
                      for a in range(M) for b in range(M) if kinds[a][b] in spec.denominator]
            total += weight * sum(values) / (M if spec.mean == "anchors" else len(values))
            continue
        den_types = spec.denominator_of(term)
        per_anchor, pairs = [], []
        temp = {t: tau * float(r) for t, r in getattr(spec, "temperatures", ())}

        def logit(a, b):  # s_ab / tau_t, tau_t the pair type's temperature (tau by default)
            return sims[a][b] / temp.get(kinds[a][b], tau)
        for a in range(M):
            den = math.log(sum(den_weight(spec, term, kinds[a][c]) * math.exp(logit(a, c))
                               for c in range(M) if kinds[a][c] in den_types))
            pos = [(float(spec.pair_weight(term, kinds[a][b])), den - logit(a, b))
                   for b in range(M) if kinds[a][b] in spec.positives(term)
                   and spec.pair_weight(term, kinds[a][b]) != 0]
            if pos:
                per_anchor.append((1.0, sum(p * x for p, x in pos) / sum(p for p, _ in pos)))
                pairs += pos
        chosen = per_anchor if spec.mean == "anchors" else pairs
        if chosen:
            total += weight * sum(p * x for p, x in chosen) / sum(p for p, _ in chosen)
    return total


def den_weight(spec, term: str, kind: str) -> float:
    """omega of a pair type in ``term``'s denominator, read from the spec's ``pair_weights``
    field: the term's own entry ("denominator.sup" / "denominator.self"), else the one both
    terms share ("denominator"), else 1."""
    table = {(place, t): w for place, t, w in spec.pair_weights}
    return float(table.get((f"denominator.{term}", kind), table.get(("denominator", kind), 1)))


def loss_of_embeddings(z, labels, alpha: float, tau: float, spec) -> float:
    """:func:`batch_loss` of embeddings z (N, p, d) with labels (N,)."""
    kinds, sims = from_embeddings(z, labels)
    return batch_loss(spec, kinds, sims, alpha, tau)


def torch_batch_loss(spec, kinds, sims, alpha: float, tau):
    """:func:`batch_loss`'s softmax form in torch, for the presets (mean over anchors, unit
    pair weights; a temperature per pair type where the spec gives ``temperatures``),
    differentiable in ``sims`` (a tensor) and ``tau``. Checked against
    :func:`batch_loss` in tests/optimum/test_learnable.py."""
    import torch

    total = 0.0
    ratio = {t: float(r) for t, r in getattr(spec, "temperatures", ())}
    scaled = sims / torch.tensor([[ratio.get(t, 1.0) for t in row] for row in kinds],
                                 dtype=sims.dtype)  # s_ab / (ratio of the pair's type)
    for i, term in enumerate(("sup", "self")):
        w0, w1 = (float(x) for x in spec.weights[i])
        weight = w0 + w1 * alpha
        den = torch.tensor([[t in spec.denominator_of(term) for t in row] for row in kinds])
        pos = torch.tensor([[t in spec.positives(term) for t in row] for row in kinds])
        logits = (scaled / tau).masked_fill(~den, float("-inf"))
        log_den = torch.logsumexp(logits, dim=1, keepdim=True)
        per_pair = (log_den - scaled / tau).masked_fill(~pos, 0.0)
        has = pos.any(dim=1)
        per_anchor = per_pair.sum(dim=1)[has] / pos.sum(dim=1)[has]
        if has.any():
            total = total + weight * per_anchor.mean()
    return total


def hard_negative_loss(spec, kinds, sims, alpha: float, tau: float) -> float:
    """The softmax form with hard negatives, per pair, as Robinson et al.'s code computes it
    (github.com/joshr17/HCL: ``imp = (beta * neg.log()).exp()``, ``reweight_neg = (imp *
    neg).sum(-1) / imp.mean(-1)``, ``-log(pos / (pos + reweight_neg))``): for anchor a and
    term T, D = sum over the denominator's positives of e^{s/tau} + sum_n w_n e^{s_an/tau},
    w_n = e^{beta s_an/tau} / mean_n' e^{beta s_an'/tau} over the negatives n (the
    denominator's pairs that are not T's positives); L_T = mean over anchors of the mean over
    positives of log D - s_ab/tau (``anchors`` mean, unit pair weights)."""
    beta = float(spec.hard_negatives)
    M = len(kinds)
    total = 0.0
    for i, term in enumerate(("sup", "self")):
        w0, w1 = (float(x) for x in spec.weights[i])
        weight = w0 + w1 * alpha
        den, pos = spec.denominator_of(term), spec.positives(term)
        per_anchor = []
        for a in range(M):
            positives = [b for b in range(M) if kinds[a][b] in pos]
            if not positives:
                continue
            negs = [sims[a][c] for c in range(M) if kinds[a][c] in den and kinds[a][c] not in pos]
            imp = [math.exp(beta * s / tau) for s in negs]
            reweighted = (sum(i * math.exp(s / tau) for i, s in zip(imp, negs))
                          / (sum(imp) / len(imp))) if negs else 0.0
            inside = sum(math.exp(sims[a][c] / tau) for c in range(M)
                         if kinds[a][c] in den and kinds[a][c] in pos)
            log_d = math.log(inside + reweighted)
            per_anchor.append(sum(log_d - sims[a][b] / tau for b in positives) / len(positives))
        if per_anchor:
            total += weight * sum(per_anchor) / len(per_anchor)
    return total


def torch_hard_negative_loss(spec, kinds, sims, alpha: float, tau: float):
    """:func:`hard_negative_loss` in torch, differentiable in ``sims``."""
    import torch

    beta = float(spec.hard_negatives)
    total = 0.0
    for i, term in enumerate(("sup", "self")):
        w0, w1 = (float(x) for x in spec.weights[i])
        weight = w0 + w1 * alpha
        den, pos = spec.denominator_of(term), spec.positives(term)
        is_pos = torch.tensor([[t in pos for t in row] for row in kinds])
        inside = torch.tensor([[t in den and t in pos for t in row] for row in kinds])
        neg = torch.tensor([[t in den and t not in pos for t in row] for row in kinds])
        e = torch.exp(sims / tau)
        imp = torch.exp(beta * sims / tau) * neg
        reweighted = (imp * e).sum(1) / (imp.sum(1) / neg.sum(1).clamp_min(1))
        log_d = torch.log((e * inside).sum(1) + reweighted)
        has = is_pos.any(1)
        per = ((log_d[:, None] - sims / tau) * is_pos).sum(1)[has] / is_pos.sum(1)[has]
        total = total + weight * per.mean()
    return total


def level_kinds(instances: list, labels: list, supers: list) -> dict[str, list[list[str]]]:
    """The pair types read at each label level: at ``class`` with the class labels, at
    ``superclass`` with each superclass taken as one class (``supers[a]``: the superclass of
    embedding a's class)."""
    return {"class": kinds_of(instances, labels), "superclass": kinds_of(instances, supers)}


def torch_level_loss(spec, kinds: dict, sims, alpha: float, tau: float):
    """A loss summed over label levels, per pair, in torch (mean over anchors, unit pair
    weights): W_self L_self + W_sup sum_l lambda_l L_sup(l), with L_T(l) the mean over anchors
    with a positive of the mean over its positives of log D - s_ab/tau, the positives and the
    denominator read with ``kinds[l]`` (:func:`level_kinds`). lambda_l from the spec's
    ``levels`` field (class 1 and superclass 0 where it gives none)."""
    import torch

    lam = {"class": 1.0, "superclass": 0.0} | {lv: float(w) for lv, w in spec.levels}

    def term(name, kind):
        den = torch.tensor([[t in spec.denominator_of(name) for t in row] for row in kind])
        pos = torch.tensor([[t in spec.positives(name) for t in row] for row in kind])
        log_den = torch.logsumexp((sims / tau).masked_fill(~den, float("-inf")), 1, True)
        per_pair = (log_den - sims / tau).masked_fill(~pos, 0.0)
        has = pos.any(dim=1)
        return (per_pair.sum(1)[has] / pos.sum(1)[has]).mean() if has.any() else 0.0
    (s0, s1), (f0, f1) = ((float(x) for x in w) for w in spec.weights)
    total = 0.0
    if f0 + f1 * alpha:  # a term of weight 0 adds nothing (even where it has no positive)
        total = (f0 + f1 * alpha) * term("self", kinds["class"])
    for level, weight in lam.items():
        if weight and s0 + s1 * alpha:
            total = total + (s0 + s1 * alpha) * weight * term("sup", kinds[level])
    return total


def torch_paired_loss(spec, kinds, cross, sims, alpha: float, tau: float):
    """A loss on paired modalities, per pair, in torch (mean over anchors, unit pair weights):
    ``cross[a][b]`` is True where embeddings a and b are of different modalities; a spec with
    ``contrast = "cross-modal"`` sees only those pairs, in its denominators and among its
    positives. Softmax form: W_T times the mean over anchors with a positive of the mean over
    its positives of log sum_den e^{s/tau} - s_ab/tau. Sigmoid form: W_T times the mean over
    anchors of the sum over the pairs it sees of log(1 + e^{-y (s/tau + bias)}), y = +1 on
    the term's positives."""
    import torch

    seen = torch.tensor(cross) if spec.contrast == "cross-modal" else torch.ones(
        len(kinds), len(kinds), dtype=torch.bool)
    total = 0.0
    for i, term in enumerate(("sup", "self")):
        w0, w1 = (float(x) for x in spec.weights[i])
        weight = w0 + w1 * alpha
        if not weight:
            continue
        den = torch.tensor([[t in spec.denominator_of(term) for t in row] for row in kinds]) & seen
        pos = torch.tensor([[t in spec.positives(term) for t in row] for row in kinds]) & seen
        if spec.form == "sigmoid":
            y = torch.where(pos, 1.0, -1.0).to(sims.dtype)
            per = torch.nn.functional.softplus(-y * (sims / tau + float(spec.bias)))
            total = total + weight * (per * den).sum(1).mean()
            continue
        log_den = torch.logsumexp((sims / tau).masked_fill(~den, float("-inf")), 1, True)
        per_pair = (log_den - sims / tau).masked_fill(~pos, 0.0)
        has = pos.any(dim=1)
        total = total + weight * (per_pair.sum(1)[has] / pos.sum(1)[has]).mean()
    return total


def free_minimum(loss_of_gram, size: int, seeds=(0, 1)):
    """Brute force over free unit vectors: the best of L-BFGS runs (one per seed, from
    Gaussian rows) on ``loss_of_gram(S)`` over ``size`` unit rows X, S = X X^T (float64, strong
    Wolfe line search, three restarts of 3000 iterations). Returns (loss, X) of the best run."""
    import torch

    best = None
    for seed in seeds:
        W = torch.randn(size, size, generator=torch.Generator().manual_seed(seed),
                        dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([W], lr=1, max_iter=3000, tolerance_grad=1e-13,
                                tolerance_change=1e-16, history_size=50,
                                line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            X = torch.nn.functional.normalize(W, dim=1)
            loss = loss_of_gram(X @ X.T)
            loss.backward()
            return loss
        for _ in range(3):
            opt.step(closure)
        with torch.no_grad():
            X = torch.nn.functional.normalize(W, dim=1)
            loss = float(loss_of_gram(X @ X.T))
        if best is None or loss < best[0]:
            best = (loss, X)
    return best
