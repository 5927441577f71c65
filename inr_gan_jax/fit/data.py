"""Loading image sets for fitting: ``.npz`` arrays -> float ``[-1, 1]`` at a chosen size."""
import os
from typing import Optional

import numpy as np
from PIL import Image

from inr_gan_jax.utils import image_utils
from inr_gan_jax.utils.image_utils import to_float  # noqa: F401  (fit modes use data.to_float)

DEFAULT_64 = "../shared/data/celebahq_200/celebahq200_64x64.npz"
DEFAULT_256 = "../shared/data/celebahq_200/celebahq200_256x256.npz"


def resize(images: np.ndarray, size: int, resample=Image.BICUBIC) -> np.ndarray:
  """uint8 ``[N, H, W, C]`` -> uint8 ``[N, size, size, C]`` with PIL (antialiased when shrinking)."""
  if images.shape[1] == size and images.shape[2] == size:
    return images
  # Gray images come back from PIL as [H, W]; the final reshape restores C = 1.
  out = [np.asarray(image_utils.pil_image(im).resize((size, size), resample)) for im in images]
  return np.stack(out).reshape(len(images), size, size, images.shape[-1])


def load_images(path: str, num: int, size: Optional[int] = None, start: int = 0) -> np.ndarray:
  """The first ``num`` images (from ``start``) of an ``.npz`` with key ``images`` (uint8 NHWC).

  Returns uint8 ``[num, size, size, C]``.
  """
  if not os.path.exists(path):
    raise FileNotFoundError(f"image file not found: {path}")
  with np.load(path) as d:
    if "images" not in d:
      raise ValueError(f"{path} has no 'images' array (keys: {list(d.keys())})")
    images = d["images"]
  if images.ndim != 4 or images.dtype != np.uint8:
    raise ValueError(f"{path}: expected uint8 [N, H, W, C], got {images.dtype} {images.shape}")
  if start + num > len(images):
    raise ValueError(f"{path} holds {len(images)} images, asked for {start}..{start + num}")
  images = images[start:start + num]
  return images if size is None else resize(images, size)


def synthetic_image(size: int, channels: int = 3, seed: int = 0) -> np.ndarray:
  """A smooth test pattern in ``[-1, 1]``: ``[size, size, C]`` sums of low-frequency sinusoids."""
  rng = np.random.default_rng(seed)
  t = (np.arange(size) + 0.5) / size
  yy, xx = np.meshgrid(t, t, indexing="ij")
  img = np.zeros((size, size, channels))
  for c in range(channels):
    for _ in range(3):
      fx, fy = rng.uniform(0.5, 2.5, size=2)
      ph = rng.uniform(0, 2 * np.pi)
      img[..., c] += np.sin(2 * np.pi * (fx * xx + fy * yy) + ph) / 3
  return (0.9 * img).astype(np.float32)
