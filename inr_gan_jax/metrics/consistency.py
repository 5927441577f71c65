"""Consistency of a continuous generator under shifts and rescaling of its window.

Beyond the paper. A continuous image should not depend on where its pixel
grid sits. Two measures, in dB of PSNR over the ``[-1, 1]`` range (peak 2):

* **EQ-T** (translation, in the spirit of StyleGAN3's EQ-T): render the
  ``R x R`` image over the unit window, and again over the window moved right
  (or down) by ``s`` pixels. Column ``j`` of the moved render should equal
  position ``j + s`` of the first. For an integer ``s`` that is column
  ``j + s`` exactly. For a sub-pixel ``s`` it is the first render linearly
  interpolated between columns ``j + floor(s)`` and ``j + floor(s) + 1``. The
  interpolation error then bounds the score, so compare sub-pixel numbers only
  with each other. Scores use the overlap (the columns both images cover).
* **EQ-S** (scale): the ``2R x 2R`` render box-downsampled 2x against the
  ``R x R`` render (point samples against area averages, so finite even for a
  perfectly smooth image; a measure of how much the image changes between
  grid densities).

A single-block INR is exactly translation-consistent at integer shifts: its
pixels are point evaluations of one function. Multi-scale INRs are not. A
shift by one fine pixel moves the coarse blocks by a fraction of their cell,
and their nearest (or bilinear) upsampling then changes. EQ-T measures
exactly that.
"""
import math
from typing import Any, Dict, Optional, Sequence

import jax
import numpy as np

from inr_gan_jax.metrics import generated

SHIFTS = (1.0, 2.0, 0.5, 0.25)   # pixels at the training resolution
MAX_DB = 100.0                   # what an exact match (mse ~ 0) is reported as


def psnr(a: np.ndarray, b: np.ndarray) -> float:
  """PSNR in dB of images in ``[-1, 1]`` (peak-to-peak 2), capped at :data:`MAX_DB`."""
  mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
  return MAX_DB if mse <= 4.0 * 10 ** (-MAX_DB / 10) else 10.0 * math.log10(4.0 / mse)


def shifted_reference(base: np.ndarray, shift: float, axis: int) -> np.ndarray:
  """``base [B, H, W, C]`` read at ``j + shift`` along ``axis`` (1 rows, 2 cols), on the overlap.

  Integer shifts index exactly; fractional ones interpolate linearly between
  the two neighbouring pixels. Returns ``[B, n - ceil(shift), ...]`` along ``axis``.
  """
  n = base.shape[axis]
  lo = int(math.floor(shift))
  frac = shift - lo
  keep = n - int(math.ceil(shift))
  a = np.take(base, np.arange(lo, lo + keep), axis=axis)
  if frac == 0.0:
    return a
  b = np.take(base, np.arange(lo + 1, lo + 1 + keep), axis=axis)
  return (1.0 - frac) * a + frac * b


def translation_psnr(render, z: jax.Array, size: int, shift: float, axis: int) -> float:
  """EQ-T of one batch: ``render(z, size, window) -> [B, size, size, C]`` floats."""
  d = shift / size
  base = np.asarray(render(z, size, (0.0, 0.0, 1.0, 1.0)))
  window = (d, 0.0, 1.0 + d, 1.0) if axis == 2 else (0.0, d, 1.0, 1.0 + d)
  moved = np.asarray(render(z, size, window))
  ref = shifted_reference(base, shift, axis)
  moved = np.take(moved, np.arange(ref.shape[axis]), axis=axis)
  return psnr(moved, ref)


def scale_psnr(render, z: jax.Array, size: int) -> float:
  """EQ-S of one batch: the 2x render box-downsampled against the 1x render."""
  one = np.asarray(render(z, size, (0.0, 0.0, 1.0, 1.0)))
  two = np.asarray(render(z, 2 * size, (0.0, 0.0, 1.0, 1.0)))
  b, h, w, c = two.shape
  down = two.reshape(b, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))
  return psnr(down, one)


def consistency(generator, params, num: int, batch_size: int, seed: int = 0,
                w_avg: Optional[jax.Array] = None, truncation_psi: float = 1.0,
                kind: str = "eqt", shifts: Sequence[float] = SHIFTS) -> Dict[str, Any]:
  """EQ-T or EQ-S over ``num`` samples (mean of per-batch PSNRs, batches of equal size).

  Returns for ``eqt``: ``{"shift_1x": dB, "shift_1y": dB, ...}`` per shift and
  direction, with ``integer`` and ``subpixel`` the worst (lowest) of each group;
  for ``eqs``: ``{"eqs": dB}``.
  """
  if kind not in ("eqt", "eqs"):
    raise ValueError(f"consistency kind must be 'eqt' or 'eqs', got {kind!r}")
  size = generator.resolution
  render = lambda z, s, window: generator.generate(  # noqa: E731
      params, z, s, s, window, w_mean=w_avg, psi=truncation_psi)
  scores: Dict[str, list] = {}
  for z in generated.latent_batches(generator, num, batch_size, seed):
    if kind == "eqs":
      scores.setdefault("eqs", []).append(scale_psnr(render, z, size))
      continue
    for shift in shifts:
      for axis, name in ((2, "x"), (1, "y")):
        scores.setdefault(f"shift_{shift:g}{name}", []).append(
            translation_psnr(render, z, size, shift, axis))
  out = {k: float(np.mean(v)) for k, v in scores.items()}
  if kind == "eqt":
    ints = [v for k, v in out.items() if float(k[6:-1]).is_integer()]
    subs = [v for k, v in out.items() if not float(k[6:-1]).is_integer()]
    # Worst case: a shift that realigns every block's grid (2 px for a 2x coarser block)
    # scores the 100 dB cap and would hide the misaligned ones in a mean.
    out["integer"] = float(min(ints)) if ints else float("nan")
    out["subpixel"] = float(min(subs)) if subs else float("nan")
  out["num"] = int(num)
  return out
