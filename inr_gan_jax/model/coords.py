"""Coordinate grids: where an INR is evaluated.

The coordinate convention, stated once for the whole package
-------------------------------------------------------------
* A point is ``p = (x, y)``. ``x`` runs along image **columns** (left to right),
  ``y`` along image **rows** (top to bottom), so ``image[i, j]`` is the value at
  ``y = y_i, x = x_j``. Arrays of points have ``p[..., 0] = x, p[..., 1] = y``.
* The training image covers the unit square ``[0, 1]^2`` ("window"
  ``(x0, y0, x1, y1) = (0, 0, 1, 1)``).
* Pixels are sampled at their **centres**: an ``H x W`` grid over a window has
  ``x_j = x0 + (j + 0.5) * (x1 - x0) / W`` and ``y_i = y0 + (i + 0.5) * (y1 - y0) / H``.
  Pixel ``(i, j)`` therefore covers the cell ``[x_j +- dx/2] x [y_i +- dy/2]``, and
  an image at any resolution tiles the same square.

Consequences the rest of the package relies on:
* a denser grid over ``[0,1]^2`` is superresolution, a sparser one is
  low-resolution sampling, a wider window (``(-0.3, -0.3, 1.3, 1.3)``) is zoom-out
  / extrapolation, and a non-square ``H x W`` over a non-square window keeps the
  pixel aspect ratio;
* a ``3H x 3W`` grid contains the ``H x W`` grid's centres exactly (at the middle
  sub-pixel of every 3 x 3 group), which makes exactness tests possible;
* nearest upsampling between two grids over the same window is "which coarse cell
  contains the fine pixel's centre", see :func:`nearest_indices`.
"""
from typing import Sequence, Tuple

import numpy as np

Window = Tuple[float, float, float, float]
UNIT_WINDOW: Window = (0.0, 0.0, 1.0, 1.0)


def check_window(window: Sequence[float]) -> Window:
  """Validates ``(x0, y0, x1, y1)`` and returns it as a tuple of floats."""
  if len(window) != 4:
    raise ValueError(f"window must be (x0, y0, x1, y1), got {tuple(window)!r}")
  x0, y0, x1, y1 = (float(v) for v in window)
  if not all(np.isfinite([x0, y0, x1, y1])):
    raise ValueError(f"window must be finite, got {(x0, y0, x1, y1)}")
  if not (x1 > x0 and y1 > y0):
    raise ValueError(
        f"window (x0, y0, x1, y1) = {(x0, y0, x1, y1)} is empty or inverted: "
        "need x1 > x0 and y1 > y0")
  return (x0, y0, x1, y1)


def check_size(height: int, width: int) -> Tuple[int, int]:
  if int(height) != height or int(width) != width or height < 1 or width < 1:
    raise ValueError(f"grid size must be positive integers, got {height} x {width}")
  return int(height), int(width)


def axis_centres(n: int, lo: float, hi: float) -> np.ndarray:
  """Pixel-centre positions of ``n`` cells tiling ``[lo, hi]``: ``[n]`` float32."""
  return (lo + (np.arange(n, dtype=np.float64) + 0.5) * (hi - lo) / n).astype(np.float32)


def pixel_grid(height: int, width: int, window: Sequence[float] = UNIT_WINDOW) -> np.ndarray:
  """Pixel-centred coordinates of an ``height x width`` image over ``window``.

  Args:
    height: number of rows H.
    width: number of columns W.
    window: ``(x0, y0, x1, y1)``; ``(0, 0, 1, 1)`` is the training square.

  Returns:
    ``[H, W, 2]`` float32 with ``[..., 0] = x`` (column) and ``[..., 1] = y`` (row).
  """
  height, width = check_size(height, width)
  x0, y0, x1, y1 = check_window(window)
  xs = axis_centres(width, x0, x1)  # [W]
  ys = axis_centres(height, y0, y1)  # [H]
  xx, yy = np.meshgrid(xs, ys, indexing="xy")  # [H, W] each
  return np.stack([xx, yy], axis=-1)  # [H, W, 2]


def scaled_size(size: int, block_resolution: int, resolution: int) -> int:
  """Side length of a block's grid when the output side is ``size``.

  A block that works at ``block_resolution`` when the generator outputs
  ``resolution`` keeps that ratio at any output size (rounded up, at least 1),
  so every block's grid scales with the requested image.
  """
  return max(1, int(np.ceil(size * block_resolution / resolution - 1e-9)))


def nearest_indices(n_fine: int, n_coarse: int) -> np.ndarray:
  """Coarse cell containing each fine pixel centre, along one axis: ``[n_fine]`` int32.

  Both grids tile the same interval, so the fine centre ``(i + 0.5) / n_fine``
  falls in coarse cell ``floor((i + 0.5) * n_coarse / n_fine)``; for an integer
  ratio ``s`` this is ``i // s`` (plain pixel replication).
  """
  i = np.arange(n_fine, dtype=np.int64)
  return np.minimum((2 * i + 1) * n_coarse // (2 * n_fine), n_coarse - 1).astype(np.int32)


def linear_indices(n_fine: int, n_coarse: int) -> Tuple[np.ndarray, np.ndarray]:
  """Two-tap linear interpolation from a coarse to a fine axis (pixel centres).

  Returns ``(index [n_fine, 2] int32, weight [n_fine, 2] float32)``. Taps beyond
  the border are clamped, which equals edge replication.
  """
  u = (np.arange(n_fine, dtype=np.float64) + 0.5) * n_coarse / n_fine - 0.5
  lo = np.floor(u)
  frac = u - lo
  idx = np.stack([lo, lo + 1], axis=-1)
  idx = np.clip(idx, 0, n_coarse - 1).astype(np.int32)
  weight = np.stack([1.0 - frac, frac], axis=-1).astype(np.float32)
  return idx, weight
