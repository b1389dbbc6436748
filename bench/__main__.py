"""Run every benchmark module (bench/bench_*.py) in turn, or the ones named on the command line."""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def main(names: list[str]) -> int:
    here = Path(__file__).parent
    modules = sorted(path.stem for path in here.glob("bench_*.py"))
    chosen = [m for m in modules if not names or any(n in m for n in names)]
    if not chosen:
        print("no benchmarks found")
        return 0
    for name in chosen:
        started = time.perf_counter()
        print(f"== {name}")
        importlib.import_module(f"bench.{name}").main()
        print(f"   ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
