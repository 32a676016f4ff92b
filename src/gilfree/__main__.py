"""``python -m gilfree info``: what this installation of gilfree was built for and runs on.

Paste its output into a bug report. It prints the gilfree, Python and NumPy versions; the
TensorFlow version the op library was built for and the one importable now; the op
library's path and whether it loads; the SIMD target in use and the targets built in
(with whether this CPU runs them); the compiler; and the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def collect() -> dict[str, str]:
    """The report as (field, value) pairs, in print order."""
    import numpy as np

    import gilfree
    from gilfree import _native

    here = Path(gilfree.__file__).resolve().parent
    info: dict[str, str] = {
        "gilfree": gilfree.__version__,
        "location": str(here),
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": platform.platform(),
        "cpu": f"{_cpu_model()} ({os.cpu_count()} logical CPUs)",
        "numpy": np.__version__,
    }
    targets = _native.simd_targets()
    info["simd target in use"] = _native.simd_level() + (
        f" (forced by GILFREE_SIMD={os.environ['GILFREE_SIMD']})"
        if "GILFREE_SIMD" in os.environ
        else ""
    )
    info["simd targets built"] = ", ".join(
        f"{name} ({'runs here' if runs else 'not on this CPU'})" for name, runs in targets
    )
    info["compiler (NumPy module)"] = _native.compiler()
    info["tiff codecs"] = "none, lzw, deflate, packbits, " + (
        "zstd" if _native.tiff_has_zstd() else "no zstd (libzstd was not found at build time)"
    )

    build_info_path = here / "_build_info.json"
    library = here / "_gilfree_ops.so"
    if build_info_path.exists():
        build = json.loads(build_info_path.read_text())
        info["tensorflow built for"] = build.get("tensorflow_version", "unknown")
        info["compiler (op library)"] = build.get("compiler", "unknown")
    else:
        info["tensorflow built for"] = "none (built without the TensorFlow op library)"
    try:
        import tensorflow as tf

        info["tensorflow importable"] = tf.__version__
    except ImportError as e:
        info["tensorflow importable"] = f"no ({e})"
    info["op library"] = str(library) if library.exists() else f"missing ({library})"
    if library.exists() and not info["tensorflow importable"].startswith("no"):
        try:
            gilfree.load_ops()
            info["op library loads"] = "yes"
        except Exception as e:  # the report must print whatever went wrong
            info["op library loads"] = f"no: {e}"
    else:
        info["op library loads"] = "no (no op library or no TensorFlow)"
    return info


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gilfree", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print what gilfree was built for and runs on")
    parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's banners out
    info = collect()
    width = max(map(len, info))
    for key, value in info.items():
        print(f"{key + ':':<{width + 1}} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
