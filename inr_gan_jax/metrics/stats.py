"""Feature statistics accumulated batch by batch, extraction over a device mesh, caching.

Statistics are merged with Chan et al.'s pairwise update (count, mean,
centered second moment) in float64 on the host: merging any partition of the
data gives the one-shot mean and covariance up to round-off, so the batch size
and the number of devices do not change the numbers.

Real-data statistics are cached as ``.npz`` files named by
``cache_key(dataset, split, resolution, feature_net, num_images)``: computing
them over 50k images costs as much as evaluating a generator.
"""
import dataclasses
import functools
import os
import re
from typing import Callable, Iterable, Optional

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from inr_gan_jax.utils import image_utils


class FeatureStats:
  """Streaming mean / covariance of ``[N, D]`` features, optionally keeping the first rows.

  ``max_kept`` rows are kept verbatim for KID (which needs samples, not moments).
  """

  def __init__(self, dim: int, max_kept: int = 0):
    self.dim = int(dim)
    self.max_kept = int(max_kept)
    self.count = 0
    self.mean_ = np.zeros(dim, np.float64)        # [D]
    self.m2 = np.zeros((dim, dim), np.float64)    # [D, D] sum of centered outer products
    self._kept = []

  def update(self, features) -> "FeatureStats":
    """Adds a batch ``[B, D]``."""
    x = np.asarray(features, np.float64)
    if x.ndim != 2 or x.shape[1] != self.dim:
      raise ValueError(f"features must be [B, {self.dim}], got {x.shape}")
    if not np.all(np.isfinite(x)):
      raise ValueError("features contain NaN/Inf (did the generator or feature net diverge?)")
    if len(x) == 0:
      return self
    self.update_kept(x)
    mean_b = x.mean(axis=0)
    centered = x - mean_b
    self._merge(len(x), mean_b, centered.T @ centered)
    return self

  def _merge(self, n_b: int, mean_b: np.ndarray, m2_b: np.ndarray) -> None:
    n_a = self.count
    n = n_a + n_b
    delta = mean_b - self.mean_                                # [D]
    self.mean_ = self.mean_ + delta * (n_b / n)
    self.m2 = self.m2 + m2_b + np.outer(delta, delta) * (n_a * n_b / n)
    self.count = n

  def merge(self, other: "FeatureStats") -> "FeatureStats":
    """Adds another accumulator's data (as if its batches had been fed here)."""
    if other.dim != self.dim:
      raise ValueError(f"cannot merge stats of dim {other.dim} into dim {self.dim}")
    if other.count:
      for k in other._kept:
        self.update_kept(k)
      self._merge(other.count, other.mean_, other.m2)
    return self

  def update_kept(self, rows: np.ndarray) -> None:
    kept = sum(len(k) for k in self._kept)
    if kept < self.max_kept:
      self._kept.append(np.asarray(rows[:self.max_kept - kept], np.float32))

  @property
  def mean(self) -> np.ndarray:
    return self.mean_.copy()

  @property
  def cov(self) -> np.ndarray:
    """Unbiased covariance ``[D, D]`` (``n - 1`` denominator)."""
    if self.count < 2:
      raise ValueError(f"covariance needs at least 2 samples, have {self.count}")
    return self.m2 / (self.count - 1)

  @property
  def features(self) -> np.ndarray:
    """The kept rows ``[min(N, max_kept), D]`` float32."""
    if not self._kept:
      return np.zeros((0, self.dim), np.float32)
    return np.concatenate(self._kept)

  # ---- persistence --------------------------------------------------------
  def save(self, path: str) -> None:
    """Atomic ``.npz`` write (a crash never leaves a truncated cache entry)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    tmp = path + ".tmp.npz"
    np.savez(tmp, count=np.int64(self.count), mean=self.mean_, m2=self.m2,
             features=self.features, max_kept=np.int64(self.max_kept))
    os.replace(tmp, path)

  @classmethod
  def load(cls, path: str) -> "FeatureStats":
    if not os.path.isfile(path):
      raise FileNotFoundError(f"feature statistics file {path!r} does not exist")
    try:
      with np.load(path) as f:
        out = cls(int(f["mean"].shape[0]), int(f["max_kept"]))
        out.count, out.mean_, out.m2 = int(f["count"]), f["mean"], f["m2"]
        if len(f["features"]):
          out._kept = [f["features"]]
    except (KeyError, ValueError, OSError) as e:
      raise ValueError(f"{path!r} is not a feature statistics file: {e}") from e
    return out


# ---- extraction over a mesh ------------------------------------------------------
class FeatureExtractor:
  """uint8 images ``[N, H, W, 3]`` -> float64 features ``[N, D]``, data-parallel over a mesh.

  Args:
    apply_fn: ``apply_fn(params, images) -> [B, D]`` with images float32 in
      ``[-1, 1]``, ``[B, H, W, 3]``; pure and per-example (no batch statistics).
    params: its parameters; replicated on every device of the mesh.
    mesh: a 1-D mesh over the batch (default: all local devices, axis ``data``).
    batch_size: images per call (rounded up to a multiple of the device count).
  """

  def __init__(self, apply_fn: Callable, params, mesh: Optional[Mesh] = None,
               batch_size: int = 64):
    if mesh is None:
      mesh = Mesh(np.array(jax.local_devices()), ("data",))
    self.mesh = mesh
    self.axis = mesh.axis_names[0]
    n_dev = mesh.devices.size
    self.batch_size = -(-max(1, batch_size) // n_dev) * n_dev
    self.batch_sharding = NamedSharding(mesh, P(self.axis))
    self.params = jax.device_put(params, NamedSharding(mesh, P()))
    self._fn = _compiled_extractor(apply_fn, mesh)

  def __call__(self, images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
      raise ValueError(f"expected uint8 images [N, H, W, 3], got {images.dtype} {images.shape}")
    out = []
    for start in range(0, len(images), self.batch_size):
      chunk = images[start:start + self.batch_size]
      n = len(chunk)
      if n < self.batch_size:  # pad the tail so every call has one shape (one compile)
        pad = np.zeros((self.batch_size - n,) + chunk.shape[1:], np.uint8)
        chunk = np.concatenate([chunk, pad])
      feats = self._fn(self.params, jax.device_put(chunk, self.batch_sharding))
      out.append(np.asarray(feats, np.float64)[:n])
    if not out:
      raise ValueError("no images to extract features from")
    return np.concatenate(out)


@functools.lru_cache(maxsize=32)
def _compiled_extractor(apply_fn: Callable, mesh: Mesh):
  """One jitted extractor per (function, mesh): evaluators built again (each periodic
  evaluation, each CLI call in a process) reuse the compiled program."""
  replicated = NamedSharding(mesh, P())
  batch = NamedSharding(mesh, P(mesh.axis_names[0]))

  def fn(params, images_u8):  # [B, H, W, 3] uint8 -> [B, D]
    x = image_utils.to_float_jnp(images_u8)
    return apply_fn(params, x).astype(jnp.float32)

  return jax.jit(fn, in_shardings=(replicated, batch), out_shardings=batch)


def accumulate(batches: Iterable[np.ndarray], extractor: FeatureExtractor, dim: int,
               max_kept: int = 0) -> FeatureStats:
  """Streams uint8 image batches through ``extractor`` into a :class:`FeatureStats`."""
  stats = FeatureStats(dim, max_kept)
  for images in batches:
    stats.update(extractor(images))
  return stats


def source_batches(source, num_images: int, batch_size: int, start: int = 0):
  """Yields uint8 batches of images ``[start, start + num_images)`` of a data source, in order."""
  stop = start + num_images
  if start < 0 or stop > len(source):
    raise ValueError(f"images [{start}, {stop}) requested from a source of {len(source)}")
  for lo in range(start, stop, batch_size):
    yield source.get(np.arange(lo, min(lo + batch_size, stop)))


# ---- caching -------------------------------------------------------------------------
def cache_key(dataset: str, split: str, resolution: int, feature_net: str, num_images: int) -> str:
  """A file-name-safe key: ``<dataset>-<split>-<R>px-<feature net>-n<N>``."""
  raw = f"{dataset}-{split}-{int(resolution)}px-{feature_net}-n{int(num_images)}"
  return re.sub(r"[^A-Za-z0-9_.+-]+", "_", raw)


@dataclasses.dataclass
class StatsCache:
  """Real-data statistics on disk under ``directory`` (``<key>.npz``)."""
  directory: str

  def path(self, key: str) -> str:
    return os.path.join(self.directory, key + ".npz")

  def get_or_compute(self, key: str, compute: Callable[[], FeatureStats],
                     max_kept: int = 0) -> FeatureStats:
    """Loads ``key`` if cached with at least ``max_kept`` kept rows, else computes and saves."""
    path = self.path(key)
    if os.path.isfile(path):
      try:
        stats = FeatureStats.load(path)
        if len(stats.features) >= min(max_kept, stats.count):
          logging.info("Real statistics from cache %s (%d images).", path, stats.count)
          return stats
      except ValueError as e:
        logging.warning("Ignoring unreadable cache entry: %s", e)
    stats = compute()
    if jax.process_index() == 0:
      stats.save(path)
      logging.info("Cached real statistics at %s.", path)
    return stats
