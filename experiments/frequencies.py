r"""The learned Fourier frequencies of a trained INR-GAN, per block (the paper's Fig. 17).

  python -m experiments.frequencies --runs=runs/mnist_full,runs/celebahq64 \
      --out=docs/figures/frequencies.png --json=docs/figures/frequencies.json

For each run, 128 latents (``--num``) go through the EMA generator's
hypernetwork; every block's predicted frequency matrix ``W [n, 2]`` (plus the
shared part, if any) is read, and the norm of each row is converted to cycles
per training image: a feature ``sin(p . w)`` over the unit square repeats
``|w| / 2 pi`` times across the image. The figure has one panel per block
(finest last) with the histogram of those norms for each run and, for
reference, for the same config at initialisation. The JSON holds quantiles and
the fraction of rows above the block's Nyquist limit (``r / 2`` cycles for a
block evaluated on an ``r x r`` grid), where a sinusoid aliases into a coarser
pattern on that grid. Cost: seconds per run on a 2-core CPU.
"""
import json
import math
from typing import Any, Dict, List

from absl import app
from absl import flags
import jax
import numpy as np

FLAGS = flags.FLAGS
QUANTILES = (0.1, 0.5, 0.9, 0.99)


def define_flags() -> None:
  """Defined when run as a command only (other experiments share the names)."""
  flags.DEFINE_list("runs", [], "Workdirs (or checkpoint dirs) of trained INR-GAN runs.")
  flags.DEFINE_integer("num", 128, "Latents per run.")
  flags.DEFINE_integer("seed", 0, "Latent seed.")
  flags.DEFINE_integer("bins", 40, "Histogram bins (over 0 .. the largest norm seen).")
  flags.DEFINE_bool("with_init", True, "Also show each run's config at initialisation.")
  flags.DEFINE_string("out", "runs/frequencies.png", "Figure (PNG).")
  flags.DEFINE_string("json", "", "Optional JSON with the per-block statistics.")
  flags.DEFINE_list("cut", [], "Cycles-per-image thresholds: also render the first run's samples "
                    "with the frequency rows above each threshold set to zero (one row each).")
  flags.DEFINE_integer("cut_samples", 4, "Samples in the --cut figure.")
  flags.DEFINE_integer("cut_size", 128, "Side of the --cut renders.")
  flags.DEFINE_string("cut_out", "runs/frequency_cut.png", "The --cut figure (PNG).")


def cycles_per_image(freqs: np.ndarray) -> np.ndarray:
  """Frequency rows ``[..., n, 2]`` (radians per unit coordinate) -> ``[..., n]`` cycles per image."""
  return np.linalg.norm(np.asarray(freqs, np.float64), axis=-1) / (2.0 * math.pi)


def block_frequencies(generator, params, z: jax.Array) -> Dict[str, np.ndarray]:
  """Per Fourier block: ``[B, n]`` cycles per image of every sample's frequency rows."""
  from inr_gan_jax.model import inr
  theta = generator.predict(params, z)
  out = {}
  for blk in generator.layout.blocks:
    if blk.coord_encoding != "fourier":
      continue
    merged = inr.block_params(theta, params["inr"], blk.name)
    w = np.asarray(inr.fourier_matrix(merged, blk.fourier_max_cycles))  # [B, n, 2] or [n, 2]
    w = np.broadcast_to(w, (z.shape[0],) + w.shape[-2:])
    out[blk.name] = cycles_per_image(w)
  return out


def summarise(cycles: np.ndarray, block_resolution: int) -> Dict[str, float]:
  """Quantiles of ``cycles`` and the share above the block grid's Nyquist limit ``r / 2``."""
  flat = cycles.reshape(-1)
  stats = {f"q{int(q * 100)}": float(np.quantile(flat, q)) for q in QUANTILES}
  stats.update(mean=float(flat.mean()), nyquist=block_resolution / 2.0,
               above_nyquist=float((flat > block_resolution / 2.0).mean()))
  return stats


def cut_frequencies(theta: Dict[str, Any], layout, max_cycles: float) -> Dict[str, Any]:
  """``theta`` with every predicted frequency row above ``max_cycles`` per image set to zero."""
  out = {k: dict(v) if isinstance(v, dict) else v for k, v in theta.items()}
  for blk in layout.blocks:
    if blk.coord_encoding != "fourier" or "fourier" not in theta.get(blk.name, {}):
      continue
    f = dict(theta[blk.name]["fourier"])
    key = "dw" if "dw" in f else "w"
    w = f[key]  # [B, n, 2]
    cycles = jax.numpy.linalg.norm(w, axis=-1, keepdims=True) / (2.0 * math.pi)
    f[key] = jax.numpy.where(cycles > max_cycles, 0.0, w)
    out[blk.name] = {**out[blk.name], "fourier": f}
  return out


def histogram_panels(per_run: Dict[str, Dict[str, np.ndarray]], resolutions: Dict[str, int],
                     bins: int) -> List:
  """One ``(title, series)`` panel per block: bin centres -> share of rows in the bin."""
  panels = []
  blocks = sorted({b for v in per_run.values() for b in v})
  for blk in blocks:
    values = [v[blk] for v in per_run.values() if blk in v]
    top = max(float(x.max()) for x in values)
    edges = np.linspace(0.0, top * 1.0001, bins + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    series = {}
    for name, v in per_run.items():
      if blk in v:
        counts, _ = np.histogram(v[blk], edges)
        series[name] = (centres, counts / counts.sum())
    title = (f"{blk} ({resolutions[blk]} px grid, Nyquist {resolutions[blk] / 2:g}): share of "
             "frequency rows against cycles per image")
    panels.append((title, series))
  return panels


def main(argv):
  del argv
  from inr_gan_jax.checkpoints import restore
  from inr_gan_jax.model import generator as generator_lib
  from inr_gan_jax.utils import cli_flags
  from inr_gan_jax.utils import plotting
  cli_flags.quiet_library_logs()
  if not FLAGS.runs:
    raise app.UsageError("give --runs=WORKDIR[,WORKDIR...]")
  per_run: Dict[str, Dict[str, np.ndarray]] = {}
  stats: Dict[str, Any] = {}
  resolutions: Dict[str, int] = {}
  for path in FLAGS.runs:
    loaded = restore.load_generator(path)
    gen = loaded.generator
    if not hasattr(gen, "layout"):
      raise app.UsageError(f"{path}: not an INR generator (no Fourier features)")
    z = gen.sample_z(jax.random.key(FLAGS.seed), FLAGS.num)
    name = f"{path.rstrip('/').split('/')[-1]} (step {loaded.step})"
    runs = {name: block_frequencies(gen, loaded.params, z)}
    if FLAGS.with_init:
      fresh = generator_lib.Generator(loaded.config.model)
      init = jax.jit(fresh.init)(jax.random.key(int(loaded.config.get("seed", 0))))
      runs[f"{path.rstrip('/').split('/')[-1]} (init)"] = block_frequencies(fresh, init, z)
    for blk in gen.layout.blocks:
      resolutions[f"{path}:{blk.name}"] = blk.resolution
    for run_name, blocks in runs.items():
      per_run[run_name] = {f"{path}:{b}": v for b, v in blocks.items()}
      stats[run_name] = {b: summarise(v, resolutions[f"{path}:{b}"]) for b, v in blocks.items()}
  if FLAGS.cut:
    from inr_gan_jax.utils import image_utils
    loaded = restore.load_generator(FLAGS.runs[0])
    gen, params = loaded.generator, loaded.params
    z = gen.sample_z(jax.random.key(FLAGS.seed), FLAGS.cut_samples)
    theta = jax.jit(gen.theta)(params, z)
    size = FLAGS.cut_size
    rows = [np.asarray(gen.render(params, theta, size, size))]
    for thr in FLAGS.cut:
      rows.append(np.asarray(gen.render(params, cut_frequencies(theta, gen.layout, float(thr)),
                                        size, size)))
    grid = image_utils.make_grid(image_utils.to_uint8(np.concatenate(rows)), cols=FLAGS.cut_samples)
    image_utils.save_png(FLAGS.cut_out, grid)
    print(f"wrote {FLAGS.cut_out} (rows: as trained, then rows above {FLAGS.cut} cycles cut)")
  plotting.save_panels(FLAGS.out, histogram_panels(per_run, resolutions, FLAGS.bins),
                       xlabel="cycles/image")
  for run_name, blocks in stats.items():
    for b, s in blocks.items():
      print(f"{run_name} {b}: median {s['q50']:.2f}, 90% {s['q90']:.2f}, 99% {s['q99']:.2f} "
            f"cycles/image; {100 * s['above_nyquist']:.1f}% above Nyquist {s['nyquist']:g}")
  if FLAGS.json:
    with open(FLAGS.json, "w") as f:
      json.dump(stats, f, indent=1)
  print(f"wrote {FLAGS.out}")


if __name__ == "__main__":
  define_flags()
  app.run(main)
