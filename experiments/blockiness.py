r"""Does a generator leave 2x2 blocks in its images? (A cue a discriminator reads at once.)

  python -m experiments.blockiness --runs=runs/recipe_study/mnist/current_s0,runs/.../dcgan_s0

A multi-scale INR adds the RGB of its coarse block, upsampled by nearest
neighbour, to the fine block's. When the fine block contributes little, the
image is piecewise constant on 2x2 cells. Measured on uint8 samples: the mean
absolute difference between horizontally adjacent pixels *across* cell borders
(columns 2i+1 | 2i+2) over the same *within* cells (2i | 2i+1). Real data and a
smooth generator give ~1; a blocky one gives >> 1. Also reported: the mean
deviation of each pixel from its grey value (the data here are grey). The first
``--num`` real images are the reference. Prints one JSON line per run.
"""
import json

from absl import app
from absl import flags
import jax
import numpy as np

from inr_gan_jax.data import npz

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defined when run as a command only (its --resolution would set sample's default)."""
  flags.DEFINE_list("runs", [], "Workdirs (EMA generator of the latest checkpoint).")
  flags.DEFINE_string("data", "../shared/data/mnist_test_10k_28x28.npz", "Real images.")
  flags.DEFINE_integer("resolution", 32, "Resolution of the real reference.")
  flags.DEFINE_integer("num", 512, "Images per measurement.")


def block_stats(images_u8: np.ndarray) -> dict:
  """uint8 ``[N, H, W, C]`` (even W) -> across/within-cell difference ratio and colour deviation."""
  x = images_u8.astype(np.float64)
  within = np.abs(x[:, :, 0::2] - x[:, :, 1::2]).mean()
  across = np.abs(x[:, :, 1:-1:2] - x[:, :, 2::2]).mean()
  return {"within": float(within), "across": float(across),
          "ratio": float(across / max(within, 1e-9)),
          "colour_dev": float(np.abs(x - x.mean(-1, keepdims=True)).mean())}


def main(argv):
  del argv
  from inr_gan_jax.checkpoints import restore  # local: keeps --help fast
  real = npz.convert_images(np.load(FLAGS.data)["images"][:FLAGS.num], FLAGS.resolution)
  print(json.dumps({"run": "real", **block_stats(real)}))
  for run in FLAGS.runs:
    loaded = restore.load_generator(run)
    z = loaded.generator.sample_z(jax.random.key(0), FLAGS.num)
    images = np.asarray(loaded.generator.generate(loaded.params, z))
    u8 = np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)
    print(json.dumps({"run": run, **block_stats(u8)}))


if __name__ == "__main__":
  define_flags()
  app.run(main)
