"""Build the site offline: render the notebooks with their outputs into docs/notebooks/
(executing every cell: a notebook that fails fails the build), then ``mkdocs build --strict``
into site/.

    python docs/build.py [--skip-notebooks]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python docs/build.py")
    ap.add_argument("--skip-notebooks", action="store_true",
                    help="reuse the notebooks already rendered in docs/notebooks/")
    args = ap.parse_args(argv)
    env = {**os.environ, "MPLBACKEND": "Agg", "NO_MKDOCS_2_WARNING": "1",
           "DISABLE_MKDOCS_2_WARNING": "true"}
    if not args.skip_notebooks:
        done = subprocess.run([sys.executable, str(ROOT / "notebooks" / "render.py"), "--out",
                               str(ROOT / "docs" / "notebooks")], cwd=ROOT, env=env)
        if done.returncode:
            return done.returncode
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(ROOT / "site")], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    raise SystemExit(main())
