r"""Jitted generator forward throughput, against this machine's matmul speed.

  python benchmarks/generator_throughput.py --config=configs/lsun256.py --batch=4 --json
  python benchmarks/generator_throughput.py --config=configs/lsun256.py --resolution=256,128,64

What is measured, all in one process so that machine noise cancels in the ratio:

* the generator: ``Generator.generate(params, z, r, r)`` (hypernetwork + INR,
  jitted, ``block_until_ready``) for a batch of ``--batch`` latents at every
  requested side ``r``; median of ``--repeats`` runs after a warm-up call;
* the reference: one jitted batched per-sample matmul
  ``[B, N, K] x [B, K, O]`` with the shape of the generator's dominant layer
  (for lsun256: N = 128 * 128 points, K = 512 + 64 fan-in, O = 512), i.e. the
  best this machine does on the work the generator is made of.

Generator and reference runs are interleaved repeat by repeat, and each
reference block runs the matmul as many times as fit in one full-resolution
generator call, so a busy neighbour slows both about equally. Achieved GFLOP/s is ``2 * MACs * batch / median time``
with the analytic per-image MACs of :mod:`inr_gan_jax.model.complexity` (the paper's
convention, which is also what XLA executes: ``tests/test_complexity.py``
checks the count against XLA's cost analysis); ``roofline_fraction`` is its
ratio to the reference GFLOP/s. Results and their history: docs/benchmarks.md.
"""
import datetime
import json
import os
import platform
import statistics
import sys
import time

# Run as a script from anywhere: make the repository importable.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
  sys.path.insert(0, _ROOT)

from absl import app  # pylint: disable=g-import-not-at-top
from benchmarks import common
from absl import flags
import jax
import jax.numpy as jnp
from ml_collections import config_flags

from inr_gan_jax.model import complexity
from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.model import inr

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file (uses .model).")
_BATCH = flags.DEFINE_integer("batch", 4, "Latents per generator call (and reference batch B).")
_RESOLUTION = flags.DEFINE_string(
    "resolution", "", "Comma-separated output sides to time; default R,R/2,R/4 of the config "
    "(256,128,64 for lsun256). The training resolution R is always included.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed runs per measurement (median is reported).")
_SEED = flags.DEFINE_integer("seed", 0, "PRNG seed for params and latents.")
_JSON = flags.DEFINE_bool("json", False, "Print one JSON object instead of a table.")


def parse_resolutions(arg: str, train_res: int) -> list:
  """``"256,128"`` -> ``[256, 128]``, training resolution first, no duplicates."""
  if not arg:
    sides = [train_res, max(1, train_res // 2), max(1, train_res // 4)]
  else:
    try:
      sides = [int(s) for s in arg.split(",") if s.strip()]
    except ValueError:
      raise ValueError(f"--resolution must be comma-separated integers, got {arg!r}") from None
    if not sides or min(sides) < 1:
      raise ValueError(f"--resolution sides must be positive, got {arg!r}")
  out = [train_res]
  for s in sides:
    if s not in out:
      out.append(s)
  return out


def macs_per_image(gen: generator_lib.Generator, side: int) -> int:
  """MACs to draw one ``side x side`` image from ``z``: hypernetwork + INR.

  The same sum as ``complexity.model_stats(...)["gmacs_by_resolution"]``, but
  for any side, not only ``R / 2^k``.
  """
  layout = gen.layout
  return (complexity.hypernetwork_macs(gen.config, layout.connector_size)
          + layout.inr_macs(side, side))


def run(model_cfg, batch: int, sides: list, repeats: int, seed: int) -> dict:
  if batch < 1 or repeats < 1:
    raise ValueError(f"--batch and --repeats must be >= 1, got {batch} and {repeats}")
  gen = generator_lib.Generator(model_cfg)
  params = jax.jit(gen.init)(jax.random.key(seed))
  z = gen.sample_z(jax.random.key(seed + 1), batch)  # [B, latent_dim]

  # Reference: per-sample weights, like the FMM layers ([B, N, K] x [B, K, O]).
  ref = common.dominant_layer(gen)
  ka, kb = jax.random.split(jax.random.key(seed + 2))
  x = jax.random.normal(ka, (batch, ref["N"], ref["K"]), jnp.float32)  # [B, N, K]
  w = jax.random.normal(kb, (batch, ref["K"], ref["O"]), jnp.float32)  # [B, K, O]
  matmul = jax.jit(lambda x, w: jnp.einsum("bnk,bko->bno", x, w))
  ref_flops = 2.0 * batch * ref["N"] * ref["K"] * ref["O"]

  # Compile time, measured apart from execution: lower + compile a fresh jit of
  # the function `generate` runs (its own cache is separate, so the first call
  # below compiles again; that call is the warm-up).
  same_as_generate = jax.jit(lambda p, z, plan: gen.render_plan(p, gen.theta(p, z), plan))
  compile_s = {}
  for s in sides:
    start = time.perf_counter()
    same_as_generate.lower(params, z, inr.make_plan(gen.layout, s, s)).compile()
    compile_s[s] = time.perf_counter() - start
  first = {s: common.time_once(lambda s=s: gen.generate(params, z, s, s)) for s in sides}
  ref_first = common.time_once(lambda: matmul(x, w))
  full = sides[0]
  full_macs = macs_per_image(gen, full)
  # Time-match the reference to the full-resolution generator call: a busy
  # neighbour that comes and goes then hits both about equally often.
  ref_calls = min(50, max(1, round(common.time_once(lambda: gen.generate(params, z, full, full))
                                   / common.time_once(lambda: matmul(x, w)))))
  times = {s: [] for s in sides}
  ref_times, ratios = [], []
  for _ in range(repeats):  # interleaved: every repeat sees the same machine state
    for s in sides:
      times[s].append(common.time_once(lambda s=s: gen.generate(params, z, s, s)))
      if s == full:  # the reference block runs right after the call it is compared with
        ref_times.append(common.time_once(lambda: matmul(x, w), ref_calls))
        ratios.append(ref_times[-1] * 2.0 * full_macs * batch / (times[full][-1] * ref_flops))

  ref_median = statistics.median(ref_times)
  ref_gflops = ref_flops / ref_median / 1e9
  full_median = statistics.median(times[full])
  by_res = {}
  for s in sides:
    med = statistics.median(times[s])
    macs = macs_per_image(gen, s)
    gflops = 2.0 * macs * batch / med / 1e9
    by_res[str(s)] = {
        "median_s": med,
        "min_s": min(times[s]),
        "images_per_s": batch / med,
        "gmacs_per_image": macs / 1e9,
        "gflops_achieved": gflops,
        "roofline_fraction": gflops / ref_gflops,
        "compile_s": compile_s[s],
        "first_call_s": first[s],
        "time_ratio": med / full_median,       # time relative to the training resolution
        "pixel_ratio": (s / full) ** 2,        # what "proportional to pixels" predicts
        "mac_ratio": macs / full_macs,
    }
  main = by_res[str(full)]
  return {
      "batch": batch,
      "resolution": full,
      "median_s": main["median_s"],
      "images_per_s": main["images_per_s"],
      "gmacs_per_image": main["gmacs_per_image"],
      "gflops_achieved": main["gflops_achieved"],
      "gflops_matmul_reference": ref_gflops,
      "roofline_fraction": main["roofline_fraction"],
      # Per repeat (generator call vs the reference block right after it); a
      # wide spread means the machine was busy and the median is less certain.
      "roofline_fraction_per_repeat": ratios,
      "compile_s": main["compile_s"],
      "first_call_s": main["first_call_s"],
      "reference": {**ref, "B": batch, "median_s": ref_median, "calls_per_repeat": ref_calls,
                    "compile_s": max(0.0, ref_first - ref_median)},
      "repeats": repeats,
      "by_resolution": by_res,
      "machine": {"platform": platform.platform(), "processor": platform.processor(),
                  "cpu_count": os.cpu_count(), "jax": jax.__version__,
                  "backend": jax.default_backend(), "devices": jax.device_count()},
      "date": datetime.datetime.now().isoformat(timespec="seconds"),
  }


def table(result: dict) -> str:
  ref = result["reference"]
  lines = [
      f"config {result['config']}, batch {result['batch']}, {result['repeats']} timed repeats, "
      f"{result['machine']['cpu_count']} CPU cores, jax {result['machine']['jax']} "
      f"({result['machine']['backend']})",
      f"reference [B,N,K]x[B,K,O] = [{ref['B']},{ref['N']},{ref['K']}]x[{ref['B']},{ref['K']},"
      f"{ref['O']}] ({ref['layer']}): {result['gflops_matmul_reference']:.1f} GFLOP/s "
      f"({ref['median_s'] * 1e3:.1f} ms per call)",
      f"{'side':>5} {'median s':>9} {'img/s':>8} {'GMACs/img':>10} {'GFLOP/s':>8} "
      f"{'roofline':>8} {'compile s':>9} {'t/t_R':>6} {'px ratio':>8}",
  ]
  for side, r in result["by_resolution"].items():
    lines.append(f"{side:>5} {r['median_s']:>9.4f} {r['images_per_s']:>8.2f} "
                 f"{r['gmacs_per_image']:>10.3f} {r['gflops_achieved']:>8.1f} "
                 f"{r['roofline_fraction']:>8.2f} {r['compile_s']:>9.2f} "
                 f"{r['time_ratio']:>6.3f} {r['pixel_ratio']:>8.3f}")
  spread = ", ".join(f"{r:.2f}" for r in result["roofline_fraction_per_repeat"])
  lines.append(f"roofline_fraction at {result['resolution']}px: {result['roofline_fraction']:.2f} "
               f"(per repeat: {spread})")
  return "\n".join(lines)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}")
  if _CONFIG.value is None:
    raise app.UsageError("pass --config=configs/<name>.py")
  if "model" not in _CONFIG.value:
    raise ValueError(f"config {config_flags.get_config_filename(flags.FLAGS['config'])!r} "
                     "has no 'model' section")
  model_cfg = _CONFIG.value.model
  sides = parse_resolutions(_RESOLUTION.value, int(model_cfg.resolution))
  result = {"config": config_flags.get_config_filename(flags.FLAGS["config"])}
  result.update(run(model_cfg, _BATCH.value, sides, _REPEATS.value, _SEED.value))
  print(json.dumps(result, indent=1) if _JSON.value else table(result))


if __name__ == "__main__":
  app.run(main)
