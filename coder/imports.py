"""Modules imported on first use: a label or colour edit (coder.reuse) never needs pandas.

pandas takes 0.25-0.3 s to import, as much as the rest of a label edit's work, yet the modules a
run imports hold functions that use it everywhere. `LazyModule("pandas")` stands in for the
module until an attribute is first read; then it imports it and takes over its attributes, so
later reads cost what a module's do.

>>> pd = LazyModule("pandas")
>>> pd.DataFrame  # doctest: +SKIP
<class 'pandas.core.frame.DataFrame'>
"""

from __future__ import annotations

import importlib
import types
from typing import Any


class LazyModule(types.ModuleType):
    """A module imported when one of its attributes is first read."""

    def __getattr__(self, attribute: str) -> Any:  # only for attributes not copied in yet
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)
        return getattr(module, attribute)
