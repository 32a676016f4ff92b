"""``--train``: does the input pipeline keep an accelerator fed?

A small Keras convolutional model is trained with ``model.fit`` on the combined pipeline
(``families.PipelineFamily``: read ``.npy`` tiles, geometric correction, normalization,
batch, prefetch), on a GPU when TensorFlow sees one and on the CPU otherwise, three ways:

- ``in_memory``: batches of the gilfree pipeline materialized in memory beforehand
  (``take(K).cache()``, filled before timing): the step time of the model alone;
- ``fallback``: the pipeline built on ``gilfree.fallback`` (``tf.py_function``);
- ``gilfree``: the pipeline built on the gilfree ops.

A Keras callback times each step (``on_train_batch_begin`` to ``on_train_batch_end``). Keras 3
pulls the next batch inside the step function, so a step's time is the wait for its input
plus the model's compute. The share of a step spent waiting for input is therefore
``1 - t_in_memory / t_pipeline`` (median step times; 0 when the pipeline keeps up). Steps per
second are the timed steps over the wall time from the first timed step's start to the last
one's end. Each fit starts with warm-up steps (tracing, XLA compilation, the pipeline's
start) that are not timed; the three datasets are trained in interleaved rounds.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path
from typing import Any


def build_model(keras: Any, shape: tuple[int, int, int], classes: int = 10) -> Any:
    inputs = keras.Input(shape)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(inputs)
    x = keras.layers.Conv2D(32, 3, strides=2, activation="relu")(x)
    x = keras.layers.Conv2D(64, 3, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(classes)(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def train_worker(config_path: str) -> int:
    cfg = json.loads(Path(config_path).read_text())
    cpus = [int(c) for c in cfg["cpus"]]
    from gilfree.bench.machine import import_tensorflow, pin_to_cpus

    pin_to_cpus(cpus)
    tf = import_tensorflow(threads=len(cpus))
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    try:
        import gilfree.fallback  # noqa: F401  (so that face_missing can see its ops)
    except Exception:
        pass
    from gilfree.bench import families as fam
    from gilfree.bench.runner import TICK

    family = fam.FAMILIES["pipeline"]
    case = fam.Case.from_json(cfg["case"])
    store = fam.DataStore(Path(cfg["data_dir"]), cfg["seed"])
    ctx = family.context(tf, case, store, cfg["batch"])
    warmup, steps, rounds = int(cfg["warmup"]), int(cfg["steps"]), int(cfg["rounds"])

    def tick(n: int, label: str) -> None:
        print(f"{TICK}{n} train | {label}", flush=True)

    unavailable: dict[str, str] = {}
    datasets: dict[str, Any] = {}
    for variant in ("fallback", "gilfree"):
        reason = family.variant_missing(variant)
        if reason:
            unavailable[variant] = reason
            continue
        datasets[variant], _ = family.dataset(ctx, variant, tf.data.AUTOTUNE)
    if not datasets:
        out: dict[str, Any] = {"error": "no pipeline to train on", "unavailable": unavailable}
        Path(cfg["result_path"]).write_text(json.dumps({"train": out}) + "\n")
        tick(rounds * 3, "skipped")
        return 0
    source = datasets.get("gilfree") or next(iter(datasets.values()))
    cached = source.take(int(cfg["cached_batches"])).cache()
    for _ in cached:  # materialize before any timing
        pass
    order = {"in_memory": cached.repeat(), **datasets}

    gpus = tf.config.list_physical_devices("GPU")
    device = "GPU" if gpus else "CPU"
    gpu_names = []
    for gpu in gpus:
        try:
            gpu_names.append(tf.config.experimental.get_device_details(gpu).get("device_name"))
        except Exception:
            gpu_names.append(gpu.name)
    keras.utils.set_random_seed(int(cfg["seed"]) % 2**31)
    model = build_model(keras, (case.height, case.width, case.channels))

    class StepTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.begins: list[float] = []
            self.ends: list[float] = []

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            self.begins.append(time.perf_counter())

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.ends.append(time.perf_counter())

    samples: dict[str, list[dict[str, float]]] = {name: [] for name in order}
    for r in range(rounds):
        for name, ds in order.items():
            timer = StepTimer()
            model.fit(ds, epochs=1, steps_per_epoch=warmup + steps, verbose=0, callbacks=[timer])
            durations = [e - b for b, e in zip(timer.begins, timer.ends, strict=True)][warmup:]
            wall = timer.ends[-1] - timer.begins[warmup]
            samples[name].append(
                {"steps_per_s": steps / wall, "step_s_median": statistics.median(durations)}
            )
            tick(1, f"round {r + 1}/{rounds} {name}")

    results: dict[str, Any] = {}
    for name, runs in samples.items():
        rates = [s["steps_per_s"] for s in runs]
        step = statistics.median(s["step_s_median"] for s in runs)
        results[name] = {
            "steps_per_s": statistics.median(rates),
            "steps_per_s_min": min(rates),
            "steps_per_s_max": max(rates),
            "step_s_median": step,
            "images_per_s": statistics.median(rates) * ctx.batch,
            "rounds": runs,
        }
    base = results["in_memory"]["step_s_median"]
    for name, res in results.items():
        res["input_wait_share"] = (
            0.0 if name == "in_memory" else max(0.0, 1.0 - base / res["step_s_median"])
        )
    out = {
        "tensorflow": tf.__version__,
        "device": device,
        "gpus": gpu_names,
        "cores": len(cpus),
        "case": case.to_json(),
        "batch": ctx.batch,
        "steps": steps,
        "warmup_steps": warmup,
        "rounds": rounds,
        "cached_batches": int(cfg["cached_batches"]),
        "pipeline_steps": ctx.values["steps"],
        "note": ctx.values.get("note"),
        "model": "Conv2D(16,3,s2)-Conv2D(32,3,s2)-Conv2D(64,3,s2)-GlobalAvgPool-Dense(10), "
        f"{model.count_params()} parameters, Adam, sparse categorical cross-entropy",
        "results": results,
        "unavailable": unavailable,
    }
    Path(cfg["result_path"]).write_text(json.dumps({"train": out}) + "\n")
    return 0
