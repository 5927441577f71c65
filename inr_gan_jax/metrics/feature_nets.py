"""Pluggable image -> feature functions for FD / KID.

A :class:`FeatureNet` is a name (part of the real-statistics cache key), a
pure ``apply_fn(params, images [B, H, W, 3] in [-1, 1]) -> [B, D]`` and its
params. The same FD / KID code runs on any of them:

* :func:`inception` -- the standard FID network with pytorch-fid's weights;
* :func:`random_inception` -- the same architecture, random weights (a
  diagnostic: how much does architecture alone tell?);
* :func:`classifier` -- the penultimate features of a small CNN classifier
  trained by ``experiments/train_feature_net.py``, the offline quality signal
  on machines where the Inception weights cannot be had.
"""
import dataclasses
import functools
import hashlib
import json
import os
from typing import Any, Callable, Dict, Optional, Sequence

import flax.linen as nn
import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np

from inr_gan_jax.metrics import inception as inception_lib
from inr_gan_jax.metrics import inception_weights

CLASSIFIER_FORMAT = "inr_gan_jax.feature_net.v1"


@dataclasses.dataclass(frozen=True)
class FeatureNet:
  name: str                         # identifies the weights: part of cache keys and reports
  apply_fn: Callable[[Any, jax.Array], jax.Array]
  params: Any
  dim: int
  # Classifier head ``logits_fn(params, images) -> [B, C]``, when the net has one: the
  # class-histogram coverage metric needs it (metrics/coverage.py).
  logits_fn: Optional[Callable[[Any, jax.Array], jax.Array]] = None


def inception(weights_path: str) -> FeatureNet:
  """The FID InceptionV3 with pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth``."""
  variables = inception_weights.load_inception_variables(weights_path)
  return FeatureNet("inception-2015-12-05", inception_lib.apply, variables,
                    inception_lib.FEATURE_DIM)


def random_inception(seed: int = 0) -> FeatureNet:
  """The FID InceptionV3 architecture with random (He-normal) weights."""
  return FeatureNet(f"random-inception-seed{seed}", inception_lib.apply,
                    inception_lib.init_random(seed), inception_lib.FEATURE_DIM)


# ---- small convolutional classifier -----------------------------------------------
class SmallCNN(nn.Module):
  """images ``[B, H, W, 3]`` in ``[-1, 1]`` -> (features ``[B, feature_dim]``, logits ``[B, C]``).

  Inputs are resized to ``input_size`` first so generators of any resolution
  can be compared with the data the classifier was trained on.
  """
  widths: Sequence[int] = (32, 64, 128)
  feature_dim: int = 128
  num_classes: int = 10
  input_size: int = 32

  @nn.compact
  def __call__(self, x):
    b, h, w, c = x.shape
    if (h, w) != (self.input_size, self.input_size):
      x = jax.image.resize(x, (b, self.input_size, self.input_size, c), "bilinear")
    for i, width in enumerate(self.widths):
      x = nn.relu(nn.Conv(width, (3, 3), name=f"conv{i}")(x))
      if i < len(self.widths) - 1:
        x = nn.avg_pool(x, (2, 2), strides=(2, 2))          # halve: 32 -> 16 -> 8
    x = jnp.mean(x, axis=(1, 2))                             # [B, widths[-1]]
    features = nn.relu(nn.Dense(self.feature_dim, name="penultimate")(x))  # [B, feature_dim]
    logits = nn.Dense(self.num_classes, name="logits")(features)
    return features, logits


def classifier_config(**overrides) -> Dict[str, Any]:
  cfg = {"widths": [32, 64, 128], "feature_dim": 128, "num_classes": 10, "input_size": 32}
  unknown = set(overrides) - set(cfg)
  if unknown:
    raise KeyError(f"unknown classifier config keys {sorted(unknown)}; known {sorted(cfg)}")
  cfg.update(overrides)
  return cfg


def build_cnn(cfg: Dict[str, Any]) -> SmallCNN:
  return SmallCNN(widths=tuple(cfg["widths"]), feature_dim=int(cfg["feature_dim"]),
                  num_classes=int(cfg["num_classes"]), input_size=int(cfg["input_size"]))


def save_classifier(path: str, params, cfg: Dict[str, Any], info: Dict[str, Any]) -> None:
  """One msgpack file: format tag, architecture config, free-form info (JSON), params."""
  payload = {"format": CLASSIFIER_FORMAT, "config": json.dumps(cfg), "info": json.dumps(info),
             "params": jax.tree.map(np.asarray, flax.serialization.to_state_dict(params))}
  os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
  tmp = path + ".tmp"
  with open(tmp, "wb") as f:
    f.write(flax.serialization.msgpack_serialize(payload))
  os.replace(tmp, path)


def load_classifier_file(path: str):
  """-> (params, config dict, info dict); clear errors for missing / foreign files."""
  if not path or not os.path.isfile(path):
    raise FileNotFoundError(f"feature net file {path!r} not found; train one with "
                            "`python -m experiments.train_feature_net --out=PATH`")
  with open(path, "rb") as f:
    raw = f.read()
  try:
    payload = flax.serialization.msgpack_restore(raw)
  except Exception as e:  # msgpack raises several unrelated types for garbage input
    raise ValueError(f"{path!r} is not a feature net file written by "
                     f"experiments/train_feature_net.py ({type(e).__name__}: {e})") from e
  if not isinstance(payload, dict) or payload.get("format") != CLASSIFIER_FORMAT:
    raise ValueError(f"{path!r} is not a feature net file (expected format "
                     f"{CLASSIFIER_FORMAT!r})")
  return payload["params"], json.loads(payload["config"]), json.loads(payload["info"]), raw


@functools.lru_cache(maxsize=8)
def _cnn_features_fn(cfg_json: str) -> Callable:
  """The same function object per architecture, so compiled extractors are reused."""
  model = build_cnn(json.loads(cfg_json))

  def apply_fn(params, images):
    return model.apply({"params": params}, images)[0]  # penultimate features
  return apply_fn


@functools.lru_cache(maxsize=8)
def _cnn_logits_fn(cfg_json: str) -> Callable:
  model = build_cnn(json.loads(cfg_json))

  def logits_fn(params, images):
    return model.apply({"params": params}, images)[1]  # [B, num_classes]
  return logits_fn


def classifier(path: str) -> FeatureNet:
  """Penultimate features of a classifier saved by ``experiments/train_feature_net.py``."""
  params, cfg, _, raw = load_classifier_file(path)
  model = build_cnn(cfg)
  cfg_json = json.dumps(cfg, sort_keys=True)
  apply_fn = _cnn_features_fn(cfg_json)
  digest = hashlib.sha256(raw).hexdigest()[:10]
  params = jax.tree.map(jnp.asarray, params)
  # Check the file's params fit the architecture now, not deep inside a jit later.
  dummy = jax.ShapeDtypeStruct((1, cfg["input_size"], cfg["input_size"], 3), jnp.float32)
  want = jax.eval_shape(model.init, jax.random.key(0), dummy)["params"]
  inception_weights.check_against(params, want, path)
  return FeatureNet(f"cnn-{digest}", apply_fn, params, int(cfg["feature_dim"]),
                    logits_fn=_cnn_logits_fn(cfg_json))


def from_flags(inception_weights_path: str = "", feature_net: str = "") -> FeatureNet:
  """Resolves the CLI / config choice: weights file, classifier file, or ``random_inception[:SEED]``."""
  if inception_weights_path and feature_net:
    raise ValueError("pass either inception_weights or feature_net, not both")
  if inception_weights_path:
    return inception(inception_weights_path)
  if feature_net.startswith("random_inception"):
    seed = feature_net.partition(":")[2]
    return random_inception(int(seed) if seed else 0)
  if feature_net:
    return classifier(feature_net)
  raise ValueError(
      "FID/KID need a feature network: --inception_weights=PATH to pytorch-fid's "
      f"{inception_weights.EXPECTED_FILE} (usually in ~/.cache/torch/hub/checkpoints/), or "
      "--feature_net=PATH to a classifier from experiments/train_feature_net.py, or "
      "--feature_net=random_inception[:SEED] (diagnostic only)")
