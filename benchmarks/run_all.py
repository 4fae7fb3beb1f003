"""Run every benchmark in this folder, one after another (`make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Benchmarks whose full run takes long get their smoke version here (the full one: run the script).
QUICK = {"bench_scale.py": ["--quick"]}

if __name__ == "__main__":
    failed = 0
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        command = [sys.executable, str(script), *QUICK.get(script.name, []), *sys.argv[1:]]
        failed += subprocess.run(command).returncode != 0
    sys.exit(1 if failed else 0)
