r"""How flat are a shapes generator's backgrounds? A check the shape-kind feature net cannot make.

  python -m experiments.background_flatness --checkpoints=runs/qs_default_eval,runs/qs_d32_eval

Every image of the embedded shapes dataset has one plain background colour, and the shape
never covers the outer ring of pixels, so the ring's mean absolute deviation from its own
median colour is 0 for the data (a few images whose shape grazes the ring aside). The feature
net that scores the quickstart (``train_feature_net --data=shapes``) is trained to name the
shape's kind and may ignore streaks in the background, so this statistic reads them directly:
per image, mean |ring - median(ring)| in grey levels (0-255), over ``--num`` EMA samples at the
training resolution. Prints one JSON line per checkpoint, the data first.
"""
import json

from absl import app
from absl import flags
import numpy as np

from inr_gan_jax import sample
from inr_gan_jax.data import shapes

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defined when run as a command only (tests import the statistic next to other flags)."""
  flags.DEFINE_list("checkpoints", [], "Workdirs or checkpoint dirs of shapes runs.")
  flags.DEFINE_integer("num", 512, "Samples (and data images) per row.")
  flags.DEFINE_integer("ring", 3, "Width of the outer ring in pixels.")


def ring_deviation(images: np.ndarray, ring: int) -> np.ndarray:
  """``uint8 [N, R, R, C] -> [N]``: mean |pixel - median colour| over the outer ``ring`` pixels."""
  x = images.astype(np.float64)
  mask = np.ones(x.shape[1:3], bool)
  mask[ring:-ring, ring:-ring] = False
  pixels = x[:, mask]                                          # [N, P, C]
  return np.abs(pixels - np.median(pixels, axis=1, keepdims=True)).mean(axis=(1, 2))


def summary(dev: np.ndarray) -> dict:
  return {"median": round(float(np.median(dev)), 3), "mean": round(float(dev.mean()), 3),
          "p90": round(float(np.percentile(dev, 90)), 3)}


def main(argv):
  del argv
  n, ring = FLAGS.num, FLAGS.ring
  resolution = None
  rows = []
  for path in FLAGS.checkpoints:
    g, params, info = sample.load_generator_or_random(path)
    resolution = g.resolution
    sampler = sample.Sampler(g, params)
    images = sampler.render(sampler.theta(sample.seed_latents(g, range(n))), resolution,
                            resolution, to_uint8=True)
    rows.append({"checkpoint": path, "step": info["step"],
                 **summary(ring_deviation(np.asarray(images), ring))})
  real = shapes.render_shapes(0, np.arange(n), resolution or 32)
  print(json.dumps({"checkpoint": "data (shapes, seed 0)", **summary(ring_deviation(real, ring))}))
  for row in rows:
    print(json.dumps(row))


if __name__ == "__main__":
  define_flags()
  app.run(main)
