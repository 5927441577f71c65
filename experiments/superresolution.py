r"""Superresolution (the paper's Fig. 3): INR renders at 2x/4x next to classical upsampling.

  python -m experiments.superresolution --checkpoint=runs/mnist --seeds=0-5 --out=figs/sr

Writes ``superresolution.png`` (rows = seeds; columns = 1x upsampled by nearest,
bilinear, bicubic to 4x, then the INR rendered at 2x and 4x, all shown at 4x)
and ``superresolution.json``. Numbers:

* ``psnr_box2x_vs_1x``: PSNR between the 2x render box-downsampled by 2 and the
  1x render. With pixel-centred grids a 2x pixel pair straddles each 1x centre,
  and the multi-scale blocks' coarse grids also move (nearest upsampling picks
  other coarse cells), so this is not exact; it measures how consistent the
  generator is across resolutions (higher = more consistent).
* ``psnr_pick3x_vs_1x``: PSNR of the 3x render's middle sub-pixels (their centres
  coincide with the 1x centres) against the 1x render: exact (inf) for a
  single-scale INR, finite for a multi-scale one.
* ``psnr_box4x_vs_1x`` likewise, and ``psnr_inr4x_vs_bicubic``.
"""
import json
import os

from absl import app
from absl import flags
import numpy as np
from PIL import Image

from inr_gan_jax.utils import image_utils
from experiments import source
from inr_gan_jax import sample

_SEEDS = flags.DEFINE_string("seeds", "0-5", "Seeds.")
_OUT = flags.DEFINE_string("out", "figures/superresolution", "Output directory.")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
  """PSNR in dB of images in [-1, 1] (peak-to-peak 2)."""
  mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
  return float("inf") if mse == 0 else 10.0 * np.log10(4.0 / mse)


def box_down(images: np.ndarray, factor: int) -> np.ndarray:
  """``[B, fH, fW, C] -> [B, H, W, C]`` mean over ``factor x factor`` blocks."""
  b, h, w, c = images.shape
  return images.reshape(b, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))


def classical_up(image_u8: np.ndarray, size: int, method) -> np.ndarray:
  arr = image_u8[..., 0] if image_u8.shape[-1] == 1 else image_u8
  up = np.asarray(Image.fromarray(arr).resize((size, size), method))
  return up.reshape(size, size, -1)


def main(argv):
  del argv
  src = source.load()
  g, sampler, info = src.generator, src.sampler, src.info
  seeds = sample.parse_seeds(_SEEDS.value)
  r = g.resolution
  theta = src.theta_of_seeds(seeds)
  renders = {f: sampler.render(theta, f * r, f * r) for f in (1, 2, 3, 4)}  # [B, fR, fR, C]
  one_u8 = image_utils.to_uint8(renders[1])
  rows = []
  for i in range(len(seeds)):
    cells = [classical_up(one_u8[i], 4 * r, m)
             for m in (Image.NEAREST, Image.BILINEAR, Image.BICUBIC)]
    cells.append(np.repeat(np.repeat(image_utils.to_uint8(renders[2][i]), 2, 0), 2, 1))
    cells.append(image_utils.to_uint8(renders[4][i]))
    rows.extend(cells)
  grid = image_utils.make_grid(np.stack(rows), cols=5)
  os.makedirs(_OUT.value, exist_ok=True)
  image_utils.save_png(os.path.join(_OUT.value, "superresolution.png"), grid)
  bicubic = np.stack([classical_up(one_u8[i], 4 * r, Image.BICUBIC) for i in range(len(seeds))])
  numbers = {
      "source": info, "seeds": seeds, "resolution": r,
      "columns": ["nearest 4x", "bilinear 4x", "bicubic 4x", "INR 2x", "INR 4x"],
      "psnr_box2x_vs_1x": psnr(box_down(renders[2], 2), renders[1]),
      "psnr_box4x_vs_1x": psnr(box_down(renders[4], 4), renders[1]),
      "psnr_pick3x_vs_1x": psnr(renders[3][:, 1::3, 1::3], renders[1]),
      "psnr_inr4x_vs_bicubic": psnr(renders[4], bicubic.astype(np.float64) / 127.5 - 1.0),
  }
  with open(os.path.join(_OUT.value, "superresolution.json"), "w") as f:
    json.dump(numbers, f, indent=1)
  print(json.dumps(numbers, indent=1))


if __name__ == "__main__":
  app.run(main)
