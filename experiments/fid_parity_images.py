"""The image sets of ``experiments/fid_parity.py`` (numpy and PIL only: both interpreters load it).

Faces A = CelebA-HQ images [0, num), faces B = [num, 2 num) from ``../shared/data/celebahq_200``
(64 px: the 64x64 file, else 2x2 means of the 128x128 file; 299 px: the 256x256 file
upsampled by PIL Lanczos), and random shapes (ellipses and rectangles on noise, numpy seed).
Without the shared data, faces A and B are shapes with other seeds.
"""
import os

import numpy as np

SETS = ("faces_a", "faces_b", "shapes")
PAIRS = (("faces_a", "faces_b"), ("faces_a", "shapes"))
RESOLUTIONS = (64, 299)
RESIZE_SIZES = (64, 128, 256, 512)
# clean-fid resizers compared with ours: name -> make_resizer(library, quantize_after, filter).
# "clean" and "legacy_pytorch" are clean-fid's build_resizer(mode) for those modes.
CLEANFID_RESIZERS = {
    "clean (PIL bicubic)": ("PIL", False, "bicubic"),
    "legacy_pytorch (PyTorch bilinear)": ("PyTorch", False, "bilinear"),
    "PIL bilinear": ("PIL", False, "bilinear"),
    "PIL lanczos": ("PIL", False, "lanczos"),
    "PyTorch bicubic": ("PyTorch", False, "bicubic"),
}
DEFAULT_INIT_IMAGES = 16


def _shared_data_dir() -> str:
  here = os.path.dirname(os.path.abspath(__file__))
  return os.path.join(os.path.dirname(os.path.dirname(here)), "shared", "data", "celebahq_200")


def shapes(n: int, size: int, seed: int) -> np.ndarray:
  """``[n, size, size, 3]`` uint8: 3-6 random ellipses / rectangles on a noisy background."""
  rng = np.random.default_rng(seed)
  yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
  out = np.empty((n, size, size, 3), np.uint8)
  for i in range(n):
    img = rng.uniform(0, 255, 3).astype(np.float32) + rng.normal(0, 20, (size, size, 3))
    for _ in range(rng.integers(3, 7)):
      cy, cx = rng.uniform(0.1, 0.9, 2)
      ry, rx = rng.uniform(0.05, 0.35, 2)
      if rng.random() < 0.5:
        mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
      else:
        mask = (np.abs(yy - cy) <= ry) & (np.abs(xx - cx) <= rx)
      img[mask] = rng.uniform(0, 255, 3)
    out[i] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
  return out


def faces(resolution: int, start: int, n: int):
  """CelebA-HQ images ``[start, start + n)`` at ``resolution`` (64 or 299), or None."""
  from PIL import Image
  d = _shared_data_dir()
  if resolution == 64:
    f64, f128 = os.path.join(d, "celebahq200_64x64.npz"), os.path.join(d, "celebahq200_128x128.npz")
    if os.path.isfile(f64):
      return np.load(f64)["images"][start:start + n], "celebahq200_64x64"
    if os.path.isfile(f128):
      x = np.load(f128)["images"][start:start + n].astype(np.float32)
      x = x.reshape(len(x), 64, 2, 64, 2, 3).mean(axis=(2, 4))
      return np.clip(np.rint(x), 0, 255).astype(np.uint8), "celebahq200_128x128, 2x2 means"
    return None
  for src in ("celebahq200_256x256.npz", "celebahq200_128x128.npz"):
    path = os.path.join(d, src)
    if os.path.isfile(path):
      x = np.load(path)["images"][start:start + n]
      up = [np.asarray(Image.fromarray(im).resize((resolution, resolution), Image.LANCZOS))
            for im in x]
      return np.stack(up), f"{src[:-4]}, PIL Lanczos to {resolution}"
  return None


def image_sets(num: int):
  """{f"{set}_{res}": uint8 [num, res, res, 3]} and a description of the sources."""
  out, desc = {}, {}
  for res in RESOLUTIONS:
    for k, (name, start) in enumerate((("faces_a", 0), ("faces_b", num))):
      got = faces(res, start, num) if 2 * num <= 200 else None
      if got is None:
        got = (shapes(num, res, seed=100 + 10 * k + res), "shapes (no shared data)")
      out[f"{name}_{res}"], desc[f"{name}_{res}"] = got
    out[f"shapes_{res}"], desc[f"shapes_{res}"] = shapes(num, res, seed=res), "random shapes"
  return out, desc


def resize_sources(face64: np.ndarray) -> dict:
  """One uint8 image per size of RESIZE_SIZES: shared-data faces where there are files."""
  src = {64: face64}
  for s in RESIZE_SIZES[1:]:
    path = os.path.join(_shared_data_dir(), f"celebahq200_{s}x{s}.npz")
    src[s] = np.load(path)["images"][0] if os.path.isfile(path) else shapes(1, s, seed=s)[0]
  return src
