"""Gradients of the TF ops: the normalization family, and None (never a LookupError) elsewhere.

The geometry ops' image gradients are checked in test_geometry_ops.py. Here each
normalization gradient is compared with tf.test.compute_gradient (finite differences of
the op itself) and with TensorFlow's own autodiff of an independent expression.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import OPS, seed_of

import gilfree


def _image(seed: str, shape=(2, 4, 5, 3), low=0.0, high=5.0) -> tf.Tensor:
    rng = np.random.default_rng(seed_of(seed))
    return tf.constant(rng.uniform(low, high, shape).astype(np.float32))


def _jacobians(f, x):
    theoretical, numerical = tf.test.compute_gradient(f, [x], delta=1e-2)
    return theoretical[0], numerical[0]


def _autodiff(f, x, upstream):
    """d sum(upstream * f(x)) / dx by TensorFlow's autodiff."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.cast(f(x), tf.float32) * upstream)
    return tape.gradient(loss, x).numpy()


# ----------------------------------------------------------------------------- normalize


def test_normalize_gradient_matches_the_numerical_jacobian():
    x = _image("grad-normalize")
    theoretical, numerical = _jacobians(
        lambda x: gilfree.normalize(x, [1.0, 2.0, 3.0], [2.0, 3.0, 4.0], scale=0.5), x
    )
    assert np.abs(theoretical).max() > 0.1
    np.testing.assert_allclose(theoretical, numerical, rtol=0, atol=1e-3)


@pytest.mark.parametrize("per_channel_params", [True, False])
def test_normalize_gradients_of_mean_std_and_scale_match_tensorflow(per_channel_params):
    """Trainable mean, std and scale: the same gradients as TF's autodiff of the formula."""
    x = _image("grad-normalize-params", low=0.0, high=255.0)
    upstream = _image("grad-normalize-upstream", low=-1.0, high=1.0)
    if per_channel_params:
        mean0, std0 = [100.0, 120.0, 90.0], [50.0, 60.0, 70.0]
    else:
        mean0, std0 = [110.0], 55.0
    results = []
    for use_gilfree in (True, False):
        mean = tf.Variable(mean0, dtype=tf.float64)
        std = tf.Variable(std0, dtype=tf.float64)
        scale = tf.Variable(0.9, dtype=tf.float64)
        with tf.GradientTape() as tape:
            tape.watch(x)
            if use_gilfree:
                y = tf.cast(gilfree.normalize(x, mean, std, scale=scale), tf.float64)
            else:
                y = (tf.cast(x, tf.float64) * scale - mean) / std
            loss = tf.reduce_sum(y * tf.cast(upstream, tf.float64))
        grads = tape.gradient(loss, [x, mean, std, scale])
        results.append([g.numpy() for g in grads])
    for got, want, name in zip(*results, ("x", "mean", "std", "scale"), strict=True):
        assert got.shape == want.shape, name
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)


# ----------------------------------------------------------------------------- standardize


@pytest.mark.parametrize("per_channel", [False, True])
def test_standardize_gradient_matches_the_numerical_jacobian(per_channel):
    x = _image(f"grad-standardize-{per_channel}")
    theoretical, numerical = _jacobians(
        lambda x: gilfree.standardize(x, per_channel=per_channel), x
    )
    assert np.abs(theoretical).max() > 0.1
    np.testing.assert_allclose(theoretical, numerical, rtol=0, atol=2e-3)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param((0.0, 5.0), id="spread"),
        pytest.param((1.0, 1.01), id="below-floor"),  # std < 1/sqrt(n): the floor
    ],
)
def test_standardize_gradient_equals_per_image_standardization(values):
    """The full derivative, through the mean and the std (or the floor), as TF's own op."""
    low, high = values
    x = _image(f"grad-tf-standardize-{low}", shape=(3, 6, 5, 2), low=low, high=high)
    upstream = _image("grad-tf-standardize-up", shape=(3, 6, 5, 2), low=-1.0, high=1.0)
    got = _autodiff(gilfree.standardize, x, upstream)
    want = _autodiff(tf.image.per_image_standardization, x, upstream)
    assert np.abs(want).max() > 0.01
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------- minmax_scale, percentile_stretch


def _frozen(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, clip: bool):
    """(x - lo) / (hi - lo) with lo and hi held constant, per image and channel."""

    def f(t):
        y = (t - lo) / (hi - lo)
        return tf.clip_by_value(y, 0.0, 1.0) if clip else y

    return f


def test_minmax_scale_gradient_holds_the_range_constant():
    x = _image("grad-minmax")
    upstream = _image("grad-minmax-up", low=-1.0, high=1.0)
    xn = x.numpy()
    lo = xn.min(axis=(1, 2), keepdims=True)
    hi = xn.max(axis=(1, 2), keepdims=True)
    got = _autodiff(gilfree.minmax_scale, x, upstream)
    want = _autodiff(_frozen(xn, lo, hi, clip=False), x, upstream)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # The numerical Jacobian of the frozen expression agrees away from the extremes.
    theoretical, _ = _jacobians(gilfree.minmax_scale, x)
    _, numerical = _jacobians(_frozen(xn, lo, hi, clip=False), x)
    np.testing.assert_allclose(theoretical, numerical, rtol=0, atol=1e-3)


def test_minmax_scale_gradient_is_zero_at_nodata_and_nan():
    xn = _image("grad-minmax-nodata").numpy()
    xn[0, 1, 2, :] = -9.0
    xn[1, 0, 0, 1] = np.nan
    x = tf.constant(xn)
    upstream = tf.ones_like(x)
    got = _autodiff(lambda t: gilfree.minmax_scale(t, nodata=-9.0, per_channel=False), x, upstream)
    assert np.all(got[0, 1, 2, :] == 0.0)
    assert got[1, 0, 0, 1] == 0.0
    valid = np.where(np.isnan(xn) | (xn == -9.0), np.nan, xn)
    span = np.nanmax(valid, axis=(1, 2, 3)) - np.nanmin(valid, axis=(1, 2, 3))
    np.testing.assert_allclose(got[0, 0, 0, 0], 1.0 / span[0], rtol=1e-5)
    np.testing.assert_allclose(got[1, 2, 3, 2], 1.0 / span[1], rtol=1e-5)


def test_percentile_stretch_gradient_holds_the_percentiles_constant():
    x = _image("grad-percentile", shape=(2, 6, 7, 3))
    upstream = _image("grad-percentile-up", shape=(2, 6, 7, 3), low=-1.0, high=1.0)
    xn = x.numpy()
    lo = np.percentile(xn, 10, axis=(1, 2), keepdims=True).astype(np.float32)
    hi = np.percentile(xn, 90, axis=(1, 2), keepdims=True).astype(np.float32)
    got = _autodiff(lambda t: gilfree.percentile_stretch(t, 10, 90), x, upstream)
    want = _autodiff(_frozen(xn, lo, hi, clip=True), x, upstream)
    clipped = (xn < lo) | (xn > hi)
    assert clipped.any() and (~clipped).any()
    np.testing.assert_array_equal(got[clipped], 0.0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- dtypes and None gradients


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("op", OPS)
def test_half_precision_inputs_get_gradients_of_their_dtype(op, dtype):
    args = {"normalize": (1.0, 2.0)}.get(op, ())
    x32 = _image(f"grad-half-{op}", low=0.0, high=4.0)
    upstream = _image("grad-half-up", low=-1.0, high=1.0)
    want = _autodiff(lambda t: getattr(gilfree, op)(t, *args), x32, upstream)
    x = tf.cast(x32, dtype)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.cast(getattr(gilfree, op)(x, *args), tf.float32) * upstream)
    got = tape.gradient(loss, x)
    assert got.dtype == x.dtype
    # Half-precision inputs move the statistics and the clip points a little.
    close = np.isclose(tf.cast(got, tf.float32).numpy(), want, rtol=0.05, atol=0.05)
    assert close.mean() > 0.95


def _every_op():
    """(name, function of one float32 image [2, 6, 7, 3] watched by the tape)."""
    m = np.array([[1.0, 0.1, 0.2], [0.0, 1.0, 0.1]])
    maps = np.mgrid[0:5, 0:6].astype(np.float32)
    pts = np.array([[0, 0], [6, 0], [0, 5], [6, 5], [3, 2]], np.float64)
    return {
        "normalize": lambda x: gilfree.normalize(x, 1.0, 2.0),
        "standardize": lambda x: gilfree.standardize(x),
        "minmax_scale": lambda x: gilfree.minmax_scale(x),
        "percentile_stretch": lambda x: gilfree.percentile_stretch(x),
        "warp_affine": lambda x: gilfree.warp_affine(x, m),
        "warp_perspective": lambda x: gilfree.warp_perspective(x, np.eye(3)),
        "projective_transform": lambda x: gilfree.projective_transform(
            x, [[1, 0, 0.5, 0, 1, 0, 0, 0]]
        ),
        "rotate": lambda x: gilfree.rotate(x, 10.0),
        "remap": lambda x: gilfree.remap(x, maps[1], maps[0]),
        "polynomial_warp": lambda x: gilfree.polynomial_warp(x, pts + 0.5, pts),
    }


@pytest.mark.parametrize("op", list(_every_op()))
@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_every_image_op_has_a_gradient_or_an_explicit_none(op, dtype):
    """Float images get a gradient; integer images get None, never a LookupError."""
    x = tf.cast(_image(f"grad-every-{op}", shape=(2, 6, 7, 3)), dtype)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.cast(_every_op()[op](x), tf.float32))
    g = tape.gradient(loss, x)
    if dtype == "uint8":
        assert g is None
    else:
        assert g is not None and g.dtype == x.dtype and g.shape == x.shape
        assert np.abs(g.numpy()).max() > 0.0


def test_ops_without_a_gradient_return_none():
    """fit_polynomial and polynomial_warp's points: None (the fit is not differentiated)."""
    src = tf.Variable([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 4.0]], dtype=tf.float64)
    dst = tf.Variable([[0.5, 0.0], [4.0, 0.5], [0.0, 4.0], [4.5, 4.0]], dtype=tf.float64)
    image = tf.ones((5, 5, 1))
    with tf.GradientTape(persistent=True) as tape:
        coefficients, rms = gilfree.fit_polynomial(src, dst)
        warped = gilfree.polynomial_warp(image, src, dst)
        loss = tf.reduce_sum(coefficients) + rms + tf.cast(tf.reduce_sum(warped), tf.float64)
    assert tape.gradient(loss, src) is None
    assert tape.gradient(loss, dst) is None
