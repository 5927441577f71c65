"""Small image helpers: uint8 <-> [-1, 1] floats, grids, PNG files.

The one definition of the pixel scaling every module uses: uint8 ``v`` maps to
``v / 127.5 - 1`` and back with rounding and clipping.
"""
import io
import math
import os

import jax.numpy as jnp
import numpy as np
from PIL import Image


def to_float(images) -> np.ndarray:
  """uint8 images -> float32 in ``[-1, 1]`` (numpy)."""
  return np.asarray(images, np.float32) / np.float32(127.5) - np.float32(1.0)


def to_float_jnp(images) -> jnp.ndarray:
  """uint8 images -> float32 in ``[-1, 1]``, traceable inside jit."""
  return jnp.asarray(images).astype(jnp.float32) / 127.5 - 1.0


def to_uint8(images) -> np.ndarray:
  """Float images in ``[-1, 1]`` (any leading shape) -> uint8 in ``[0, 255]``."""
  x = (np.asarray(images, np.float32) + 1.0) * 127.5
  return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def make_grid(images: np.ndarray, cols: int = 0, pad: int = 2, pad_value: int = 255) -> np.ndarray:
  """``[N, H, W, C]`` uint8 -> one ``[rows*(H+pad)+pad, cols*(W+pad)+pad, C]`` uint8 grid."""
  n, h, w, c = images.shape
  cols = cols or int(math.ceil(math.sqrt(n)))
  rows = int(math.ceil(n / cols))
  grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), pad_value, np.uint8)
  for i in range(n):
    r, q = divmod(i, cols)
    y, x = pad + r * (h + pad), pad + q * (w + pad)
    grid[y:y + h, x:x + w] = images[i]
  return grid


def pil_image(image: np.ndarray) -> Image.Image:
  """uint8 ``[H, W, C]`` (C in {1, 3, 4}) -> PIL image (mode L, RGB or RGBA).

  PIL infers the mode from the array and has none for ``[H, W, 1]``, so gray
  images go in as ``[H, W]``.
  """
  return Image.fromarray(np.ascontiguousarray(image[..., 0] if image.shape[-1] == 1 else image))


def png_bytes(image: np.ndarray) -> bytes:
  """PNG encoding of a uint8 ``[H, W, C]`` image, C in {1, 3, 4}."""
  buf = io.BytesIO()
  pil_image(image).save(buf, format="PNG")
  return buf.getvalue()


def save_png(path: str, image: np.ndarray) -> None:
  """Writes a uint8 ``[H, W, C]`` image (C in {1, 3, 4}) atomically."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = path + ".tmp"
  pil_image(image).save(tmp, format="PNG")
  os.replace(tmp, path)
