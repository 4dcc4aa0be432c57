"""Render the jupytext notebooks to .ipynb files with their outputs, for readers.

    python notebooks/render.py [--out build/notebooks] [NAME ...]

No Jupyter kernel is needed: each code cell runs in one shared namespace in this process;
stdout, the last expression's value (text, and LaTeX for SymPy objects) and every matplotlib
figure become the cell's outputs. Files are written atomically. Needs jupytext and nbformat
(``pip install -e '.[notebooks]'``).
"""

from __future__ import annotations

import argparse
import ast
import base64
import contextlib
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _figures(plt) -> list[dict]:
    outs = []
    for num in plt.get_fignums():
        buf = io.BytesIO()
        plt.figure(num).savefig(buf, format="png", bbox_inches="tight")
        outs.append({"output_type": "display_data", "metadata": {},
                     "data": {"image/png": base64.b64encode(buf.getvalue()).decode(),
                              "text/plain": "<Figure>"}})
    plt.close("all")
    return outs


def _result(value, count: int) -> dict:
    data = {"text/plain": repr(value)}
    try:
        import sympy as sp

        if isinstance(value, sp.Basic) or (isinstance(value, tuple) and value and
                                           all(isinstance(v, sp.Basic) for v in value)):
            data["text/latex"] = f"$\\displaystyle {sp.latex(value)}$"
    except ImportError:  # pragma: no cover
        pass
    return {"output_type": "execute_result", "execution_count": count, "metadata": {},
            "data": data}


def render(path: Path, out_dir: Path) -> Path:
    import jupytext
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import nbformat

    nb = jupytext.read(path)
    namespace: dict = {"__name__": "__main__", "__file__": str(path.resolve())}
    count = 0
    shown: list[dict] = []
    plt.show = lambda *a, **k: shown.extend(_figures(plt))  # noqa: E731
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        count += 1
        tree = ast.parse(cell.source)
        last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        body = ast.Module(body=tree.body[:-1] if last else tree.body, type_ignores=[])
        stdout = io.StringIO()
        outputs: list[dict] = []
        shown.clear()
        with contextlib.redirect_stdout(stdout):
            exec(compile(body, str(path), "exec"), namespace)
            value = eval(compile(ast.Expression(last.value), str(path), "eval"),
                         namespace) if last else None
        if stdout.getvalue():
            outputs.append({"output_type": "stream", "name": "stdout", "text": stdout.getvalue()})
        outputs += shown + _figures(plt)
        if value is not None:
            outputs.append(_result(value, count))
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        cell.execution_count = count
    from ssem_symbolic.infra import atomic_write

    target = out_dir / (path.stem + ".ipynb")
    atomic_write(target, nbformat.writes(nb).encode(), make_parents=True)
    return target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python notebooks/render.py")
    ap.add_argument("--out", default="build/notebooks", help="output folder")
    ap.add_argument("names", nargs="*", help="notebooks to render (default: all)")
    args = ap.parse_args(argv)
    try:
        import jupytext  # noqa: F401
        import nbformat  # noqa: F401
    except ImportError as exc:
        print(f"render.py: error: {exc.name} is not installed; rendering the notebooks needs "
              "the notebooks extra: pip install -e '.[notebooks]'", file=sys.stderr)
        return 2
    paths = sorted(HERE.glob("[0-9][0-9]_*.py"))
    if args.names:
        paths = [p for p in paths if any(p.stem.startswith(n) for n in args.names)]
    if not paths:
        print("no notebook matches", file=sys.stderr)
        return 2
    for path in paths:
        print(f"rendered {render(path, Path(args.out))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
