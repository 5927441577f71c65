r"""Data loading throughput: images/s per process, by source format and worker threads.

  python benchmarks/data_throughput.py --json
  python benchmarks/data_throughput.py --workers=1,2,4 --resolution=256 --num=400

Builds LSUN-like test sources in a temporary folder: ``--num`` photos of 342 x
256 (LSUN bedrooms are ~256 px on the short side), taken from the CelebA-HQ 256
faces in ``../shared/data`` when present (synthetic smooth images otherwise),
stored as a JPEG folder (quality 90), a PNG folder, a zip of JPEGs and an LMDB
of WebP (quality 80, as LSUN ships). Each source is read as training reads it
(``FolderSource`` in lazy mode: decode, centre crop, LANCZOS resize to
``--resolution``, batching into uint8 arrays) in batches of 64, with 1, 2, 4
decode threads; images/s is the median of ``--repeats`` full passes. The
target of issue 13 is 300 img/s per core for JPEG at 256 px.
"""
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import zipfile

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
  sys.path.insert(0, _ROOT)

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import numpy as np
from PIL import Image

from inr_gan_jax.data import folder

_WORKERS = flags.DEFINE_list("workers", ["1", "2", "4"], "Decode threads to try.")
_RES = flags.DEFINE_integer("resolution", 256, "Training resolution images are resized to.")
_NUM = flags.DEFINE_integer("num", 400, "Images per source.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Full passes per measurement (median).")
_JSON = flags.DEFINE_bool("json", False, "Print one JSON object.")
_FACES = os.path.join(_ROOT, "..", "shared", "data", "celebahq_200", "celebahq200_256x256.npz")


def photos(num: int) -> np.ndarray:
  """``[num, 256, 342, 3]`` uint8 photo-like images."""
  if os.path.isfile(_FACES):
    with np.load(_FACES) as f:
      faces = f["images"]
    base = [np.asarray(Image.fromarray(im).resize((342, 256), Image.BICUBIC)) for im in faces]
  else:  # smooth random fields: compress like photos, unlike white noise
    rng = np.random.default_rng(0)
    base = [np.asarray(Image.fromarray(rng.integers(0, 256, (16, 21, 3), dtype=np.uint8))
                       .resize((342, 256), Image.BICUBIC)) for _ in range(64)]
  return np.stack([base[i % len(base)] for i in range(num)])


def encode(image: np.ndarray, fmt: str) -> bytes:
  buf = io.BytesIO()
  Image.fromarray(image).save(buf, format=fmt, **{"JPEG": {"quality": 90},
                                                  "WEBP": {"quality": 80}}.get(fmt, {}))
  return buf.getvalue()


def build_sources(root: str, images: np.ndarray) -> dict:
  import lmdb  # pylint: disable=g-import-not-at-top
  paths = {}
  for fmt, ext in (("JPEG", "jpg"), ("PNG", "png")):
    d = os.path.join(root, f"{ext}_folder")
    os.makedirs(d)
    for i, im in enumerate(images):
      with open(os.path.join(d, f"{i:06d}.{ext}"), "wb") as f:
        f.write(encode(im, fmt))
    paths[f"folder_{ext}"] = d
  zpath = os.path.join(root, "jpg.zip")
  with zipfile.ZipFile(zpath, "w", zipfile.ZIP_STORED) as z:
    for i, im in enumerate(images):
      z.writestr(f"{i:06d}.jpg", encode(im, "JPEG"))
  paths["zip_jpg"] = zpath
  lpath = os.path.join(root, "webp_lmdb")
  env = lmdb.open(lpath, map_size=1 << 30)
  with env.begin(write=True) as txn:
    for i, im in enumerate(images):
      txn.put(f"{i:06d}".encode(), encode(im, "WEBP"))
  env.close()
  paths["lmdb_webp"] = lpath
  return paths


def images_per_s(path: str, resolution: int, workers: int, repeats: int) -> float:
  src = folder.FolderSource(path, resolution, decode="lazy", num_workers=workers)
  n = len(src)
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    for lo in range(0, n, 64):
      src.get(np.arange(lo, min(lo + 64, n)))
    times.append(time.perf_counter() - start)
  return n / statistics.median(times)


def main(argv):
  del argv
  root = tempfile.mkdtemp()
  try:
    paths = build_sources(root, photos(_NUM.value))
    rows = {}
    for name, path in paths.items():
      rows[name] = {w: images_per_s(path, _RES.value, int(w), _REPEATS.value)
                    for w in _WORKERS.value}
      if not _JSON.value:
        print(name, {w: round(v, 1) for w, v in rows[name].items()}, flush=True)
  finally:
    shutil.rmtree(root, ignore_errors=True)
  result = {"resolution": _RES.value, "num_images": _NUM.value, "cpus": os.cpu_count(),
            "source_image": "342x256", "images_per_s": rows}
  print(json.dumps(result, indent=1))


if __name__ == "__main__":
  app.run(main)
