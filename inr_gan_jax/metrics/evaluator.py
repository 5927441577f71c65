"""FID / KID of a generator against a dataset, for any feature network.

Metric names follow the StyleGAN toolkits: ``fid50k`` is FID between 50k
generated images and the real statistics (over the whole dataset, or its first
50k images when larger); ``kid10k`` likewise for KID. Real statistics are
cached under ``cache_dir``, keyed by dataset, split, resolution, feature net
and image count.
"""
import dataclasses
import os
import re
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from absl import logging
import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from inr_gan_jax.metrics import coverage as coverage_lib
from inr_gan_jax.utils import progress as progress_lib
from inr_gan_jax.metrics import feature_nets
from inr_gan_jax.metrics import frechet
from inr_gan_jax.metrics import generated
from inr_gan_jax.metrics import stats as stats_lib
from inr_gan_jax.metrics import upsampled_fid

_METRIC = re.compile(r"^(fid|kid|upsampled_fid|coverage|eqt|eqs)(\d+)k$")
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000


@dataclasses.dataclass(frozen=True)
class MetricSpec:
  kind: str          # "fid" | "kid" | "upsampled_fid" | "coverage" | "eqt" | "eqs"
  num: int           # generated images
  name: str          # as requested, e.g. "fid50k"


def parse_metrics(names: Sequence[str], num_samples: int = 0) -> List[MetricSpec]:
  """``["fid50k", "kid2k"]`` -> specs; ``num_samples > 0`` overrides every count."""
  out = []
  for name in names:
    name = name.strip()
    m = _METRIC.match(name)
    if not m:
      raise ValueError(f"unknown metric {name!r}; use fid<N>k, kid<N>k, upsampled_fid<N>k, "
                       "coverage<N>k, eqt<N>k or eqs<N>k (e.g. fid50k, kid50k, "
                       "upsampled_fid10k, coverage10k, eqt1k)")
    num = num_samples or int(m.group(2)) * 1000
    if num < 2:
      raise ValueError(f"metric {name!r} needs at least 2 samples, got {num}")
    out.append(MetricSpec(m.group(1), num, name))
  return out


def dataset_identity(data_config) -> Tuple[str, str]:
  """(dataset name, split) for cache keys, from a ``config.data`` section."""
  name = data_config.get("name", "") or ""
  path = data_config.get("path", "") or data_config.get("data_dir", "") or ""
  source = data_config.get("source", "")
  if path:
    name = f"{name}_{os.path.splitext(os.path.basename(os.path.normpath(path)))[0]}" if name \
        else os.path.splitext(os.path.basename(os.path.normpath(path)))[0]
  ident = f"{source}_{name}" if name else source
  return ident or "data", str(data_config.get("split", "") or "train")


class Evaluator:
  """Computes metrics for generator params against one dataset with one feature net.

  Args:
    net: the feature network.
    data_config: ``config.data`` (real images come from ``data.build_source``),
      or None when ``source`` is passed.
    cache_dir: where real statistics are cached ('' disables caching).
    batch_size: images per feature-extraction and generation call.
    mesh: the devices feature extraction runs on (default: all local devices).
    source_override: ``{resolution: source}`` used instead of building sources.
  """

  def __init__(self, net: feature_nets.FeatureNet, data_config, cache_dir: str = "",
               batch_size: int = 64, mesh=None, source_override: Optional[Dict[int, Any]] = None,
               seed: int = 0, progress: bool = False):
    self.net = net
    self.progress = progress  # bars with ETA on stderr over images embedded (the CLI's choice)
    self.data_config = data_config
    self.cache = stats_lib.StatsCache(cache_dir) if cache_dir else None
    self.extractor = stats_lib.FeatureExtractor(net.apply_fn, net.params, mesh, batch_size)
    self.batch_size = self.extractor.batch_size
    self._sources = dict(source_override or {})
    self.seed = seed
    self.logits_extractor = None
    if net.logits_fn is not None:
      self.logits_extractor = stats_lib.FeatureExtractor(net.logits_fn, net.params,
                                                         self.extractor.mesh, batch_size)
    self._real_outputs: Dict[Tuple[int, int], Tuple[Any, Any]] = {}

  def _track(self, batches, num: int, desc: str):
    return progress_lib.track(batches, num, desc, sizes=len, enabled=self.progress, unit="images")

  def replicate(self, tree):
    """Places generator params on every device of the extraction mesh."""
    if tree is None:
      return None
    return jax.device_put(tree, NamedSharding(self.extractor.mesh, P()))

  def source(self, resolution: int):
    if resolution not in self._sources:
      from inr_gan_jax import data as data_lib  # local: metrics import without the data stack
      self._sources[resolution] = data_lib.build_source(self.data_config, resolution)
    return self._sources[resolution]

  def real_stats(self, resolution: int, num: int, keep: bool) -> stats_lib.FeatureStats:
    """Statistics of the first ``min(num, len(source))`` real images at ``resolution``."""
    source = self.source(resolution)
    num = min(num, len(source))
    max_kept = num if keep else 0

    def compute():
      t0 = time.time()
      batches = self._track(stats_lib.source_batches(source, num, self.batch_size), num,
                            f"real {resolution}px")
      s = stats_lib.accumulate(batches, self.extractor, self.net.dim, max_kept)
      logging.info("Real statistics: %d images at %dpx in %.1f s.", num, resolution,
                   time.time() - t0)
      return s

    if self.cache is None or self.data_config is None:
      return compute()
    dataset, split = dataset_identity(self.data_config)
    key = stats_lib.cache_key(dataset, split, resolution, self.net.name, num)
    return self.cache.get_or_compute(key, compute, max_kept)

  def fake_batches(self, generator, params, num: int, w_avg=None, truncation_psi: float = 1.0,
                   size: Optional[int] = None, seed: Optional[int] = None):
    """uint8 sample batches of the generator, data-parallel over the extraction mesh."""
    size = size or generator.resolution
    batches = generated.sample_batches(generator, self.replicate(params), num, self.batch_size,
                                       size, self.seed if seed is None else seed,
                                       self.replicate(w_avg), truncation_psi,
                                       self.extractor.batch_sharding)
    return self._track(batches, num, f"generated {size}px")

  def fake_stats(self, generator, params, num: int, keep: bool, w_avg=None,
                 truncation_psi: float = 1.0, size: Optional[int] = None,
                 seed: Optional[int] = None) -> stats_lib.FeatureStats:
    batches = self.fake_batches(generator, params, num, w_avg, truncation_psi, size, seed)
    return stats_lib.accumulate(batches, self.extractor, self.net.dim, num if keep else 0)

  def _outputs(self, batches, max_rows: int):
    """Features ``[N, D]`` (and logits ``[N, C]`` or None) of uint8 batches, plus their stats."""
    stats = stats_lib.FeatureStats(self.net.dim, max_rows)
    logits = []
    for images in batches:
      stats.update(self.extractor(images))
      if self.logits_extractor is not None:
        logits.append(self.logits_extractor(images))
    return stats, (np.concatenate(logits) if logits else None)

  def coverage(self, generator, params, num: int, w_avg=None, truncation_psi: float = 1.0
               ) -> Tuple[Dict[str, float], stats_lib.FeatureStats]:
    """Coverage numbers of ``num`` samples against ``min(num, dataset)`` reals (+ fake stats)."""
    res = generator.resolution
    source = self.source(res)
    num_real = min(num, len(source))
    if (res, num_real) not in self._real_outputs:  # in memory: periodic evals reuse it
      self._real_outputs[(res, num_real)] = self._outputs(self._track(
          stats_lib.source_batches(source, num_real, self.batch_size), num_real,
          f"real {res}px"), num_real)
    real, real_logits = self._real_outputs[(res, num_real)]
    fake, fake_logits = self._outputs(
        self.fake_batches(generator, params, num, w_avg, truncation_psi), num)
    values = coverage_lib.report(real.features, fake.features, real_logits, fake_logits)
    values["num_real"] = real.count
    return values, fake

  def evaluate(self, specs: Sequence[MetricSpec], generator, params, w_avg=None,
               truncation_psi: float = 1.0) -> Dict[str, Any]:
    """-> ``{"fid50k": float, "kid50k": float, "kid50k_std": float, "coverage10k": {...}}``."""
    results: Dict[str, Any] = {}
    res = generator.resolution
    fake_cache: Dict[int, stats_lib.FeatureStats] = {}
    # Coverage keeps every fake feature row, so FID/KID of the same count reuse its pass.
    specs = sorted(specs, key=lambda s: s.kind != "coverage")
    for spec in specs:
      t0 = time.time()
      if spec.kind == "coverage":
        results[spec.name], fake_cache[spec.num] = self.coverage(
            generator, params, spec.num, w_avg, truncation_psi)
        logging.info("%s = %s (%.1f s)", spec.name, results[spec.name], time.time() - t0)
        continue
      if spec.kind in ("eqt", "eqs"):  # consistency under window shifts / rescaling (dB)
        from inr_gan_jax.metrics import consistency  # pylint: disable=g-import-not-at-top
        results[spec.name] = consistency.consistency(
            generator, params, spec.num, self.batch_size, self.seed, w_avg, truncation_psi,
            kind=spec.kind)
        continue
      if spec.kind == "upsampled_fid":
        results[spec.name] = upsampled_fid.upsampled_fid(
            self, generator, params, spec.num, w_avg=w_avg, truncation_psi=truncation_psi)
        continue
      # One pass per sample count: keep the features whenever a KID of that count
      # is requested, so fid50k,kid50k generate and embed 50k images once.
      keep = any(s.kind == "kid" and s.num == spec.num for s in specs)
      fake = fake_cache.get(spec.num)
      if fake is None:
        fake = self.fake_stats(generator, params, spec.num, keep, w_avg, truncation_psi)
        fake_cache[spec.num] = fake
      real = self.real_stats(res, spec.num, keep)
      if spec.kind == "fid":
        results[spec.name] = frechet.frechet_distance(real.mean, real.cov, fake.mean, fake.cov)
      else:
        k = frechet.kid(real.features, fake.features, KID_SUBSETS, KID_SUBSET_SIZE, self.seed)
        results[spec.name], results[spec.name + "_std"] = k.mean, k.std
      results[spec.name + "_num_real"] = real.count
      logging.info("%s = %s (%.1f s)", spec.name, results[spec.name], time.time() - t0)
    return results


def fid_between(a: stats_lib.FeatureStats, b: stats_lib.FeatureStats) -> float:
  return frechet.frechet_distance(a.mean, a.cov, b.mean, b.cov)
