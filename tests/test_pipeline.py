"""The TF faces inside tf.data, tf.function and eager mode; static shapes are kept."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import OPS, assert_close, make_input

from gilfree import reference

TF_FACES = ("tf", "fallback")
SHAPE = (6, 17, 9, 3)  # 6 images of 17x9x3


def op_of(face, op):
    if face == "tf":
        import gilfree

        return getattr(gilfree, op)
    import gilfree.fallback

    return getattr(gilfree.fallback, op)


# Parameters per op: (args, kwargs) used for every face and the reference.
PARAMS = {
    "normalize": (([100.0, 120.0, 140.0], [50.0, 60.0, 70.0]), {"scale": 1.0}),
    "standardize": ((), {"per_channel": True}),
    "minmax_scale": ((), {"nodata": 0, "fill": -1.0}),
    "percentile_stretch": ((5.0, 95.0), {"per_channel": False}),
}


def expected_images(op, images, out="float32"):
    args, kwargs = PARAMS[op]
    return np.stack([getattr(reference, op)(im, *args, dtype=out, **kwargs) for im in images])


@pytest.fixture(scope="module")
def images():
    x = make_input(SHAPE, "uint8", "pipeline")
    x[x < 10] = 0  # some nodata
    return x


@pytest.mark.parametrize("face", TF_FACES)
@pytest.mark.parametrize("op", OPS)
def test_dataset_map_parallel(op, face, images):
    """README (The ops): the TF op runs in `dataset.map` and keeps the static shape.
    README (Normalization): the output is float32 by default.
    """
    args, kwargs = PARAMS[op]
    fn = op_of(face, op)
    ds = tf.data.Dataset.from_tensor_slices(images).map(
        lambda im: fn(im, *args, **kwargs), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    spec = ds.element_spec
    assert spec.dtype == tf.float32
    assert spec.shape.is_fully_defined()
    assert spec.shape == tf.TensorShape(SHAPE[1:])
    out = np.stack(list(ds.as_numpy_iterator()))
    assert_close(out, expected_images(op, images))


@pytest.mark.parametrize("face", TF_FACES)
def test_dataset_map_batched_and_float16(face, images):
    fn = op_of(face, "percentile_stretch")
    ds = (
        tf.data.Dataset.from_tensor_slices(images)
        .batch(4, drop_remainder=True)
        .map(lambda b: fn(b, 2.0, 98.0, dtype=tf.float16), num_parallel_calls=tf.data.AUTOTUNE)
    )
    assert ds.element_spec.shape == tf.TensorShape((4, *SHAPE[1:]))
    assert ds.element_spec.dtype == tf.float16
    (out,) = list(ds.as_numpy_iterator())
    expected = reference.percentile_stretch(images[:4], 2.0, 98.0, dtype="float16")
    assert_close(out, expected, "float16")


def test_bare_py_function_loses_shape_fallback_restores_it(images):
    import gilfree.fallback

    def bare(im):
        return tf.py_function(lambda t: reference.standardize(t.numpy()), [im], Tout=tf.float32)

    ds = tf.data.Dataset.from_tensor_slices(images)
    bare_spec = ds.map(bare).element_spec
    assert not bare_spec.shape.is_fully_defined()
    assert bare_spec.shape.rank is None
    fallback_spec = ds.map(gilfree.fallback.standardize).element_spec
    assert fallback_spec.shape == tf.TensorShape(SHAPE[1:])


@pytest.mark.parametrize("face", TF_FACES)
@pytest.mark.parametrize("op", OPS)
def test_tf_function_static_shape(op, face, images):
    """README (The ops): the TF op runs in `tf.function` and keeps the static shape."""
    args, kwargs = PARAMS[op]
    fn = op_of(face, op)

    traced_shapes = []

    @tf.function
    def graph_fn(x):
        y = fn(x, *args, **kwargs)
        traced_shapes.append(y.shape)  # static shape inference at trace time
        return y

    out = graph_fn(tf.constant(images))
    assert traced_shapes == [tf.TensorShape(SHAPE)]
    assert out.shape == SHAPE
    # Batched call: per-image statistics, same as one image at a time.
    assert_close(out.numpy(), expected_images(op, images))


@pytest.mark.parametrize("face", TF_FACES)
@pytest.mark.parametrize("op", OPS)
def test_tf_function_unknown_dims(op, face, images):
    args, kwargs = PARAMS[op]
    fn = op_of(face, op)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None], tf.uint8)])
    def graph_fn(x):
        return fn(x, *args, **kwargs)

    concrete = graph_fn.get_concrete_function()
    out_shape = concrete.structured_outputs.shape
    assert out_shape.rank == 3  # rank is kept even with unknown dims
    for im, expected in zip(images[:3], expected_images(op, images[:3]), strict=True):
        assert_close(graph_fn(tf.constant(im)).numpy(), expected)
    # other spatial sizes through the same concrete function
    small = np.ascontiguousarray(images[0, :5, :7])
    assert_close(graph_fn(tf.constant(small)).numpy(), expected_images(op, small[None])[0])


@pytest.mark.parametrize("face", TF_FACES)
@pytest.mark.parametrize("op", OPS)
def test_eager(op, face, images):
    """README (The ops): the TF op runs eagerly."""
    args, kwargs = PARAMS[op]
    y = op_of(face, op)(tf.constant(images[0]), *args, **kwargs)
    assert y.shape == SHAPE[1:]
    assert_close(y.numpy(), expected_images(op, images[:1])[0])


@pytest.mark.parametrize("face", TF_FACES)
def test_normalize_mean_std_tensors_in_graph(face, images):
    fn = op_of(face, "normalize")

    @tf.function(input_signature=[tf.TensorSpec([None, None, None], tf.uint8)])
    def graph_fn(x):
        xf = tf.cast(x, tf.float32)
        mean = tf.reduce_mean(xf, axis=[0, 1])
        std = tf.math.reduce_std(xf, axis=[0, 1])
        return fn(x, mean, std)

    im = images[1]
    xf = im.astype(np.float32)
    mean = xf.mean(axis=(0, 1), dtype=np.float64)
    std = xf.std(axis=(0, 1), dtype=np.float64)
    # mean/std come from float32 TF reductions: allow their rounding
    np.testing.assert_allclose(
        graph_fn(tf.constant(im)).numpy(), (im - mean) / std, rtol=1e-4, atol=1e-4
    )


def test_parallel_map_many_elements_deterministic():
    import gilfree

    x = make_input((64, 5, 7, 3), "uint16", "many")
    ds = tf.data.Dataset.from_tensor_slices(x).map(
        lambda im: gilfree.percentile_stretch(im), num_parallel_calls=8, deterministic=True
    )
    out = np.stack(list(ds.as_numpy_iterator()))
    expected = np.stack([reference.percentile_stretch(im) for im in x])
    assert_close(out, expected)
