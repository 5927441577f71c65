r"""Low-resolution sampling speed-up (the paper's Fig. 9), measured.

  python -m experiments.lowres_speed --checkpoint=runs/mnist --out=figs/lowres
  python -m experiments.lowres_speed --config=configs/lsun256.py --batch=2 --out=figs/lowres256

For ``s = R, R/2, R/4, R/8`` it times (a) drawing ``s x s`` images directly
(every block's grid shrinks with ``s``) and (b) drawing ``R x R`` images and
box-downsampling them to ``s``, from the same latents, after a warm-up call
(compilation excluded); the median of ``--repeats`` runs is reported, with the
analytic GMACs per image (hypernetwork + INR). ``--config`` times a randomly
initialised model (speed does not depend on the weights). Writes
``lowres_speed.json``, ``lowres_speed.png`` (direct renders at each size,
shown at R) and ``lowres_cost.png`` (time and GMACs per image against size,
the curve of Fig. 9).
"""
import json
import os
import time

from absl import app
from absl import flags
import jax
import numpy as np

from inr_gan_jax.model import complexity
from inr_gan_jax.utils import image_utils
from inr_gan_jax.utils import plotting
from experiments import source
from inr_gan_jax import sample

_BATCH = flags.DEFINE_integer("batch", 16, "Images per call.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed runs per setting (median reported).")
_OUT = flags.DEFINE_string("out", "figures/lowres_speed", "Output directory.")


def median_time(fn, *args, repeats: int) -> float:
  jax.block_until_ready(fn(*args))  # compile + warm up
  times = []
  for _ in range(repeats):
    t = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - t)
  return float(np.median(times))


def main(argv):
  del argv
  src = source.load()
  g, params, info = src.generator, src.params, src.info
  r = g.resolution
  z = sample.seed_latents(g, range(_BATCH.value))
  hyper_macs = complexity.hypernetwork_macs(g.config, g.layout.connector_size)

  def full_then_down(factor):
    def fn(p, zz):
      img = g(p, zz, r, r)  # [B, R, R, C]
      b, _, _, c = img.shape
      return img.reshape(b, r // factor, factor, r // factor, factor, c).mean(axis=(2, 4))
    return jax.jit(fn)

  rows, shown = [], []
  for factor in (1, 2, 4, 8):
    s = r // factor
    if s < 1:
      break
    direct = jax.jit(lambda p, zz, s=s: g(p, zz, s, s))
    t_direct = median_time(direct, params, z, repeats=_REPEATS.value)
    t_down = median_time(full_then_down(factor), params, z, repeats=_REPEATS.value)
    img = np.asarray(direct(params, z))[:4]
    shown.append(np.repeat(np.repeat(image_utils.to_uint8(img), factor, 1), factor, 2))
    rows.append({
        "size": s, "factor": factor,
        "gmacs_direct": (hyper_macs + g.layout.inr_macs(s, s)) / 1e9,
        "gmacs_full_then_down": (hyper_macs + g.layout.inr_macs(r, r)) / 1e9,
        "ms_per_image_direct": 1e3 * t_direct / _BATCH.value,
        "ms_per_image_full_then_down": 1e3 * t_down / _BATCH.value,
        "speedup": t_down / t_direct,
    })
    print(rows[-1])
  os.makedirs(_OUT.value, exist_ok=True)
  grid = image_utils.make_grid(np.concatenate(shown), cols=min(4, shown[0].shape[0]))
  image_utils.save_png(os.path.join(_OUT.value, "lowres_speed.png"), grid)
  sizes = [row["size"] for row in rows]
  plotting.save_panels(os.path.join(_OUT.value, "lowres_cost.png"), [
      ("time per image against output size (log scale)",
       {"direct at the size": (sizes, [row["ms_per_image_direct"] for row in rows]),
        f"{r} px, then downsampled": (sizes, [row["ms_per_image_full_then_down"] for row in rows])}),
      ("analytic GMACs per image (hypernetwork + INR, log scale)",
       {"direct at the size": (sizes, [row["gmacs_direct"] for row in rows]),
        f"{r} px, then downsampled": (sizes, [row["gmacs_full_then_down"] for row in rows])})],
      xlabel="output side (px)", ylabels=("ms / image", "GMACs / image"), logy=(True, True),
      markers=True)
  result = {"source": info, "resolution": r, "batch": _BATCH.value, "repeats": _REPEATS.value,
            "device": str(jax.devices()[0]), "rows": rows}
  with open(os.path.join(_OUT.value, "lowres_speed.json"), "w") as f:
    json.dump(result, f, indent=1)


if __name__ == "__main__":
  app.run(main)
