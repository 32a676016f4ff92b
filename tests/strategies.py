"""Hypothesis strategies shared by the property tests (tests/test_properties_*.py).

Shapes include zero-size dimensions and 1-pixel images, channel counts 1, 3, 4 and 13.
``memory_layouts`` turns a C-contiguous array into an equal array with another memory
layout (strided, transposed, reversed, Fortran, read-only, unaligned, byte-swapped), the
ways a NumPy caller can hand an array to the NumPy face.
"""

from __future__ import annotations

import math
import os

import numpy as np
from hypothesis import strategies as st

CHANNELS = (1, 3, 4, 13)


def examples(n: int) -> int:
    """``n`` examples, times GILFREE_EXAMPLES_SCALE (e.g. 10 for a longer search)."""
    return max(1, round(n * float(os.environ.get("GILFREE_EXAMPLES_SCALE", "1"))))


#: Side lengths: 0 (empty), 1 (one pixel), and small sizes.
sides = st.sampled_from([0, 1, 1, 2, 3, 5, 8])
positive_sides = st.sampled_from([1, 1, 2, 3, 5, 8])


@st.composite
def image_shapes(draw, ranks=(1, 2, 3, 4), allow_empty=True):
    """A shape of rank in ``ranks``: [W], [H, W], [H, W, C], [N, H, W, C], [M, N, H, W, C]."""
    side = sides if allow_empty else positive_sides
    rank = draw(st.sampled_from(ranks))
    if rank == 1:
        return (draw(side),)
    hw = (draw(side), draw(side))
    if rank == 2:
        return hw
    c = draw(st.sampled_from(CHANNELS))
    if rank == 3:
        return (*hw, c)
    batch = st.sampled_from([0, 1, 2, 3] if allow_empty else [1, 2, 3])
    lead = tuple(draw(batch) for _ in range(rank - 3))
    return (*lead, *hw, c)


def random_values(shape, dtype, seed: int, *, specials: bool = False) -> np.ndarray:
    """Values of ``dtype`` from a seed: integers over the whole range (int32: +-2**30),
    floats normal around 50 +- 100; ``specials`` puts NaN, +-Inf and extremes in floats."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        lo, hi = (-(2**30), 2**30) if dt == np.int32 else (int(info.min), int(info.max) + 1)
        return rng.integers(lo, hi, size=shape, dtype=np.int64).astype(dt)
    x = (rng.standard_normal(shape) * 100 + 50).astype(dt)
    if specials and x.size:
        finfo = np.finfo(dt)
        # Extremes of 1/16 of the dtype's range: spans of finite values stay finite and
        # 1 / span stays a normal float32 (the kernels compute in float32, and TensorFlow
        # flushes subnormals to zero; see test_properties_normalize.py).
        big = float(finfo.max) / 16
        extra = np.array([np.nan, np.inf, -np.inf, big, -big, finfo.tiny, 0.0], dt)
        where = rng.random(shape) < 0.15
        x[where] = rng.choice(extra, size=int(where.sum()))
    return x


# --------------------------------------------------------------------------- layouts

LAYOUTS = (
    "strided",
    "transposed",
    "reversed",
    "fortran",
    "readonly",
    "unaligned",
    "byteswapped",
)


def with_layout(a: np.ndarray, layout: str) -> np.ndarray:
    """An array equal to ``a`` (same shape, dtype and values) in another memory layout."""
    if layout == "contiguous":
        return np.ascontiguousarray(a)
    if layout == "strided":  # every other element of a bigger buffer, along every axis
        big = np.zeros(tuple(2 * s + 1 for s in a.shape), a.dtype)
        view = big[tuple(slice(1, None, 2) for _ in a.shape)]
        view[...] = a
        return view
    if layout == "transposed":  # a transposed view of a C array (axes reversed)
        axes = tuple(reversed(range(a.ndim)))
        return np.ascontiguousarray(a.transpose(axes)).transpose(axes)
    if layout == "reversed":  # negative strides
        index = tuple(slice(None, None, -1) for _ in a.shape)
        return np.ascontiguousarray(a[index])[index]
    if layout == "fortran":
        return np.asfortranarray(a)
    if layout == "readonly":
        r = a.copy()
        r.setflags(write=False)
        return r
    if layout == "unaligned":  # a view into a bytes buffer at an odd offset
        buf = bytearray(a.nbytes + 1)
        r = np.frombuffer(buf, a.dtype, count=a.size, offset=1).reshape(a.shape)
        r[...] = a
        return r
    if layout == "byteswapped":  # non-native byte order, same values
        return a.astype(a.dtype.newbyteorder("S"))
    raise ValueError(layout)


layouts = st.sampled_from(LAYOUTS)


# --------------------------------------------------------------------------- parameters

#: Numbers a parameter may be given that are out of the ordinary.
SPECIAL_FLOATS = (
    math.nan,
    math.inf,
    -math.inf,
    1e300,
    -1e300,
    float(2**63),
    -1.0,
    0.0,
    -0.0,
    1e-300,
)


def floats_with_specials(lo: float, hi: float):
    """Mostly ordinary numbers in [lo, hi], sometimes one of SPECIAL_FLOATS."""
    return st.one_of(
        # No subnormals: TensorFlow's kernels run with denormals flushed to zero, so
        # low = 0 and high = 5e-324 differ on the TF face only.
        st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False),
        st.sampled_from(SPECIAL_FLOATS),
    )


def assert_same_values(actual: np.ndarray, expected: np.ndarray, err_msg: str = "") -> None:
    """Equal bits (so -0.0 differs from 0.0), except that any NaN equals any NaN."""
    a, b = np.asarray(actual), np.asarray(expected)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    if a.dtype.kind == "f":
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=err_msg)
        keep = ~np.isnan(a)
        a, b = a[keep], b[keep]
    np.testing.assert_array_equal(bits(a), bits(b), err_msg=err_msg)


def bits(a: np.ndarray) -> np.ndarray:
    """The array's bits as unsigned integers (NaN payloads compare exactly)."""
    a = np.ascontiguousarray(a)
    a = a.astype(a.dtype.newbyteorder("="))
    if a.dtype == np.bool_:
        return a.view(np.uint8)
    return a.view(f"u{a.dtype.itemsize}")
