"""The inputs kept from fuzzing (cpp/fuzz/regressions/<target>/, docs/fuzzing.md), run
through the Python faces.

The fuzz targets call the core directly; these tests take the same bytes through every
face of the decoder they exercise and check the result against NumPy's own reading of
them: ``np.load`` for .npy files and .npz archives, ``np.frombuffer`` with a structured
dtype for records. Where NumPy cannot read the bytes either, every face must raise its
clear error (ValueError on the NumPy faces, InvalidArgumentError on the TF faces).

fuzz_inflate's kept inputs are raw deflate streams whose findings (the count of input
bytes consumed) no face exposes, and fuzz_warp_params' inputs are in that target's own
layout; both are replayed by .ci/fuzz only.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from decode_helpers import (
    FACES,
    assert_same_array,
    decode_npy,
    decode_npz,
    decode_records,
    native,
    raises,
)

REGRESSIONS = Path(__file__).resolve().parent.parent / "cpp" / "fuzz" / "regressions"

# fuzz_records' dtype codes (cpp/core/dtype.h order); bfloat16 (5) has no NumPy dtype.
RECORD_DTYPES = {
    0: "u1",
    1: "u2",
    2: "i2",
    3: "i4",
    4: "f2",
    6: "f4",
    7: "?",
    8: "i1",
    9: "i8",
    10: "u4",
    11: "u8",
    12: "f8",
}


def kept(target: str) -> list[Path]:
    folder = REGRESSIONS / target
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix != ".md")


def test_every_kept_decoder_finding_is_run_here() -> None:
    # Findings of the decoder targets run through the faces below; fuzz_inflate's and
    # fuzz_warp_params' are replayed by .ci/fuzz only (see the module docstring).
    present = {p.name for p in REGRESSIONS.iterdir() if p.is_dir() and any(p.iterdir())}
    assert present - {"fuzz_inflate", "fuzz_warp_params"} <= set(CHECKS), present
    assert kept("fuzz_npy") and kept("fuzz_records")


# --------------------------------------------------------------------------- .npy / .npz


def _numpy_npy(contents: bytes) -> np.ndarray | None:
    try:
        return np.load(io.BytesIO(contents), allow_pickle=False)
    except (ValueError, OSError, EOFError, TypeError):
        return None


def _header_dtype(contents: bytes) -> np.dtype:
    """The dtype the file's header states, read by NumPy; uint8 when it cannot read one."""
    f = io.BytesIO(contents)
    try:
        version = np.lib.format.read_magic(f)
        reader = {(1, 0): np.lib.format.read_array_header_1_0}.get(
            version, np.lib.format.read_array_header_2_0
        )
        return native(reader(f)[2])
    except (ValueError, OSError, EOFError, TypeError):
        return np.dtype(np.uint8)


def check_npy(path: Path, face: str) -> None:
    contents = path.read_bytes()
    expected = _numpy_npy(contents)
    if expected is None:
        with raises(face, ValueError, "contents"):
            decode_npy(face, contents, _header_dtype(contents))
    else:
        assert_same_array(decode_npy(face, contents, expected.dtype), expected, path.name)


def check_npz(path: Path, face: str) -> None:
    contents = path.read_bytes()
    try:
        with zipfile.ZipFile(io.BytesIO(contents)) as zf:
            names = [n[:-4] if n.endswith(".npy") else n for n in zf.namelist()]
        with np.load(io.BytesIO(contents), allow_pickle=False) as npz:
            expected = {name: npz[name] for name in names}
    except (ValueError, OSError, EOFError, TypeError, KeyError, zipfile.BadZipFile):
        expected = None
    if not expected:
        with raises(face, ValueError, "contents|member"):
            decode_npz(face, contents, {"x": np.uint8})
        return
    got = decode_npz(face, contents, {name: a.dtype for name, a in expected.items()})
    for name, a in expected.items():
        assert_same_array(got[name], a, (path.name, name))


# --------------------------------------------------------------------------- records


def _records_case(raw: bytes) -> tuple[np.dtype, bytes | list[bytes], int, int]:
    """A kept fuzz_records input (layout: cpp/fuzz/fuzz_records.cc) as a NumPy
    structured dtype, the contents, header_bytes and footer_bytes."""
    flags, record_bytes, header, footer = struct.unpack_from("<Bhbb", raw)
    num_fields = (flags & 7) + 1
    names, formats, offsets = [], [], []
    for i in range(num_fields):
        offset, code, count = struct.unpack_from("<hBh", raw, 5 + 5 * i)
        base = np.dtype(RECORD_DTYPES[(code & 0x7F) % 13])
        if base.itemsize > 1:
            base = base.newbyteorder(">" if code & 0x80 else "<")
        names.append(f"f{i}")
        formats.append((base, (count,)) if count != 1 else base)
        offsets.append(offset)
    schema = np.dtype(
        {"names": names, "formats": formats, "offsets": offsets, "itemsize": record_bytes}
    )
    body = raw[5 + 5 * num_fields :]
    if flags & 8:
        length = header + record_bytes + footer
        return schema, [body[i : i + length] for i in range(0, len(body), length)], header, footer
    return schema, body, header, footer


def _numpy_records(schema: np.dtype, contents: bytes | list[bytes], header: int, footer: int):
    strings = contents if isinstance(contents, list) else [contents]
    parts = []
    for s in strings:
        body = s[header : len(s) - footer] if footer else s[header:]
        if header + footer > len(s) or len(body) % schema.itemsize:
            return None
        if isinstance(contents, list) and len(body) != schema.itemsize:
            return None
        parts.append(body)
    return np.frombuffer(b"".join(parts), schema)


def check_records(path: Path, face: str) -> None:
    schema, contents, header, footer = _records_case(path.read_bytes())
    expected = _numpy_records(schema, contents, header, footer)
    kwargs = {"header_bytes": header, "footer_bytes": footer}
    if expected is None:
        with raises(face, ValueError, "contents|record"):
            decode_records(face, contents, schema, **kwargs)
        return
    got = decode_records(face, contents, schema, **kwargs)
    for name in schema.names:
        assert_same_array(got[name], expected[name], (path.name, name))


# --------------------------------------------------------------------------- every finding

CHECKS = {"fuzz_npy": check_npy, "fuzz_npz": check_npz, "fuzz_records": check_records}
FINDINGS = [
    pytest.param(target, path, id=f"{target}/{path.name}")
    for target in CHECKS
    if (REGRESSIONS / target).is_dir()
    for path in kept(target)
]


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize(("target", "path"), FINDINGS)
def test_finding(target: str, path: Path, face: str) -> None:
    CHECKS[target](path, face)


def test_empty_field_finding_is_what_it_says() -> None:
    # The kept input has a field of zero elements between non-empty records.
    schema, contents, _, _ = _records_case(
        (REGRESSIONS / "fuzz_records" / "empty-field-null-output.bin").read_bytes()
    )
    assert schema["f0"].shape == (0,) and schema.itemsize == 4
    assert len(contents) == 8
