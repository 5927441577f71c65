"""Exporting one generated image as a standalone INR (a ``.npz`` any numpy can render).

What goes in the file (format ``inr_gan_jax.inr/v1``):

* one float32 array per INR tensor, named ``block{k}/fourier/w`` ``[n, 2]``,
  ``block{k}/layer{l}/w`` ``[out, in + coord]``, ``block{k}/layer{l}/bias``
  ``[out]``, ``block{k}/to_rgb/w`` ``[C, width]``, ``block{k}/to_rgb/bias``
  ``[C]``. Shared and predicted tensors are merged; FMM weights are
  materialised (``W = W_s * 2 sigmoid(A B)``) and the latent-conditioned
  baseline's code is folded into the first bias, so the file is a plain MLP
  per block;
* ``meta_json``: a JSON string with the layout (block resolutions and layer
  sizes, base resolution, upsampling, activation slope, coordinate encoding),
  the coordinate convention, and where the sample came from.

:mod:`inr_gan_jax.render_inr` renders such a file with numpy alone.
"""
import io
import json
import os
from typing import Any, Dict, Optional

import jax
import numpy as np

from inr_gan_jax.model import inr
from inr_gan_jax.model import layout as layout_lib

FORMAT = "inr_gan_jax.inr/v1"
COORDINATE_CONVENTION = (
    "A point is (x, y): x along columns (left to right), y along rows (top to bottom). The "
    "training image covers the unit square [0, 1]^2. An H x W render of window (x0, y0, x1, y1) "
    "samples pixel centres x_j = x0 + (j + 0.5)(x1 - x0)/W, y_i = y0 + (i + 0.5)(y1 - y0)/H. "
    "Block k is evaluated on its own grid of ceil(H r_k / R) x ceil(W r_k / R) centres over the "
    "same window; a finer block reads the coarser one at the cell containing its centre "
    "(nearest) or by 2x2 linear interpolation of cell centres with edge clamping (bilinear). "
    "Raw coordinate features are 2p - 1; Fourier features are [sin(p F^T), cos(p F^T)]. A block "
    "with a latent grid (grid_size G > 0) appends grid/v [G, G, c] read at p by bilinear "
    "interpolation of cell centres ((j + 0.5)/G, (i + 0.5)/G) with edge clamping.")


def layout_meta(layout: layout_lib.INRLayout) -> Dict[str, Any]:
  """JSON-able description of the INR's structure (everything a renderer needs besides arrays)."""
  return {
      "resolution": layout.resolution,
      "out_channels": layout.out_channels,
      "upsample": layout.upsample,
      "lrelu_slope": layout.lrelu_slope,
      "output_activation": "tanh",
      "output_range": [-1.0, 1.0],
      "blocks": [{
          "name": b.name,
          "resolution": b.resolution,
          "coord_encoding": b.coord_encoding,
          "num_fourier": b.num_fourier,
          "grid_size": b.grid_size,
          "grid_channels": b.grid_channels,
          "layers": [{"name": l.name, "in_dim": l.in_dim, "coord_dim": l.coord_dim,
                      "out_dim": l.out_dim} for l in b.layers],
      } for b in layout.blocks],
  }


def materialize(layout: layout_lib.INRLayout, theta_one: Dict[str, Any],
                shared: Dict[str, Any]) -> Dict[str, np.ndarray]:
  """One sample's INR as plain per-block MLP tensors (numpy float32).

  Args:
    theta_one: one sample's predicted tensors (no batch axis).
    shared: the shared tensors.
  """
  out = {}
  for blk in layout.blocks:
    bp = inr.block_params(theta_one, shared, blk.name)
    if blk.coord_encoding == "fourier":
      out[f"{blk.name}/fourier/w"] = inr.fourier_matrix(bp, blk.fourier_max_cycles)
    if blk.grid_size:
      out[f"{blk.name}/grid/v"] = bp["grid"]["v"]
    for lyr in blk.layers:
      p = bp[lyr.name]
      bias = p["bias"]
      if lyr.cond_dim:
        bias = bias + p["w_cond"] @ theta_one["cond"]
      out[f"{blk.name}/{lyr.name}/w"] = inr.layer_weight(layout, lyr, p)
      out[f"{blk.name}/{lyr.name}/bias"] = bias
    w_rgb, b_rgb = inr.layer_weight(layout, blk.to_rgb, bp["to_rgb"]), bp["to_rgb"]["bias"]
    if layout.grey:  # one grey row -> C equal rows: the file stays a plain RGB MLP
      w_rgb = np.repeat(np.asarray(w_rgb), layout.out_channels, axis=0)
      b_rgb = np.repeat(np.asarray(b_rgb), layout.out_channels, axis=0)
    out[f"{blk.name}/to_rgb/w"] = w_rgb
    out[f"{blk.name}/to_rgb/bias"] = b_rgb
  return {k: np.asarray(v, np.float32) for k, v in jax.device_get(out).items()}


def export_arrays(layout: layout_lib.INRLayout, theta_one: Dict[str, Any], shared: Dict[str, Any],
                  source: Optional[Dict[str, Any]] = None) -> Dict[str, np.ndarray]:
  """Everything that goes into the ``.npz``: tensors plus ``format`` and ``meta_json``."""
  meta = {"format": FORMAT, "layout": layout_meta(layout),
          "coordinate_convention": COORDINATE_CONVENTION, "source": source or {}}
  arrays = materialize(layout, theta_one, shared)
  arrays["format"] = np.array(FORMAT)
  arrays["meta_json"] = np.array(json.dumps(meta))  # a unicode array: loads without pickle
  return arrays


def save_inr(path: str, layout: layout_lib.INRLayout, theta_one: Dict[str, Any],
             shared: Dict[str, Any], source: Optional[Dict[str, Any]] = None) -> int:
  """Writes one sample's INR to ``path`` (atomically); returns the file size in bytes."""
  arrays = export_arrays(layout, theta_one, shared, source)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  buf = io.BytesIO()
  np.savez(buf, **arrays)
  tmp = path + ".tmp"
  with open(tmp, "wb") as f:
    f.write(buf.getvalue())
  os.replace(tmp, path)
  return os.path.getsize(path)


def take_sample(theta: Dict[str, Any], index: int) -> Dict[str, Any]:
  """Sample ``index`` of a batched theta (leaves ``[B, ...]`` -> ``[...]``)."""
  return jax.tree.map(lambda x: x[index], theta)
