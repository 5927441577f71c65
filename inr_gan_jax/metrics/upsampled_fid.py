"""UpsampledFID (the paper's Fig. 10): is the INR's own 2x render better than upsampling?

The same latents are rendered at the training resolution R and, by
evaluating the INR on a twice-denser grid, at 2R. Four 2R image sets are
compared with real images at 2R:

  inr       the INR evaluated on the 2R grid (continuous-image superresolution)
  nearest   the 1x samples upsampled 2x by pixel repetition
  bilinear  ... by bilinear interpolation (half-pixel centres)
  bicubic   ... by Keys cubic convolution (a = -0.5, as PIL / OpenCV-style bicubic)

A generator whose INR has learned a continuous image scores ``inr`` at or
below the interpolations; one that only fits pixel centres scores worse.
"""
from typing import Any, Dict

import jax
import jax.numpy as jnp
import numpy as np

from inr_gan_jax.metrics import frechet
from inr_gan_jax.metrics import stats as stats_lib

METHODS = ("inr", "nearest", "bilinear", "bicubic")
_JAX_METHOD = {"nearest": "nearest", "bilinear": "linear", "bicubic": "cubic"}


def upsample(images_u8: np.ndarray, method: str, factor: int = 2) -> np.ndarray:
  """uint8 ``[B, R, R, C]`` -> uint8 ``[B, fR, fR, C]`` by ``method`` (see module doc)."""
  if method not in _JAX_METHOD:
    raise ValueError(f"unknown upsampling method {method!r}; choose {sorted(_JAX_METHOD)}")
  b, h, w, c = images_u8.shape
  x = jnp.asarray(images_u8, jnp.float32)
  y = jax.image.resize(x, (b, factor * h, factor * w, c), _JAX_METHOD[method])
  return np.asarray(jnp.clip(jnp.round(y), 0, 255).astype(jnp.uint8))


def upsampled_fid(evaluator, generator, params, num: int, w_avg=None,
                  truncation_psi: float = 1.0, seed: int = 0) -> Dict[str, Any]:
  """-> ``{"resolution": 2R, "num": num, "num_real": n, "fid": {method: FID}}``."""
  res = generator.resolution
  size2 = 2 * res
  acc = {m: stats_lib.FeatureStats(evaluator.net.dim) for m in METHODS}
  lo = evaluator.fake_batches(generator, params, num, w_avg, truncation_psi, res, seed)
  hi = evaluator.fake_batches(generator, params, num, w_avg, truncation_psi, size2, seed)
  for small, big in zip(lo, hi):  # same seed -> same latents in both streams
    acc["inr"].update(evaluator.extractor(big))
    for m in METHODS[1:]:
      acc[m].update(evaluator.extractor(upsample(small, m)))
  real = evaluator.real_stats(size2, num, keep=False)
  fids = {m: frechet.frechet_distance(real.mean, real.cov, s.mean, s.cov) for m, s in acc.items()}
  return {"resolution": size2, "num": num, "num_real": real.count, "fid": fids}


def format_table(result: Dict[str, Any]) -> str:
  """A markdown table of one :func:`upsampled_fid` result."""
  lines = [f"| 2x method ({result['resolution']}px, {result['num']} samples, "
           f"{result['num_real']} real) | FID |", "|---|---|"]
  for m in METHODS:
    lines.append(f"| {m} | {result['fid'][m]:.3f} |")
  return "\n".join(lines)
