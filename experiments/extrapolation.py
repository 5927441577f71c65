r"""Zoom-out / extrapolation (the paper's Fig. 2 and Fig. 11): render beyond the training square.

  python -m experiments.extrapolation --checkpoint=runs/mnist --seeds=0-5 --out=figs/extrap

Every panel keeps the training pixel density (a window of side ``s`` is
rendered at ``s * R`` pixels), so the training square is the same size in all
columns; it is outlined in red. Writes ``extrapolation.png`` (rows = seeds,
columns = windows [0,1]^2, [-0.3,1.3]^2, [-0.5,1.5]^2) and ``extrapolation.json``
(per window: size, mean |value| and std inside vs outside the training square).
"""
import json
import os

from absl import app
from absl import flags
import numpy as np

from inr_gan_jax.utils import image_utils
from experiments import source
from inr_gan_jax import sample

_SEEDS = flags.DEFINE_string("seeds", "0-5", "Seeds.")
_SCALE = flags.DEFINE_integer("scale", 2, "Pixels per training pixel.")
_OUT = flags.DEFINE_string("out", "figures/extrapolation", "Output directory.")
MARGINS = (0.0, 0.3, 0.5)
RED = np.array([255, 0, 0], np.uint8)


def inside_mask(size: int, margin: float) -> np.ndarray:
  """``[size]`` bool: pixel centres of ``[-m, 1+m]`` that fall inside ``[0, 1]``."""
  c = -margin + (np.arange(size) + 0.5) * (1 + 2 * margin) / size
  return (c >= 0) & (c <= 1)


def outline(image: np.ndarray, inside: np.ndarray) -> np.ndarray:
  """Draws the border of the ``inside`` square (1 px, red) on an RGB uint8 image."""
  out = np.repeat(image, 3, -1) if image.shape[-1] == 1 else image.copy()
  idx = np.flatnonzero(inside)
  lo, hi = idx[0], idx[-1]
  out[lo, lo:hi + 1] = out[hi, lo:hi + 1] = RED
  out[lo:hi + 1, lo] = out[lo:hi + 1, hi] = RED
  return out


def main(argv):
  del argv
  src = source.load()
  g, sampler, info = src.generator, src.sampler, src.info
  seeds = sample.parse_seeds(_SEEDS.value)
  theta = src.theta_of_seeds(seeds)
  base = _SCALE.value * g.resolution
  panels, numbers = {}, {"source": info, "seeds": seeds, "windows": {}}
  for m in MARGINS:
    size = int(round(base * (1 + 2 * m)))
    images = sampler.render(theta, size, size, (-m, -m, 1 + m, 1 + m))  # [B, s, s, C]
    inside = inside_mask(size, m)
    mask2d = inside[:, None] & inside[None, :]
    stats = {"size": size,
             "mean_abs_inside": float(np.abs(images[:, mask2d]).mean()),
             "std_inside": float(images[:, mask2d].std())}
    if m:
      stats["mean_abs_outside"] = float(np.abs(images[:, ~mask2d]).mean())
      stats["std_outside"] = float(images[:, ~mask2d].std())
    numbers["windows"][f"[-{m},{1 + m}]^2"] = stats
    u8 = image_utils.to_uint8(images)
    panels[m] = [outline(u8[i], inside) if m else np.repeat(u8[i], 3 // u8.shape[-1], -1)
                 for i in range(len(seeds))]
  # Centre each panel on a canvas the size of the widest one.
  side = max(p[0].shape[0] for p in panels.values())
  cells = []
  for i in range(len(seeds)):
    for m in MARGINS:
      canvas = np.full((side, side, 3), 255, np.uint8)
      p = panels[m][i]
      o = (side - p.shape[0]) // 2
      canvas[o:o + p.shape[0], o:o + p.shape[1]] = p
      cells.append(canvas)
  os.makedirs(_OUT.value, exist_ok=True)
  image_utils.save_png(os.path.join(_OUT.value, "extrapolation.png"),
                       image_utils.make_grid(np.stack(cells), cols=len(MARGINS)))
  with open(os.path.join(_OUT.value, "extrapolation.json"), "w") as f:
    json.dump(numbers, f, indent=1)
  print(json.dumps(numbers, indent=1))


if __name__ == "__main__":
  app.run(main)
