"""What a page costs to import, before and after a change: ``python -X importtime`` of the import
statements of ``streamlit_app.py`` and one page file, in a fresh interpreter, for one or more checkouts.

    python bench/page_imports.py --pages home dataset train --checkouts /path/to/old/checkout .

Prints, per checkout and page, the total import time (the sum of the top-level imports' cumulative
times, µs → s), the five most expensive top-level packages, and whether torch / scikit-learn were loaded.
Each measurement is repeated (``--repeats``) and the median printed; checkouts alternate, so a ratio
taken from one run compares like with like on a noisy machine.
"""

from __future__ import annotations

import argparse
import ast
import re
import statistics
import subprocess
import sys
from pathlib import Path


def import_lines(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]


def page_file(checkout: Path, page: str) -> Path:
    for folder in ("app_pages", "pages"):  # the pages moved from pages/ to app_pages/
        if (checkout / folder / f"{page}.py").is_file():
            return checkout / folder / f"{page}.py"
    raise SystemExit(f"no page {page} in {checkout}")


def measure(checkout: Path, page: str) -> tuple[float, dict[str, float], bool, bool]:
    """(seconds, {top-level package: seconds}, torch loaded, sklearn loaded) of one fresh import."""
    lines = [*import_lines(checkout / "streamlit_app.py"), *import_lines(page_file(checkout, page))]
    lines = [x for x in lines if "streamlit" not in x.split()[1]]  # the same streamlit in both: leave it out
    code = "\n".join([*lines, "import sys", "print('torch' in sys.modules, 'sklearn' in sys.modules)"])
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], cwd=checkout, capture_output=True, text=True, check=True
    )
    top: dict[str, float] = {}
    for line in out.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)", line)
        if m and m.group(3) == "":  # a top-level import of the code above
            name = m.group(4).split(".")[0]
            top[name] = top.get(name, 0.0) + int(m.group(2)) / 1e6
    torch, sklearn = out.stdout.split()
    return sum(top.values()), top, torch == "True", sklearn == "True"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pages", nargs="+", default=["home", "dataset", "train"])
    p.add_argument("--checkouts", nargs="+", default=["."])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    print(f"{'checkout':40s} {'page':8s} {'import s':>8s}  torch  sklearn  most expensive")
    for page in args.pages:
        runs: dict[str, list] = {c: [] for c in args.checkouts}
        for _ in range(args.repeats):
            for c in args.checkouts:
                runs[c].append(measure(Path(c).resolve(), page))
        for c, rs in runs.items():
            seconds = statistics.median(r[0] for r in rs)
            top = sorted(rs[-1][1].items(), key=lambda kv: -kv[1])[:5]
            print(
                f"{c[-40:]:40s} {page:8s} {seconds:8.2f}  {str(rs[-1][2]):5s}  {str(rs[-1][3]):7s}  "
                + ", ".join(f"{k} {v:.2f}" for k, v in top)
            )


if __name__ == "__main__":
    main()
