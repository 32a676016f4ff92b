"""Plain NumPy reference implementations of the gilfree ops.

This module is the test oracle for the native faces (``gilfree.<op>`` and
``gilfree.numpy.<op>``). It is written for clarity, not speed: every value is
computed in float64, images and bands are visited by explicit Python loops, and
the result is cast to the requested output dtype at the very end.

The semantics are those of ``docs/normalization-spec.md``:

Layout (channels on the last axis):

- rank 1 ``[W]`` and rank 2 ``[H, W]``: one single-band image (C = 1);
- rank 3 ``[H, W, C]``: one image;
- rank >= 4 ``[..., H, W, C]``: a batch; every image (the last three axes) gets
  its own statistics;
- rank 0: ``ValueError``.

Input dtypes: uint8, uint16, int16, int32, float16, float32 (anything else is a
``TypeError``; note that Python lists become int64/float64 arrays and are
therefore rejected: pass a NumPy array of a supported dtype).
Output dtypes (``dtype=``): float32 (default) and float16. bfloat16 is only
available on the TensorFlow faces (``TypeError`` here).
Zero-size input: an empty array of the same shape is returned, after the
parameters have been validated.

The decoders (``decode_npy``, ``decode_npz``, ``decode_records``, ``decode_tiff`` and
``tiff_info``) follow ``docs/decoding-spec.md``; they live in ``npy``, ``npz``, ``records``
and ``tiff``.

The geometry ops (``warp_affine``, ``warp_perspective``, ``projective_transform``,
``remap``, ``polynomial_warp``, ``rotate`` and the ``fit_polynomial`` helper) follow
``docs/geometry-spec.md``; they live in ``geometry`` (their argument checks and constants
in ``geometry_checks``). They take uint8, uint16, int16, float16 or float32 images and
return the input's dtype.

The normalization ops live in ``normalize``, what the families share in ``_common``.
Every name of those modules that the tests and the other faces use is re-exported here as
``gilfree.reference.<name>``. This package does not import TensorFlow.
"""

from __future__ import annotations

from gilfree import _optable
from gilfree.reference._common import (
    INPUT_DTYPES,
    OUTPUT_DTYPES,
    channels_of,
    check_channel_param,
    check_epsilon,
    check_mask,
    check_output_dtype,
    check_percentiles,
    check_scale,
)
from gilfree.reference.geometry import (
    evaluate_polynomial,
    fit_polynomial,
    keys_cubic,
    map_index,
    polynomial_warp,
    projective_transform,
    remap,
    rotate,
    rotation_matrix,
    tf_map_coordinate,
    warp_affine,
    warp_perspective,
)
from gilfree.reference.geometry_checks import (
    CUBIC_A,
    DEGENERATE_RTOL,
    FILL_MODES,
    GEOMETRY_DTYPES,
    INTERPOLATIONS,
    MAX_OUTPUT_BYTES,
    MAX_OUTPUT_SIDE,
    POLYNOMIAL_EXPONENTS,
    POLYNOMIAL_TERMS,
    SINGULAR_RTOL,
    TF_FILL_MODES,
    TF_INTERPOLATIONS,
    V3_DTYPES,
    check_fill_mode,
    check_fill_value,
    check_image,
    check_interpolation,
    check_maps,
    check_matrix,
    check_nodata,
    check_order,
    check_output_shape,
    check_output_size,
    check_point_pairs,
    check_points,
    check_rotation,
    check_transforms,
    invert_matrix,
)
from gilfree.reference.normalize import (
    minmax_scale,
    normalize,
    percentile_stretch,
    standardize,
)
from gilfree.reference.npy import (
    DECODE_DTYPES,
    DEFLATE_MAX_RATIO,
    DEFLATE_SLACK,
    MAX_NBYTES,
    NPY_MAGIC,
    NPY_MAX_RANK,
    NPY_VERSIONS,
    NpyHeader,
    check_decode_dtype,
    check_shape_arg,
    decode_npy,
    read_npy_header,
)
from gilfree.reference.npz import (
    ZipDirectory,
    ZipMember,
    check_npz_spec,
    decode_npz,
    read_zip_directory,
    read_zip_member,
)
from gilfree.reference.records import (
    RecordField,
    check_schema,
    check_skip,
    decode_records,
)
from gilfree.reference.tiff import (
    TIFF_COMPRESSIONS,
    TIFF_MAX_EXPANSION,
    decode_tiff,
    read_tiff_page,
    tiff_info,
)

__all__ = _optable.names(face="reference")
