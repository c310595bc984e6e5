"""The examples in the package's docstrings run, and say what they show."""

import doctest
import importlib
import pkgutil

import pytest

import pil_parallel_blur

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(pil_parallel_blur.__path__, "pil_parallel_blur.")
    if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_public_api_has_examples():
    finder = doctest.DocTestFinder()
    documented = {
        name
        for name in pil_parallel_blur.__all__
        if callable(getattr(pil_parallel_blur, name))
        for test in finder.find(getattr(pil_parallel_blur, name), name)
        if test.examples
    }
    for name in ["gaussian_blur", "correlate", "ParallelGaussianFilter", "ParallelKernelFilter"]:
        assert name in documented
