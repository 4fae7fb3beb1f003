"""Coding processes and the script that starts them: spawn runs a script's top level again in each."""

from __future__ import annotations

import os
import sys

from .errors import CoderError

__all__ = ["GUARD_ADVICE", "refuse_script_rerun_in_worker"]

GUARD_ADVICE = ('put the code that codes the corpus under `if __name__ == "__main__":` in your script: '
                "coder's worker processes are started with spawn, which runs the script's top level again "
                "in each of them")


def refuse_script_rerun_in_worker(call: str) -> None:
    """Stop the process, saying why, when `call` runs in a coding process that is importing the caller's script.

    spawn (pipeline's start method, on every system) starts each worker by running the main script's top level again; a script
    that calls run_coding() or code_corpus() at top level, without the `__main__` guard, would
    start workers from the workers. multiprocessing marks this phase with `_inheriting` (its own
    check raises "An attempt has been made to start a new process before the current process has
    finished its bootstrapping phase").
    """
    multiprocessing = sys.modules.get("multiprocessing")  # a spawned worker has always imported it
    if multiprocessing is None or not getattr(multiprocessing.current_process(), "_inheriting", False):
        return
    # This worker stops here; its report to the terminal is the message alone, once per worker, not a
    # traceback through multiprocessing's start-up: one write, so two workers' lines never interleave (the
    # interpreter prints an exception in pieces, and a clean clone's test run once read them mixed).
    error = CoderError(f"{call} ran again in a worker process while it imported your script. To fix it, "
                       f"{GUARD_ADVICE}. Corpora over 2 MB are coded by worker processes.")
    line = f"{type(error).__module__}.{type(error).__name__}: {error}\n"
    os.write(2, line.encode(sys.stderr.encoding or "utf-8", "backslashreplace"))
    raise SystemExit(1)
