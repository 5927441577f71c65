"""Evaluating a batch of INRs on a coordinate grid (the multi-scale INR).

A :class:`GridPlan` says *where* each block is evaluated (its points) and how
a coarse block's outputs reach the next block's points (upsampling taps). It is
a pytree of arrays, passed to jitted functions as an argument, so one compiled
generator serves every window of a given grid shape; plans for full images come
from :func:`make_plan`, and any other point set (tiles, masked pixels) can be
expressed as a plan too.

Data flow for one sample (``h`` = hidden activations, ``e_k`` = block k's
coordinate features on its own grid)::

  block 0:  h = act(W [h, e_0] + b) ... (layer 0 sees e_0 only),  rgb = to_rgb_0(h)
  block k:  h, rgb = up(h), up(rgb);  h = act(W [h, e_k] + b) ...;  rgb += to_rgb_k(h)
  image  =  tanh(rgb)            (rgb itself with output_activation "linear")

``W [h, e]`` is computed as ``h W_h^T + e W_e^T`` (:func:`layers.split_dense`),
so the ``[N, in + coord]`` concatenation is never written out: same values and
MACs, one less full pass over memory per layer (docs/benchmarks.md).
"""
import dataclasses
import functools
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from inr_gan_jax.model import coords
from inr_gan_jax.model import layers
from inr_gan_jax.model import layout as layout_lib


class GridPlan(NamedTuple):
  """Where each block of the INR is evaluated.

  Attributes:
    points: per block, ``[N_k, 2]`` points (x, y) in the coordinate convention
      of :mod:`inr_gan_jax.model.coords`.
    up_index: per block ``k >= 1``, ``[N_k, T]`` int32 indices into block
      ``k - 1``'s points (``T = 1`` nearest, ``T = 4`` bilinear).
    up_weight: per block ``k >= 1``, ``[N_k, T]`` float32 tap weights.
  """
  points: Tuple[jax.Array, ...]
  up_index: Tuple[jax.Array, ...]
  up_weight: Tuple[jax.Array, ...]


@dataclasses.dataclass(frozen=True)
class AxisLevel:
  """One block's grid along one axis of a full render.

  Attributes:
    centres: ``[n]`` float32 pixel centres of this block's grid.
    taps: ``[n, T]`` int32 indices into the previous block's centres (None for block 0).
    weights: ``[n, T]`` float32 tap weights (None for block 0).
  """
  centres: np.ndarray
  taps: Optional[np.ndarray]
  weights: Optional[np.ndarray]


def axis_levels(layout: layout_lib.INRLayout, size: int, lo: float, hi: float) -> List[AxisLevel]:
  """Per-block 1-D grids and upsampling taps along one axis of a ``size``-pixel render."""
  return _axis_levels(tuple(b.resolution for b in layout.blocks), layout.resolution,
                      layout.upsample, size, lo, hi)


def _axis_levels(block_res: Tuple[int, ...], resolution: int, upsample: str, size: int,
                 lo: float, hi: float) -> List[AxisLevel]:
  sizes = [coords.scaled_size(size, r, resolution) for r in block_res]
  levels = []
  for k, n in enumerate(sizes):
    centres = coords.axis_centres(n, lo, hi)  # [n]
    if k == 0:
      levels.append(AxisLevel(centres, None, None))
      continue
    if upsample == "nearest":
      taps = coords.nearest_indices(n, sizes[k - 1])[:, None]  # [n, 1]
      weights = np.ones(taps.shape, np.float32)
    else:
      taps, weights = coords.linear_indices(n, sizes[k - 1])  # [n, 2] each
    levels.append(AxisLevel(centres, taps.astype(np.int32), weights.astype(np.float32)))
  return levels


def needed_ranges(levels: Sequence[AxisLevel], start: int, stop: int) -> List[Tuple[int, int]]:
  """Half-open index range of every block's axis that final range ``[start, stop)`` needs.

  Returns one ``(lo, hi)`` per block, first block first.
  """
  ranges = [(start, stop)]
  for k in range(len(levels) - 1, 0, -1):
    lo, hi = ranges[0]
    taps = levels[k].taps[lo:hi]  # [hi - lo, T]
    ranges.insert(0, (int(taps.min()), int(taps.max()) + 1))
  return ranges


def _outer_taps(ty: np.ndarray, wy: np.ndarray, tx: np.ndarray, wx: np.ndarray,
                coarse_width: int) -> Tuple[np.ndarray, np.ndarray]:
  """Separable taps -> flat ``[N, Ty*Tx]`` indices and weights, in (row tap, column tap) order."""
  idx = ty[:, None, :, None] * coarse_width + tx[None, :, None, :]  # [h, w, Ty, Tx]
  wt = wy[:, None, :, None] * wx[None, :, None, :]
  n = ty.shape[0] * tx.shape[0]
  return (idx.reshape(n, -1).astype(np.int32), wt.reshape(n, -1).astype(np.float32))


def tile_plan(rows: Sequence[AxisLevel], cols: Sequence[AxisLevel], row_range: Tuple[int, int],
              col_range: Tuple[int, int]) -> Tuple[GridPlan, Tuple[int, int]]:
  """Plan for the final-grid rectangle ``rows[row_range] x cols[col_range]``.

  Returns ``(plan, (tile_height, tile_width))``; the plan's last block has the
  tile's pixels in row-major order.
  """
  rr = needed_ranges(rows, *row_range)
  cr = needed_ranges(cols, *col_range)
  points, up_index, up_weight = [], [], []
  for k, ((r0, r1), (c0, c1)) in enumerate(zip(rr, cr)):
    xx, yy = np.meshgrid(cols[k].centres[c0:c1], rows[k].centres[r0:r1], indexing="xy")
    points.append(np.stack([xx, yy], axis=-1).reshape(-1, 2))  # [n_k, 2]
    if k == 0:
      continue
    (pr0, _), (pc0, pc1) = rr[k - 1], cr[k - 1]
    ty = rows[k].taps[r0:r1] - pr0  # local indices into the previous block's rectangle
    tx = cols[k].taps[c0:c1] - pc0
    idx, wt = _outer_taps(ty, rows[k].weights[r0:r1], tx, cols[k].weights[c0:c1], pc1 - pc0)
    up_index.append(idx)
    up_weight.append(wt)
  shape = (row_range[1] - row_range[0], col_range[1] - col_range[0])
  return GridPlan(tuple(points), tuple(up_index), tuple(up_weight)), shape


@functools.lru_cache(maxsize=64)
def _make_plan_cached(block_res: Tuple[int, ...], resolution: int, upsample: str,
                      height: int, width: int, window: coords.Window) -> GridPlan:
  # A full image is the plan of one tile that covers it: one builder for both.
  x0, y0, x1, y1 = window
  rows = _axis_levels(block_res, resolution, upsample, height, y0, y1)
  cols = _axis_levels(block_res, resolution, upsample, width, x0, x1)
  return tile_plan(rows, cols, (0, height), (0, width))[0]


def make_plan(layout: layout_lib.INRLayout, height: int, width: int,
              window: Sequence[float] = coords.UNIT_WINDOW) -> GridPlan:
  """Plan for an ``height x width`` image over ``window``.

  Every block's grid scales with the request: a block at resolution ``r`` of a
  generator trained at ``R`` gets ``ceil(height * r / R) x ceil(width * r / R)``
  points over the same window.
  """
  height, width = coords.check_size(height, width)
  return _make_plan_cached(tuple(b.resolution for b in layout.blocks), layout.resolution,
                           layout.upsample, height, width, coords.check_window(window))


def _upsample(v: jax.Array, index: jax.Array, weight: jax.Array) -> jax.Array:
  """``v [N_coarse, C]`` -> ``[N_fine, C]`` through ``T`` taps per fine point."""
  if index.shape[-1] == 1:  # nearest: a pure gather, no arithmetic
    return jnp.take(v, index[:, 0], axis=0)
  taps = jnp.take(v, index, axis=0)  # [N_fine, T, C]
  return jnp.einsum("ntc,nt->nc", taps, weight)


def block_params(theta: Dict[str, Any], shared: Dict[str, Any], key: str) -> Dict[str, Any]:
  """Deep union of the predicted and shared subtrees under ``key`` (names never clash)."""
  def merge(a, b):
    out = dict(a)
    for k, v in b.items():
      out[k] = merge(out[k], v) if isinstance(v, dict) and k in out else v
    return out
  return merge(shared.get(key, {}), theta.get(key, {}))


def layer_weight(layout: layout_lib.INRLayout, lyr: layout_lib.LayerSpec,
                 p: Dict[str, jax.Array]) -> jax.Array:
  """One sample's weight ``[out, fan_in]`` of layer ``lyr`` from its tensors ``p``."""
  if lyr.kind != layout_lib.FMM:
    return p["w"]
  if layout.fmm_modulation == "linear":
    w = layers.fmm_linear_weight(p["w"], p["a"], p["b"])  # [out, fan_in]
  else:
    w = layers.fmm_weight(p["w"], p["a"], p["b"])  # [out, fan_in]
  # Demodulate hidden layers only: to-RGB rows are summed over blocks before the tanh and
  # keep their small initial scale (as StyleGAN2's toRGB is modulated, not demodulated).
  if layout.fmm_demodulate and lyr.activation:
    w = layers.demodulate(w, layout.he_gain)
  return w


def fourier_matrix(params: Dict[str, Any], max_cycles: float = 0.0) -> jax.Array:
  """A block's frequency matrix ``[n, 2]``: ``w`` (+ the per-sample offset ``dw``), capped.

  With ``max_cycles > 0`` each row is softly capped at that many cycles per
  training image (``layers.soft_cap_rows``).
  """
  f = params["fourier"]
  w = f["w"] + f["dw"] if "dw" in f else f["w"]
  return layers.soft_cap_rows(w, 2.0 * np.pi * max_cycles) if max_cycles else w


def coordinate_features(blk: layout_lib.BlockSpec, params: Dict[str, Any],
                        points: jax.Array) -> jax.Array:
  """A block's coordinate features at ``points [N, 2]``: ``[N, coord_dim]``."""
  if blk.coord_encoding == "fourier":
    e = layers.fourier_features(points, fourier_matrix(params, blk.fourier_max_cycles))  # [N, 2n]
  else:
    e = 2.0 * points - 1.0  # raw (x, y), centred so the training square is [-1, 1]^2
  if blk.grid_size:
    e = jnp.concatenate([e, layers.grid_features(points, params["grid"]["v"])], -1)  # [N, +c]
  return e


def evaluate(layout: layout_lib.INRLayout, theta: Dict[str, Any], shared: Dict[str, Any],
             plan: GridPlan, return_hidden: bool = False, compute_dtype=None):
  """One sample's INR on a plan's points.

  Args:
    layout: the static layout.
    theta: this sample's predicted tensors (leaves without a batch axis).
    shared: the shared tensors.
    plan: where to evaluate.
    return_hidden: also return the last block's activations.
    compute_dtype: e.g. ``jnp.bfloat16``: the hidden layers' matmuls and activations run
      in it. Coordinates, Fourier phases, the FMM weight construction and the RGB sum stay
      float32 (a bf16 phase W p would be off by whole pixels at 256 px); None: float32.

  Returns:
    ``[N, C]`` values in ``[-1, 1]`` (unbounded with ``output_activation="linear"``) at the
    last block's points (and ``[N, width]``
    hidden activations if asked).
  """
  low = (lambda x: x) if compute_dtype is None else (lambda x: x.astype(compute_dtype))  # noqa: E731
  h = rgb = None
  for k, blk in enumerate(layout.blocks):
    bp = block_params(theta, shared, blk.name)
    e = low(coordinate_features(blk, bp, plan.points[k]))  # [N_k, coord_dim]
    if k > 0:
      h = _upsample(h, plan.up_index[k - 1], low(plan.up_weight[k - 1]))  # [N_k, width_{k-1}]
      rgb = _upsample(rgb, plan.up_index[k - 1], plan.up_weight[k - 1])  # [N_k, C]
    for lyr in blk.layers:
      p = bp[lyr.name]
      w = layer_weight(layout, lyr, p)  # [out, fan_in]
      bias = p["bias"]
      if lyr.cond_dim:  # latent code: constant over pixels, so fold it into the bias once
        bias = bias + p["w_cond"] @ theta["cond"]
      w, bias = low(w), low(bias)
      if h is None:  # first layer of the INR sees the coordinates only
        pre = layers.dense(e, w, bias)  # [N_k, out]
      else:
        pre = layers.split_dense(h, e, w, bias)  # [N_k, out] = [h, e] W^T + bias
      h = layers.leaky_relu(pre, layout.lrelu_slope)
      if layout.pixel_norm:
        h = layers.pixel_norm(h)  # [N_k, out], unit mean square per point
    w_rgb = low(layer_weight(layout, blk.to_rgb, bp["to_rgb"]))
    out = layers.dense(h, w_rgb, low(bp["to_rgb"]["bias"])).astype(jnp.float32)  # [N_k, C]
    rgb = out if rgb is None else rgb + out
  if layout.output_activation == "linear":
    image = rgb
  elif layout.output_grad_floor > 0:  # same forward; a gradient that can leave saturation
    image = layers.tanh_inward_floor(rgb, layout.output_grad_floor)
  else:
    image = jnp.tanh(rgb)
  if layout.grey:
    image = layers.grey_to_channels(image, layout.out_channels)  # [N, C]
  return (image, h) if return_hidden else image


def evaluate_batch(layout: layout_lib.INRLayout, theta: Dict[str, Any], shared: Dict[str, Any],
                   plan: GridPlan, compute_dtype=None) -> jax.Array:
  """``theta`` leaves ``[B, ...]`` -> ``[B, N, C]``: ``vmap`` of :func:`evaluate` over samples."""
  fn = functools.partial(evaluate, layout, compute_dtype=compute_dtype)
  return jax.vmap(fn, in_axes=(0, None, None))(theta, shared, plan)


def render(layout: layout_lib.INRLayout, theta: Dict[str, Any], shared: Dict[str, Any],
           height: int, width: int, window: Sequence[float] = coords.UNIT_WINDOW,
           compute_dtype=None) -> jax.Array:
  """Images ``[B, H, W, C]`` in ``[-1, 1]`` from a batch of INR parameters."""
  plan = make_plan(layout, height, width, window)
  flat = evaluate_batch(layout, theta, shared, plan, compute_dtype)  # [B, H*W, C]
  return flat.reshape(flat.shape[0], height, width, flat.shape[-1])
