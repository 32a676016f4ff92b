"""Bad inputs raise the right error type with a message naming the argument.

NumPy faces (gilfree.numpy, gilfree.reference): ValueError / TypeError.
TF faces (gilfree.<op>, gilfree.fallback, eager mode): tf.errors.InvalidArgumentError.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import tensorflow as tf
from conftest import OPS, face_fn

NP_FACES = ("numpy", "reference")
TF_FACES = ("tf", "fallback")
ALL_FACES = NP_FACES + TF_FACES

NAN, INF = float("nan"), float("inf")
X = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)


def call(face, op, x, *args, **kwargs):
    if "dtype" in kwargs and face in TF_FACES and not isinstance(kwargs["dtype"], str):
        kwargs["dtype"] = tf.as_dtype(kwargs["dtype"])
    return face_fn(face, op)(x, *args, **kwargs)


def expect(face, np_error, argument):
    """pytest.raises for this face, matching the argument's name as a word."""
    error = tf.errors.InvalidArgumentError if face in TF_FACES else np_error
    return pytest.raises(error, match=rf"\b{argument}\b")


# (id, op, args, kwargs, NumPy-face error, argument named in the message)
PARAMETER_CASES = [
    ("mean_length", "normalize", ([0.0, 0.0], [1.0, 1.0, 1.0]), {}, ValueError, "mean"),
    ("std_length", "normalize", ([0.0] * 3, [1.0] * 4), {}, ValueError, "std"),
    ("std_zero", "normalize", ([0.0] * 3, [1.0, 0.0, 1.0]), {}, ValueError, "std"),
    ("std_scalar_zero", "normalize", (0.0, 0.0), {}, ValueError, "std"),
    ("std_nan", "normalize", (0.0, [1.0, NAN, 1.0]), {}, ValueError, "std"),
    ("std_inf", "normalize", (0.0, INF), {}, ValueError, "std"),
    ("mean_nan", "normalize", (NAN, 1.0), {}, ValueError, "mean"),
    ("mean_inf", "normalize", ([0.0, -INF, 0.0], 1.0), {}, ValueError, "mean"),
    ("mean_rank2", "normalize", ([[0.0, 0.0, 0.0]], 1.0), {}, ValueError, "mean"),
    ("std_rank2", "normalize", (0.0, [[1.0], [1.0], [1.0]]), {}, ValueError, "std"),
    ("scale_zero", "normalize", (0.0, 1.0), {"scale": 0.0}, ValueError, "scale"),
    ("scale_nan", "normalize", (0.0, 1.0), {"scale": NAN}, ValueError, "scale"),
    ("scale_inf", "normalize", (0.0, 1.0), {"scale": INF}, ValueError, "scale"),
    ("epsilon_zero", "standardize", (), {"epsilon": 0.0}, ValueError, "epsilon"),
    ("epsilon_negative", "standardize", (), {"epsilon": -1e-3}, ValueError, "epsilon"),
    ("epsilon_nan", "standardize", (), {"epsilon": NAN}, ValueError, "epsilon"),
    ("epsilon_inf", "standardize", (), {"epsilon": INF}, ValueError, "epsilon"),
    ("low_eq_high", "percentile_stretch", (50.0, 50.0), {}, ValueError, "(low|high)"),
    ("low_gt_high", "percentile_stretch", (60.0, 40.0), {}, ValueError, "(low|high)"),
    ("low_negative", "percentile_stretch", (-1.0, 50.0), {}, ValueError, "low"),
    ("high_over_100", "percentile_stretch", (2.0, 100.5), {}, ValueError, "high"),
    ("low_nan", "percentile_stretch", (NAN, 98.0), {}, ValueError, "low"),
    ("high_nan", "percentile_stretch", (2.0, NAN), {}, ValueError, "high"),
    ("high_inf", "percentile_stretch", (2.0, INF), {}, ValueError, "high"),
]


@pytest.mark.parametrize("face", ALL_FACES)
@pytest.mark.parametrize(
    "op,args,kwargs,np_error,argument",
    [case[1:] for case in PARAMETER_CASES],
    ids=[case[0] for case in PARAMETER_CASES],
)
def test_bad_parameters(op, args, kwargs, np_error, argument, face):
    """README (Normalization): bad arguments raise InvalidArgumentError (TensorFlow faces) or
    ValueError (NumPy faces) naming the argument: a mean/std of the wrong length, a std of 0, low
    >= high or outside [0, 100], epsilon <= 0.
    """
    with expect(face, np_error, argument):
        call(face, op, X, *args, **kwargs)


@pytest.mark.parametrize("face", ALL_FACES)
@pytest.mark.parametrize("shape", [(0, 4, 3), (2, 0, 5, 3)], ids=str)
def test_zero_size_still_validates_parameters(shape, face):
    """README (Normalization): zero-size input: the arguments are still checked."""
    x = np.zeros(shape, np.uint16)
    with expect(face, ValueError, "mean"):
        call(face, "normalize", x, [0.0, 1.0], 1.0)
    with expect(face, ValueError, "std"):
        call(face, "normalize", x, 0.0, 0.0)
    with expect(face, ValueError, "epsilon"):
        call(face, "standardize", x, epsilon=0.0)
    with expect(face, ValueError, "(low|high)"):
        call(face, "percentile_stretch", x, 98.0, 2.0)


def _args(op):
    return (0.0, 1.0) if op == "normalize" else ()


# Given dtype -> the names a message may use for it (TF messages may say "double").
BAD_INPUT_DTYPES = {
    "float64": "float64|double",
    "int8": "int8",
    "bool": "bool",
    "complex64": "complex64",
    "int64": "int64",
    "uint32": "uint32",
}


@pytest.mark.parametrize("face", ALL_FACES)
@pytest.mark.parametrize("bad", list(BAD_INPUT_DTYPES))
@pytest.mark.parametrize("op", OPS)
def test_unsupported_input_dtype(op, bad, face):
    """README (Normalization): an unsupported dtype raises InvalidArgumentError / TypeError naming x
    and the dtype given.
    """
    x = np.ones((5, 7, 3), dtype=bad)
    with expect(face, TypeError, "x") as info:
        call(face, op, x, *_args(op))
    assert re.search(BAD_INPUT_DTYPES[bad], str(info.value)), str(info.value)


@pytest.mark.parametrize("face", NP_FACES)
@pytest.mark.parametrize("op", OPS)
def test_bfloat16_input_rejected_by_numpy_faces(op, face):
    """README (Normalization): bfloat16 input only on the TensorFlow face."""
    x = tf.ones((5, 7, 3), tf.bfloat16).numpy()  # an ml_dtypes bfloat16 array
    with expect(face, TypeError, "x"):
        call(face, op, x, *_args(op))


BAD_OUTPUT_DTYPES = {"int32": "int32", "float64": "float64|double", "uint8": "uint8"}


@pytest.mark.parametrize("face", ALL_FACES)
@pytest.mark.parametrize("bad", list(BAD_OUTPUT_DTYPES))
@pytest.mark.parametrize("op", OPS)
def test_unsupported_output_dtype(op, bad, face):
    """README (Normalization): output dtypes are float32, float16 (and bfloat16 on the TensorFlow
    face) only.
    """
    out = tf.as_dtype(bad) if face in TF_FACES else np.dtype(bad)
    with expect(face, TypeError, "dtype") as info:
        call(face, op, X, *_args(op), dtype=out)
    assert re.search(BAD_OUTPUT_DTYPES[bad], str(info.value)), str(info.value)


@pytest.mark.parametrize("face", NP_FACES)
@pytest.mark.parametrize("op", OPS)
def test_bfloat16_output_rejected_by_numpy_faces(op, face):
    """README (Normalization): bfloat16 output only on the TensorFlow face."""
    with expect(face, TypeError, "dtype"):
        call(face, op, X, *_args(op), dtype="bfloat16")


@pytest.mark.parametrize("face", ALL_FACES)
@pytest.mark.parametrize("op", OPS)
def test_rank0_input(op, face):
    """README (Normalization): rank 0 raises, naming x."""
    x = np.array(7, dtype=np.uint8)
    if face in TF_FACES:
        x = tf.constant(x)
    with expect(face, ValueError, "x") as info:
        call(face, op, x, *_args(op))
    assert re.search("rank|scalar|dimension", str(info.value)), str(info.value)


@pytest.mark.parametrize("face", ALL_FACES)
def test_mean_std_length_must_match_channels_not_pixels(face):
    # rank 2 is one band: a mean of length W is an error, not a per-column mean
    x = np.zeros((4, 3), np.uint8)
    with expect(face, ValueError, "mean"):
        call(face, "normalize", x, [0.0, 0.0, 0.0], 1.0)


def test_fallback_checks_tensor_parameters_when_run():
    import gilfree.fallback

    @tf.function(input_signature=[tf.TensorSpec([None, None, None], tf.uint8)] * 1)
    def fn(x):
        mean = tf.reduce_mean(tf.cast(x, tf.float32), axis=[0, 1])[:2]  # length 2, not C
        return gilfree.fallback.normalize(x, mean, 1.0)

    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\bmean\b"):
        fn(tf.constant(X))


F64 = np.ones((5, 7, 3), np.float64)
RANK0 = np.array(7, np.uint8)

# (id, op, x, args, kwargs, NumPy-face error, argument, the value given, what was expected):
# the last two are regexes.
# fmt: off
MESSAGE_CASES = [
    ("mean_length", "normalize", X, ([0.0, 0.0], [1.0] * 3), {}, ValueError, "mean",
     r"\b2\b", r"\b3\b"),
    ("std_zero", "normalize", X, (0.0, [1.0, 0.0, 1.0]), {}, ValueError, "std",
     r"\b0(\.0)?\b", r"non-?zero"),
    ("low_ge_high", "percentile_stretch", X, (60.0, 40.0), {}, ValueError, "low",
     r"\b60", r"less than|<"),
    ("low_negative", "percentile_stretch", X, (-1.0, 50.0), {}, ValueError, "low",
     r"-1\b", r"\[0, 100\]"),
    ("high_over_100", "percentile_stretch", X, (2.0, 100.5), {}, ValueError, "high",
     r"100\.5", r"\[0, 100\]"),
    ("epsilon_negative", "standardize", X, (), {"epsilon": -1e-3}, ValueError, "epsilon",
     r"-0\.001", r"> 0"),
    ("dtype", "minmax_scale", F64, (), {}, TypeError, "x", r"float64|double", r"uint8"),
    ("rank0", "percentile_stretch", RANK0, (), {}, ValueError, "x", r"rank 0", r"rank >= 1"),
]
# fmt: on


@pytest.mark.parametrize("face", ALL_FACES)
@pytest.mark.parametrize(
    "op,x,args,kwargs,np_error,argument,given,wanted",
    [case[1:] for case in MESSAGE_CASES],
    ids=[case[0] for case in MESSAGE_CASES],
)
def test_messages_name_the_value_given_and_what_was_expected(
    op, x, args, kwargs, np_error, argument, given, wanted, face
):
    """README (Normalization): a bad argument's message names the argument, the value given
    and what was expected."""
    if face in TF_FACES and x.ndim == 0:
        x = tf.constant(x)
    with expect(face, np_error, argument) as info:
        call(face, op, x, *args, **kwargs)
    text = info.value.message if hasattr(info.value, "message") else str(info.value)
    text = text.split("Traceback (most recent call last)")[0]
    assert re.search(given, text), (given, text)
    assert re.search(wanted, text), (wanted, text)


@pytest.mark.parametrize("face", ALL_FACES)
@pytest.mark.parametrize("op", ["standardize", "minmax_scale", "percentile_stretch"])
@pytest.mark.parametrize("value", ["false", 1, None])
def test_per_channel_takes_only_bools_on_every_face(face, op, value):
    """per_channel="false" is not read as a truth value on any face: the four faces share
    one rule (TypeError on the NumPy faces, InvalidArgumentError on the TF faces) that names
    the argument and the value given."""
    with expect(face, TypeError, "per_channel") as caught:
        call(face, op, X, per_channel=value)
    assert repr(value) in str(caught.value)
    for ok in (True, np.bool_(False)):
        assert call(face, op, X, per_channel=ok).shape == X.shape
