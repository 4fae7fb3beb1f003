"""Check that `coder run` writes byte-identical outputs to a saved reference (for refactors).

Runs `coder run` twice into a fresh folder (a cold run, then a recode with the cache) on the
seeds and on a generated benchmark corpus (`bench_coding.build_corpus`, 5 MB by default, with the
300-code benchmark codebook), and snapshots every output after each run. `run.json`'s clock
fields (`started`, `seconds`) and the day networkx writes into network.gexf (`lastmodifieddate`)
are ignored and the checkout's path is masked; every other byte must match.

    python benchmarks/check_outputs.py save  REFERENCE_DIR   # before the change
    python benchmarks/check_outputs.py check REFERENCE_DIR   # after: exit 1 on any difference
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_coding import DATA, build_codebook, build_corpus  # noqa: E402

CLOCK_FIELDS = ("started", "seconds")
# networkx's GEXF writer stamps the day: a reference saved before midnight is otherwise "different" after it.
GEXF_DAY = re.compile(rb'lastmodifieddate="[^"]*"')


def _cases(megabytes: float) -> dict[str, tuple[Path, Path]]:
    corpus = DATA / f"corpus_{megabytes:g}mb"
    if not corpus.exists():
        build_corpus(corpus, megabytes)
    codebook = DATA / "codebook_300.yaml"
    build_codebook(codebook)
    return {"seeds": (ROOT / "seeds", ROOT / "codebook.yaml"), "benchmark": (corpus, codebook)}


def _normalise(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name == "run.json":
        record = json.loads(data)
        for field in CLOCK_FIELDS:
            record.pop(field, None)
        data = json.dumps(record, ensure_ascii=False, indent=1, sort_keys=True).encode()
    # The checkout's path differs between worktrees and clones; what is under it must not.
    return data.replace(str(ROOT).encode(), b"<ROOT>")


def _snapshot(out: Path, into: Path) -> None:
    for path in sorted(out.rglob("*")):
        relative = path.relative_to(out)
        # The cache and the lock file are not outputs (the lock file stays, empty, between runs).
        if path.is_dir() or relative.parts[0] == ".cache" or path.name == ".coder.lock":
            continue
        target = into / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_normalise(path))


def produce(into: Path, megabytes: float) -> None:
    for name, (corpus, codebook) in _cases(megabytes).items():
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "out"
            for step in ("cold", "recode"):
                subprocess.run(
                    [sys.executable, "-m", "coder", "run", str(corpus), "--codebook", str(codebook),
                     "--out", str(out), "--quiet"],
                    check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
                )
                _snapshot(out, into / name / step)


def compare(reference: Path, candidate: Path) -> list[str]:
    problems = []
    names = {p.relative_to(reference) for p in reference.rglob("*") if p.is_file()}
    names |= {p.relative_to(candidate) for p in candidate.rglob("*") if p.is_file()}
    for name in sorted(names):
        old, new = reference / name, candidate / name
        if not old.exists() or not new.exists():
            problems.append(f"{name}: only in {'candidate' if new.exists() else 'reference'}")
        elif _without_day(name, old.read_bytes()) != _without_day(name, new.read_bytes()):
            problems.append(f"{name}: differs")
    return problems


def _without_day(name: Path, data: bytes) -> bytes:
    """A snapshot's bytes as compared: a GEXF file's day masked (references saved before it was)."""
    return GEXF_DAY.sub(b'lastmodifieddate="<DAY>"', data) if name.suffix == ".gexf" else data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["save", "check"])
    parser.add_argument("reference", type=Path)
    parser.add_argument("--megabytes", type=float, default=5.0)
    args = parser.parse_args()
    if args.action == "save":
        shutil.rmtree(args.reference, ignore_errors=True)
        produce(args.reference, args.megabytes)
        print(f"saved {sum(1 for p in args.reference.rglob('*') if p.is_file())} files in {args.reference}")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        produce(Path(scratch), args.megabytes)
        problems = compare(args.reference, Path(scratch))
    for problem in problems:
        print(problem)
    print("identical" if not problems else f"{len(problems)} file(s) differ")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
