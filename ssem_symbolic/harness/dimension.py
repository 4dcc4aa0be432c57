"""How alpha_c moves with the embedding dimension d, on free embeddings in R^d.

The relaxed optimum (over all unit embeddings) needs the rank of its Gram matrix
(:func:`~ssem_symbolic.optimum.rank_needed`); just above alpha_c that is the rank of the
spreading regime (for example m k - 1 with the views of an instance together), just below it
m - 1 (class collapse). Free embeddings in R^d with d below the spreading rank cannot reach the
spreading optimum, so spreading pays less and alpha_c moves. Here alpha_c(d) is located from
training alone (:func:`~ssem_symbolic.harness.threshold.locate`, the same locator as the
cross-check) for each d, beside the relaxed alpha_c and the rank it needs; the verdict of the
cross-check's locator (|located - relaxed| <= max(1e-3, 3 x uncertainty)) says where d is
enough.
"""

from __future__ import annotations

from .threshold import locate, verdict


def alpha_c_by_dim(convention, m: int, k: int, p: int, tau: float, dims, *,
                   steps: int = 1500, seeds: int = 2) -> dict:
    """alpha_c(d) located on free embeddings in R^d for each d of ``dims``, beside the
    relaxed alpha_c(tau) and the rank the optimum needs on either side of it."""
    from ..optimum import optimum, rank_needed
    from ..setting import Batch
    from ..ssem import alpha_c_value

    batch = Batch.balanced(m, k, p)
    relaxed = float(alpha_c_value(convention, m, k, p, repr(float(tau))))
    ranks = {side: rank_needed(convention, batch,
                               optimum(convention, batch, repr(min(max(relaxed + off, 0.0),
                                                                   1.0)), repr(float(tau))))
             for side, off in (("below", -0.02), ("above", 0.02))}
    rows = []
    for d in dims:
        rec = locate(convention, m, k, p, tau=tau, dim=int(d), steps=steps, seeds=seeds)
        judged, diff, tol = verdict(rec["located"], rec["uncertainty"], relaxed, "alpha")
        rows.append({"dim": int(d), "located": rec["located"],
                     "uncertainty": rec["uncertainty"], "verdict": judged,
                     "difference": diff, "tolerance": tol,
                     "realisable": int(d) >= ranks["above"], "note": rec.get("note")})
    return {"loss": str(getattr(convention, "name", convention)), "batch": [m, k, p],
            "tau": tau, "relaxed": relaxed, "rank_needed": ranks, "steps": steps,
            "seeds": seeds, "rows": rows}
