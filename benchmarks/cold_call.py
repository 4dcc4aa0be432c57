"""Cold against warm latency of a first call: ``ssem threshold --json`` on every example spec,
each in a fresh derivation cache (cold: nothing derived yet), then again with that cache
(warm), side by side in one run. The cold path reads alpha_c off the reduced loss N(r) on the
batch, without the closed-form derivation's proofs and limits.

    python benchmarks/cold_call.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPECS = sorted((Path(__file__).resolve().parents[1] / "examples" / "specs").glob("*.toml"))
#: a spec whose closed-form derivation is the heaviest seen (two per-term denominators, pair
#: weights): 3.9 s cold before alpha_c was read off N(r) directly
HEAVY = """denominator = { sup = ["view", "class", "other"], self = ["view", "other"] }
sup = ["view", "class"]
self = ["view"]
mean = "anchors"
pair_weights = { denominator = { class = "1/3" }, sup = { view = 2 } }
"""
ARGS = ["threshold", "--classes", "3", "--per-class", "4", "--tau", "0.5", "--json"]


def _run(spec: Path, cache: str) -> float:
    env = dict(os.environ, SSEM_CACHE_DIR=cache, OMP_NUM_THREADS="1")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ssem_symbolic", *ARGS, "--loss", str(spec)],
                   check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    heavy = Path(tempfile.mkdtemp()) / "weighted-per-term.toml"
    heavy.write_text(HEAVY)
    rows = []
    for spec in [*SPECS, heavy]:
        cache = tempfile.mkdtemp(prefix="ssem-cold-")
        cold, warm = _run(spec, cache), _run(spec, cache)
        rows.append({"spec": spec.name, "cold_s": round(cold, 2), "warm_s": round(warm, 2),
                     "ratio": round(cold / warm, 2)})
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"cold_max_s": max(r["cold_s"] for r in rows),
                      "warm_max_s": max(r["warm_s"] for r in rows)}))


if __name__ == "__main__":
    main()
