"""The data config block and the factory that turns it into an ImageSource."""
from __future__ import annotations

import ml_collections

from inr_gan_jax.data import base
from inr_gan_jax.data import folder
from inr_gan_jax.data import npz
from inr_gan_jax.data import shapes
from inr_gan_jax.data import tfds_source

SOURCES = ("shapes", "npz", "folder", "lmdb", "tfds")


def default_data_config() -> ml_collections.ConfigDict:
  """All data keys with their defaults (experiment configs start from this)."""
  config = ml_collections.ConfigDict()
  config.source = "shapes"  # One of SOURCES.
  config.path = ""  # npz: .npz/.npy file; folder: directory or .zip; lmdb: LMDB directory.
  config.name = ""  # tfds: dataset name, e.g. 'lsun/bedroom', 'mnist'.
  config.split = "train"  # tfds split (slicing such as 'train[:10%]' works).
  config.data_dir = ""  # tfds data_dir; '' = tfds default.
  config.download = False  # tfds: allow download_and_prepare (needs network).
  config.on_corrupt = "skip"  # folder: 'skip' (count + warn) or 'fail'.
  # shapes: dataset size (0 = shapes.DEFAULT_NUM_EXAMPLES); others: keep the
  # first num_examples images (0 = all).
  config.num_examples = 0
  config.key = "images"  # npz: array name.
  config.seed = 0  # shapes: content seed (the batch order seed is separate).
  config.decode = "auto"  # folder: 'auto' | 'eager' | 'lazy' (see folder.py).
  config.cache_dir = ""  # folder eager mode: where to keep decoded .npy caches.
  return config


def build_source(data_config, resolution: int) -> base.ImageSource:
  """data_config (see default_data_config) -> ImageSource at `resolution`."""
  resolution = base.check_resolution(resolution)
  # Missing keys fall back to the defaults, so partial configs work too.
  cfg = default_data_config()
  cfg.update(dict(data_config))
  if cfg.source == "shapes":
    return shapes.ShapesSource(
        resolution, cfg.num_examples or shapes.DEFAULT_NUM_EXAMPLES, cfg.seed)
  if cfg.source == "npz":
    return npz.load_array_source(cfg.path, resolution, key=cfg.key,
                                 num_examples=cfg.num_examples)
  if cfg.source == "lmdb" and not folder.is_lmdb(cfg.path):
    raise FileNotFoundError(f"data.source=lmdb: {cfg.path!r} is not an LMDB directory (one "
                            "holding data.mdb, e.g. LSUN's bedroom_train_lmdb)")
  if cfg.source in ("folder", "lmdb"):  # one reader class: directory, zip or LMDB
    return folder.FolderSource(
        cfg.path, resolution, on_corrupt=cfg.on_corrupt,
        num_examples=cfg.num_examples, decode=cfg.decode,
        cache_dir=cfg.cache_dir)
  if cfg.source == "tfds":
    return tfds_source.open_tfds_source(
        cfg.name, resolution, split=cfg.split, data_dir=cfg.data_dir,
        download=cfg.download, num_examples=cfg.num_examples)
  raise ValueError(
      f"Unknown data.source {cfg.source!r}; allowed: {', '.join(SOURCES)}")
