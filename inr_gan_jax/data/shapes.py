"""An embedded, download-free dataset: one anti-aliased shape on a plain background.

Image i is a pure function of (seed, i), rendered analytically at any
resolution, so the dataset needs no storage and "continuous image" checks
(render at 16, 32, 64, ...) have an exact ground truth.

Each image holds one filled shape, chosen uniformly among a disc, a rotated
square and a rotated equilateral triangle:
  * circumradius r ~ U[0.14, 0.28] * R, centre ~ U[0.3, 0.7]^2 * R, so the
    shape always lies inside the frame; rotation ~ U[0, 2 pi);
  * colours with strong contrast: per channel a coin picks which of background
    and shape is dark (U[0.1, 0.35]) and which is light (U[0.65, 0.9]), so
    every channel differs by >= 0.3 while hues still vary.
This keeps it easy enough for a small GAN to learn at 32 x 32 on a CPU.

Anti-aliasing is by analytic coverage: with d the signed distance (pixels)
from a pixel centre to the shape boundary, coverage = clip(0.5 - d, 0, 1),
i.e. the fraction of a one-pixel-wide box filter that falls inside a straight
edge. A regular n-gon's distance is max_k <n_k, p - c> - r cos(pi / n) over its
edge normals n_k (exact along the edges, which is where AA happens).

Random parameters come from a counter-based hash (splitmix64 of seed, index,
parameter id), so any subset of indices renders independently and vectorised.
"""
from __future__ import annotations

import numpy as np

from inr_gan_jax.data import base

DEFAULT_NUM_EXAMPLES = 50_000
SHAPE_NAMES = ("disc", "square", "triangle")
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
# Pixels per rendering chunk: bounds the float64 temporaries to ~50 MB.
_CHUNK_PIXELS = 1 << 20


def _splitmix64(x: np.ndarray) -> np.ndarray:
  """The splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
  x = x + np.uint64(0x9E3779B97F4A7C15)
  x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
  x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
  return x ^ (x >> np.uint64(31))


def _uniforms(seed: int, indices: np.ndarray, num: int) -> np.ndarray:
  """float64 [len(indices), num] in [0, 1), a pure function of (seed, index, j)."""
  seed_key = _splitmix64(np.array([seed], np.uint64))  # [1]
  per_image = _splitmix64(seed_key ^ indices.astype(np.uint64))  # [B]
  streams = np.arange(num, dtype=np.uint64)
  bits = _splitmix64(per_image[:, None] ^ _splitmix64(streams)[None, :])
  return (bits >> np.uint64(11)).astype(np.float64) * 2.0 ** -53  # [B, num]


def shape_params(seed: int, indices: np.ndarray) -> dict[str, np.ndarray]:
  """Per-image parameters, in units of the image side (resolution-free)."""
  u = _uniforms(seed, np.asarray(indices), 13)  # [B, 13]
  dark_bg = u[:, 7:10] < 0.5  # [B, 3] which of bg/shape is dark, per channel
  dark = 0.1 + 0.25 * u[:, 10:13]
  light = 0.65 + 0.25 * (1.0 - u[:, 10:13])
  return {
      "kind": np.minimum((u[:, 0] * 3).astype(np.int64), 2),  # [B] in {0,1,2}
      "angle": 2 * np.pi * u[:, 1],  # [B]
      "center": 0.3 + 0.4 * u[:, 2:4],  # [B, 2] (x, y)
      "radius": 0.14 + 0.14 * u[:, 4],  # [B]
      "background": np.where(dark_bg, dark, light),  # [B, 3] in [0, 1]
      "foreground": np.where(dark_bg, light, dark),  # [B, 3]
  }


def _render_chunk(params: dict[str, np.ndarray], resolution: int) -> np.ndarray:
  """Parameters of B images -> uint8 [B, R, R, 3]."""
  coords = np.arange(resolution, dtype=np.float64) + 0.5  # pixel centres
  center = params["center"] * resolution  # [B, 2]
  dx = coords[None, None, :] - center[:, 0, None, None]  # [B, 1, R]
  dy = coords[None, :, None] - center[:, 1, None, None]  # [B, R, 1]
  radius = params["radius"] * resolution  # [B]
  kind = params["kind"]

  # Polygon edge normals: 4 for squares; triangles repeat their first normal
  # as the 4th, which leaves the max over normals unchanged.
  sides = np.where(kind == 2, 3, 4)  # [B]
  k = np.array([0, 1, 2, 3], np.float64)
  k = np.where((kind[:, None] == 2) & (k[None] == 3), 0.0, k[None])  # [B, 4]
  normal_angle = params["angle"][:, None] + 2 * np.pi * k / sides[:, None]
  nx = np.cos(normal_angle)[:, :, None, None]  # [B, 4, 1, 1]
  ny = np.sin(normal_angle)[:, :, None, None]
  projections = nx * dx[:, None] + ny * dy[:, None]  # [B, 4, R, R]
  apothem = radius * np.cos(np.pi / sides)  # [B]
  dist_poly = projections.max(axis=1) - apothem[:, None, None]  # [B, R, R]
  dist_disc = np.sqrt(dx ** 2 + dy ** 2) - radius[:, None, None]
  dist = np.where((kind == 0)[:, None, None], dist_disc, dist_poly)

  coverage = np.clip(0.5 - dist, 0.0, 1.0)[..., None]  # [B, R, R, 1]
  bg = params["background"][:, None, None, :]  # [B, 1, 1, 3]
  fg = params["foreground"][:, None, None, :]
  image = bg + (fg - bg) * coverage  # [B, R, R, 3] in [0, 1]
  return np.rint(image * 255.0).astype(np.uint8)


def render_shapes(seed: int, indices: np.ndarray, resolution: int) -> np.ndarray:
  """Renders images `indices` of the dataset `seed` -> uint8 [B, R, R, 3]."""
  indices = np.asarray(indices, np.int64)
  out = np.empty((len(indices), resolution, resolution, 3), np.uint8)
  chunk = max(1, _CHUNK_PIXELS // (4 * resolution * resolution))
  for start in range(0, len(indices), chunk):
    params = shape_params(seed, indices[start:start + chunk])
    out[start:start + chunk] = _render_chunk(params, resolution)
  return out


def labelled(seed: int, num: int, resolution: int) -> tuple[np.ndarray, np.ndarray]:
  """Images ``[0, num)`` -> ``(uint8 [num, R, R, 3], shape kinds int32 [num] in {0, 1, 2})``.

  The labels of a shape-kind classifier (``experiments/train_feature_net.py --data=shapes``).
  """
  indices = np.arange(num)
  kinds = shape_params(seed, indices)["kind"].astype(np.int32)
  return render_shapes(seed, indices, resolution), kinds


class ShapesSource:
  """`num_examples` procedurally rendered shape images at `resolution`."""

  def __init__(self, resolution: int, num_examples: int = DEFAULT_NUM_EXAMPLES,
               seed: int = 0):
    self.resolution = base.check_resolution(resolution)
    if num_examples < 1:
      raise ValueError(f"num_examples must be >= 1, got {num_examples}")
    if seed < 0:
      raise ValueError(f"seed must be >= 0, got {seed}")
    self.num_examples = int(num_examples)
    self.seed = int(seed)

  def __len__(self) -> int:
    return self.num_examples

  def get(self, indices: np.ndarray) -> np.ndarray:
    indices = base.check_indices(indices, len(self))
    return render_shapes(self.seed, indices, self.resolution)
