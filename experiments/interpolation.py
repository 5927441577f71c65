r"""Interpolation (the paper's Fig. 5): in z, in INR-parameter space, and in pixel space.

  python -m experiments.interpolation --checkpoint=runs/mnist --pairs=0:1,2:3 --out=figs/interp

For each seed pair, three strips of ``--steps`` images with ``a`` from 0 to 1:

* ``z``: render ``G((1 - a) z1 + a z2)``;
* ``theta``: render the INR with parameters ``(1 - a) theta1 + a theta2`` (every
  predicted tensor, i.e. FMM factors, biases, frequencies, to-RGB);
* ``pixels``: ``(1 - a) image1 + a image2`` (a cross-fade).

Writes ``interpolation.png`` (per pair: z / theta / pixel rows), one GIF per
pair that plays the three side by side, and ``interpolation.json`` with the
mean per-step image change (smoothness) of each kind.
"""
import json
import os

from absl import app
from absl import flags
import jax
import numpy as np
from PIL import Image

from inr_gan_jax.utils import image_utils
from experiments import source
from inr_gan_jax import sample

_PAIRS = flags.DEFINE_string("pairs", "0:1,2:3,4:5", "Seed pairs a:b, comma separated.")
_STEPS = flags.DEFINE_integer("steps", 8, "Images per strip.")
_SCALE = flags.DEFINE_integer("scale", 2, "Render at scale * R.")
_OUT = flags.DEFINE_string("out", "figures/interpolation", "Output directory.")


def parse_pairs(text):
  pairs = []
  for part in text.split(","):
    a, sep, b = part.partition(":")
    if not sep or not a.strip().isdigit() or not b.strip().isdigit():
      raise app.UsageError(f"--pairs: cannot parse {part!r}; use seed pairs like 0:1,2:3")
    pairs.append((int(a), int(b)))
  return pairs


def main(argv):
  del argv
  src = source.load()
  g, sampler, info = src.generator, src.sampler, src.info
  size = _SCALE.value * g.resolution
  alphas = np.linspace(0.0, 1.0, _STEPS.value, dtype=np.float32)  # [S]
  a_col = alphas[:, None]
  rows, smooth = [], {"z": [], "theta": [], "pixels": []}
  os.makedirs(_OUT.value, exist_ok=True)
  for s1, s2 in parse_pairs(_PAIRS.value):
    z = sample.seed_latents(g, [s1, s2])  # [2, D]
    z_path = (1 - a_col) * z[0] + a_col * z[1]  # [S, D]
    by_z = sampler.render(sampler.theta(z_path), size, size)
    t = sampler.theta(z)
    t_path = jax.tree.map(lambda x: (1 - a_col.reshape((-1,) + (1,) * (x.ndim - 1))) * x[0]
                          + a_col.reshape((-1,) + (1,) * (x.ndim - 1)) * x[1], t)
    by_theta = sampler.render(t_path, size, size)
    ends = sampler.render(t, size, size)  # [2, s, s, C]
    by_pixels = (1 - a_col[:, :, None, None]) * ends[0] + a_col[:, :, None, None] * ends[1]
    frames = []
    for kind, imgs in (("z", by_z), ("theta", by_theta), ("pixels", by_pixels)):
      smooth[kind].append(float(np.abs(np.diff(imgs, axis=0)).mean()))
      u8 = image_utils.to_uint8(imgs)
      rows.append(u8)
      frames.append(u8)
    # GIF: at each step the three kinds side by side, forward then back.
    strip = [image_utils.make_grid(np.stack([f[i] for f in frames]), cols=3)
             for i in range(len(alphas))]
    strip = strip + strip[-2:0:-1]
    pil = [Image.fromarray(f[..., 0] if f.shape[-1] == 1 else f) for f in strip]
    pil[0].save(os.path.join(_OUT.value, f"interpolation_{s1}_{s2}.gif"), save_all=True,
                append_images=pil[1:], duration=120, loop=0)
  grid = image_utils.make_grid(np.concatenate(rows), cols=len(alphas))
  image_utils.save_png(os.path.join(_OUT.value, "interpolation.png"), grid)
  numbers = {"source": info, "steps": len(alphas), "rows_per_pair": ["z", "theta", "pixels"],
             "mean_abs_step_change": {k: float(np.mean(v)) for k, v in smooth.items()}}
  with open(os.path.join(_OUT.value, "interpolation.json"), "w") as f:
    json.dump(numbers, f, indent=1)
  print(json.dumps(numbers, indent=1))


if __name__ == "__main__":
  app.run(main)
