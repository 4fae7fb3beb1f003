"""The examples in coder's docstrings are documentation a user reads: each one runs as written."""

import doctest
import importlib
import pkgutil

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import coder

MODULES = sorted(info.name for info in pkgutil.walk_packages(coder.__path__, "coder.") if info.name != "coder.__main__")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run_as_written(name):
    module = importlib.import_module(name)
    # The modules import numpy, pandas and networkx lazily; their examples use the usual names.
    result = doctest.testmod(module, extraglobs={"np": np, "pd": pd, "nx": nx}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
