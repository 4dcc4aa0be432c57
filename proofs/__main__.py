"""python -m proofs [--only PREFIX] [--verbose]: check every proposition, print the table."""

from __future__ import annotations

import argparse
import sys
import textwrap

from . import verify_all


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m proofs")
    ap.add_argument("--only", help="check only propositions whose name starts with this")
    ap.add_argument("--verbose", action="store_true", help="print every step")
    args = ap.parse_args()
    outcomes = verify_all(args.only)
    if not outcomes:
        print(f"no proposition matches {args.only!r}", file=sys.stderr)
        return 2
    rows = [(o.name, o.statement, o.method, o.status) for o in outcomes]
    widths = (max(len(r[0]) for r in rows), 60, 40)
    print(f"{'name':<{widths[0]}}  {'statement':<{widths[1]}}  {'method':<{widths[2]}}  status")
    print("-" * (sum(widths) + 14))
    for name, statement, method, status in rows:
        s_lines = textwrap.wrap(statement, widths[1]) or [""]
        m_lines = textwrap.wrap(method, widths[2]) or [""]
        for i in range(max(len(s_lines), len(m_lines))):
            print(f"{name if i == 0 else '':<{widths[0]}}  "
                  f"{s_lines[i] if i < len(s_lines) else '':<{widths[1]}}  "
                  f"{m_lines[i] if i < len(m_lines) else '':<{widths[2]}}  "
                  f"{status if i == 0 else ''}")
        if args.verbose:
            for kind, claim in next(o for o in outcomes if o.name == name).steps:
                print(f"{'':<{widths[0]}}    [{kind}] {claim}")
    failed = [o for o in outcomes if not o.ok]
    print(f"\n{len(outcomes) - len(failed)} of {len(outcomes)} propositions proved"
          + (f"; FAILED: {', '.join(o.name for o in failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
