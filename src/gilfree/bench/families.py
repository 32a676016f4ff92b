"""What ``python -m gilfree.bench`` measures: the families, their data and every variant.

A *family* is one kind of preprocessing (one op, or a pipeline of ops) on one kind of input.
A *case* is one input size (height x width x channels, dtype). A *variant* is one way of
running the family in a ``tf.data`` pipeline; ``VARIANTS`` lists them with what they are.

Every variant is built from a few per-family hooks:

- ``source(ctx)``: an infinite ``tf.data.Dataset`` of raw elements (tuples of tensors);
- ``pre(ctx, *element)``: TensorFlow work done before the face inside the same map (e.g.
  ``tf.io.read_file``), shared by every variant;
- ``tf_face(ctx, face, *pre_element)``: the TensorFlow faces, ``face`` in ``"fallback"``,
  ``"gilfree"`` or ``"tf_native"``;
- ``numpy_face(ctx, face)``: a function of NumPy values for ``"numpy"`` (``gilfree.numpy``) or
  ``"opencv"``, which the runner wraps in ``tf.py_function`` (``out_spec`` gives its outputs);
- ``batch_face(ctx)``: the gilfree op on a batch (the vectorized variant);
- ``offline(ctx)``: a picklable function and its inputs for ``multiprocessing.Pool``;
- ``expected(ctx)``: the reference output of element 0, against which every variant's output
  is checked before it is timed.

A hook that does not apply raises ``Unavailable`` with the reason, and the report shows it.

Adding an op family is usually one ``ImageOpFamily(...)`` entry in ``FAMILIES``: the op's name,
its arguments per case, and optionally its TensorFlow-native and OpenCV counterparts.
Nothing here imports TensorFlow or OpenCV at import time (``ctx.tf`` is the module).
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gilfree.bench import data

# The variants, in report order, with what they are.
VARIANTS: dict[str, str] = {
    "fallback": "gilfree.fallback.<op>: the NumPy reference inside tf.py_function (what "
    "pipelines do today)",
    "numpy_py_function": "gilfree.numpy.<op> inside tf.py_function: native code, but the GIL "
    "is taken around each call",
    "gilfree": "gilfree.<op>: the TensorFlow custom op, per element",
    "tf_native": "the best TensorFlow-native composition (tf.image, raw ops, tf.io.decode_raw)",
    "opencv": "OpenCV inside tf.py_function",
    "offline_pool": "preprocessing offline with multiprocessing.Pool (one process per core), "
    "then Dataset.from_tensor_slices; the preprocessing time is counted",
    "batched": "vectorized: batch(B) before map, the gilfree op on the whole NHWC batch",
    "batched_map_fn": "batch(B) before map, tf.map_fn of the per-element gilfree op over the batch",
    "map_then_batch": "the per-element gilfree map, then batch(B): what the vectorized "
    "variants compare with",
}
# Variants that run in a Dataset.map (and so take num_parallel_calls); offline_pool does not.
MAP_VARIANTS = tuple(v for v in VARIANTS if v != "offline_pool")
# Variants that deliver batches of B elements.
BATCHING_VARIANTS = ("batched", "batched_map_fn", "map_then_batch")
# Variants built on the gilfree package's own faces: their outputs must match the reference
# to the family's tolerance. The others (tf_native, opencv) are other libraries; they may
# differ in rounding and borders, so they must match on all but a small share of elements:
# OpenCV to the family's tolerance (1 level for the integer warps and remap, 1e-3 for float
# outputs), TensorFlow's compositions to 1 % of the output's range (ImageProjectiveTransformV3
# computes in float32 and rounds its own way).
PEER_VARIANTS = ("tf_native", "opencv")
PEER_MISMATCH_SHARE = 0.02
PEER_RANGE_TOLERANCE = {"tf_native": 0.01, "opencv": 0.0}
# The gilfree faces a variant needs for each op the family uses.
VARIANT_FACE = {
    "fallback": "fallback",
    "numpy_py_function": "numpy",
    "gilfree": "gilfree",
    "offline_pool": "reference",
    "batched": "gilfree",
    "batched_map_fn": "gilfree",
    "map_then_batch": "gilfree",
}

# What --quick runs of a family unless it says otherwise (normalize runs every variant, the
# pipeline adds offline_pool and batched).
QUICK_VARIANTS = ("fallback", "numpy_py_function", "gilfree", "tf_native", "opencv")

# Default channel counts and the dtype of each (RGB-like 8-bit, multispectral 16-bit).
CHANNEL_DTYPES = {3: "uint8", 13: "uint16"}
DISTINCT_LARGE = 4  # distinct images held per case above 512x512
DISTINCT_SMALL = 8


class Unavailable(Exception):
    """A variant or family that cannot be measured here; the message says why."""


@dataclass(frozen=True)
class Case:
    """One input size of a family."""

    height: int
    width: int
    channels: int
    dtype: str

    @property
    def label(self) -> str:
        return f"{self.height}x{self.width}x{self.channels} {self.dtype}"

    @property
    def key(self) -> str:
        return f"{self.height}x{self.width}x{self.channels}-{self.dtype}"

    @property
    def megapixels(self) -> float:
        return self.height * self.width / 1e6

    @property
    def distinct(self) -> int:
        return DISTINCT_LARGE if self.height * self.width > 512 * 512 else DISTINCT_SMALL

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "height": self.height,
            "width": self.width,
            "channels": self.channels,
            "dtype": self.dtype,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Case:
        return cls(int(d["height"]), int(d["width"]), int(d["channels"]), str(d["dtype"]))


# --------------------------------------------------------------------------------------------
# Data on disk, shared between the parent (writes) and the workers (read)
# --------------------------------------------------------------------------------------------


class DataStore:
    """The inputs of every case, generated once by the parent into a temporary folder: a stack
    of the case's distinct images (``.npy``), the same images as one ``.npy`` file each, and as
    fixed-size records. Workers load what their families need."""

    def __init__(self, folder: Path, seed: int = data.SEED) -> None:
        self.folder = Path(folder)
        self.seed = seed

    def _images_path(self, case: Case) -> Path:
        return self.folder / f"images-{case.key}.npy"

    def ensure(self, case: Case, kinds: Sequence[str]) -> None:
        """Writes the files of `kinds` ("images", "npy", "records") for `case`."""
        import numpy as np

        path = self._images_path(case)
        if not path.exists():
            h, w, c = case.height, case.width, case.channels
            stack = np.stack(
                [data.make_image(h, w, c, case.dtype, self.seed + i) for i in range(case.distinct)]
            )
            np.save(path, stack)
        if "npy" in kinds and not self.npy_dir(case).exists():
            images = self.images(case)
            folder = self.npy_dir(case)
            folder.mkdir()
            for i, image in enumerate(images):
                np.save(folder / f"tile_{i:03d}.npy", image)
        if "records" in kinds and not self.records_path(case).exists():
            images = self.images(case)
            data.write_records(self.records_path(case), images, self.labels(case))

    def images(self, case: Case) -> Any:
        import numpy as np

        return np.load(self._images_path(case))

    def labels(self, case: Case) -> Any:
        import numpy as np

        return (np.arange(case.distinct) % 10).astype(np.int32)

    def npy_dir(self, case: Case) -> Path:
        return self.folder / f"npy-{case.key}"

    def npy_paths(self, case: Case) -> list[str]:
        return [str(self.npy_dir(case) / f"tile_{i:03d}.npy") for i in range(case.distinct)]

    def records_path(self, case: Case) -> Path:
        return self.folder / f"records-{case.key}.bin"


@dataclass
class Ctx:
    """What a worker holds for one case: TensorFlow, the case, its data and parameters."""

    tf: Any
    case: Case
    store: DataStore
    batch: int
    values: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Which faces exist (the geometry ops are newer than the others)
# --------------------------------------------------------------------------------------------


def face_missing(op: str, face: str) -> str | None:
    """None if `gilfree`'s `face` of `op` exists, else the reason. The TensorFlow faces are
    looked up without importing TensorFlow where that is possible: ``dir(gilfree)`` names the
    ops of the TF face, and the fallback module is only inspected once it is imported."""
    import sys

    import gilfree

    if face == "gilfree":
        ok = op in dir(gilfree)
    elif face == "numpy":
        import gilfree.numpy

        ok = hasattr(gilfree.numpy, op)
    elif face == "reference":
        import gilfree.reference

        ok = hasattr(gilfree.reference, op)
    elif face == "fallback":
        module = sys.modules.get("gilfree.fallback")
        if module is None:
            return None  # unknown until TensorFlow is imported (the worker checks again)
        ok = hasattr(module, op)
    else:
        raise ValueError(face)
    if ok:
        return None
    name = f"gilfree.{op}" if face == "gilfree" else f"gilfree.{face}.{op}"
    return f"{name} does not exist in this build of gilfree"


def opencv_missing() -> str | None:
    if importlib.util.find_spec("cv2") is None:
        return "OpenCV (cv2) is not installed (pip install opencv-python-headless)"
    return None


def _saturate(tf: Any, y: Any, dtype: str) -> Any:
    """Round half to even and saturate a float tensor to an integer dtype (the gilfree rule)."""
    out = tf.as_dtype(dtype)
    if out.is_floating:
        return tf.cast(y, out)
    return tf.cast(tf.clip_by_value(tf.round(y), out.min, out.max), out)


def _np_saturate(y: Any, dtype: str) -> Any:
    import numpy as np

    dt = np.dtype(dtype)
    if dt.kind == "f":
        return y.astype(dt)
    info = np.iinfo(dt)
    return np.clip(np.rint(y), info.min, info.max).astype(dt)


# --------------------------------------------------------------------------------------------
# Families
# --------------------------------------------------------------------------------------------


class Family:
    """One kind of preprocessing; subclasses fill in the hooks (see the module docstring)."""

    name: str = ""
    description: str = ""
    requires: tuple[str, ...] = ()  # the gilfree ops used (each has four faces)
    channels: tuple[int, ...] = (3, 13)
    quick_channels: tuple[int, ...] = (13,)
    quick_variants: tuple[str, ...] | None = QUICK_VARIANTS  # None: all of them
    files: tuple[str, ...] = ()  # data files the workers need: "npy", "records"
    unit: str = "images"
    batch_all: bool = False  # every variant batches at the end (a training pipeline)
    image_index: int | None = None  # which output is the image, when the output is a tuple
    tolerance: float = 0.0  # max |difference| from the reference for the gilfree variants

    # ---- planning (parent and worker) ----

    def cases(self, sizes: Sequence[tuple[int, int]], channels: Sequence[int]) -> list[Case]:
        return [
            Case(h, w, c, CHANNEL_DTYPES[c])
            for (h, w) in sizes
            for c in channels
            if c in self.channels
        ]

    def family_missing(self) -> str | None:
        """Why the whole family cannot run (its reference, the oracle, is missing), or None."""
        for op in self.requires:
            reason = face_missing(op, "reference")
            if reason:
                return reason
        return None

    def variant_missing(self, variant: str) -> str | None:
        """Why `variant` cannot run here, as far as is known without building it."""
        if variant == "opencv":
            return opencv_missing()
        face = VARIANT_FACE.get(variant)
        if face is None:
            return None
        for op in self.requires:
            reason = face_missing(op, face)
            if reason:
                return reason
        return None

    # ---- the worker's hooks ----

    def context(self, tf: Any, case: Case, store: DataStore, batch: int) -> Ctx:
        return Ctx(tf, case, store, batch)

    def source(self, ctx: Ctx) -> Any:
        raise NotImplementedError

    def pre(self, ctx: Ctx, *element: Any) -> tuple[Any, ...]:
        return element

    def tf_face(self, ctx: Ctx, face: str) -> Callable[..., Any]:
        raise Unavailable(f"no {face} face")

    def numpy_face(self, ctx: Ctx, face: str) -> Callable[..., Any]:
        raise Unavailable(f"no {face} face")

    def out_spec(self, ctx: Ctx) -> list[tuple[str, tuple[int, ...]]]:
        """(dtype, shape) of each output of one element."""
        raise NotImplementedError

    def batch_face(self, ctx: Ctx) -> Callable[..., Any]:
        raise Unavailable("the op has no batched form")

    def offline(self, ctx: Ctx) -> tuple[Callable[[Any], Any], Callable[[int], list[Any]]]:
        """A picklable function of one input, and `inputs(n)`: the first n inputs."""
        raise Unavailable("no offline form")

    def expected(self, ctx: Ctx) -> Any:
        """The reference output (the image) of element 0."""
        raise NotImplementedError

    def check_tolerance(self, ctx: Ctx) -> float:
        """Max |difference| from the reference allowed to gilfree's variants."""
        return self.tolerance

    # ---- building the pipelines (generic) ----

    def dataset(self, ctx: Ctx, variant: str, parallel_calls: int) -> tuple[Any, int]:
        """The infinite dataset of `variant` and the number of elements per dataset item."""
        tf = ctx.tf
        src = self.source(ctx)
        b = ctx.batch
        per_item = 1
        if variant in ("fallback", "gilfree", "tf_native"):
            face = self.tf_face(ctx, variant)
            ds = src.map(self._compose(ctx, face), num_parallel_calls=parallel_calls)
        elif variant in ("numpy_py_function", "opencv"):
            fn = self.numpy_face(ctx, "numpy" if variant == "numpy_py_function" else "opencv")
            wrapped = py_function(tf, fn, self.out_spec(ctx))
            ds = src.map(self._compose(ctx, wrapped), num_parallel_calls=parallel_calls)
        elif variant == "batched":
            face = self.batch_face(ctx)
            ds = self._batched_source(ctx, parallel_calls).map(
                face, num_parallel_calls=parallel_calls
            )
            per_item = b
        elif variant == "batched_map_fn":
            face = self.tf_face(ctx, "gilfree")
            self.batch_face(ctx)  # the same availability as the vectorized variant
            signature = self._signature(ctx)

            def map_fn(*batch: Any) -> Any:
                elems = batch if len(batch) > 1 else batch[0]
                return tf.map_fn(
                    lambda e: face(*(e if isinstance(e, tuple) else (e,))),
                    elems,
                    fn_output_signature=signature,
                )

            ds = self._batched_source(ctx, parallel_calls).map(
                map_fn, num_parallel_calls=parallel_calls
            )
            per_item = b
        elif variant == "map_then_batch":
            if self.batch_all:
                raise Unavailable("the same pipeline as 'gilfree' here: every variant batches")
            self.batch_face(ctx)  # only where the vectorized variant exists
            face = self.tf_face(ctx, "gilfree")
            ds = src.map(self._compose(ctx, face), num_parallel_calls=parallel_calls).batch(
                b, drop_remainder=True
            )
            per_item = b
        else:
            raise ValueError(f"unknown variant {variant!r}")
        if self.batch_all:
            if per_item == 1:
                ds = ds.batch(b, drop_remainder=True)
                per_item = b
            ds = ds.prefetch(tf.data.AUTOTUNE)
        return ds, per_item

    # ---- the serial part (the many-core projection) ----

    @staticmethod
    def skeleton_kind(variant: str) -> str:
        """Which tf.data skeleton bounds `variant`'s sequential tf.data work per element:
        "offline_pool" (consuming from_tensor_slices of the outputs; built by the runner) or
        "source" (``skeleton``)."""
        return "offline_pool" if variant == "offline_pool" else "source"

    def skeleton(self, ctx: Ctx) -> Any:
        """The part of every map variant's pipeline that tf.data runs one element at a time:
        the source, pulled by the consumer's loop, without the map. (The map calls run in
        parallel, and so do the copies into batches: tf.data fuses a map with the batch after
        it, and parallelizes batch copies, by default.)"""
        return self.source(ctx)

    def offline_dataset(self, ctx: Ctx, outputs: list[Any]) -> tuple[Any, int]:
        """Dataset.from_tensor_slices of the offline outputs (and the batching of the family)."""
        import numpy as np

        tf = ctx.tf
        if isinstance(outputs[0], tuple):
            arrays: Any = tuple(np.stack(column) for column in zip(*outputs, strict=True))
        else:
            arrays = np.stack(outputs)
        ds = tf.data.Dataset.from_tensor_slices(arrays)
        if self.batch_all:
            return ds.batch(ctx.batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE), ctx.batch
        return ds, 1

    def _compose(self, ctx: Ctx, face: Callable[..., Any]) -> Callable[..., Any]:
        def fn(*element: Any) -> Any:
            return face(*self.pre(ctx, *element))

        return fn

    def _batched_source(self, ctx: Ctx, parallel_calls: int) -> Any:
        """Elements after `pre`, batched (B), ready for a batch-wide map."""
        src = self.source(ctx)
        if type(self).pre is not Family.pre:
            src = src.map(lambda *e: self.pre(ctx, *e), num_parallel_calls=parallel_calls)
        return src.batch(ctx.batch, drop_remainder=True)

    def _signature(self, ctx: Ctx) -> Any:
        tf = ctx.tf
        specs = [tf.TensorSpec(shape, tf.as_dtype(dtype)) for dtype, shape in self.out_spec(ctx)]
        return specs[0] if len(specs) == 1 else tuple(specs)

    def image_of(self, output: Any, batched: bool) -> Any:
        """The image of element 0 from one dataset item (a NumPy structure)."""
        import numpy as np

        if isinstance(output, dict):
            output = output["image"]
        elif isinstance(output, tuple | list):
            output = output[self.image_index or 0]
        out = np.asarray(output)
        return out[0] if batched else out


def py_function(
    tf: Any, fn: Callable[..., Any], spec: list[tuple[str, tuple[int, ...]]]
) -> Callable[..., Any]:
    """`fn` (NumPy in, NumPy out) as a tf.py_function with the static shapes set."""
    dtypes = [tf.as_dtype(d) for d, _ in spec]

    def call(*tensors: Any) -> Any:
        result = fn(*(t.numpy() for t in tensors))
        return list(result) if isinstance(result, tuple) else [result]

    def wrapped(*tensors: Any) -> Any:
        outs = tf.py_function(call, list(tensors), Tout=dtypes)
        for out, (_, shape) in zip(outs, spec, strict=True):
            out.set_shape(shape)
        return outs[0] if len(outs) == 1 else tuple(outs)

    return wrapped


# ---- image ops -----------------------------------------------------------------------------


def _apply_reference(op: str, args: tuple[Any, ...], kwargs: dict[str, Any], image: Any) -> Any:
    """The offline worker's function: gilfree.reference.<op>(image, *args, **kwargs)."""
    import gilfree.reference

    return getattr(gilfree.reference, op)(image, *args, **kwargs)


Params = tuple[tuple[Any, ...], dict[str, Any]]


@dataclass
class ImageOpFamily(Family):
    """One gilfree op applied to in-memory images: ``op(image, *args, **kwargs)``.

    - ``params(case)``: the op's arguments after the image, the same for all four faces;
    - ``batch_params(case)``: the arguments for an [N, H, W, C] batch (default: ``params``);
    - ``tf_native(tf, case, params)``: a TensorFlow function of one image, or None with
      ``tf_native_missing`` saying why there is none;
    - ``opencv(cv2, case, params)``: a NumPy function of one image (may raise Unavailable),
      or None with ``opencv_missing_reason``;
    - ``out_dtype``: the output dtype (None: the input's).
    """

    name: str = ""
    op: str = ""
    description: str = ""
    params: Callable[[Case], Params] = lambda case: ((), {})
    batch_params: Callable[[Case], Params] | None = None
    tf_native: Callable[[Any, Case, Params], Callable[[Any], Any]] | None = None
    tf_native_missing: str = "no TensorFlow-native composition"
    opencv: Callable[[Any, Case, Params], Callable[[Any], Any]] | None = None
    opencv_missing_reason: str = "OpenCV has no counterpart"
    out_dtype: str | None = None
    channels: tuple[int, ...] = (3, 13)
    quick_channels: tuple[int, ...] = (13,)
    quick_variants: tuple[str, ...] | None = QUICK_VARIANTS
    tolerance: float = 1e-3

    def __post_init__(self) -> None:
        self.requires = (self.op,)

    def _out_dtype(self, case: Case) -> str:
        return self.out_dtype or case.dtype

    def context(self, tf: Any, case: Case, store: DataStore, batch: int) -> Ctx:
        ctx = Ctx(tf, case, store, batch)
        ctx.values["images"] = store.images(case)
        ctx.values["params"] = self.params(case)
        return ctx

    def source(self, ctx: Ctx) -> Any:
        if "source" not in ctx.values:
            tf = ctx.tf
            cached = tf.data.Dataset.from_tensor_slices(ctx.values["images"]).cache()
            for _ in cached:  # fill the cache once: later passes hand out references
                pass
            ctx.values["source"] = cached
        return ctx.values["source"].repeat()

    def tf_face(self, ctx: Ctx, face: str) -> Callable[..., Any]:
        args, kwargs = ctx.values["params"]
        if face == "tf_native":
            if self.tf_native is None:
                raise Unavailable(self.tf_native_missing)
            return self.tf_native(ctx.tf, ctx.case, ctx.values["params"])
        if face == "fallback":
            import gilfree.fallback

            fn = getattr(gilfree.fallback, self.op)
        else:
            import gilfree

            fn = getattr(gilfree, self.op)
        return lambda x: fn(x, *args, **kwargs)

    def numpy_face(self, ctx: Ctx, face: str) -> Callable[..., Any]:
        args, kwargs = ctx.values["params"]
        if face == "opencv":
            if self.opencv is None:
                raise Unavailable(self.opencv_missing_reason)
            import cv2

            return self.opencv(cv2, ctx.case, ctx.values["params"])
        import gilfree.numpy

        fn = getattr(gilfree.numpy, self.op)
        return lambda x: fn(x, *args, **kwargs)

    def out_spec(self, ctx: Ctx) -> list[tuple[str, tuple[int, ...]]]:
        c = ctx.case
        return [(self._out_dtype(c), (c.height, c.width, c.channels))]

    def batch_face(self, ctx: Ctx) -> Callable[..., Any]:
        import gilfree

        args, kwargs = (self.batch_params or self.params)(ctx.case)
        fn = getattr(gilfree, self.op)
        return lambda x: fn(x, *args, **kwargs)

    def offline(self, ctx: Ctx) -> tuple[Callable[[Any], Any], Callable[[int], list[Any]]]:
        args, kwargs = ctx.values["params"]
        images = ctx.values["images"]
        fn = functools.partial(_apply_reference, self.op, args, kwargs)
        return fn, lambda n: [images[i % len(images)] for i in range(n)]

    def expected(self, ctx: Ctx) -> Any:
        args, kwargs = ctx.values["params"]
        return _apply_reference(self.op, args, kwargs, ctx.values["images"][0])


# normalize


def _normalize_params(case: Case) -> Params:
    mean, std = data.band_stats(case.channels, case.dtype)
    return (mean, std), {}


def _tf_normalize(tf: Any, case: Case, params: Params) -> Callable[[Any], Any]:
    (mean, std), _ = params
    m = tf.constant(mean, tf.float32)
    s = tf.constant(std, tf.float32)
    return lambda x: (tf.cast(x, tf.float32) - m) / s


def _cv2_normalizer(
    cv2: Any, height: int, width: int, channels: int, mean: Sequence[float], std: Sequence[float]
) -> Callable[[Any], Any]:
    """Per-channel (x - mean) / std to float32 with OpenCV. Its per-channel scalars hold at most
    4 channels, so the image is viewed as one channel of H x (W C) values, and the channel
    means and reciprocal deviations are tiled to that shape once: cv2.subtract to float32,
    then cv2.multiply in place. This is the fastest correct form measured on the development
    VM for 3 and 13 channels (a Scalar on a 3-channel Mat was 2-3 times slower; split, per
    band and merge 3-4 times slower for 13 bands). It multiplies by 1 / std in float32:
    within a few float32 ulps of the reference's division."""
    import numpy as np

    shape = (height, width * channels)
    means = np.ascontiguousarray(
        np.broadcast_to(np.tile(np.asarray(mean, np.float32), width), shape)
    )
    scales = np.ascontiguousarray(
        np.broadcast_to(np.tile(1.0 / np.asarray(std, np.float64), width).astype(np.float32), shape)
    )

    def fn(x: Any) -> Any:
        y = cv2.subtract(x.reshape(shape), means, dtype=cv2.CV_32F)
        cv2.multiply(y, scales, dst=y)
        return y.reshape(height, width, channels)

    return fn


def _cv2_normalize(cv2: Any, case: Case, params: Params) -> Callable[[Any], Any]:
    (mean, std), _ = params
    return _cv2_normalizer(cv2, case.height, case.width, case.channels, mean, std)


def _cv2_per_band(cv2: Any, op: Callable[[Any], Any], x: Any) -> Any:
    """`op` (an OpenCV warp) on `x` [H, W, C]: in one call for 1, 3 or 4 channels, else band
    by band (cv2.split, then cv2.merge). OpenCV's warps refuse other channel counts (bicubic)
    or compute them differently: on 13-band uint16 tiles one cv2.warpAffine or cv2.remap call
    (OpenCV 5.1, bilinear) differed from the band-by-band result and from the reference by
    up to 130 levels, by more than 1 on 61-65 % of the elements (5 and 8 channels alike),
    where band by band it is within 1 level of the reference, and as fast or faster."""
    h, w = x.shape[:2]
    if x.ndim == 2 or x.shape[-1] in (1, 3, 4):
        return op(x).reshape(h, w, -1)
    return cv2.merge([op(band) for band in cv2.split(x)]).reshape(h, w, -1)


# percentile_stretch


def _tf_percentile_stretch(tf: Any, case: Case, params: Params) -> Callable[[Any], Any]:
    """Per-band exact percentiles (NumPy's linear method) from a full tf.sort of each band."""
    (low, high), _ = params
    n = case.height * case.width
    c = case.channels

    def percentile(sorted_: Any, q: float) -> Any:
        pos = q / 100.0 * (n - 1)
        lo = int(pos)
        hi = min(lo + 1, n - 1)
        frac = pos - lo
        a, b = sorted_[:, lo], sorted_[:, hi]
        return a + (b - a) * frac

    def fn(x: Any) -> Any:
        xf = tf.cast(x, tf.float32)
        bands = tf.sort(tf.transpose(tf.reshape(xf, [n, c])), axis=-1)
        lo, hi = percentile(bands, low), percentile(bands, high)
        return tf.clip_by_value((xf - lo) / (hi - lo), 0.0, 1.0)

    return fn


# warp_affine


def _warp_params(interpolation: str) -> Callable[[Case], Params]:
    def params(case: Case) -> Params:
        return (data.affine_matrix(case.height, case.width),), {"interpolation": interpolation}

    return params


def _warp_batch_params(interpolation: str) -> Callable[[Case], Params]:
    def params(case: Case) -> Params:
        matrix = data.affine_matrix(case.height, case.width)[None]  # [1, 2, 3] broadcasts
        return (matrix,), {"interpolation": interpolation}

    return params


def _tf_warp_bilinear(tf: Any, case: Case, params: Params) -> Callable[[Any], Any]:
    """tf.raw_ops.ImageProjectiveTransformV3 (bilinear, constant fill). It has no uint16
    kernel, so uint16 images go through float32 and back (rounded, saturated)."""
    (matrix,), _ = params
    inv = data.inverse_affine(matrix)
    transform = tf.constant(
        [[inv[0, 0], inv[0, 1], inv[0, 2], inv[1, 0], inv[1, 1], inv[1, 2], 0.0, 0.0]],
        tf.float32,
    )
    shape = tf.constant([case.height, case.width], tf.int32)
    native = case.dtype in ("uint8", "float32")

    def fn(x: Any) -> Any:
        image = x if native else tf.cast(x, tf.float32)
        y = tf.raw_ops.ImageProjectiveTransformV3(
            images=image[None],
            transforms=transform,
            output_shape=shape,
            fill_value=0.0,
            interpolation="BILINEAR",
            fill_mode="CONSTANT",
        )[0]
        return y if native else _saturate(tf, y, case.dtype)

    return fn


def _cv2_warp(flag_name: str) -> Callable[[Any, Case, Params], Callable[[Any], Any]]:
    def make(cv2: Any, case: Case, params: Params) -> Callable[[Any], Any]:
        (matrix,), _ = params
        flags = getattr(cv2, flag_name)
        size = (case.width, case.height)

        def warp(x: Any) -> Any:
            return cv2.warpAffine(
                x, matrix, size, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0
            )

        return lambda x: _cv2_per_band(cv2, warp, x)

    return make


# remap


def _remap_params(case: Case) -> Params:
    map_x, map_y = data.remap_maps(case.height, case.width)
    return (map_x, map_y), {"interpolation": "bilinear"}


def _tf_remap(tf: Any, case: Case, params: Params) -> Callable[[Any], Any]:
    """Bilinear remap from tf.gather: the four taps' flat indices and weights are computed once
    from the fixed maps (taps outside the image get weight 0: constant fill 0)."""
    import numpy as np

    (map_x, map_y), _ = params
    h, w, c = case.height, case.width, case.channels
    x0 = np.floor(map_x)
    y0 = np.floor(map_y)
    fx, fy = (map_x - x0).astype(np.float32), (map_y - y0).astype(np.float32)
    indices, weights = [], []
    for dy, dx, wt in ((0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)), (1, 0, (1 - fx) * fy)):
        indices.append((y0 + dy, x0 + dx))
        weights.append(wt)
    indices.append((y0 + 1, x0 + 1))
    weights.append(fx * fy)
    idx_t, w_t = [], []
    for (yy, xx), wt in zip(indices, weights, strict=True):
        valid = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
        flat = (np.clip(yy, 0, h - 1) * w + np.clip(xx, 0, w - 1)).astype(np.int32)
        idx_t.append(tf.constant(flat.reshape(-1)))
        w_t.append(tf.constant((wt * valid).astype(np.float32).reshape(-1, 1)))

    def fn(x: Any) -> Any:
        flat = tf.reshape(tf.cast(x, tf.float32), [h * w, c])
        y = tf.add_n([tf.gather(flat, i) * wt for i, wt in zip(idx_t, w_t, strict=True)])
        return _saturate(tf, tf.reshape(y, [h, w, c]), case.dtype)

    return fn


def _cv2_remap(cv2: Any, case: Case, params: Params) -> Callable[[Any], Any]:
    (map_x, map_y), _ = params

    def remap(x: Any) -> Any:
        return cv2.remap(x, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    return lambda x: _cv2_per_band(cv2, remap, x)


# ---- decoders --------------------------------------------------------------------------------


def _offline_np_load(path: str) -> Any:
    """The offline worker's decoder: numpy.load of one file."""
    import numpy as np

    return np.load(path)


class DecodeNpyFamily(Family):
    name = "decode_npy"
    description = "tf.io.read_file + decode of one .npy tile per element (files in the page cache)"
    requires = ("decode_npy",)
    files = ("npy",)
    tolerance = 0.0

    def context(self, tf: Any, case: Case, store: DataStore, batch: int) -> Ctx:
        ctx = Ctx(tf, case, store, batch)
        ctx.values["paths"] = store.npy_paths(case)
        ctx.values["shape"] = (case.height, case.width, case.channels)
        first = Path(ctx.values["paths"][0]).read_bytes()
        import numpy as np

        nbytes = int(np.prod(ctx.values["shape"])) * np.dtype(case.dtype).itemsize
        ctx.values["header_bytes"] = len(first) - nbytes
        return ctx

    def source(self, ctx: Ctx) -> Any:
        return ctx.tf.data.Dataset.from_tensor_slices(ctx.values["paths"]).repeat()

    def pre(self, ctx: Ctx, *element: Any) -> tuple[Any, ...]:
        return (ctx.tf.io.read_file(element[0]),)

    def batch_face(self, ctx: Ctx) -> Callable[..., Any]:
        raise Unavailable("decode_npy decodes one file per call: there is no batched form")

    def tf_face(self, ctx: Ctx, face: str) -> Callable[..., Any]:
        tf, case, shape = ctx.tf, ctx.case, ctx.values["shape"]
        if face == "tf_native":
            itemsize = tf.as_dtype(case.dtype).size
            header = ctx.values["header_bytes"]
            if header % itemsize:
                raise Unavailable("the .npy header is not a multiple of the item size")
            skip = header // itemsize

            def native(contents: Any) -> Any:
                flat = tf.io.decode_raw(contents, tf.as_dtype(case.dtype))
                return tf.reshape(flat[skip:], shape)

            return native
        if face == "fallback":
            import gilfree.fallback as module
        else:
            import gilfree as module  # type: ignore[no-redef]
        fn = module.decode_npy
        return lambda contents: fn(contents, case.dtype, shape=shape)

    def numpy_face(self, ctx: Ctx, face: str) -> Callable[..., Any]:
        if face == "opencv":
            raise Unavailable("OpenCV does not read .npy files")
        import gilfree.numpy

        shape, dtype = ctx.values["shape"], ctx.case.dtype
        return lambda contents: gilfree.numpy.decode_npy(contents, dtype, shape=shape)

    def out_spec(self, ctx: Ctx) -> list[tuple[str, tuple[int, ...]]]:
        return [(ctx.case.dtype, ctx.values["shape"])]

    def offline(self, ctx: Ctx) -> tuple[Callable[[Any], Any], Callable[[int], list[Any]]]:
        paths = ctx.values["paths"]
        return _offline_np_load, lambda n: [paths[i % len(paths)] for i in range(n)]

    def expected(self, ctx: Ctx) -> Any:
        return ctx.store.images(ctx.case)[0]


def _offline_read_record(spec: tuple[str, int, int, Any]) -> tuple[Any, Any]:
    """The offline worker's decoder: one record with numpy.fromfile and the structured dtype."""
    import numpy as np

    path, index, record_bytes, schema = spec
    record = np.fromfile(path, dtype=schema, count=1, offset=index * record_bytes)
    return record["label"][0], np.ascontiguousarray(record["image"][0])


class DecodeRecordsFamily(Family):
    name = "decode_records"
    description = (
        "FixedLengthRecordDataset of one-tile records (int32 label + image), decoded per "
        "record (or per batch of records)"
    )
    requires = ("decode_records",)
    files = ("records",)
    image_index = 1
    tolerance = 0.0

    def context(self, tf: Any, case: Case, store: DataStore, batch: int) -> Ctx:
        ctx = Ctx(tf, case, store, batch)
        schema = data.record_schema(case.height, case.width, case.channels, case.dtype)
        ctx.values["schema"] = schema
        ctx.values["path"] = str(store.records_path(case))
        ctx.values["shape"] = (case.height, case.width, case.channels)
        return ctx

    def source(self, ctx: Ctx) -> Any:
        tf = ctx.tf
        size = ctx.values["schema"].itemsize
        return tf.data.FixedLengthRecordDataset([ctx.values["path"]], size).repeat()

    def tf_face(self, ctx: Ctx, face: str) -> Callable[..., Any]:
        tf, case, schema, shape = ctx.tf, ctx.case, ctx.values["schema"], ctx.values["shape"]
        if face == "tf_native":
            offset = schema.fields["image"][1]
            nbytes = schema.itemsize - offset

            def native(record: Any) -> Any:
                label = tf.io.decode_raw(tf.strings.substr(record, 0, 4), tf.int32)[0]
                raw = tf.strings.substr(record, offset, nbytes)
                image = tf.reshape(tf.io.decode_raw(raw, tf.as_dtype(case.dtype)), shape)
                return label, image

            return native
        if face == "fallback":
            import gilfree.fallback as module
        else:
            import gilfree as module  # type: ignore[no-redef]
        fn = module.decode_records

        def decode(record: Any) -> Any:
            out = fn(record, schema)
            return out["label"][0], out["image"][0]

        return decode

    def numpy_face(self, ctx: Ctx, face: str) -> Callable[..., Any]:
        if face == "opencv":
            raise Unavailable("OpenCV does not read binary records")
        import gilfree.numpy

        schema = ctx.values["schema"]

        def decode(record: Any) -> Any:
            out = gilfree.numpy.decode_records(record, schema)
            return out["label"][0], out["image"][0]

        return decode

    def out_spec(self, ctx: Ctx) -> list[tuple[str, tuple[int, ...]]]:
        return [("int32", ()), (ctx.case.dtype, ctx.values["shape"])]

    def batch_face(self, ctx: Ctx) -> Callable[..., Any]:
        import gilfree

        schema = ctx.values["schema"]

        def decode(records: Any) -> Any:
            out = gilfree.decode_records(records, schema)
            return out["label"], out["image"]

        return decode

    def offline(self, ctx: Ctx) -> tuple[Callable[[Any], Any], Callable[[int], list[Any]]]:
        path, schema, distinct = ctx.values["path"], ctx.values["schema"], ctx.case.distinct
        return _offline_read_record, lambda n: [
            (path, i % distinct, schema.itemsize, schema) for i in range(n)
        ]

    def expected(self, ctx: Ctx) -> Any:
        return ctx.store.images(ctx.case)[0]


# ---- the combined pipeline -------------------------------------------------------------------


def _offline_pipeline(spec: tuple[str, int, Any, Any, Any]) -> tuple[Any, Any]:
    """The offline worker's pipeline: numpy.load, the reference warp (if any), normalize."""
    import numpy as np

    import gilfree.reference as ref

    path, label, matrix, mean, std = spec
    x = np.load(path)
    if matrix is not None:
        x = ref.warp_affine(x, matrix)
    return ref.normalize(x, mean, std), np.int32(label)


class PipelineFamily(Family):
    name = "pipeline"
    description = (
        "the realistic pipeline: read .npy tiles of a 13-band uint16 image, geometric "
        "correction (warp_affine, bilinear), band normalization to float32, batch, prefetch"
    )
    requires = ("decode_npy", "normalize")
    optional = ("warp_affine",)
    channels = (13,)
    quick_channels = (13,)
    quick_variants = (*QUICK_VARIANTS, "offline_pool", "batched")
    files = ("npy",)
    batch_all = True
    image_index = 0
    tolerance = 1e-3

    def check_tolerance(self, ctx: Ctx) -> float:
        # The warp rounds to uint16, where a tie may round either way by 1: 1 / std after
        # the normalization.
        return self.tolerance + 1.0 / min(ctx.values["std"])

    def geometry_missing(self) -> str | None:
        for face in ("reference", "numpy", "gilfree", "fallback"):
            reason = face_missing("warp_affine", face)
            if reason:
                return reason
        return None

    def context(self, tf: Any, case: Case, store: DataStore, batch: int) -> Ctx:
        import numpy as np

        ctx = Ctx(tf, case, store, batch)
        ctx.values["paths"] = store.npy_paths(case)
        ctx.values["labels"] = store.labels(case)
        ctx.values["shape"] = (case.height, case.width, case.channels)
        mean, std = data.band_stats(case.channels, case.dtype)
        ctx.values["mean"], ctx.values["std"] = mean, std
        missing = self.geometry_missing()
        ctx.values["matrix"] = (
            None if missing else data.affine_matrix(case.height, case.width).astype(np.float64)
        )
        ctx.values["steps"] = ["read_file", "decode_npy"]
        if missing is None:
            ctx.values["steps"].append("warp_affine")
        ctx.values["steps"] += ["normalize", "batch", "prefetch"]
        ctx.values["note"] = (
            None if missing is None else f"geometric correction left out ({missing})"
        )
        return ctx

    def source(self, ctx: Ctx) -> Any:
        tf = ctx.tf
        paths = tf.constant(ctx.values["paths"])
        labels = tf.constant(ctx.values["labels"])
        return tf.data.Dataset.from_tensor_slices((paths, labels)).repeat()

    def pre(self, ctx: Ctx, *element: Any) -> tuple[Any, ...]:
        path, label = element
        return ctx.tf.io.read_file(path), label

    def tf_face(self, ctx: Ctx, face: str) -> Callable[..., Any]:
        tf, case = ctx.tf, ctx.case
        shape, matrix = ctx.values["shape"], ctx.values["matrix"]
        mean, std = ctx.values["mean"], ctx.values["std"]
        if face == "tf_native":
            decode = DecodeNpyFamily().tf_face(
                Ctx(tf, case, ctx.store, ctx.batch, {"shape": shape, **self._header(ctx)}),
                "tf_native",
            )
            warp = None
            if matrix is not None:
                warp = _tf_warp_bilinear(
                    tf, Case(case.height, case.width, case.channels, "float32"), ((matrix,), {})
                )
            m, s = tf.constant(mean, tf.float32), tf.constant(std, tf.float32)

            def native(contents: Any, label: Any) -> Any:
                x = tf.cast(decode(contents), tf.float32)
                if warp is not None:
                    x = warp(x)
                return (x - m) / s, label

            return native
        if face == "fallback":
            import gilfree.fallback as module
        else:
            import gilfree as module  # type: ignore[no-redef]

        def run(contents: Any, label: Any) -> Any:
            x = module.decode_npy(contents, case.dtype, shape=shape)
            if matrix is not None:
                x = module.warp_affine(x, matrix)
            return module.normalize(x, mean, std), label

        return run

    def _header(self, ctx: Ctx) -> dict[str, Any]:
        import numpy as np

        first = Path(ctx.values["paths"][0]).read_bytes()
        nbytes = int(np.prod(ctx.values["shape"])) * np.dtype(ctx.case.dtype).itemsize
        return {"header_bytes": len(first) - nbytes}

    def numpy_face(self, ctx: Ctx, face: str) -> Callable[..., Any]:
        import numpy as np

        case, shape, matrix = ctx.case, ctx.values["shape"], ctx.values["matrix"]
        mean, std = ctx.values["mean"], ctx.values["std"]
        if face == "opencv":
            import io

            import cv2

            # OpenCV reads no .npy: NumPy decodes; the warp (band by band: see _cv2_per_band)
            # and the normalization are OpenCV's.
            normalize = _cv2_normalizer(cv2, case.height, case.width, case.channels, mean, std)
            size = (case.width, case.height)

            def warp(band: Any) -> Any:
                return cv2.warpAffine(
                    band,
                    matrix,
                    size,
                    flags=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_CONSTANT,
                    borderValue=0,
                )

            def with_cv2(contents: bytes, label: Any) -> Any:
                x = np.load(io.BytesIO(contents))
                if matrix is not None:
                    x = _cv2_per_band(cv2, warp, x)
                return normalize(x), label

            return with_cv2
        import gilfree.numpy as gn

        def native(contents: bytes, label: Any) -> Any:
            x = gn.decode_npy(contents, case.dtype, shape=shape)
            if matrix is not None:
                x = gn.warp_affine(x, matrix)
            return gn.normalize(x, mean, std), label

        return native

    def out_spec(self, ctx: Ctx) -> list[tuple[str, tuple[int, ...]]]:
        return [("float32", ctx.values["shape"]), ("int32", ())]

    def batch_face(self, ctx: Ctx) -> Callable[..., Any]:
        import gilfree

        matrix, mean, std = ctx.values["matrix"], ctx.values["mean"], ctx.values["std"]

        def run(images: Any, labels: Any) -> Any:
            if matrix is not None:
                images = gilfree.warp_affine(images, matrix[None])
            return gilfree.normalize(images, mean, std), labels

        return run

    def dataset(self, ctx: Ctx, variant: str, parallel_calls: int) -> tuple[Any, int]:
        if variant not in ("batched", "batched_map_fn"):
            return super().dataset(ctx, variant, parallel_calls)
        # Decode per element (one file per call), batch, then the rest on the batch.
        import gilfree

        tf, case, shape = ctx.tf, ctx.case, ctx.values["shape"]
        matrix, mean, std = ctx.values["matrix"], ctx.values["mean"], ctx.values["std"]

        def decode(path: Any, label: Any) -> Any:
            return gilfree.decode_npy(tf.io.read_file(path), case.dtype, shape=shape), label

        batches = self.source(ctx).map(decode, num_parallel_calls=parallel_calls)
        batches = batches.batch(ctx.batch, drop_remainder=True)
        if variant == "batched":
            fn = self.batch_face(ctx)
        else:

            def one(x: Any) -> Any:
                if matrix is not None:
                    x = gilfree.warp_affine(x, matrix)
                return gilfree.normalize(x, mean, std)

            def fn(images: Any, labels: Any) -> Any:
                out = tf.map_fn(one, images, fn_output_signature=tf.TensorSpec(shape, tf.float32))
                return out, labels

        ds = batches.map(fn, num_parallel_calls=parallel_calls).prefetch(tf.data.AUTOTUNE)
        return ds, ctx.batch

    def offline(self, ctx: Ctx) -> tuple[Callable[[Any], Any], Callable[[int], list[Any]]]:
        paths, labels = ctx.values["paths"], ctx.values["labels"]
        matrix, mean, std = ctx.values["matrix"], ctx.values["mean"], ctx.values["std"]
        return _offline_pipeline, lambda n: [
            (paths[i % len(paths)], int(labels[i % len(paths)]), matrix, mean, std)
            for i in range(n)
        ]

    def expected(self, ctx: Ctx) -> Any:
        image, _ = _offline_pipeline(
            (
                ctx.values["paths"][0],
                0,
                ctx.values["matrix"],
                ctx.values["mean"],
                ctx.values["std"],
            )
        )
        return image


# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------

FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Adds a family to the suite (``--ops`` selects by name)."""
    if family.name in FAMILIES:
        raise ValueError(f"family {family.name!r} registered twice")
    FAMILIES[family.name] = family
    return family


register(
    ImageOpFamily(
        name="normalize",
        op="normalize",
        description="per-channel (x - mean) / std to float32",
        params=_normalize_params,
        tf_native=_tf_normalize,
        opencv=_cv2_normalize,
        out_dtype="float32",
        quick_channels=(3,),
        quick_variants=None,
    )
)
register(
    ImageOpFamily(
        name="percentile_stretch",
        op="percentile_stretch",
        description="per-band 2/98 percentile clip and scale to [0, 1], float32",
        params=lambda case: ((2.0, 98.0), {}),
        tf_native=_tf_percentile_stretch,
        opencv_missing_reason="OpenCV has no percentile function",
        out_dtype="float32",
    )
)
register(
    ImageOpFamily(
        name="warp_affine_bilinear",
        op="warp_affine",
        description="affine warp (rotation, zoom, shift), bilinear, constant fill",
        params=_warp_params("bilinear"),
        batch_params=_warp_batch_params("bilinear"),
        tf_native=_tf_warp_bilinear,
        opencv=_cv2_warp("INTER_LINEAR"),
        tolerance=1.0,
    )
)
register(
    ImageOpFamily(
        name="warp_affine_bicubic",
        op="warp_affine",
        description="affine warp (rotation, zoom, shift), bicubic (Keys a = -0.75), constant fill",
        params=_warp_params("bicubic"),
        batch_params=_warp_batch_params("bicubic"),
        tf_native_missing="ImageProjectiveTransformV3 has no bicubic interpolation "
        "(nearest and bilinear only)",
        opencv=_cv2_warp("INTER_CUBIC"),
        tolerance=1.0,
    )
)
register(
    ImageOpFamily(
        name="remap",
        op="remap",
        description="dense coordinate maps (lens distortion), bilinear, constant fill",
        params=_remap_params,
        tf_native=_tf_remap,
        opencv=_cv2_remap,
        tolerance=1.0,
    )
)
register(DecodeNpyFamily())
register(DecodeRecordsFamily())
register(PipelineFamily())
