"""Mode coverage: does the generator draw every kind of image its data holds?

FD and KID mix fidelity with diversity into one number; a generator that draws
crisp 3s and 8s only can score a moderate FD. Two coverage measures that say
"which modes are missing" directly:

* **Class histogram** (when the feature net has a classifier head, e.g. the
  MNIST CNN of ``experiments/train_feature_net.py``): the distribution of
  ``argmax`` predictions over generated samples, its entropy normalised by
  ``log C`` (1 = uniform over classes) and its total-variation distance to the
  histogram of the same classifier on real images (the reference: a classifier
  bias then cancels instead of counting as missing coverage).
* **k-NN coverage and density** (Naeem et al., "Reliable Fidelity and
  Diversity Metrics for Generative Models", ICML 2020), for any feature net:
  each real sample gets a ball reaching its k-th nearest real neighbour;
  *coverage* is the fraction of real balls holding at least one fake,
  *density* the mean number of real balls a fake lands in, divided by k
  (about 1 when fakes are distributed like reals; above 1 when they crowd
  onto dense real regions).

All functions take numpy arrays and return Python floats / numpy arrays.
"""
from typing import Dict

import numpy as np

KNN_K = 5            # Naeem et al.'s default
_CHUNK = 1024        # rows per distance block: 1024 x N float32 stays small


def class_histogram(predictions: np.ndarray, num_classes: int) -> np.ndarray:
  """Integer predictions ``[N]`` -> class frequencies ``[C]`` (summing to 1)."""
  predictions = np.asarray(predictions)
  if predictions.ndim != 1 or len(predictions) == 0:
    raise ValueError(f"predictions must be a non-empty [N] array, got {predictions.shape}")
  if predictions.min() < 0 or predictions.max() >= num_classes:
    raise ValueError(f"predictions outside [0, {num_classes})")
  counts = np.bincount(predictions, minlength=num_classes).astype(np.float64)
  return counts / counts.sum()


def normalized_entropy(p: np.ndarray) -> float:
  """``H(p) / log(C)`` of a distribution ``[C]``: 1 for uniform, 0 for one class."""
  p = np.asarray(p, np.float64)
  if len(p) < 2:
    raise ValueError("normalised entropy needs at least 2 classes")
  nz = p[p > 0]
  return float(abs(-np.sum(nz * np.log(nz)) / np.log(len(p))))  # abs: no "-0.0" for one class


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
  """``0.5 * sum |p - q|``: the probability mass that would have to move."""
  return float(0.5 * np.sum(np.abs(np.asarray(p, np.float64) - np.asarray(q, np.float64))))


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  """Squared Euclidean distances ``[len(a), len(b)]`` (float64, clipped at 0)."""
  d = (np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2.0 * (a @ b.T))
  return np.maximum(d, 0.0)


def knn_radii(x: np.ndarray, k: int = KNN_K) -> np.ndarray:
  """Distance from each row of ``x [N, D]`` to its k-th nearest other row: ``[N]``."""
  x = np.asarray(x, np.float64)
  if not 0 < k < len(x):
    raise ValueError(f"k={k} needs more than k samples, have {len(x)}")
  out = np.empty(len(x))
  for lo in range(0, len(x), _CHUNK):
    d = _sq_dists(x[lo:lo + _CHUNK], x)                      # [chunk, N]
    # Position 0 after sorting is the point itself (distance 0); the k-th neighbour is k.
    out[lo:lo + _CHUNK] = np.sqrt(np.partition(d, k, axis=1)[:, k])
  return out


def coverage_density(real: np.ndarray, fake: np.ndarray, k: int = KNN_K) -> Dict[str, float]:
  """Naeem et al.'s coverage and density of ``fake [M, D]`` against ``real [N, D]``."""
  real = np.asarray(real, np.float64)
  fake = np.asarray(fake, np.float64)
  radii_sq = knn_radii(real, k) ** 2                          # [N]
  covered = np.zeros(len(real), bool)
  inside = 0
  for lo in range(0, len(fake), _CHUNK):
    hit = _sq_dists(fake[lo:lo + _CHUNK], real) < radii_sq[None, :]   # [chunk, N]
    covered |= hit.any(axis=0)
    inside += int(hit.sum())
  return {"knn_coverage": float(covered.mean()), "knn_density": inside / (k * len(fake))}


def report(real_features: np.ndarray, fake_features: np.ndarray, real_logits=None,
           fake_logits=None, k: int = KNN_K) -> Dict[str, float]:
  """Every coverage number for one generator; class numbers only when logits are given.

  Keys: ``knn_coverage``, ``knn_density``; with logits also ``class_entropy``
  (generated), ``real_class_entropy``, ``class_tv`` (to the real histogram),
  ``classes_present`` (classes holding at least half their real share) and
  ``class_hist/<c>`` (generated frequency of class c).
  """
  out = coverage_density(real_features, fake_features, k)
  if fake_logits is not None and real_logits is not None:
    num_classes = int(np.asarray(fake_logits).shape[1])
    p_fake = class_histogram(np.argmax(fake_logits, axis=1), num_classes)
    p_real = class_histogram(np.argmax(real_logits, axis=1), num_classes)
    out.update({"class_entropy": normalized_entropy(p_fake),
                "real_class_entropy": normalized_entropy(p_real),
                "class_tv": total_variation(p_fake, p_real),
                "classes_present": int(np.sum((p_fake >= 0.5 * p_real) & (p_real > 0)))})
    out.update({f"class_hist/{c}": float(v) for c, v in enumerate(p_fake)})
  return out
