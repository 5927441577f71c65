"""Metrics during training: ``make_eval_fn(config)`` -> ``eval_fn(g_params, step) -> dict``.

Config keys (``config.eval``; every key optional): ``every_steps`` (0 = never; the
caller checks), ``metrics`` (e.g. "fid5k,coverage5k" for FD and mode coverage against
kimg), ``num_samples``, ``inception_weights`` or ``feature_net``, ``batch_size``,
``truncation_psi``, ``cache_dir``; defaults and meanings in ``config_lib.EVAL_DEFAULTS``.

The feature net, real statistics and compiled functions are built once, on
the first call, so a config without ``eval`` costs nothing.
"""
import os
from typing import Any, Callable, Dict, Optional

import ml_collections

from inr_gan_jax import config_lib
from inr_gan_jax.model import generator as generator_lib

DEFAULTS = config_lib.EVAL_DEFAULTS


def eval_config(config) -> ml_collections.ConfigDict:
  """``config.eval`` with defaults filled in; unknown keys are an error."""
  section = config.get("eval", None) or {}
  unknown = set(section.keys()) - set(DEFAULTS)
  if unknown:
    raise ValueError(f"unknown config.eval keys {sorted(unknown)}; known {sorted(DEFAULTS)}")
  out = ml_collections.ConfigDict(dict(DEFAULTS))
  out.update(dict(section))
  return out


def make_eval_fn(config, workdir: str = "", mesh=None,
                 generator: Optional[generator_lib.Generator] = None
                 ) -> Callable[[Any, int, Optional[Any]], Dict[str, float]]:
  """``eval_fn(g_params, step, w_avg=None) -> {"eval/fid5k": value, ...}``.

  Args:
    config: the experiment config (``model``, ``data``, optional ``eval``).
    workdir: the run's workdir (default cache location).
    mesh: devices for feature extraction (default: all local devices).
    generator: reuse the trainer's Generator (avoids a second layout build).
  """
  from inr_gan_jax.metrics import evaluator as evaluator_lib
  from inr_gan_jax.metrics import feature_nets
  ec = eval_config(config)
  specs = evaluator_lib.parse_metrics(str(ec.metrics).split(","), int(ec.num_samples))
  generator = generator or generator_lib.build(config.model)
  cache_dir = ec.cache_dir or (os.path.join(workdir, "metrics_cache") if workdir else "")
  state = {}

  def eval_fn(g_params, step: int, w_avg=None) -> Dict[str, float]:
    del step  # results are the caller's to log at this step
    if "evaluator" not in state:
      net = feature_nets.from_flags(ec.inception_weights, ec.feature_net)
      state["evaluator"] = evaluator_lib.Evaluator(net, config.data, cache_dir,
                                                   int(ec.batch_size), mesh, seed=config.seed)
    values = state["evaluator"].evaluate(specs, generator, g_params, w_avg=w_avg,
                                         truncation_psi=float(ec.truncation_psi))
    out = {}
    for name, value in values.items():
      if isinstance(value, dict) and "fid" in value:  # upsampled FID: one scalar per method
        out.update({f"eval/{name}/{m}": float(v) for m, v in value["fid"].items()})
      elif isinstance(value, dict):  # coverage: one scalar per measure
        out.update({f"eval/{name}/{m}": float(v) for m, v in value.items()})
      else:
        out[f"eval/{name}"] = float(value)
    return out

  return eval_fn
