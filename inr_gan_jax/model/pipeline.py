"""The one latent -> pixels path: ``z`` or ``w`` (optionally truncated) -> theta -> pixels.

Every consumer (the sample CLI, metric generation, the training-time sample
grids, projection, the experiments) goes through :class:`Pipeline`, which the
generators inherit::

  z [B, D] --hidden--> w [B, width] --truncate(w_mean, psi)--> w'
      --theta_from_hidden--> theta (leaves [B, ...]) --render_plan(plan)--> [B, N, C]

A subclass supplies those four stages and ``make_plan``. The jitted entries
(:meth:`Pipeline.generate`, :meth:`Pipeline.generate_on`, :meth:`Pipeline.predict`,
:meth:`Pipeline.evaluate`) are compiled once per model config, not per instance:
every checkpoint restore builds a new generator, and equal configs compute the
same function. Plans (points and upsampling taps) are data, so a new window
does not recompile; a new grid shape or batch size does.
"""
import functools
import json
from typing import Any, Optional, Sequence

import jax
import jax.numpy as jnp
import ml_collections

from inr_gan_jax.model import coords


def truncate(w: jax.Array, w_mean: jax.Array, psi) -> jax.Array:
  """``w [B, width]`` pulled toward ``w_mean [width]``: ``w_mean + psi (w - w_mean)``."""
  return w_mean + psi * (w - w_mean)


def _truncation_args(w_mean, psi):
  """``(w_mean, psi)`` as the jitted functions take them; ``psi = 1`` is exactly untruncated."""
  psi = float(psi)
  if psi == 1.0:
    return None, None
  if w_mean is None:
    raise ValueError(f"truncation psi={psi} needs w_mean, the mean hidden code (the "
                     "checkpoint's w_avg or restore.truncation_center's estimate)")
  return jnp.asarray(w_mean, jnp.float32), jnp.float32(psi)


@functools.lru_cache(maxsize=16)
def _compiled(cls, model_config_json: str):
  """Jitted stages of ``cls(config)``, shared by every instance with an equal config."""
  g = cls(ml_collections.ConfigDict(json.loads(model_config_json)))
  predict = jax.jit(g.predict_fn)
  evaluate = jax.jit(g.render_plan)

  def pixels(params, z, w, w_mean, psi, plan):  # -> [B, N, C]
    return g.render_plan(params, g.predict_fn(params, z, w, w_mean, psi), plan)
  return predict, evaluate, jax.jit(pixels)


class Pipeline:
  """Latent -> theta -> pixels on top of a generator's stages (see the module doc)."""

  config: ml_collections.ConfigDict

  # Stages a generator provides: hidden, theta_from_hidden, make_plan, render_plan.
  def predict_fn(self, params, z: Optional[jax.Array], w: Optional[jax.Array] = None,
                 w_mean: Optional[jax.Array] = None, psi=None) -> Any:
    """Pure: ``z [B, D]`` (or ``w [B, width]`` when ``z`` is None) -> theta.

    With ``w_mean`` the hidden code is truncated toward it by ``psi``.
    """
    if w is None:
      w = self.hidden(params, z)  # [B, width]
    if w_mean is not None:
      w = truncate(w, w_mean, psi)
    return self.theta_from_hidden(params, w)

  @functools.cached_property
  def _jit(self):
    # Serialising the config is the cache key; once per instance, not on every call.
    return _compiled(type(self), self.config.to_json(sort_keys=True))

  @staticmethod
  def _codes(z, w):
    if (z is None) == (w is None):
      raise ValueError("give exactly one of z (latents [B, D]) or w (hidden codes [B, width])")
    return z, w

  def predict(self, params, z: Optional[jax.Array] = None, *, w: Optional[jax.Array] = None,
              w_mean=None, psi: float = 1.0) -> Any:
    """Jitted: ``z`` or ``w`` -> theta (pytree, leaves ``[B, ...]``), optionally truncated."""
    z, w = self._codes(z, w)
    w_mean, psi = _truncation_args(w_mean, psi)
    return self._jit[0](params, z, w, w_mean, psi)

  def evaluate(self, params, theta, plan) -> jax.Array:
    """Jitted: theta on a plan's points -> ``[B, N, C]`` (tiles, masks, any point set)."""
    return self._jit[1](params, theta, plan)

  def generate_on(self, params, plan, z: Optional[jax.Array] = None, *,
                  w: Optional[jax.Array] = None, w_mean=None, psi: float = 1.0) -> jax.Array:
    """Jitted, one call: ``z`` or ``w`` -> pixels on ``plan`` ``[B, N, C]``."""
    z, w = self._codes(z, w)
    w_mean, psi = _truncation_args(w_mean, psi)
    return self._jit[2](params, z, w, w_mean, psi, plan)

  def generate(self, params, z: Optional[jax.Array] = None, height: Optional[int] = None,
               width: Optional[int] = None, window: Sequence[float] = coords.UNIT_WINDOW, *,
               w: Optional[jax.Array] = None, w_mean=None, psi: float = 1.0) -> jax.Array:
    """Jitted: ``z [B, D]`` (or ``w``) -> images ``[B, H, W, C]`` in ``[-1, 1]``.

    Defaults: the training resolution over the unit window. ``psi < 1`` pulls
    ``w`` toward ``w_mean``. Compiles once per (batch, grid shape); windows are
    data. Shardings flow through: a ``z`` sharded over a mesh's batch axis gives
    images sharded the same way.
    """
    height = self.resolution if height is None else int(height)
    width = height if width is None else int(width)
    flat = self.generate_on(params, self.make_plan(height, width, window), z, w=w,
                            w_mean=w_mean, psi=psi)  # [B, H*W, C]
    return flat.reshape(flat.shape[0], height, width, flat.shape[-1])
