"""Evaluating a fitted image set: train/held-out PSNR, upsampling, interpolation."""
from typing import Dict, Sequence

import numpy as np
from PIL import Image

from inr_gan_jax.model import coords
from inr_gan_jax.utils import image_utils
from inr_gan_jax.fit import data as data_lib
from inr_gan_jax.fit import objectives


def render_all(model, params, codes, height: int, width: int,
               window: Sequence[float] = coords.UNIT_WINDOW, chunk: int = 8) -> np.ndarray:
  """Renders ``codes [B, D]`` in chunks (bounded memory): ``[B, H, W, C]`` float32 in [-1, 1]."""
  codes = np.asarray(codes)
  out = []
  for s in range(0, len(codes), chunk):
    part = codes[s:s + chunk]
    if len(part) < chunk and len(codes) > chunk:  # pad so one compiled shape serves all chunks
      part = np.concatenate([part, np.repeat(part[-1:], chunk - len(part), 0)])
    out.append(np.asarray(model.render(params, part, height, width, window)))
  return np.concatenate(out)[:len(codes)]


def split_psnr(recon: np.ndarray, targets: np.ndarray, train_index: np.ndarray,
               heldout_index: np.ndarray) -> Dict[str, float]:
  """Mean per-image PSNR on training and held-out pixels. ``recon, targets [N, P, C]``."""
  def part(idx):
    if idx.shape[1] == 0:
      return float("nan")
    r = np.take_along_axis(recon, idx[..., None], axis=1)
    t = np.take_along_axis(targets, idx[..., None], axis=1)
    return float(np.mean(objectives.psnr(r, t, axis=(1, 2))))
  return {"train_psnr": part(train_index), "heldout_psnr": part(heldout_index)}


def bicubic(images_u8: np.ndarray, size: int) -> np.ndarray:
  """uint8 ``[N, h, w, C]`` -> float ``[N, size, size, C]`` in [-1, 1], PIL bicubic."""
  return image_utils.to_float(data_lib.resize(images_u8, size, Image.BICUBIC))


def upsampling_scores(inr_hi: np.ndarray, lo_u8: np.ndarray, real_hi_u8: np.ndarray):
  """INR renders at high resolution vs bicubic upsampling, both against the real images."""
  real = image_utils.to_float(real_hi_u8)
  bic = bicubic(lo_u8, real.shape[1])
  return {"inr_psnr": float(np.mean(objectives.psnr(inr_hi, real, axis=(1, 2, 3)))),
          "inr_ssim": float(np.mean(objectives.ssim(inr_hi, real))),
          "bicubic_psnr": float(np.mean(objectives.psnr(bic, real, axis=(1, 2, 3)))),
          "bicubic_ssim": float(np.mean(objectives.ssim(bic, real)))}, bic


def cosine_pairs(emb: np.ndarray):
  """Most similar and most dissimilar pairs ``(i, j)`` (i != j) by cosine similarity."""
  e = np.asarray(emb, np.float64)
  if len(e) < 2:
    raise ValueError("interpolation needs at least 2 images")
  e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
  sim = e @ e.T  # [N, N]
  off = ~np.eye(len(e), dtype=bool)
  i_max = np.unravel_index(np.argmax(np.where(off, sim, -np.inf)), sim.shape)
  i_min = np.unravel_index(np.argmin(np.where(off, sim, np.inf)), sim.shape)
  return ((int(i_max[0]), int(i_max[1]), float(sim[i_max])),
          (int(i_min[0]), int(i_min[1]), float(sim[i_min])))


def interpolation(model, params, i: int, j: int, size: int, num: int = 7, gallery=None):
  """Strip of renders along ``(1 - t) code_i + t code_j`` and how much the midpoint cross-fades.

  Args:
    gallery: optional ``[N, size, size, C]`` renders of every fitted image; the
      midpoint is then also compared with its nearest one (does the path jump
      to another memorized image?).

  Returns ``(strip [num, size, size, C], metrics)``: ``blend_rmse`` is the RMSE
  between the midpoint render and the alpha blend of the two endpoint renders;
  ``endpoint_rmse`` the RMSE between the endpoints. ``blend_ratio`` =
  blend_rmse / endpoint_rmse: 0 means the midpoint *is* a cross-fade. With a
  gallery: ``nearest_image`` and ``nearest_ratio`` (its RMSE / endpoint_rmse).
  """
  codes = np.asarray(model.codes(params))
  t = np.linspace(0.0, 1.0, num)[:, None]
  mixed = ((1 - t) * codes[i] + t * codes[j]).astype(np.float32)  # [num, D]
  strip = render_all(model, params, mixed, size, size, chunk=num)
  mid = strip[num // 2]
  alpha = float(t[num // 2, 0])
  blend = (1 - alpha) * strip[0] + alpha * strip[-1]
  blend_rmse = float(np.sqrt(np.mean((mid - blend) ** 2)))
  end_rmse = float(np.sqrt(np.mean((strip[0] - strip[-1]) ** 2)))
  m = {"pair": [i, j], "blend_rmse": blend_rmse, "endpoint_rmse": end_rmse,
       "blend_ratio": blend_rmse / max(end_rmse, 1e-12)}
  if gallery is not None:
    d = np.sqrt(np.mean((np.asarray(gallery) - mid[None]) ** 2, axis=(1, 2, 3)))  # [N]
    k = int(np.argmin(d))
    m.update(nearest_image=k, nearest_ratio=float(d[k]) / max(end_rmse, 1e-12))
  return strip, m


def save_grid(path: str, images: np.ndarray, cols: int = 0) -> None:
  """``[N, H, W, C]`` in [-1, 1] -> one PNG grid."""
  image_utils.save_png(path, image_utils.make_grid(image_utils.to_uint8(images), cols=cols))
