r"""Renders an exported INR (``.npz`` from ``sample --export_inr``) with numpy alone.

  python -m inr_gan_jax.render_inr sample_0000.npz --resolution=1024 \
      --window=-0.3,-0.3,1.3,1.3 --out=zoomed_out.png

This file is deliberately self-contained (numpy, plus Pillow to write PNGs): it
does not import JAX or any other module of the package, so it can be copied
next to the ``.npz`` files and used anywhere. It re-derives the coordinate
convention stored in the file's ``meta_json`` (see ``inr_gan_jax/model/coords.py``).
"""
import argparse
import json
import math
import sys
from typing import Any, Dict, Sequence, Tuple

import numpy as np

FORMAT = "inr_gan_jax.inr/v1"


def load(path: str) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
  """``(meta, tensors)`` of an exported INR; raises ValueError for other files."""
  try:
    f = np.load(path, allow_pickle=False)
  except FileNotFoundError:
    raise FileNotFoundError(f"INR file {path} does not exist") from None
  with f:
    if "meta_json" not in f.files or str(f.get("format", "")) != FORMAT:
      raise ValueError(f"{path} is not an exported INR (expected format {FORMAT!r})")
    meta = json.loads(str(f["meta_json"]))
    tensors = {k: np.asarray(f[k], np.float32) for k in f.files if k not in ("meta_json", "format")}
  return meta, tensors


def _axis_centres(n: int, lo: float, hi: float) -> np.ndarray:
  return (lo + (np.arange(n, dtype=np.float64) + 0.5) * (hi - lo) / n).astype(np.float32)


def _block_size(size: int, block_res: int, res: int) -> int:
  return max(1, int(math.ceil(size * block_res / res - 1e-9)))


def _taps(n_fine: int, n_coarse: int, mode: str) -> Tuple[np.ndarray, np.ndarray]:
  """1-D upsampling taps ``([n_fine, T] int, [n_fine, T] float32)`` between pixel-centred grids."""
  i = np.arange(n_fine, dtype=np.int64)
  if mode == "nearest":  # the coarse cell containing the fine centre
    idx = np.minimum((2 * i + 1) * n_coarse // (2 * n_fine), n_coarse - 1)
    return idx[:, None], np.ones((n_fine, 1), np.float32)
  u = (i + 0.5) * n_coarse / n_fine - 0.5  # fine centre in coarse-index units
  lo = np.floor(u)
  frac = u - lo
  idx = np.clip(np.stack([lo, lo + 1], -1), 0, n_coarse - 1).astype(np.int64)
  return idx, np.stack([1.0 - frac, frac], -1).astype(np.float32)


def _point_taps(t: np.ndarray, n: int) -> Tuple[np.ndarray, np.ndarray]:
  """2 taps per coordinate ``t`` into ``n`` cells centred at ``(i + 0.5) / n``, edges clamped."""
  u = t.astype(np.float64) * n - 0.5
  lo = np.floor(u)
  frac = u - lo
  idx = np.clip(np.stack([lo, lo + 1], -1), 0, n - 1).astype(np.int64)
  return idx, np.stack([1.0 - frac, frac], -1).astype(np.float32)


def _upsample(v: np.ndarray, ty, wy, tx, wx) -> np.ndarray:
  """``v [hc, wc, C] -> [h, w, C]`` through separable taps (sum over the 2-D tap products)."""
  out = 0.0
  for a in range(ty.shape[1]):
    rows = v[ty[:, a]]  # [h, wc, C]
    for b in range(tx.shape[1]):
      out = out + rows[:, tx[:, b]] * (wy[:, a, None, None] * wx[None, :, b, None])
  return np.asarray(out, np.float32)


def check_request(height: int, width: int, window: Sequence[float]) -> None:
  if height < 1 or width < 1:
    raise ValueError(f"image size must be positive, got {height} x {width}")
  if len(window) != 4:
    raise ValueError(f"window must be x0,y0,x1,y1, got {window}")
  x0, y0, x1, y1 = window
  if not (x1 > x0 and y1 > y0):
    raise ValueError(f"window {tuple(window)} is empty or inverted: need x1 > x0 and y1 > y0")


def render(meta: Dict[str, Any], tensors: Dict[str, np.ndarray], height: int, width: int,
           window: Sequence[float] = (0.0, 0.0, 1.0, 1.0)) -> np.ndarray:
  """The INR on an ``height x width`` grid over ``window``: ``[H, W, C]`` float32 in [-1, 1]."""
  check_request(height, width, window)
  lay = meta["layout"]
  x0, y0, x1, y1 = (float(v) for v in window)
  slope = float(lay["lrelu_slope"])
  h = rgb = None
  prev = None
  for blk in lay["blocks"]:
    name = blk["name"]
    bh = _block_size(height, blk["resolution"], lay["resolution"])
    bw = _block_size(width, blk["resolution"], lay["resolution"])
    xx, yy = np.meshgrid(_axis_centres(bw, x0, x1), _axis_centres(bh, y0, y1), indexing="xy")
    p = np.stack([xx, yy], -1)  # [bh, bw, 2]
    if blk["coord_encoding"] == "fourier":
      proj = p @ tensors[f"{name}/fourier/w"].T  # [bh, bw, n]
      e = np.concatenate([np.sin(proj), np.cos(proj)], -1)
    else:
      e = 2.0 * p - 1.0
    if blk.get("grid_size", 0):  # latent grid: bilinear between cell centres, edges clamped
      grid = tensors[f"{name}/grid/v"]  # [G, G, c]
      g = grid.shape[0]
      ty, wy = _point_taps(p[:, 0, 1], g)
      tx, wx = _point_taps(p[0, :, 0], g)
      e = np.concatenate([e, _upsample(grid, ty, wy, tx, wx)], -1)
    if prev is not None:
      ty, wy = _taps(bh, prev[0], lay["upsample"])
      tx, wx = _taps(bw, prev[1], lay["upsample"])
      h = _upsample(h, ty, wy, tx, wx)  # [bh, bw, width_prev]
      rgb = _upsample(rgb, ty, wy, tx, wx)  # [bh, bw, C]
    for lyr in blk["layers"]:
      w = tensors[f"{name}/{lyr['name']}/w"]  # [out, in + coord]
      x = e if h is None else np.concatenate([h, e], -1)
      pre = x @ w.T + tensors[f"{name}/{lyr['name']}/bias"]
      h = np.where(pre >= 0, pre, slope * pre).astype(np.float32)
    out = h @ tensors[f"{name}/to_rgb/w"].T + tensors[f"{name}/to_rgb/bias"]
    rgb = out if rgb is None else rgb + out
    prev = (bh, bw)
  return np.tanh(rgb).astype(np.float32)


def to_uint8(image: np.ndarray) -> np.ndarray:
  return np.clip(np.rint((image.astype(np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def parse_window(text: str) -> Tuple[float, ...]:
  try:
    window = tuple(float(v) for v in text.split(","))
  except ValueError:
    raise ValueError(f"--window must be four numbers x0,y0,x1,y1, got {text!r}") from None
  if len(window) != 4:
    raise ValueError(f"--window must be four numbers x0,y0,x1,y1, got {text!r}")
  return window


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description="Render an exported INR with numpy.",
                                   formatter_class=argparse.ArgumentDefaultsHelpFormatter)
  parser.add_argument("file", help="an .npz written by `python -m inr_gan_jax.sample --export_inr`")
  parser.add_argument("--resolution", type=int, default=None, help="square output side (default: the training resolution)")
  parser.add_argument("--height", type=int, default=None, help="output height (overrides --resolution)")
  parser.add_argument("--width", type=int, default=None, help="output width (overrides --resolution)")
  parser.add_argument("--window", default="0,0,1,1", help="x0,y0,x1,y1 (unit square = training)")
  parser.add_argument("--out", default=None, help="PNG path (default: FILE with .png)")
  args = parser.parse_args(argv)
  try:
    meta, tensors = load(args.file)
    res = meta["layout"]["resolution"] if args.resolution is None else args.resolution
    height = res if args.height is None else args.height
    width = res if args.width is None else args.width
    image = render(meta, tensors, height, width, parse_window(args.window))
  except (ValueError, FileNotFoundError) as e:
    parser.error(str(e))  # exits with status 2 and the message
  out = args.out or (args.file[:-4] if args.file.endswith(".npz") else args.file) + ".png"
  from PIL import Image  # only needed to write the file
  arr = to_uint8(image)
  Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr).save(out)
  print(f"wrote {out} ({height}x{width}, window {args.window})")
  return 0


def cli() -> None:
  """``inr-gan-render``: the same as ``python -m inr_gan_jax.render_inr``."""
  sys.exit(main())


if __name__ == "__main__":
  cli()
