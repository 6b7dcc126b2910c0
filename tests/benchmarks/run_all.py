"""Run every benchmark in this folder, one after another, and print their tables.

Usage: ``.venv/bin/python tests/benchmarks/run_all.py`` (offscreen Qt is set for you).
Benchmarks are measurements, not tests: nothing here fails on a missed target.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ORDER = ["bench_engine", "bench_images", "bench_markdown", "bench_store", "bench_ui"]


def main() -> int:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    failed = []
    for name in ORDER:
        script = HERE / f"{name}.py"
        if not script.exists():
            continue
        print(f"\n## {name}\n", flush=True)
        result = subprocess.run([sys.executable, str(script)], env=env, cwd=ROOT)
        if result.returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks that did not finish: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
