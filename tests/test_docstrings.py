"""Every example in the docstrings runs and prints what it shows (doctest)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = (
    "gilfree._tf_ops",
    "gilfree.fallback",
    "gilfree.numpy",
    "gilfree.keras",
    "gilfree.reference.normalize",
    "gilfree.reference.npy",
    "gilfree.reference.npz",
    "gilfree.reference.records",
    "gilfree.reference.geometry",
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} of {results.attempted} examples failed in {name}"


def test_the_examples_exist():
    """The faces document their ops by example: the TF ops, the fallback and the reference."""
    counts = {}
    for name in MODULES:
        module = importlib.import_module(name)
        counts[name] = sum(len(t.examples) for t in doctest.DocTestFinder().find(module, name))
    assert counts["gilfree._tf_ops"] >= 20
    assert counts["gilfree.fallback"] >= 15
    assert counts["gilfree.reference.geometry"] >= 10
