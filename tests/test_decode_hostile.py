"""Hostile bytes: every face rejects every case of the corpus with the right error.

The corpus is built by ``hostile_corpus.py`` from files NumPy writes (mutated: truncated
at every prefix, header fields edited, ZIP directory fields and deflate bits broken,
records off by some bytes). Every case must raise ValueError (NumPy faces) or
InvalidArgumentError (TF faces) naming ``contents`` with one of the words the spec
allows: never crash, never return, never allocate what the bytes cannot justify. The
TF faces, slower, run all cases except the prefix truncations, of which they run an
evenly spread sample. The files committed under ``tests/data/hostile`` (when present)
are run on every face as well.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import numpy as np
import pytest
import tensorflow as tf
from decode_helpers import FACES, error_type, face_dtype, face_fn, is_tf, message, raises
from hostile_corpus import (
    DEFAULT_DIR,
    base_npy,
    build_corpus,
    npz_bytes,
    read_manifest,
    sample,
)

CORPUS = build_corpus()
SAMPLED = {case.name for case in sample(CORPUS)}
PARAMS = [
    (face, case.name)
    for face in FACES
    for case in CORPUS
    if not is_tf(face) or case.name in SAMPLED
]


@pytest.fixture(scope="module")
def corpus():
    return {case.name: case for case in build_corpus()}


def call(face: str, op: str, contents: bytes | list[bytes], args: dict[str, Any]) -> Any:
    fn = face_fn(face, op)
    if is_tf(face):
        if isinstance(contents, list):
            contents = tf.constant(contents, tf.string, shape=[len(contents)])
        else:
            contents = tf.constant(contents)
    if op == "decode_npy":
        return fn(contents, face_dtype(face, args["dtype"]))
    if op == "decode_npz":
        return fn(contents, {name: face_dtype(face, dt) for name, dt in args["spec"].items()})
    schema = np.dtype(ast.literal_eval(args["schema"]))
    skip = {k: args[k] for k in ("header_bytes", "footer_bytes") if k in args}
    return fn(contents, schema, **skip)


@pytest.mark.parametrize("face,name", PARAMS)
def test_hostile_input_is_rejected(face, name, corpus):
    """README (Record decoding): bad bytes raise InvalidArgumentError / ValueError naming `contents`
    and what was wrong (truncated, header, shape, descr, trailing, zip, deflate, CRC, member,
    record); every face is fed the corpus: truncations, overflowing shapes, bad descrs, corrupt
    ZIP directories, deflate streams that inflate past their stated size, bad CRCs (CRC-32 is
    checked).
    """
    case = corpus[name]
    with raises(face, ValueError, r"\bcontents\b", case.words):
        call(face, case.op, case.contents, case.args)


@pytest.mark.parametrize("face", FACES)
def test_committed_corpus_files(face):
    """README (Record decoding): a sample of the corpus is kept in tests/data/hostile/, and every
    face rejects it.
    """
    failures = []
    manifest = read_manifest()
    for filename, entry in manifest.items():
        contents = (DEFAULT_DIR / filename).read_bytes()
        try:
            call(face, entry["op"], contents, entry["args"])
        except error_type(face) as exc:
            text = message(exc)
            for pattern in (r"\bcontents\b", entry["words"]):
                if not re.search(pattern, text):
                    failures.append(f"{filename}: message {text!r} does not match {pattern!r}")
        else:
            failures.append(f"{filename}: returned without an error")
    assert not failures, "\n".join(failures)


def test_corpus_covers_every_prefix():
    """README (Record decoding): the hostile corpus has truncations at every length."""
    names = {case.name for case in CORPUS}
    npy = base_npy()
    assert all(f"npy-prefix-{k:04d}" in names for k in range(len(npy)))
    for label, compressed in (("stored", False), ("deflated", True)):
        size = len(npz_bytes(compressed, a=np.arange(6, dtype="<i2")))
        assert all(f"npz-{label}-prefix-{k:04d}" in names for k in range(size)), label
    sampled_prefixes = [n for n in SAMPLED if "-prefix-" in n]
    assert 0 < len(sampled_prefixes) <= 3 * 16


def test_committed_corpus_is_small():
    manifest = read_manifest()
    total = sum((DEFAULT_DIR / name).stat().st_size for name in manifest)
    assert total < 200 * 1024, total
