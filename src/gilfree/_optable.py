"""The op table: every op of gilfree, declared once.

Each entry gives the op's name, family, arguments (name, default, whether it is keyword-only,
and its kind: what a face converts it to), the rule for its output dtype and a line of doc.
Read at import (no TensorFlow, no NumPy), it gives:

- each face's ``__all__`` (``gilfree``, ``gilfree.numpy``, ``gilfree.reference``,
  ``gilfree.fallback``);
- the Keras layers' argument lists (``gilfree.keras``: ``get_config``);
- the tests' op lists, and ``tests/test_op_table.py``, which holds every face's real
  signature to its entry (names, order, keyword-only, defaults) and gives each argument a
  wrong type on every face.

Where the faces differ, the table says so: ``FACE_ARGS`` are the arguments one kind of face
adds after the op's own (``name=`` on the TensorFlow op, for its graph name scope;
``threads=`` on the NumPy geometry ops, which split one call over threads, where TensorFlow
takes its threads from its own pool and the reference has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

#: The default of an argument that has none.
REQUIRED: Any = object()

Family = Literal["normalize", "decode", "geometry"]
Face = Literal["tf", "numpy", "reference", "fallback"]
#: Every face, in the order the README lists them.
FACES: tuple[Face, ...] = ("tf", "numpy", "reference", "fallback")
#: What a face converts an argument to (tests/test_op_table.py has a wrong value of each).
Kind = Literal[
    "image",  # the input array or tensor
    "channel_params",  # a number or one per channel (mean, std)
    "real",  # a real number
    "optional_real",  # None or a real number
    "percentile",  # a real number in [0, 100]
    "bool",  # True or False only
    "output_dtype",  # float32, float16 or bfloat16 (a dtype or its name)
    "bytes",  # the bytes of a file (or a batch of them, decode_records)
    "element_dtype",  # the dtype of a decoded array
    "shape",  # a sequence of ints (None or -1 for "any")
    "window",  # None or (row, col, height, width)
    "npz_spec",  # a mapping of member name to dtype
    "schema",  # a NumPy structured dtype
    "int",  # a non-negative integer
    "matrix",  # transform coefficients
    "points",  # an [M, 2] array of points
    "maps",  # a coordinate map
    "output_shape",  # None or (height, width)
    "interpolation",  # a name
    "fill_mode",  # a name
    "fill_value",  # None, a number, or one per channel
    "order",  # 1, 2 or 3
    "center",  # None or (x, y)
    "optional_str",  # None or a string
]


@dataclass(frozen=True)
class Arg:
    """One argument of an op, in every face."""

    name: str
    kind: Kind
    default: Any = REQUIRED
    keyword_only: bool = False
    #: faces whose default differs from ``default``: (face, default) pairs
    face_defaults: tuple[tuple[Face, Any], ...] = ()

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def default_on(self, face: Face) -> Any:
        """The default on one face."""
        return dict(self.face_defaults).get(face, self.default)


@dataclass(frozen=True)
class Op:
    """One op: its name, family, arguments and output-dtype rule."""

    name: str
    family: Family
    args: tuple[Arg, ...]
    output: str  # the rule for the output's dtype
    doc: str  # one line
    #: the NumPy face takes ``threads=`` after the op's arguments
    threads: bool = False
    #: the Keras layer (gilfree.keras) that calls the op, if any
    keras_layer: str | None = None
    #: the faces that have the op
    faces: tuple[Face, ...] = FACES

    def arg(self, name: str) -> Arg:
        for a in self.args:
            if a.name == name:
                return a
        raise KeyError(f"{self.name} has no argument {name!r}")


def _kw(name: str, kind: Kind, default: Any) -> Arg:
    return Arg(name, kind, default, keyword_only=True)


_FLOAT_OUT = "dtype: float32 (default), float16 or bfloat16 (NumPy faces: float32, float16)"
_SAME_AS_INPUT = "the input's dtype"
# The arguments every geometry op ends with, after its own.
_SAMPLING = (
    _kw("interpolation", "interpolation", "bilinear"),
    _kw("fill_mode", "fill_mode", "constant"),
    _kw("fill_value", "fill_value", None),
    _kw("nodata", "optional_real", None),
)
_MASK = (
    _kw("per_channel", "bool", True),
    _kw("nodata", "optional_real", None),
    _kw("fill", "real", 0.0),
    _kw("dtype", "output_dtype", "float32"),
)


def _matrix_warp(name: str, doc: str) -> Op:
    """warp_affine and warp_perspective: the same arguments, a matrix of another size."""
    return Op(
        name,
        "geometry",
        (
            Arg("image", "image"),
            Arg("matrix", "matrix"),
            _kw("output_shape", "output_shape", None),
            _kw("inverse", "bool", False),
            *_SAMPLING,
        ),
        _SAME_AS_INPUT,
        doc,
        threads=True,
    )


OPS: tuple[Op, ...] = (
    # --- normalization (docs/normalization-spec.md)
    Op(
        "normalize",
        "normalize",
        (
            Arg("x", "image"),
            Arg("mean", "channel_params"),
            Arg("std", "channel_params"),
            _kw("scale", "optional_real", None),
            _kw("dtype", "output_dtype", "float32"),
        ),
        _FLOAT_OUT,
        "(x * scale - mean) / std per channel, with the cast, in one pass",
        keras_layer="Normalize",
    ),
    Op(
        "standardize",
        "normalize",
        (
            Arg("x", "image"),
            _kw("per_channel", "bool", False),
            _kw("epsilon", "optional_real", None),
            _kw("dtype", "output_dtype", "float32"),
        ),
        _FLOAT_OUT,
        "(x - mean) / max(std, floor) per image, or per image and channel",
        keras_layer="Standardize",
    ),
    Op(
        "minmax_scale",
        "normalize",
        (Arg("x", "image"), *_MASK),
        _FLOAT_OUT,
        "each image (and channel) to [0, 1] by its min and max, nodata-aware",
        keras_layer="MinMaxScale",
    ),
    Op(
        "percentile_stretch",
        "normalize",
        (
            Arg("x", "image"),
            Arg("low", "percentile", 2.0),
            Arg("high", "percentile", 98.0),
            *_MASK,
        ),
        _FLOAT_OUT,
        "percentile clip and scale to [0, 1], nodata-aware",
        keras_layer="PercentileStretch",
    ),
    # --- decoders (docs/decoding-spec.md)
    Op(
        "decode_npy",
        "decode",
        (
            Arg("contents", "bytes"),
            Arg("dtype", "element_dtype"),
            _kw("shape", "shape", None),
        ),
        "dtype (the file's element type must match)",
        "the array of one .npy file",
    ),
    Op(
        "decode_npz",
        "decode",
        (Arg("contents", "bytes"), Arg("spec", "npz_spec")),
        "each member's dtype from spec",
        "the members of one .npz file named by spec",
    ),
    Op(
        "decode_records",
        "decode",
        (
            Arg("contents", "bytes"),
            Arg("schema", "schema"),
            _kw("header_bytes", "int", 0),
            _kw("footer_bytes", "int", 0),
        ),
        "each field's dtype from schema",
        "fixed-size records to one array per field",
    ),
    Op(
        "decode_tiff",
        "decode",
        (
            Arg("contents", "bytes"),
            # TensorFlow needs the output's dtype when the graph is built; the NumPy faces
            # take the file's own by default.
            Arg("dtype", "element_dtype", face_defaults=(("numpy", None), ("reference", None))),
            _kw("page", "int", 0),
            _kw("window", "window", None),
            _kw("shape", "shape", None),
        ),
        "dtype (the file's sample type must match; NumPy faces: the file's by default)",
        "one page of a TIFF or GeoTIFF file, or a window of it, to [height, width, bands]",
    ),
    Op(
        "tiff_info",
        "decode",
        (Arg("contents", "bytes"), Arg("page", "int", 0)),
        "a dict",
        "what a TIFF page holds: size, bands, dtype, layout, codec and GeoTIFF fields",
        faces=("numpy", "reference"),
    ),
    # --- geometry (docs/geometry-spec.md)
    _matrix_warp("warp_affine", "affine warp, like cv2.warpAffine"),
    _matrix_warp("warp_perspective", "perspective warp, like cv2.warpPerspective"),
    Op(
        "projective_transform",
        "geometry",
        (
            Arg("images", "image"),
            Arg("transforms", "matrix"),
            _kw("output_shape", "output_shape", None),
            _kw("interpolation", "interpolation", "nearest"),
            _kw("fill_mode", "fill_mode", "constant"),
            _kw("fill_value", "fill_value", 0.0),
        ),
        _SAME_AS_INPUT,
        "ImageProjectiveTransformV3's semantics and numbers",
        threads=True,
    ),
    Op(
        "remap",
        "geometry",
        (Arg("image", "image"), Arg("map_x", "maps"), Arg("map_y", "maps"), *_SAMPLING),
        _SAME_AS_INPUT,
        "samples the image at dense coordinate maps, like cv2.remap",
        threads=True,
    ),
    Op(
        "fit_polynomial",
        "geometry",
        (Arg("src_points", "points"), Arg("dst_points", "points"), Arg("order", "order", 1)),
        "float64 coefficients and the float64 RMS residual",
        "least-squares polynomial with f(src) ~= dst",
    ),
    Op(
        "polynomial_warp",
        "geometry",
        (
            Arg("image", "image"),
            Arg("src_points", "points"),
            Arg("dst_points", "points"),
            _kw("order", "order", 1),
            _kw("output_shape", "output_shape", None),
            *_SAMPLING,
        ),
        _SAME_AS_INPUT,
        "ground-control-point warp (gdalwarp -order)",
        threads=True,
    ),
    Op(
        "rotate",
        "geometry",
        (
            Arg("image", "image"),
            Arg("angle", "real"),
            _kw("center", "center", None),
            _kw("scale", "real", 1.0),
            _kw("output_shape", "output_shape", None),
            *_SAMPLING,
        ),
        _SAME_AS_INPUT,
        "rotation about center (degrees, counter-clockwise)",
        threads=True,
    ),
)

OP: dict[str, Op] = {op.name: op for op in OPS}

#: The arguments a kind of face adds after the op's own: the face, the argument and why.
FACE_ARGS: tuple[tuple[str, Arg, str], ...] = (
    ("tf", _kw("name", "optional_str", None), "the TensorFlow op's graph name scope"),
    (
        "numpy",
        _kw("threads", "int", None),
        "the NumPy geometry ops (Op.threads) split one call over threads; TensorFlow's op "
        "takes its threads from TensorFlow's pool (tf.data's limit), the reference has none",
    ),
)


def names(family: Family | None = None, face: Face | None = None) -> list[str]:
    """The ops' names (of one family, on one face), sorted."""
    return sorted(
        op.name
        for op in OPS
        if (family is None or op.family == family) and (face is None or face in op.faces)
    )
