"""Analytic parameter and MAC counts of a generator config (the paper's Table 1)."""
import math
from typing import Dict, Sequence

import jax
import numpy as np

from inr_gan_jax.model import layout as layout_lib


def hypernetwork_params(model, connector_size: int) -> Dict[str, int]:
  d, w, n = int(model.latent_dim), int(model.hyper_width), int(model.hyper_num_residual)
  mapping = (d * w + w) + n * (w * w + w)
  connector = w * connector_size + connector_size
  return {"mapping": mapping, "connector": connector}


def hypernetwork_macs(model, connector_size: int) -> int:
  d, w, n = int(model.latent_dim), int(model.hyper_width), int(model.hyper_num_residual)
  return d * w + n * w * w + w * connector_size


def lower_resolutions(resolution: int, smallest: int = 16) -> Sequence[int]:
  """``R, R/2, R/4, ...`` down to ``smallest`` (the paper's Fig. 9 axis)."""
  out, s = [], resolution
  while s >= smallest:
    out.append(s)
    s //= 2
  return out


def model_stats(model) -> Dict[str, object]:
  """Parameters and per-image GMACs of ``config.model``.

  GMACs count every matrix product needed to draw one image from ``z``: the
  hypernetwork (mapping + connector), forming FMM weights, and the INR on the
  image grid; sampling at a lower resolution evaluates every block on a
  proportionally smaller grid.
  """
  layout = layout_lib.layout_from_config(model)
  hyper = hypernetwork_params(model, layout.connector_size)
  hyper_macs = hypernetwork_macs(model, layout.connector_size)
  r = layout.resolution
  by_res = {str(s): (hyper_macs + layout.inr_macs(s, s)) / 1e9 for s in lower_resolutions(r)}
  return {
      "resolution": r,
      "params_total": hyper["mapping"] + hyper["connector"] + layout.num_shared,
      "params_mapping": hyper["mapping"],
      "params_connector": hyper["connector"],
      "params_shared_inr": layout.num_shared,
      "predicted_per_sample": layout.connector_size,
      "gmacs": by_res[str(r)],
      "gmacs_hypernetwork": hyper_macs / 1e9,
      "gmacs_inr": layout.inr_macs(r, r) / 1e9,
      "gmacs_by_resolution": by_res,
  }


def tree_size(tree) -> int:
  """Number of scalars in a pytree of arrays, ShapeDtypeStructs or shape tuples.

  The one parameter counter of the package (generator, discriminator, fitting models).
  """
  is_shape = lambda x: isinstance(x, tuple) and all(isinstance(i, int) for i in x)
  return int(sum(math.prod(x if is_shape(x) else np.shape(x))  # np.shape reads .shape
                 for x in jax.tree.leaves(tree, is_leaf=is_shape)))
