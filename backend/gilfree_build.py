"""The PEP 517 build backend: scikit-build-core, with TensorFlow as a build requirement only
when the TensorFlow op library is built.

The op library compiles against TensorFlow's headers, so a full build needs the `tf` extra's
TensorFlow in pip's build environment. A NumPy-only build
(``pip install . -C cmake.define.GILFREE_BUILD_TF_OPS=OFF``, or the environment variable
``SKBUILD_CMAKE_DEFINE=GILFREE_BUILD_TF_OPS=OFF``) compiles the core and the NumPy module
alone, and pip downloads no TensorFlow for it. The requirement is read from the `tf` extra
in pyproject.toml, so the pinned version is written once.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from scikit_build_core import build as _backend
from scikit_build_core.build import (  # noqa: F401  (the hooks pip calls as they are)
    build_editable,
    build_sdist,
    build_wheel,
    get_requires_for_build_sdist,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)

OPTION = "GILFREE_BUILD_TF_OPS"
_OFF = {"off", "0", "false", "no", "n"}


def _setting(config_settings: dict[str, Any] | None) -> str | None:
    """The value given to GILFREE_BUILD_TF_OPS by a config setting or SKBUILD_CMAKE_DEFINE."""
    value = (config_settings or {}).get(f"cmake.define.{OPTION}")
    if isinstance(value, list):  # a setting given more than once: the last one counts
        value = value[-1] if value else None
    if value is not None:
        return str(value)
    for item in os.environ.get("SKBUILD_CMAKE_DEFINE", "").split(";"):
        name, _, given = item.partition("=")
        if name.strip() == OPTION:
            value = given.strip()
    return value


def builds_tf_ops(config_settings: dict[str, Any] | None = None) -> bool:
    value = _setting(config_settings)
    return value is None or value.strip().lower() not in _OFF


def tensorflow_requirements() -> list[str]:
    """The `tf` extra of pyproject.toml (the build runs in the source tree)."""
    project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
    return list(project["optional-dependencies"]["tf"])


def _with_tensorflow(requires: list[str], config_settings: dict[str, Any] | None) -> list[str]:
    if builds_tf_ops(config_settings):
        return [*requires, *tensorflow_requirements()]
    return list(requires)


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    return _with_tensorflow(_backend.get_requires_for_build_wheel(config_settings), config_settings)


def get_requires_for_build_editable(config_settings: dict[str, Any] | None = None) -> list[str]:
    return _with_tensorflow(
        _backend.get_requires_for_build_editable(config_settings), config_settings
    )
