"""Every bad argument of the public API, one table (SPEC §7).

Each row: the call, the error type, and words the message must contain (the
parameter, the value received, what is allowed).
"""

import numpy as np
import pytest

import pil_parallel_blur as pb

A = np.zeros((8, 8, 3), np.uint8)
NAN, INF = float("nan"), float("inf")

CASES = [
    # ParallelGaussianFilter
    (
        "filter sigma bool",
        lambda: pb.ParallelGaussianFilter(sigma=True),
        TypeError,
        ["sigma", "True"],
    ),
    ("filter sigma str", lambda: pb.ParallelGaussianFilter("2"), TypeError, ["sigma", "'2'"]),
    (
        "filter sigma nan",
        lambda: pb.ParallelGaussianFilter(NAN),
        ValueError,
        ["sigma", "nan", ">= 0"],
    ),
    ("filter sigma inf", lambda: pb.ParallelGaussianFilter(INF), ValueError, ["sigma", "inf"]),
    ("filter sigma negative", lambda: pb.ParallelGaussianFilter(-1), ValueError, ["sigma", "-1"]),
    (
        "filter sigma triple",
        lambda: pb.ParallelGaussianFilter((1, 2, 3)),
        ValueError,
        ["sigma", "(1, 2, 3)"],
    ),
    (
        "filter radius and sigma",
        lambda: pb.ParallelGaussianFilter(1, sigma=1),
        TypeError,
        ["radius", "sigma"],
    ),
    (
        "filter size even",
        lambda: pb.ParallelGaussianFilter(size=4),
        ValueError,
        ["size", "odd", "4"],
    ),
    ("filter size zero", lambda: pb.ParallelGaussianFilter(size=0), ValueError, ["size", "0"]),
    (
        "filter size negative",
        lambda: pb.ParallelGaussianFilter(size=-5),
        ValueError,
        ["size", "-5"],
    ),
    ("filter size float", lambda: pb.ParallelGaussianFilter(size=5.0), TypeError, ["size", "5.0"]),
    (
        "filter size bool",
        lambda: pb.ParallelGaussianFilter(size=True),
        TypeError,
        ["size", "True"],
    ),
    (
        "filter size pair bad",
        lambda: pb.ParallelGaussianFilter(size=(3, 4)),
        ValueError,
        ["size", "(3, 4)"],
    ),
    ("filter n_jobs 0", lambda: pb.ParallelGaussianFilter(n_jobs=0), ValueError, ["n_jobs", "0"]),
    (
        "filter n_jobs bool",
        lambda: pb.ParallelGaussianFilter(n_jobs=True),
        TypeError,
        ["n_jobs", "True"],
    ),
    (
        "filter n_jobs float",
        lambda: pb.ParallelGaussianFilter(n_jobs=2.0),
        TypeError,
        ["n_jobs", "2.0"],
    ),
    (
        "filter n_jobs nan",
        lambda: pb.ParallelGaussianFilter(n_jobs=NAN),
        TypeError,
        ["n_jobs", "nan"],
    ),
    (
        "filter backend unknown",
        lambda: pb.ParallelGaussianFilter(backend="gpu"),
        ValueError,
        ["backend", "'gpu'", "loky"],
    ),
    (
        "filter backend type",
        lambda: pb.ParallelGaussianFilter(backend=1),
        TypeError,
        ["backend", "1"],
    ),
    (
        "filter temp missing",
        lambda: pb.ParallelGaussianFilter(temp_folder="/nope"),
        ValueError,
        ["temp_folder", "/nope"],
    ),
    (
        "filter temp type",
        lambda: pb.ParallelGaussianFilter(temp_folder=3),
        TypeError,
        ["temp_folder", "3"],
    ),
    (
        "filter progress",
        lambda: pb.ParallelGaussianFilter(progress=3),
        TypeError,
        ["progress", "3"],
    ),
    # gaussian_blur / gaussian_kernel
    (
        "blur progress",
        lambda: pb.gaussian_blur(A, progress=5),
        TypeError,
        ["progress", "5"],
    ),
    (
        "correlate progress",
        lambda: pb.correlate(A, [[1]], progress="bar"),
        TypeError,
        ["progress", "bar"],
    ),
    ("blur array list", lambda: pb.gaussian_blur([[1]]), TypeError, ["array", "list"]),
    ("blur array bool", lambda: pb.gaussian_blur(A.astype(bool)), TypeError, ["dtype", "bool"]),
    ("blur array 1-D", lambda: pb.gaussian_blur(A[0, 0]), ValueError, ["array", "(3,)"]),
    ("blur sigma nan", lambda: pb.gaussian_blur(A, NAN), ValueError, ["sigma", "nan"]),
    ("blur n_jobs 0", lambda: pb.gaussian_blur(A, 2, n_jobs=0), ValueError, ["n_jobs", "0"]),
    ("blur backend", lambda: pb.gaussian_blur(A, 2, backend="x"), ValueError, ["backend", "'x'"]),
    ("kernel sigma 0", lambda: pb.gaussian_kernel(sigma=0), ValueError, ["sigma", "> 0", "0"]),
    ("kernel size even", lambda: pb.gaussian_kernel(6, 1), ValueError, ["size", "6"]),
    ("kernel_1d pair", lambda: pb.gaussian_kernel_1d((3, 3), 1), TypeError, ["pairs"]),
    # ParallelKernelFilter / correlate / named
    (
        "kfilter even",
        lambda: pb.ParallelKernelFilter(np.ones((2, 3))),
        ValueError,
        ["kernel", "(2, 3)", "odd"],
    ),
    (
        "kfilter 3-D",
        lambda: pb.ParallelKernelFilter(np.ones((3, 3, 3))),
        ValueError,
        ["kernel", "2-D"],
    ),
    ("kfilter nan", lambda: pb.ParallelKernelFilter([[NAN]]), ValueError, ["kernel", "finite"]),
    ("kfilter inf", lambda: pb.ParallelKernelFilter([[INF]]), ValueError, ["kernel", "finite"]),
    ("kfilter str", lambda: pb.ParallelKernelFilter([["a"]]), TypeError, ["kernel"]),
    ("kfilter bool kernel", lambda: pb.ParallelKernelFilter(True), TypeError, ["kernel", "True"]),
    ("kfilter scale 0", lambda: pb.ParallelKernelFilter([[1]], 0), ValueError, ["scale", "0"]),
    (
        "kfilter scale nan",
        lambda: pb.ParallelKernelFilter([[1]], NAN),
        ValueError,
        ["scale", "nan"],
    ),
    (
        "kfilter scale bool",
        lambda: pb.ParallelKernelFilter([[1]], True),
        TypeError,
        ["scale", "True"],
    ),
    (
        "kfilter offset inf",
        lambda: pb.ParallelKernelFilter([[1]], 1, INF),
        ValueError,
        ["offset", "inf"],
    ),
    (
        "kfilter seq length",
        lambda: pb.ParallelKernelFilter((3, 3), [1, 2]),
        ValueError,
        ["9", "2"],
    ),
    (
        "kfilter n_jobs 0",
        lambda: pb.ParallelKernelFilter([[1]], n_jobs=0),
        ValueError,
        ["n_jobs", "0"],
    ),
    (
        "kfilter backend",
        lambda: pb.ParallelKernelFilter([[1]], backend="x"),
        ValueError,
        ["backend", "'x'"],
    ),
    ("correlate even", lambda: pb.correlate(A, np.ones((4, 4))), ValueError, ["kernel", "(4, 4)"]),
    ("correlate offset", lambda: pb.correlate(A, [[1]], "1"), TypeError, ["offset", "'1'"]),
    ("box even", lambda: pb.box_blur(4), ValueError, ["size", "4"]),
    ("box bool", lambda: pb.box_blur(True), TypeError, ["size", "True"]),
    ("laplacian 1", lambda: pb.laplacian(1), ValueError, ["size", "1"]),
    ("sobel axis", lambda: pb.sobel("z"), ValueError, ["axis", "'z'"]),
    ("unsharp amount", lambda: pb.unsharp_mask(2, -1), ValueError, ["amount", "-1"]),
    ("unsharp sigma", lambda: pb.unsharp_mask(NAN), ValueError, ["sigma", "nan"]),
]


@pytest.mark.parametrize(("name", "call", "error", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_argument(name, call, error, words):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, f"{name}: {word!r} not in {message!r}"


@pytest.mark.parametrize(
    "make",
    [
        lambda v: pb.gaussian_blur(np.zeros((5, 5), np.uint8), size=v, n_jobs=1),
        lambda v: pb.ParallelGaussianFilter(size=v),
        pb.box_blur,
        lambda v: pb.gaussian_kernel_1d(size=v),
    ],
)
def test_one_rule_and_one_message_for_odd_sizes_everywhere(make):
    make(np.int64(3))  # a NumPy int is an int wherever a size is taken
    with pytest.raises(ValueError, match=r"^size must be an odd positive int, got 4$"):
        make(4)
    with pytest.raises(TypeError, match=r"^size must be an odd positive int .*got 3\.0"):
        make(3.0)


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda v: pb.ParallelGaussianFilter(v), "sigma"),
        (pb.ParallelBoxBlur, "radius"),
        (lambda v: pb.unsharp_mask(2, v), "amount"),
    ],
)
def test_one_rule_for_non_negative_numbers_everywhere(make, name):
    make(np.float32(1.5))
    with pytest.raises(ValueError, match=rf"^{name} must be a finite number >= 0, got -1$"):
        make(-1)
    with pytest.raises(TypeError, match=rf"^{name} must be a finite real number"):
        make(True)


def test_masked_arrays_are_refused_with_what_to_do():
    masked = np.ma.masked_array(np.zeros((5, 5), np.uint8), mask=np.eye(5, dtype=bool))
    with pytest.raises(TypeError, match="masked.*filled"):
        pb.gaussian_blur(masked, sigma=1)


@pytest.mark.parametrize("call", ["gaussian_blur", "correlate"])
def test_a_bad_progress_fails_at_once_naming_it(call):
    import pil_parallel_blur as pb

    args = (
        (np.zeros((20, 20), np.uint8), 2)
        if call == "gaussian_blur"
        else (
            np.zeros((20, 20), np.uint8),
            [[1.0]],
        )
    )
    with pytest.raises(TypeError, match="progress"):
        getattr(pb, call)(*args, progress=5)


def test_kernel_scale_overflows_are_named():
    from pil_parallel_blur import ParallelKernelFilter

    with pytest.raises(ValueError, match="scale=1e-310"):
        ParallelKernelFilter([[1.0]], scale=1e-310)
    with pytest.raises(ValueError, match="sum to more than a float"):
        ParallelKernelFilter([[1e308, 1e308, 1e308]])
