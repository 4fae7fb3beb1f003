"""Work deferred from import to first use: modules (a label or colour edit never needs pandas) and
large regular expressions (a keyword recode never needs most of the splitter's and matcher's).

pandas takes 0.25-0.3 s to import, as much as the rest of a label edit's work, yet the modules a
run imports hold functions that use it everywhere. `LazyModule("pandas")` stands in for the
module until an attribute is first read; then it imports it and takes over its attributes, so
later reads cost what a module's do.

>>> pd = LazyModule("pandas")
>>> pd.DataFrame  # doctest: +SKIP
<class 'pandas.core.frame.DataFrame'>

`re.compile` of a character class spanning the CJK ranges takes about 1 ms (re builds a bitmap
of the class in a Python loop over its 29,000 code points), and the splitter's and matcher's
patterns hold such classes dozens of times: `LazyPattern` compiles one when it is first used.

>>> WORD = LazyPattern("[^\\\\W\\\\d_]+")
>>> WORD.findall("two words, 3")
['two', 'words']
"""

from __future__ import annotations

import importlib
import re
import types
from typing import Any


class LazyModule(types.ModuleType):
    """A module imported when one of its attributes is first read."""

    def __getattr__(self, attribute: str) -> Any:  # only for attributes not copied in yet
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)
        return getattr(module, attribute)


# What a compiled pattern offers besides `pattern`, bound on first use.
_PATTERN_ATTRIBUTES = ("match", "fullmatch", "search", "finditer", "findall", "split", "sub", "subn",
                       "flags", "groups", "groupindex")


class LazyPattern:
    """A regular expression compiled when it is first used. From then on its methods are the
    compiled pattern's own, bound once in the instance: a call costs about 25 ns more than on a
    module-level Pattern. It is no `re.Pattern`: where one is wanted (`re.sub(pattern, ...)`,
    isinstance), pass `.compiled`."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self._flags = flags

    def __getattr__(self, name: str) -> Any:  # only until the compiled pattern's attributes are bound
        if name != "compiled" and name not in _PATTERN_ATTRIBUTES:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        compiled = re.compile(self.pattern, self._flags)
        for attribute in _PATTERN_ATTRIBUTES:
            setattr(self, attribute, getattr(compiled, attribute))
        self.compiled = compiled
        return getattr(self, name)

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r}{f', {self._flags}' if self._flags else ''})"
