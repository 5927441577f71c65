"""Images stored as one numpy array: a .npz member (default key 'images') or a .npy.

Accepted layouts, all uint8: [N, H, W] or [N, H, W, 1] grayscale (replicated
to RGB), [N, H, W, 3] RGB, [N, H, W, 4] RGBA (composited over white). Images
that are not R x R are converted once at load time by the shared transforms
(center crop + LANCZOS resize, see transforms.py; MNIST 28 -> 32 is an
antialiased upscale, not zero padding).

A .npz member is decompressed into memory anyway, so the converted array is
held in memory. A .npy that is already R x R x 3 is memory-mapped instead,
so large arrays prepared offline cost no RAM or start-up time.
"""
from __future__ import annotations

import os

from absl import logging
import numpy as np

from inr_gan_jax.data import base
from inr_gan_jax.data import transforms


class ArraySource:
  """An in-memory (or memory-mapped) uint8 [N, R, R, 3] array as a source."""

  def __init__(self, images: np.ndarray, resolution: int):
    self.resolution = base.check_resolution(resolution)
    if (images.dtype != np.uint8 or images.ndim != 4
        or images.shape[1:] != (self.resolution, self.resolution, 3)):
      raise ValueError(
          f"expected uint8 [N, {resolution}, {resolution}, 3], got "
          f"{images.dtype} {images.shape}")
    self.images = images

  def __len__(self) -> int:
    return len(self.images)

  def get(self, indices: np.ndarray) -> np.ndarray:
    indices = base.check_indices(indices, len(self))
    return np.asarray(self.images[indices])  # [B, R, R, 3]


def convert_images(images: np.ndarray, resolution: int) -> np.ndarray:
  """uint8 [N, H, W(, C)] -> uint8 [N, R, R, 3] (gray/alpha/crop/resize)."""
  if images.dtype != np.uint8:
    raise ValueError(f"images must be uint8, got {images.dtype}")
  if images.ndim == 3:
    images = images[..., None]  # [N, H, W, 1]
  if images.ndim != 4 or images.shape[-1] not in (1, 2, 3, 4):
    raise ValueError(
        "images must be [N, H, W] or [N, H, W, 1|2|3|4], got shape "
        f"{images.shape}")
  n, height, width, channels = images.shape
  if height == width == resolution and channels == 3:
    return images
  if height == width == resolution and channels == 1:
    return np.repeat(images, 3, axis=-1)  # Fast path for grayscale.
  out = np.empty((n, resolution, resolution, 3), np.uint8)
  for i in range(n):
    out[i] = transforms.array_to_square_rgb(images[i], resolution)
  return out


def load_array_source(path: str, resolution: int, *, key: str = "images",
                      num_examples: int = 0) -> ArraySource:
  """Reads `path` (.npz member `key`, or .npy) into an ArraySource at R."""
  resolution = base.check_resolution(resolution)
  if not path or not os.path.isfile(path):
    raise FileNotFoundError(f"npz/npy file not found: {path!r} (set --config.data.path to your copy)")
  if path.endswith(".npy"):
    images = np.load(path, mmap_mode="r")
  else:
    with np.load(path, allow_pickle=False) as archive:
      if key not in archive.files:
        raise KeyError(f"{path!r} has no array {key!r}; it has {archive.files}")
      images = archive[key]
  if num_examples:
    images = images[:num_examples]
  if len(images) == 0:
    raise ValueError(f"{path!r}[{key!r}] holds no images")
  converted = convert_images(images, resolution)
  logging.info("Array source %s: %s %s -> %s", path, images.dtype,
               images.shape, converted.shape)
  return ArraySource(converted, resolution)
