"""Any kernel, against Pillow's ImageFilter.Kernel and an independent reference."""

import numpy as np
import pytest
from conftest import photo_like, reference_correlate
from PIL import Image, ImageFilter
from scipy import ndimage

from pil_parallel_blur import (
    ParallelKernelFilter,
    box_blur,
    correlate,
    emboss,
    laplacian,
    sharpen,
    sobel,
    unsharp_mask,
)
from pil_parallel_blur.kernels import from_terms, separable_terms

MODES = ["L", "LA", "La", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "I", "I;16", "F"]


def image_of(mode, h=37, w=41, seed=0):
    rng = np.random.default_rng(seed)
    im = Image.fromarray(photo_like(h, w, seed=seed))
    if mode in ("I", "I;16", "F"):
        arr = rng.integers(0, 60000, (h, w)).astype({"I": "<i4", "I;16": "<u2", "F": "<f4"}[mode])
        return Image.frombytes(mode, (w, h), arr.tobytes())
    return im.convert(mode)


def pillow_reference(array, weights, scale, offset, dtype):
    """Pillow's definition, float64: rows flipped, / scale + offset, half up, clip."""
    ref = reference_correlate(array, weights[::-1] / scale) + offset
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return np.clip(np.floor(ref + 0.5), info.min, info.max)
    return ref


def check(out, array, weights, scale=None, offset=0.0, exact_fraction=0.999):
    scale = scale if scale is not None else (weights.sum() or 1.0)
    ref = pillow_reference(array, weights, scale, offset, array.dtype)
    d = np.abs(out.astype(np.float64) - ref)
    if array.dtype.kind in "ui":
        assert d.max() <= 1
        assert (d == 0).mean() >= exact_fraction
    else:
        assert d.max() <= 1e-5 * max(1.0, float(np.abs(array).max()) * np.abs(weights).sum())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ksize", [3, 5])
def test_equals_pillow_kernel_away_from_border(mode, ksize):
    rng = np.random.default_rng(ksize)
    im = image_of(mode)
    for trial in range(3):
        k = rng.integers(-4, 9, ksize * ksize)
        scale = [None, int(k.sum()) or 1, 7][trial]
        offset = [0, 10, -3][trial]
        flat = [int(v) for v in k]
        ours = im.filter(ParallelKernelFilter((ksize, ksize), flat, scale, offset, n_jobs=1))
        assert ours.mode == im.mode and ours.size == im.size
        a_ours = np.asarray(ours)
        try:
            theirs = im.filter(ImageFilter.Kernel((ksize, ksize), flat, scale, offset))
        except ValueError:
            # Pillow cannot (F): the definition still holds
            check(a_ours, np.asarray(im), k.reshape(ksize, ksize).astype(float), scale, offset)
            continue
        r = ksize // 2
        inner = (slice(r, -r), slice(r, -r))
        a_theirs = np.asarray(theirs)[inner].astype(np.float64)
        a_ours = a_ours[inner].astype(np.float64)
        # Exact .5 ties (integer weights over an even scale) are rounded half up
        # by us; Pillow's float32 sums land on either side of them. Everywhere
        # else the results are equal.
        exact = (
            reference_correlate(
                np.asarray(im),
                k.reshape(ksize, ksize)[::-1] / (scale if scale is not None else (k.sum() or 1)),
            )
            + offset
        )
        tie = np.abs(exact[inner] - np.floor(exact[inner]) - 0.5) < 1e-9
        pillow_clamped = np.zeros_like(tie)
        if mode == "I":
            # Pillow clamps I results below 0 to 0; we keep the int32 range
            pillow_clamped = exact[inner] < -0.5
            assert (a_theirs[pillow_clamped] == 0).all()
            assert (np.abs(a_ours - exact[inner])[pillow_clamped] <= 0.5 + 1e-6).all()
        same = ~tie & ~pillow_clamped
        np.testing.assert_array_equal(a_ours[same], a_theirs[same])
        tie &= ~pillow_clamped
        assert np.abs(a_ours[tie] - a_theirs[tie]).max(initial=0) <= 1


@pytest.mark.parametrize("shape", [(3, 3), (1, 7), (9, 3), (5, 11), (15, 15)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_random_and_rectangular_kernels_match_reference(shape, dtype):
    rng = np.random.default_rng(sum(shape))
    k = rng.normal(size=shape)
    a = photo_like(40, 53).astype(dtype) * (200 if dtype == np.uint16 else 1)
    out = (
        np.asarray(
            Image.fromarray(a if dtype != np.uint16 else a[..., 0]).filter(
                ParallelKernelFilter(k, 1.5, 20, n_jobs=1)
            )
        )
        if dtype != np.float32
        else None
    )
    if out is not None:
        src = a if dtype != np.uint16 else a[..., 0]
        check(out, src, k, 1.5, 20)
    # the array API: plain correlation, no flip, rint
    b = a[..., 0]
    got = correlate(b, k, 5, n_jobs=1)
    ref = reference_correlate(b, k) + 5
    if b.dtype.kind in "ui":
        info = np.iinfo(b.dtype)
        ref = np.clip(np.rint(ref), info.min, info.max)
        d = np.abs(got.astype(float) - ref)
        assert d.max() <= 1 and (d == 0).mean() >= 0.999
    else:
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-3)


def test_zero_sum_kernel_with_offset_and_clipping():
    a = photo_like(50, 60)
    k = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)  # sums to 0: scale is 1
    f = ParallelKernelFilter(k, offset=128, n_jobs=1)
    assert f.scale == 1.0
    out = np.asarray(Image.fromarray(a).filter(f))
    check(out, a, k, 1.0, 128)
    assert out.min() == 0 and out.max() == 255  # clipped at both ends


def test_float_array_api_matches_scipy():
    a = np.random.default_rng(2).normal(size=(64, 48, 2))
    k = np.random.default_rng(3).normal(size=(7, 5))
    want = np.stack([ndimage.correlate(a[..., c], k, mode="nearest") for c in range(2)], -1)
    np.testing.assert_allclose(correlate(a, k, n_jobs=1), want, rtol=1e-10, atol=1e-10)


def test_separable_path_is_taken_when_rank_one():
    assert len(separable_terms(np.outer([1, 2, 1], [-1, 0, 1]).astype(float))) == 1
    assert len(separable_terms(np.ones((5, 5)))) == 1
    lap = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)
    assert len(separable_terms(lap)) == 2
    rnd = np.random.default_rng(0).normal(size=(5, 7))
    terms = separable_terms(rnd)
    assert len(terms) == 5
    np.testing.assert_allclose(sum(np.outer(y, x) for y, x in terms), rnd, atol=1e-13)


def test_bytes_do_not_depend_on_jobs(parallel_always):
    a = photo_like(301, 47)
    k = np.random.default_rng(9).integers(-3, 6, (5, 7))
    outs = {
        (b, n): np.asarray(
            Image.fromarray(a).filter(ParallelKernelFilter(k, n_jobs=n, backend=b))
        ).tobytes()
        for b in ("threading", "loky")
        for n in (1, 2, 3)
    }
    assert len(set(outs.values())) == 1


@pytest.mark.parametrize(
    ("make", "pillow"),
    [
        (sharpen, ImageFilter.SHARPEN),
        (emboss, ImageFilter.EMBOSS),
        (laplacian, ImageFilter.FIND_EDGES),
    ],
)
def test_named_kernels_equal_pillows(make, pillow):
    im = Image.fromarray(photo_like(40, 50))
    ours = np.asarray(im.filter(make(n_jobs=1)))
    theirs = np.asarray(im.filter(pillow))
    np.testing.assert_array_equal(ours[1:-1, 1:-1], theirs[1:-1, 1:-1])


def test_named_kernels_of_any_size():
    a = photo_like(40, 50)
    im = Image.fromarray(a)
    check(np.asarray(im.filter(box_blur(7, n_jobs=1))), a, np.ones((7, 7)))
    check(np.asarray(im.filter(laplacian(5, n_jobs=1))), a, laplacian(5).weights, 1)
    sx = np.asarray(im.filter(sobel("x", 128, n_jobs=1)))
    check(sx, a, sobel("x").weights, 1, 128)
    # a ramp to the right and downwards: positive x and y derivatives
    ramp = np.tile(np.arange(0, 200, 4, dtype=np.uint8), (50, 1))
    # slope 4 per pixel: (4 + 4) per row, rows weighted 1, 2, 1
    assert np.asarray(Image.fromarray(ramp).filter(sobel("x", 0, n_jobs=1)))[10, 10] == 32
    assert np.asarray(Image.fromarray(ramp.T.copy()).filter(sobel("y", 0, n_jobs=1)))[10, 10] == 32
    u = np.asarray(im.filter(unsharp_mask(2, 1.0, n_jobs=1)))
    check(u, a, unsharp_mask(2, 1.0).weights, 1)


def test_same_result_for_both_call_forms():
    k = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    im = Image.fromarray(photo_like(20, 30))
    a = np.asarray(im.filter(ParallelKernelFilter((3, 3), k, 20, 3)))
    b = np.asarray(im.filter(ParallelKernelFilter(np.reshape(k, (3, 3)), scale=20, offset=3)))
    c = np.asarray(im.filter(ParallelKernelFilter((3, 3), k, scale=20, offset=3)))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "words"),
    [
        (([[1, 2], [3, 4]],), {}, ValueError, "odd"),
        (([1, 2, 3],), {}, ValueError, "2-D"),
        (([[1, "a", 1]],), {}, TypeError, "numbers"),
        (([[1, float("nan"), 1]],), {}, ValueError, "finite"),
        (((3, 3), [1] * 8), {}, ValueError, "9 weights"),
        (((2, 2), [1] * 4), {}, ValueError, "odd"),
        (([[1]], 0), {}, ValueError, "scale"),
        (([[1]], "2"), {}, TypeError, "scale"),
        (([[1]], 1, float("inf")), {}, ValueError, "offset"),
        (([[1]], 1), {"scale": 2}, TypeError, "both"),
        (([[1]],), {"n_jobs": 0}, ValueError, "n_jobs"),
    ],
)
def test_bad_arguments(args, kwargs, error, words):
    with pytest.raises(error, match=words):
        ParallelKernelFilter(*args, **kwargs)


def test_repr_and_name():
    f = ParallelKernelFilter([[1, 2, 1]], n_jobs=2)
    assert f.name == "ParallelKernel"
    assert "kernel=[[1.0, 2.0, 1.0]]" in repr(f) and "scale=4.0" in repr(f)


def exact_integer_reference(a, weights, scale, offset):
    """Integer arithmetic only: floor(Σ w·x / scale + offset + 1/2), clipped to 0..255."""
    k = np.asarray(weights, dtype=np.int64)[::-1]  # Pillow's orientation
    kh, kw = k.shape
    p = np.pad(a.astype(np.int64), ((kh // 2,) * 2, (kw // 2,) * 2, (0, 0)), mode="edge")
    h, w = a.shape[:2]
    total = np.zeros(a.shape, np.int64)
    for i in range(kh):
        for j in range(kw):
            total += k[i, j] * p[i : i + h, j : j + w]
    s = int(scale)
    # floor((total + offset·s)/s + 1/2) == floor((2·total + 2·offset·s + s) / (2s)), s > 0
    return np.clip(np.floor_divide(2 * total + 2 * int(offset) * s + s, 2 * s), 0, 255)


@pytest.mark.parametrize(
    ("weights", "scale", "offset"),
    [
        ([[-2, -2, -2], [-2, 32, -2], [-2, -2, -2]], 16, 0),  # SHARPEN: many exact .5 ties
        (np.random.default_rng(5).integers(-3, 8, (5, 5)).tolist(), None, 0),
        (np.random.default_rng(6).integers(-4, 9, (7, 3)).tolist(), 10, 7),
        ([[1, 2, 1], [2, 4, 2], [1, 2, 1]], None, 0),
    ],
)
def test_large_8bit_integer_kernels_are_exact_in_float32(weights, scale, offset):
    """Integer kernels on big 8-bit images take float32 and still match integer arithmetic."""
    from pil_parallel_blur.engine import plan_correlation

    a = photo_like(600, 400, seed=2)
    f = ParallelKernelFilter(weights, scale, offset, n_jobs=2, backend="threading")
    plan = plan_correlation(a.shape, a.dtype, from_terms(f.terms, rounding="half_up", grid=f.grid))
    assert plan.compute_dtype == np.float32
    out = np.asarray(Image.fromarray(a).filter(f))
    want = exact_integer_reference(a, weights, f.scale, offset)
    np.testing.assert_array_equal(out, want)
