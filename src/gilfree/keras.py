"""Keras 3 layers (TensorFlow backend) around gilfree's TensorFlow ops.

Each layer calls the gilfree custom op of the same name in ``call``: no Python and no
GIL in the hot path, static shapes kept, and the same numbers as ``gilfree.<op>``.

- ``Normalize(mean, std, scale=None, dtype="float32")``
- ``Standardize(per_channel=False, epsilon=None, dtype="float32")``
- ``MinMaxScale(per_channel=True, nodata=None, fill=0.0, dtype="float32")``
- ``PercentileStretch(low=2.0, high=98.0, per_channel=True, nodata=None, fill=0.0,
  dtype="float32")``

They work in ``keras.Sequential`` / functional models, on tensors directly (e.g. inside
``tf.data.Dataset.map``) and are saved with the model: they are registered as
``gilfree>Normalize``, ... so ``keras.models.load_model(path)`` finds them once
``gilfree.keras`` has been imported (``import gilfree.keras`` before loading).

Layout: the layers follow the ops' layout rules (docs/normalization-spec.md), channels
last. Statistics are per image: ``[N, H, W, C]`` (and ``[..., H, W, C]``) is a batch, a
rank-3 tensor ONE image ``[H, W, C]``. Inside a model the batch axis is the first axis,
so give single-band images an explicit channel axis (``keras.Input((H, W, 1))``):
a batch ``[N, H, W]`` would be read as one image with W channels.

XLA: custom ops cannot be compiled by XLA, so the layers declare ``supports_jit = False``
and a model that contains them is not jit-compiled (``model.compile(jit_compile=True)``
warns and runs without XLA).

dtype: the layer's ``dtype`` (a dtype name or a Keras dtype policy) sets the output
dtype (its compute dtype: float32, float16 or bfloat16). Inputs are never cast before
the op (``autocast=False``): integer and float inputs go to the kernel as they are.

Importing this module imports TensorFlow and Keras, and needs Keras' TensorFlow backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from gilfree import _args, _native, _optable, _tf_ops

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        "gilfree.keras needs Keras' TensorFlow backend (the layers call TensorFlow custom "
        f"ops); the active backend is {keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow "
        "before importing keras."
    )

__all__ = ["MinMaxScale", "Normalize", "PercentileStretch", "Standardize"]

_OUTPUT_DTYPES = ("float32", "float16", "bfloat16")


def _channel_param(name: str, value: Any) -> float | list[float]:
    """``mean``/``std`` as a Python float or a list of floats (JSON-serializable); the values
    are checked by the core (``_native.validate_normalize``)."""
    if hasattr(value, "numpy"):  # a tf.Tensor / tf.Variable
        value = value.numpy()
    arr = _args.params_arg(name, value)
    return float(arr) if arr.ndim == 0 else arr.tolist()  # ranks above 1: refused by the core


def _channels(shape: Sequence[int | None]) -> int | None:
    """The channel count of an input of this (static) shape per the layout rules."""
    if len(shape) <= 2:
        return 1
    return None if shape[-1] is None else int(shape[-1])


class _GilfreeLayer(keras.layers.Layer):
    """Common part: the output dtype is the layer's compute dtype; no autocast of inputs. The
    layer holds the op's arguments (gilfree._optable) as attributes of the same names."""

    _op: str  # the op the layer calls

    @classmethod
    def _arg_names(cls) -> list[str]:
        """The op's arguments the layer holds: all but the input and the output dtype."""
        return [
            a.name for a in _optable.OP[cls._op].args if a.kind not in ("image", "output_dtype")
        ]

    def __init__(self, *, dtype: Any = "float32", **kwargs: Any) -> None:
        kwargs.setdefault("autocast", False)
        super().__init__(dtype=dtype, **kwargs)
        if self.compute_dtype not in _OUTPUT_DTYPES:
            raise ValueError(
                f"dtype {self.compute_dtype!r} is not supported by {type(self).__name__}; "
                f"expected one of {', '.join(_OUTPUT_DTYPES)}"
            )
        self.supports_masking = False
        # Custom ops have no XLA kernels: this keeps Keras' jit_compile="auto" (which picks XLA
        # on TensorFlow with a GPU) off for models with these layers, and turns an explicit
        # jit_compile=True into a warning instead of a failure in the compiled step.
        self.supports_jit = False

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def _set_mask(self, per_channel: Any, nodata: Any, fill: Any) -> None:
        """The arguments of the nodata-aware layers (MinMaxScale, PercentileStretch)."""
        self.per_channel = _args.bool_arg("per_channel", per_channel)
        self.nodata = _args.optional_real_arg("nodata", nodata)
        self.fill = _args.real_arg("fill", fill)

    def call(self, inputs: Any) -> Any:
        args = {name: getattr(self, name) for name in self._arg_names()}
        return getattr(_tf_ops, self._op)(inputs, **args, dtype=self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **{name: getattr(self, name) for name in self._arg_names()}}


@keras.saving.register_keras_serializable(package="gilfree")
class Normalize(_GilfreeLayer):
    """``y = (x * scale - mean) / std`` per channel, fused with the cast (``gilfree.normalize``).

    Args:
        mean, std: a scalar or one value per channel (any std finite and non-zero).
        scale: multiplies x first (e.g. 1/255); None means 1.
        dtype: output dtype (float32, float16, bfloat16) or a Keras dtype policy.
    """

    _op = "normalize"

    def __init__(
        self,
        mean: Any,
        std: Any,
        scale: float | None = None,
        dtype: Any = "float32",
        **kwargs: Any,
    ) -> None:
        super().__init__(dtype=dtype, **kwargs)
        self.mean = _channel_param("mean", mean)
        self.std = _channel_param("std", std)
        self.scale = _args.optional_real_arg("scale", scale)
        self._validate(-1)

    def _validate(self, channels: int) -> None:
        _native.validate_normalize(
            self.mean, self.std, 1.0 if self.scale is None else self.scale, channels
        )

    def build(self, input_shape: Any) -> None:
        c = _channels(tuple(input_shape))
        if c is not None:
            self._validate(c)
        self.built = True


@keras.saving.register_keras_serializable(package="gilfree")
class Standardize(_GilfreeLayer):
    """``(x - mean) / max(std, floor)`` per image (or per image and channel); see
    ``gilfree.standardize``. ``per_channel=False, epsilon=None`` gives the numbers of
    ``tf.image.per_image_standardization``."""

    _op = "standardize"

    def __init__(
        self,
        per_channel: bool = False,
        epsilon: float | None = None,
        dtype: Any = "float32",
        **kwargs: Any,
    ) -> None:
        super().__init__(dtype=dtype, **kwargs)
        self.per_channel = _args.bool_arg("per_channel", per_channel)
        self.epsilon = _args.optional_real_arg("epsilon", epsilon)
        _native.validate_standardize(self.epsilon)


@keras.saving.register_keras_serializable(package="gilfree")
class MinMaxScale(_GilfreeLayer):
    """Per image (and channel) ``(x - min) / (max - min)`` over the valid elements; ``nodata``
    and NaN are left out and written as ``fill`` (``gilfree.minmax_scale``)."""

    _op = "minmax_scale"

    def __init__(
        self,
        per_channel: bool = True,
        nodata: float | None = None,
        fill: float = 0.0,
        dtype: Any = "float32",
        **kwargs: Any,
    ) -> None:
        super().__init__(dtype=dtype, **kwargs)
        self._set_mask(per_channel, nodata, fill)


@keras.saving.register_keras_serializable(package="gilfree")
class PercentileStretch(_GilfreeLayer):
    """Per image (and channel) ``clip((x - lo) / (hi - lo), 0, 1)`` with ``lo``/``hi`` exactly
    ``numpy.percentile(valid, [low, high])``; ``nodata`` and NaN are written as ``fill``
    (``gilfree.percentile_stretch``)."""

    _op = "percentile_stretch"

    def __init__(
        self,
        low: float = 2.0,
        high: float = 98.0,
        per_channel: bool = True,
        nodata: float | None = None,
        fill: float = 0.0,
        dtype: Any = "float32",
        **kwargs: Any,
    ) -> None:
        super().__init__(dtype=dtype, **kwargs)
        self.low, self.high = _args.real_arg("low", low), _args.real_arg("high", high)
        _native.validate_percentile(self.low, self.high)
        self._set_mask(per_channel, nodata, fill)
