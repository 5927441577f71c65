r"""Training step throughput and where its time goes, against this machine's matmul speed.

  python benchmarks/train_step.py --config=configs/quickstart.py --json
  python benchmarks/train_step.py --config=configs/mnist.py --steps=20
  python benchmarks/train_step.py --config=configs/lsun256.py --config.train.batch_size=2 --steps=3

Times the jitted GAN step of ``inr_gan_jax.train.step`` (D step with R1 on the
R1 steps, G step, EMA) on a fixed batch of the config's data, on all local
devices, as ``train.py`` runs it. Lazy R1 (``train.r1_interval > 1``) is timed
in its real mix: the steps cycle through the interval. Peak memory is the
process's resident high-water mark (``VmHWM``), which on CPU holds the arrays
too.

FLOPs per step are XLA's own count (``compiled.cost_analysis()``) of each
compiled variant (R1 / plain), mixed as the interval mixes them. The
reference is the batched matmul of ``generator_throughput.py`` (the shape of
the generator's dominant INR layer), timed in blocks interleaved with the
steps and time-matched to them, so ``roofline_fraction`` (achieved FLOP/s over
the reference's) compares two numbers taken under the same machine state.

The breakdown times jitted pieces of the step on the same state and batch:
G forward (the fakes D sees), D forward + backward without and with R1
(their difference is R1), G forward + backward through D (the G loss), and
the whole step; "optimiser + EMA + rest" is what the whole step has beyond
the pieces. Results: docs/benchmarks.md.
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

import jax.numpy as jnp

from benchmarks import common
from inr_gan_jax import data as data_lib
from inr_gan_jax.train import loop as train
from inr_gan_jax.train import losses
from inr_gan_jax.train import step as train_step_lib
from inr_gan_jax.utils import image_utils

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


def xla_flops(compiled) -> float:
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  return float(cost.get("flops", float("nan")))


def pieces(trainer, state, batch):
  """Jitted pieces of the step, each ``() -> arrays``, on the given state and batch."""
  t = trainer.config.train
  g, d = state["g"], state["d"]
  z = trainer.generator.sample_z(jax.random.key(1), batch.shape[0])
  x = image_utils.to_float_jnp(batch)

  g_fwd = jax.jit(lambda g, z: trainer._fakes(g, z)[0])
  fakes = g_fwd(g, z)

  def d_step(apply_r1):
    def fn(d, x, fakes):
      loss_fn = lambda p: losses.d_loss_with_r1(trainer._d_apply(p), x, fakes,  # noqa: E731
                                                t.r1_gamma, t.r1_interval, apply_r1)
      return jax.value_and_grad(loss_fn, has_aux=True)(d)
    return jax.jit(fn)

  def g_loss(g, d, z):
    images, _ = trainer._fakes(g, z)
    return losses.g_nonsaturating_loss(trainer._d_apply(d)(images))
  g_step = jax.jit(jax.value_and_grad(g_loss))
  d_plain, d_r1 = d_step(False), d_step(True)
  return {
      "g_forward": lambda: g_fwd(g, z),
      "d_forward_backward": lambda: d_plain(d, x, fakes),
      "d_forward_backward_r1": lambda: d_r1(d, x, fakes),
      "g_forward_backward": lambda: g_step(g, d, z),
  }


def breakdown(trainer, state, batch, repeats: int) -> dict:
  """Median seconds of each piece, and the R1 / optimiser shares derived from them."""
  fns = pieces(trainer, state, batch)
  for fn in fns.values():
    jax.block_until_ready(fn())  # compile + warm up
  samples = {k: [] for k in fns}
  for _ in range(repeats):  # round-robin: a busy neighbour hits every piece alike
    for k, fn in fns.items():
      samples[k].append(common.time_once(fn))
  times = {k: statistics.median(v) for k, v in samples.items()}
  times["r1"] = times["d_forward_backward_r1"] - times["d_forward_backward"]
  return times


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

  flops = {}
  for apply_r1 in sorted({True, t.r1_interval == 1}):
    flops[apply_r1] = xla_flops(trainer.jit_step.lower(state, batch, apply_r1).compile())
  flops.setdefault(False, flops[True])
  flops_per_step = (flops[True] + (t.r1_interval - 1) * flops[False]) / t.r1_interval

  # Reference matmul, time-matched to one step and interleaved with the steps.
  gen = trainer.generator
  ref = common.dominant_layer(gen) if hasattr(gen, "layout") else {"N": 4096, "K": 512, "O": 512}
  ka, kb = jax.random.split(jax.random.key(7))
  rb = max(1, t.batch_size)
  xm = jax.random.normal(ka, (rb, ref["N"], ref["K"]), jnp.float32)
  wm = jax.random.normal(kb, (rb, ref["K"], ref["O"]), jnp.float32)
  matmul = jax.jit(lambda a, b: jnp.einsum("bnk,bko->bno", a, b))
  ref_flops = 2.0 * rb * ref["N"] * ref["K"] * ref["O"]
  jax.block_until_ready(matmul(xm, wm))
  start = time.perf_counter()  # one plain step (the state is donated: keep the new one)
  state, metrics = trainer.jit_step(state, batch, t.r1_interval == 1)
  jax.block_until_ready(metrics)
  step_guess = time.perf_counter() - start
  ref_calls = min(50, max(1, round(step_guess / common.time_once(lambda: matmul(xm, wm)))))

  times, ref_times = [], []
  for step in range(_STEPS.value):
    start = time.perf_counter()
    state, metrics = trainer.jit_step(state, batch, step % t.r1_interval == 0)
    jax.block_until_ready(metrics)
    times.append(time.perf_counter() - start)
    if step % t.r1_interval == t.r1_interval - 1 or t.r1_interval == 1:
      ref_times.append(common.time_once(lambda: matmul(xm, wm), ref_calls))
  mean_s = statistics.fmean(times)
  achieved = flops_per_step / mean_s / 1e9
  ref_gflops = ref_flops / statistics.median(ref_times) / 1e9
  parts = breakdown(trainer, state, batch, repeats=max(5, min(20, _STEPS.value // 2)))
  # A step runs the G forward twice (D's fakes and the G loss's own), D twice.
  mixed_d = parts["d_forward_backward"] + parts["r1"] / t.r1_interval
  parts["optimiser_ema_rest"] = mean_s - (parts["g_forward"] + mixed_d
                                          + parts["g_forward_backward"])
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
      "xla_gflop_per_step": {"r1": flops[True] / 1e9, "plain": flops[False] / 1e9,
                             "mixed": flops_per_step / 1e9},
      "achieved_gflops": achieved,
      "reference": {**ref, "gflops": ref_gflops},
      "roofline_fraction": achieved / ref_gflops,
      "breakdown_s": parts,
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
