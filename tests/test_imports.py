"""coder.imports: a module imported when one of its attributes is first read, a pattern compiled when first used."""

from __future__ import annotations

import copy
import pickle
import re
import subprocess
import sys

import pytest

from coder.imports import LazyPattern


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


def _spans(found) -> list[tuple[int, int]]:
    return [match.span() for match in ([found] if found is None or isinstance(found, re.Match) else found) if match]


@pytest.mark.parametrize(("pattern", "flags", "text"), [
    ("(?P<word>[^\\W\\d_]+)(\\d)?", 0, "two words, a3 b 44"),
    ("^[A-Z]\\w*$", re.MULTILINE | re.IGNORECASE, "First line\nsecond\n3rd"),
])
def test_imports_lazy_pattern_compiles_on_first_use_then_is_the_compiled_pattern(pattern, flags, text):
    lazy = LazyPattern(pattern, flags)
    assert "compiled" not in vars(lazy) and lazy.pattern == pattern  # nothing compiled yet
    compiled = re.compile(pattern, flags)
    assert lazy.findall(text) == compiled.findall(text)
    assert lazy.compiled is compiled  # re's cache: the one compiled pattern
    assert vars(lazy)["search"].__self__ is compiled  # bound once, in the instance: no lookup through __getattr__
    for method in ("match", "fullmatch", "search", "finditer"):
        assert _spans(getattr(lazy, method)(text)) == _spans(getattr(compiled, method)(text))
    assert (lazy.sub("-", text), lazy.subn("-", text), lazy.split(text)) == (
        compiled.sub("-", text), compiled.subn("-", text), compiled.split(text))
    assert (lazy.flags, lazy.groups, lazy.groupindex) == (compiled.flags, compiled.groups, compiled.groupindex)


@pytest.mark.parametrize("name", ["scanner", "__deepcopy__", "missing"])
def test_imports_lazy_pattern_has_only_the_patterns_methods_and_compiles_for_none_else(name):
    lazy = LazyPattern("[a-z]+")
    with pytest.raises(AttributeError):
        getattr(lazy, name)
    assert "compiled" not in vars(lazy)
    assert pickle.loads(pickle.dumps(lazy)).findall("ab 1 cd") == ["ab", "cd"]
    assert copy.deepcopy(lazy).pattern == "[a-z]+"


@pytest.mark.parametrize("modules", [["coder.cli", "coder.runner", "coder.pipeline", "coder.recode", "coder.lint"]])
def test_imports_lazy_patterns_are_not_compiled_by_importing_coder(modules):
    # Their point: a process that never uses one (a label edit; a keyword recode, most of them) never compiles it.
    script = (
        "import sys\n"
        f"import {', '.join(modules)}\n"
        "from coder.extract.encodings import _COMMON\n"
        "from coder.imports import LazyPattern\n"
        "found = [value for name, module in sys.modules.items() if name.startswith('coder') for value in vars(module).values()]\n"
        "lazy = [value for value in found + [pattern for pattern, _ in _COMMON.values()] if isinstance(value, LazyPattern)]\n"
        "print(len(lazy) >= 25, [value for value in lazy if 'compiled' in vars(value)])\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout == "True []\n"
