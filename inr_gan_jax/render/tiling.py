"""Tiled rendering: images of any size under a cap on pixels per call.

A multi-scale INR cannot be evaluated tile by tile naively: block ``k`` of the
final image takes its input from block ``k - 1`` on a coarser grid, and a tile
of the final grid needs exactly those coarse points that its upsampling taps
reference. This module computes them, so that a tiled render equals the
single-shot render (same points, same taps, same weights, same tap order).

How the coarse context is found
-------------------------------
:func:`inr.tile_plan` (the one plan builder; :func:`inr.make_plan` is the plan of
one tile covering the image) builds every block's grid and every upsampling map as
an outer product of two 1-D maps (rows and columns, :func:`inr.axis_levels`): block ``k`` has
``h_k x w_k`` points, and fine row ``i`` reads coarse rows ``row_taps_k[i]``
(1 tap for nearest, 2 for bilinear). The maps are monotone and consecutive
fine rows move at most one coarse row (coarse grids are never finer), so the
coarse rows needed by a contiguous run of fine rows are again a contiguous run
``[min tap, max tap]``. Walking from the last block down to the first gives,
for each tile, one rectangle per block: a :class:`~inr_gan_jax.model.inr.GridPlan`
whose level-``k`` points are that rectangle of the global level-``k`` grid
(bit-identical coordinates) and whose ``up_index`` points into it.

All tiles of one render are padded to the same per-level point counts, so one
compiled evaluator serves every tile (padding points repeat point 0 and are
dropped after evaluation).
"""
import dataclasses
import math
from typing import Any, Callable, Dict, Iterator, Optional, Sequence, Tuple

import jax
import numpy as np

from inr_gan_jax.model import coords
from inr_gan_jax.utils import image_utils
from inr_gan_jax.utils import progress as progress_lib
from inr_gan_jax.model import inr
from inr_gan_jax.model import layout as layout_lib


def pad_plan(plan: inr.GridPlan, counts: Sequence[int]) -> inr.GridPlan:
  """Pads every block to ``counts[k]`` points (repeating point 0, tap 0) for a fixed shape."""
  def pad(a, n):
    extra = n - a.shape[0]
    return a if extra == 0 else np.concatenate([a, np.repeat(a[:1], extra, axis=0)], axis=0)
  points = tuple(pad(p, n) for p, n in zip(plan.points, counts))
  up_index = tuple(pad(i, n) for i, n in zip(plan.up_index, counts[1:]))
  up_weight = tuple(pad(w, n) for w, n in zip(plan.up_weight, counts[1:]))
  return inr.GridPlan(points, up_index, up_weight)


def choose_tile(height: int, width: int, max_pixels: int) -> Tuple[int, int]:
  """Tile shape with at most ``max_pixels`` final pixels: full-width bands if they fit."""
  if max_pixels < 1:
    raise ValueError(f"max_pixels_per_call must be >= 1, got {max_pixels}")
  if height * width <= max_pixels:
    return height, width
  if width <= max_pixels:
    return max(1, max_pixels // width), width
  th = min(height, max(1, math.isqrt(max_pixels)))
  return th, max(1, min(width, max_pixels // th))


@dataclasses.dataclass
class TiledRenderer:
  """Plans for rendering ``height x width`` over ``window`` in tiles of ``tile`` pixels."""
  layout: layout_lib.INRLayout
  height: int
  width: int
  window: coords.Window
  tile: Tuple[int, int]

  def __post_init__(self):
    self.height, self.width = coords.check_size(self.height, self.width)
    self.window = coords.check_window(self.window)
    x0, y0, x1, y1 = self.window
    self.rows = inr.axis_levels(self.layout, self.height, y0, y1)
    self.cols = inr.axis_levels(self.layout, self.width, x0, x1)
    th, tw = self.tile
    self.tiles = [((r, min(r + th, self.height)), (c, min(c + tw, self.width)))
                  for r in range(0, self.height, th) for c in range(0, self.width, tw)]
    # The largest rectangle any tile needs per block: the padded, compiled shape.
    self.counts = [0] * len(self.layout.blocks)
    for rr, cr in self.tiles:
      for k, (a, b) in enumerate(zip(inr.needed_ranges(self.rows, *rr), inr.needed_ranges(self.cols, *cr))):
        self.counts[k] = max(self.counts[k], (a[1] - a[0]) * (b[1] - b[0]))

  def plans(self) -> Iterator[Tuple[Tuple[slice, slice], inr.GridPlan, Tuple[int, int]]]:
    """Yields ``((row slice, col slice), padded plan, (tile_h, tile_w))`` per tile."""
    for rr, cr in self.tiles:
      plan, shape = inr.tile_plan(self.rows, self.cols, rr, cr)
      yield (slice(*rr), slice(*cr)), pad_plan(plan, self.counts), shape


def render_tiled(layout: layout_lib.INRLayout, theta: Dict[str, Any], shared: Dict[str, Any],
                 height: int, width: int, window: Sequence[float] = coords.UNIT_WINDOW,
                 max_pixels_per_call: int = 1 << 20, progress: bool = False,
                 to_uint8: bool = False, evaluate_fn: Optional[Callable] = None) -> np.ndarray:
  """Renders a batch of INRs in tiles of at most ``max_pixels_per_call`` pixels.

  Args:
    layout: the INR layout.
    theta: predicted tensors with a batch axis (leaves ``[B, ...]``).
    shared: shared tensors.
    height, width: output size.
    window: ``(x0, y0, x1, y1)``.
    max_pixels_per_call: cap on final-grid pixels evaluated per call (per sample),
      which bounds the activations held at once.
    progress: a progress bar with ETA on stderr (:mod:`inr_gan_jax.utils.progress`).
    to_uint8: store the result as uint8 (4x less host memory for huge images).
    evaluate_fn: jitted ``(theta, shared, plan) -> [B, N, C]``; built if None.

  Returns:
    ``[B, H, W, C]`` float32 in ``[-1, 1]`` (or uint8), equal to the single-shot render.
  """
  renderer = TiledRenderer(layout, height, width, tuple(window),
                           choose_tile(height, width, max_pixels_per_call))
  if evaluate_fn is None:
    evaluate_fn = jax.jit(lambda t, s, p: inr.evaluate_batch(layout, t, s, p))
  batch = jax.tree.leaves(theta)[0].shape[0]
  out = np.empty((batch, renderer.height, renderer.width, layout.out_channels),
                 np.uint8 if to_uint8 else np.float32)
  tiles = progress_lib.track(renderer.plans(), len(renderer.tiles), "tiles", enabled=progress)
  for (rs, cs), plan, (th, tw) in tiles:
    flat = np.asarray(evaluate_fn(theta, shared, plan))  # [B, N_padded, C]
    tile = flat[:, :th * tw].reshape(batch, th, tw, -1)
    if to_uint8:
      tile = image_utils.to_uint8(tile)
    out[:, rs, cs] = tile
  return out
