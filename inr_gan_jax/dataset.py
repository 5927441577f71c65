r"""Converts a folder, zip or LMDB of images into a faster source at one resolution.

  python -m inr_gan_jax.dataset --source=/data/bedroom_train_lmdb --resolution=256 \
      --out=/data/bedroom256.zip --max_images=100000
  inr-gan-dataset --source=photos/ --resolution=64 --out=photos64.npz

Every image is decoded, centre-cropped to a square and resized (LANCZOS) to
``--resolution``, exactly as training reads it (``inr_gan_jax/data/folder.py``).
The output is

* ``.zip``: one PNG per image, named ``%08d.png`` in source order (a folder
  source: ``--config.data.source=folder --config.data.path=OUT``), or
* ``.npz``: a uint8 ``[N, R, R, 3]`` array under ``images``
  (``--config.data.source=npz``), the fastest to load when it fits in memory.

Unreadable images are skipped and counted (``--on_corrupt=fail`` stops at the
first). The output is written to ``OUT.tmp`` and renamed at the end, so an
interrupted run leaves no half-written dataset.
"""
import argparse
import os
import sys
import zipfile
from typing import Optional, Sequence

import numpy as np

from inr_gan_jax.data import folder
from inr_gan_jax.utils import image_utils
from inr_gan_jax.utils import progress


def parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(prog="python -m inr_gan_jax.dataset",
                              description=__doc__.split("\n")[0],
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
  p.add_argument("--source", required=True, help="image folder, .zip, or LMDB directory")
  p.add_argument("--out", required=True, help="output .zip (PNG files) or .npz (one array)")
  p.add_argument("--resolution", type=int, required=True, help="side of the square output")
  p.add_argument("--max_images", type=int, default=0, help="first N images only (0 = all)")
  p.add_argument("--on_corrupt", default="skip", choices=("skip", "fail"),
                 help="unreadable images: skip and count, or stop")
  p.add_argument("--batch", type=int, default=64, help="images decoded per step (threads)")
  return p


def convert(source_path: str, out: str, resolution: int, max_images: int = 0,
            on_corrupt: str = "skip", batch: int = 64, show_progress: bool = True) -> int:
  """Writes ``out`` (.zip or .npz); returns the number of images written."""
  kind = os.path.splitext(out)[1].lower()
  if kind not in (".zip", ".npz"):
    raise ValueError(f"--out must end in .zip or .npz, got {out!r}")
  if os.path.exists(out):
    raise FileExistsError(f"{out} exists; remove it or choose another --out")
  # Lazy decoding: each image is read once, in order; the source is never held in memory.
  src = folder.FolderSource(source_path, resolution, on_corrupt=on_corrupt,
                            num_examples=max_images, decode="lazy")
  n = len(src)
  tmp = out + ".tmp"
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  bar = progress.Progress(n, os.path.basename(out), unit="images", enabled=show_progress)
  written, arrays = 0, []
  try:
    archive = zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) if kind == ".zip" else None
    for count, images in src.iter_readable(batch):  # [b, R, R, 3] uint8, bad files dropped
      for image in images:
        if archive is not None:
          archive.writestr(f"{written:08d}.png", image_utils.png_bytes(image))
        else:
          arrays.append(image)
        written += 1
      bar.update(count)
    bar.close()
    if archive is not None:
      archive.close()
    elif arrays:
      with open(tmp, "wb") as f:
        np.savez(f, images=np.stack(arrays))
    if not written:
      raise ValueError(f"none of the images in {source_path!r} could be decoded")
    os.replace(tmp, out)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)
  return written


def main(argv: Optional[Sequence[str]] = None) -> int:
  p = parser()
  a = p.parse_args(argv)
  try:
    count = convert(a.source, a.out, a.resolution, a.max_images, a.on_corrupt, a.batch)
  except (ValueError, FileNotFoundError, FileExistsError, ImportError) as e:
    p.error(str(e))  # one line, exit status 2
  print(f"wrote {count} images of {a.resolution}x{a.resolution} to {a.out}")
  return 0


def cli() -> None:
  """``inr-gan-dataset``: the same as ``python -m inr_gan_jax.dataset``."""
  sys.exit(main())


if __name__ == "__main__":
  cli()
