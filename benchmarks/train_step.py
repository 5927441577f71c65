r"""Training step throughput: iterations/s, images/s, peak memory, compile time.

  python benchmarks/train_step.py --config=configs/quickstart.py --json
  python benchmarks/train_step.py --config=configs/mnist.py --steps=20

Times the jitted GAN step of ``inr_gan_jax.train.step`` (D step with R1 on the
R1 steps, G step, EMA) on a fixed batch of the config's data, on all local
devices, as ``train.py`` runs it. Lazy R1 (``train.r1_interval > 1``) is timed
in its real mix: the steps cycle through the interval. Peak memory is the
process's resident high-water mark (``VmHWM``), which on CPU holds the arrays
too. Results: docs/benchmarks.md.
"""
import json
import os
import statistics
import sys
import time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
  sys.path.insert(0, _ROOT)

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import jax
from ml_collections import config_flags

from inr_gan_jax import data as data_lib
from inr_gan_jax.train import loop as train
from inr_gan_jax.train import step as train_step_lib

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file.")
_STEPS = flags.DEFINE_integer("steps", 40, "Timed steps (after warm-up of every compiled variant).")
_JSON = flags.DEFINE_bool("json", False, "Print one JSON object.")


def peak_rss_mb() -> float:
  try:
    with open("/proc/self/status") as f:
      for line in f:
        if line.startswith("VmHWM:"):
          return int(line.split()[1]) / 1024.0
  except OSError:
    pass
  return float("nan")


def main(argv):
  del argv
  config = _CONFIG.value
  t = config.train
  mesh = train.make_mesh()
  trainer = train_step_lib.Trainer(config, mesh)
  state = trainer.create_state(config.seed)
  source = data_lib.build_source(config.data, config.model.resolution)
  local = data_lib.process_local_batch(source, t.batch_size, config.seed, 0,
                                       jax.process_index(), jax.process_count())
  batch = jax.make_array_from_process_local_data(trainer.batch_sharding, local)

  compile_s = {}
  for apply_r1 in sorted({True, t.r1_interval == 1}):
    start = time.perf_counter()
    trainer.jit_step.lower(state, batch, apply_r1).compile()
    compile_s[f"r1={apply_r1}"] = time.perf_counter() - start
    state, metrics = trainer.jit_step(state, batch, apply_r1)   # warm-up of this variant
    jax.block_until_ready(metrics)

  times = []
  for step in range(_STEPS.value):
    start = time.perf_counter()
    state, metrics = trainer.jit_step(state, batch, step % t.r1_interval == 0)
    jax.block_until_ready(metrics)
    times.append(time.perf_counter() - start)
  mean_s = statistics.fmean(times)
  result = {
      "config": os.path.basename(config_flags.get_config_filename(flags.FLAGS["config"])),
      "devices": jax.device_count(),
      "platform": jax.devices()[0].platform,
      "batch_size": t.batch_size,
      "resolution": config.model.resolution,
      "r1_interval": t.r1_interval,
      "steps_timed": len(times),
      "iterations_per_s": 1.0 / mean_s,
      "images_per_s": t.batch_size / mean_s,
      "median_step_s": statistics.median(times),
      "compile_s": compile_s,
      "peak_rss_mb": peak_rss_mb(),
  }
  if _JSON.value:
    print(json.dumps(result, indent=1))
  else:
    for k, v in result.items():
      print(f"{k:>18}: {v}")


if __name__ == "__main__":
  flags.mark_flag_as_required("config")
  app.run(main)
