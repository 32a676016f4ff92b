"""gilfree.keras: Keras 3 layers around the TF ops (outputs, models, tf.data, saving, config)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import assert_close, make_input, seed_of

keras = pytest.importorskip("keras", reason="gilfree.keras needs Keras 3")
tf = pytest.importorskip("tensorflow", reason="gilfree.keras needs TensorFlow")

import gilfree  # noqa: E402
import gilfree.keras as gk  # noqa: E402
from gilfree import reference  # noqa: E402

MEAN13 = [1000.0 + 50.0 * b for b in range(13)]
STD13 = [500.0 + 10.0 * b for b in range(13)]

# (layer class, layer kwargs, op name, op args, op kwargs)
CASES = {
    "normalize": (gk.Normalize, {"mean": MEAN13, "std": STD13}, "normalize", (MEAN13, STD13), {}),
    "normalize_scale": (
        gk.Normalize,
        {"mean": 0.5, "std": [0.25], "scale": 1.0 / 10000},
        "normalize",
        (0.5, [0.25]),
        {"scale": 1.0 / 10000},
    ),
    "standardize": (gk.Standardize, {}, "standardize", (), {}),
    "standardize_channel_eps": (
        gk.Standardize,
        {"per_channel": True, "epsilon": 1e-3},
        "standardize",
        (),
        {"per_channel": True, "epsilon": 1e-3},
    ),
    "minmax": (gk.MinMaxScale, {}, "minmax_scale", (), {}),
    "minmax_nodata": (
        gk.MinMaxScale,
        {"per_channel": False, "nodata": 0, "fill": -1.0},
        "minmax_scale",
        (),
        {"per_channel": False, "nodata": 0, "fill": -1.0},
    ),
    "percentile": (gk.PercentileStretch, {}, "percentile_stretch", (), {}),
    "percentile_nodata": (
        gk.PercentileStretch,
        {"low": 10.5, "high": 90.25, "nodata": 0, "fill": -1.0},
        "percentile_stretch",
        (10.5, 90.25),
        {"nodata": 0, "fill": -1.0},
    ),
}


def tiles(n: int = 3, size: int = 12, seed: object = "keras") -> np.ndarray:
    """[n, size, size, 13] uint16 tiles in 1..10000 with some nodata (0) pixels."""
    x = make_input((n, size, size, 13), "uint16", seed) % 10000 + 1
    x[:, :2, :3, :] = 0
    return x.astype(np.uint16)


def make_layer(case: str, **extra):
    cls, kwargs, *_ = CASES[case]
    return cls(**kwargs, **extra)


def reference_of(case: str, x: np.ndarray, dtype: str = "float32") -> np.ndarray:
    _, _, op, args, kwargs = CASES[case]
    return getattr(reference, op)(x, *args, dtype=dtype, **kwargs)


def tf_op_of(case: str, x, dtype: str = "float32") -> np.ndarray:
    _, _, op, args, kwargs = CASES[case]
    return getattr(gilfree, op)(x, *args, dtype=dtype, **kwargs).numpy()


def preprocessing_model(input_shape=(12, 12, 13)) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(input_shape, dtype="uint16"),
            gk.PercentileStretch(2.0, 98.0, nodata=0, fill=0.0),
            gk.Normalize(mean=0.5, std=[0.25] * 13),
        ]
    )


def expected_model_output(x: np.ndarray) -> np.ndarray:
    stretched = reference.percentile_stretch(x, 2.0, 98.0, nodata=0, fill=0.0)
    return reference.normalize(stretched, 0.5, [0.25] * 13)


# --------------------------------------------------------------------------- outputs


def test_accessible_from_the_package():
    assert gilfree.keras is gk
    assert {"Normalize", "Standardize", "MinMaxScale", "PercentileStretch"} <= set(gk.__all__)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("rank", [3, 4])
def test_layer_equals_reference_and_tf_op(case, rank):
    x = tiles(seed=(case, rank))
    if rank == 3:
        x = x[0]
    y = make_layer(case)(x)
    assert isinstance(y, tf.Tensor)
    assert y.dtype == tf.float32
    assert tuple(y.shape) == x.shape
    assert_close(y.numpy(), reference_of(case, x), "float32", context=case)
    # The layer is the TF op: bit for bit.
    np.testing.assert_array_equal(y.numpy(), tf_op_of(case, x))


@pytest.mark.parametrize("case", CASES)
def test_float_input_is_not_autocast(case):
    """A float32 input reaches the kernel as float32 even when the layer outputs float16."""
    x = make_input((2, 9, 7, 13), "float32", ("autocast", case)) * 100.0 + 5000.0
    y = make_layer(case, dtype="float16")(x)
    assert y.dtype == tf.float16
    np.testing.assert_array_equal(y.numpy(), tf_op_of(case, x, "float16"))


@pytest.mark.parametrize("case", CASES)
def test_float16_output(case):
    x = tiles(seed=("f16", case))
    y = make_layer(case, dtype="float16")(x)
    assert y.dtype == tf.float16
    assert_close(y.numpy(), reference_of(case, x, "float16"), "float16", context=case)


def test_bfloat16_output_and_mixed_policy():
    x = tiles(seed="bf16")
    y = gk.PercentileStretch(nodata=0, dtype="bfloat16")(x)
    assert y.dtype == tf.bfloat16
    np.testing.assert_array_equal(
        y.numpy(), gilfree.percentile_stretch(x, nodata=0, dtype=tf.bfloat16).numpy()
    )
    # A mixed policy: the compute dtype (float16) is the output dtype.
    layer = gk.Normalize(MEAN13, STD13, dtype="mixed_float16")
    assert layer(x).dtype == tf.float16


def test_compute_output_shape_is_input_shape():
    for case in CASES:
        layer = make_layer(case)
        for shape in [(None, 12, 12, 13), (4, None, None, 13), (12, 12, 13)]:
            assert layer.compute_output_shape(shape) == shape
    inp = keras.Input((None, None, 13), dtype="uint16")
    out = gk.PercentileStretch(dtype="float16")(inp)
    assert tuple(out.shape) == (None, None, None, 13)
    assert out.dtype == "float16"


# --------------------------------------------------------------------------- models


def test_sequential_predict():
    x = tiles(n=6, seed="sequential")
    model = preprocessing_model()
    y = model.predict(x, batch_size=4, verbose=0)
    assert y.shape == x.shape and y.dtype == np.float32
    assert_close(y, expected_model_output(x), "float32")
    # Statistics are per image: the batch size does not change the result.
    np.testing.assert_array_equal(model.predict(x, batch_size=1, verbose=0), y)
    np.testing.assert_array_equal(model(x).numpy(), y)


def test_functional_model_with_trainable_head():
    """The layers sit in front of a trainable model and train with it (no gradients flow
    into them: they have no weights)."""
    x = tiles(n=8, size=8, seed="fit")
    labels = (x.reshape(8, -1).mean(axis=1) > 5000).astype("float32")
    inp = keras.Input((8, 8, 13), dtype="uint16")
    h = gk.PercentileStretch(nodata=0)(inp)
    h = gk.Normalize(0.5, 0.25)(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    out = keras.layers.Dense(1, activation="sigmoid")(h)
    model = keras.Model(inp, out)
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    history = model.fit(x, labels, epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_models_with_the_layers_are_not_xla_compiled():
    """Custom ops have no XLA kernels: jit_compile=True falls back (with Keras' warning), and
    jit_compile="auto" never picks XLA (it would on TensorFlow with a GPU)."""
    x = tiles(n=2, seed="jit")
    model = preprocessing_model()
    assert not any(layer.supports_jit for layer in model.layers)
    with pytest.warns(UserWarning, match="jit_compile"):
        model.compile(jit_compile=True)
    assert model.jit_compile is False
    assert_close(model.predict(x, verbose=0), expected_model_output(x), "float32")


@pytest.mark.parametrize("parallel", [None, "autotune"])
def test_dataset_map(parallel):
    x = tiles(n=5, seed="dataset")
    stretch = gk.PercentileStretch(nodata=0)
    norm = gk.Normalize(mean=0.5, std=[0.25] * 13, dtype="float16")
    calls = tf.data.AUTOTUNE if parallel else None
    ds = (
        tf.data.Dataset.from_tensor_slices(x)
        .map(stretch, num_parallel_calls=calls, deterministic=True)
        .map(norm, num_parallel_calls=calls, deterministic=True)
    )
    assert ds.element_spec == tf.TensorSpec((12, 12, 13), tf.float16)
    got = np.stack([e.numpy() for e in ds])
    want = gilfree.normalize(
        gilfree.percentile_stretch(x, nodata=0), 0.5, [0.25] * 13, dtype=tf.float16
    ).numpy()
    np.testing.assert_array_equal(got, want)
    # Batched elements keep per-image statistics.
    batched = tf.data.Dataset.from_tensor_slices(x).batch(2).map(stretch)
    np.testing.assert_array_equal(np.concatenate([b.numpy() for b in batched]), stretch(x).numpy())


# --------------------------------------------------------------------------- config, saving


@pytest.mark.parametrize("case", CASES)
def test_get_config_from_config_round_trip(case):
    layer = make_layer(case, dtype="float16", name=f"my_{case}")
    config = layer.get_config()
    _, kwargs, *_ = CASES[case]
    for key, value in kwargs.items():
        assert config[key] == value, (key, config[key], value)
    json.dumps(config)  # plain JSON: no NumPy scalars or arrays
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    assert clone.name == f"my_{case}" and clone.compute_dtype == "float16"
    x = tiles(n=2, seed=("config", case))
    np.testing.assert_array_equal(clone(x).numpy(), layer(x).numpy())
    # The registered name lets Keras' generic (de)serialization find the class.
    blob = keras.saving.serialize_keras_object(layer)
    assert blob["registered_name"] == f"gilfree>{type(layer).__name__}"
    again = keras.saving.deserialize_keras_object(blob)
    assert type(again) is type(layer) and again.get_config() == config


def test_config_of_numpy_and_tensor_parameters_is_plain_json():
    layer = gk.Normalize(np.float32(3.0), tf.constant([1.0, 2.0, 4.0]), scale=np.float64(0.5))
    config = layer.get_config()
    assert config["mean"] == 3.0 and config["std"] == [1.0, 2.0, 4.0] and config["scale"] == 0.5
    assert type(config["mean"]) is float and type(config["scale"]) is float
    json.dumps(config)


def test_keras_round_trip_same_process(tmp_path):
    x = tiles(n=4, seed="save")
    model = preprocessing_model()
    want = model.predict(x, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [type(layer) for layer in loaded.layers] == [gk.PercentileStretch, gk.Normalize]
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), want)


def test_keras_round_trip_fresh_process(tmp_path):
    x = tiles(n=4, seed="fresh")
    model = preprocessing_model()
    want = model.predict(x, verbose=0)
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "want.npy", want)
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        import gilfree.keras  # registers the layers before loading
        import keras

        d = sys.argv[1]
        model = keras.models.load_model(d + "/model.keras")
        got = model.predict(np.load(d + "/x.npy"), verbose=0)
        np.testing.assert_array_equal(got, np.load(d + "/want.npy"))
        print([type(layer).__name__ for layer in model.layers])
        """
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow")
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.stdout.strip().splitlines()[-1] == "['PercentileStretch', 'Normalize']"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: gk.Normalize(0.0, 0.0), ValueError, "std"),
        (lambda: gk.Normalize([0.0, float("nan")], 1.0), ValueError, "mean"),
        (lambda: gk.Normalize([[1.0]], 1.0), ValueError, "rank"),
        (lambda: gk.Normalize([], 1.0), ValueError, "mean"),
        (lambda: gk.Normalize(0.0, 1.0, scale=0.0), ValueError, "scale"),
        (lambda: gk.PercentileStretch(98.0, 2.0), ValueError, "low"),
        (lambda: gk.PercentileStretch(2.0, 101.0), ValueError, "high"),
        (lambda: gk.MinMaxScale(per_channel=1), TypeError, "per_channel"),
        (lambda: gk.Standardize(epsilon=0.0), ValueError, "epsilon"),
        (lambda: gk.MinMaxScale(dtype="int32"), ValueError, "int32"),
        (lambda: gk.Normalize(0.0, 1.0, dtype="float64"), ValueError, "float64"),
    ],
)
def test_bad_arguments_raise_at_construction(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_channel_count_is_checked_when_built():
    layer = gk.Normalize([1.0, 2.0, 3.0], 1.0)
    with pytest.raises(ValueError, match=r"mean has 3 values but x has 13 channel"):
        layer(np.zeros((4, 4, 13), np.uint16))


# --------------------------------------------------------------------------- training


@pytest.mark.parametrize(
    "layer",
    [
        lambda: gk.Normalize(mean=[0.1, 0.2, 0.3], std=[0.5, 0.6, 0.7], scale=2.0),
        lambda: gk.Standardize(per_channel=True),
        lambda: gk.MinMaxScale(),
        lambda: gk.PercentileStretch(5.0, 95.0),
    ],
    ids=["normalize", "standardize", "minmax", "percentile"],
)
def test_layer_trains_after_a_dense_layer(layer):
    """Gradients flow through the layer: one fit step moves the Dense kernel before it."""
    keras.utils.set_random_seed(3)
    dense = keras.layers.Dense(6 * 5 * 3)
    model = keras.Sequential(
        [
            keras.Input((8,)),
            dense,
            keras.layers.Reshape((6, 5, 3)),
            layer(),
            keras.layers.Flatten(),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    rng = np.random.default_rng(seed_of("keras-fit"))
    x = rng.normal(size=(16, 8)).astype(np.float32)
    y = rng.normal(size=(16, 1)).astype(np.float32)
    before = dense.kernel.numpy().copy()
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    moved = np.abs(dense.kernel.numpy() - before)
    assert moved.max() > 1e-6


def test_single_band_images_need_a_channel_axis_inside_a_model():
    """README (Keras layers): inside a model the first axis is the batch, so single-band
    images are given a channel axis: keras.Input((H, W, 1)) standardizes image by image,
    as tf.image.per_image_standardization does."""
    rng = np.random.default_rng(seed_of("keras-channel-axis"))
    x = rng.uniform(0, 100, (4, 6, 5, 1)).astype(np.float32)
    model = keras.Sequential([keras.Input((6, 5, 1)), gk.Standardize()])
    got = model.predict(x, verbose=0)
    want = tf.image.per_image_standardization(x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
