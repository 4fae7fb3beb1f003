"""coder.imports: a module imported when one of its attributes is first read."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["tabnanny"])
def test_imports_lazy_module_imports_on_first_read(module):
    script = (
        "import sys\n"
        "from coder.imports import LazyModule\n"
        f"lazy = LazyModule({module!r})\n"
        f"before = {module!r} in sys.modules\n"
        f"import {module} as real\n"  # noqa-free: the real module, for comparison
        "print(before, lazy.check is real.check, lazy.__name__, 'check' in vars(lazy))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout == f"False True {module} True\n"
