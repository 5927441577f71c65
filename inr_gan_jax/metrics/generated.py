"""Generator samples for metrics: truncation, fixed latent streams, uint8 output.

Metrics see the images a user would save: the generator's ``[-1, 1]`` output
is quantised to uint8 exactly like :func:`image_utils.to_uint8`, then goes
through the same feature pipeline as the real images.
"""
import functools
import json
from typing import Iterator, Optional, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from inr_gan_jax.model import coords
from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.model import truncation


def to_uint8(images: jax.Array) -> jax.Array:
  """``[-1, 1]`` floats -> uint8 (round half to even, as ``np.rint`` in image_utils)."""
  return jnp.clip(jnp.round((images + 1.0) * 127.5), 0, 255).astype(jnp.uint8)


def _render_fn(generator):
  # Keyed by the model config, not the instance: every restore builds a new
  # Generator, and equal configs compute the same function.
  return _render_fn_for_config(generator.config.to_json(sort_keys=True))


@functools.lru_cache(maxsize=16)
def _render_fn_for_config(model_config_json: str):
  generator = generator_lib.build(ml_collections.ConfigDict(json.loads(model_config_json)))

  def fn(params, w_avg, z, psi, plan):
    w = generator.hidden(params, z)                                 # [B, width]
    if w_avg is not None:
      w = truncation.truncate(w, w_avg, psi)                        # truncation trick
    theta = generator.theta_from_hidden(params, w)
    return generator.render_plan(params, theta, plan)               # [B, H*W, C]
  return jax.jit(fn)


def render(generator, params, z: jax.Array, size: int, w_avg: Optional[jax.Array] = None,
           truncation_psi: float = 1.0,
           window: Sequence[float] = coords.UNIT_WINDOW) -> jax.Array:
  """``z [B, D]`` -> float images ``[B, size, size, C]`` in ``[-1, 1]``, optionally truncated.

  ``truncation_psi < 1`` pulls the hypernetwork's hidden code ``w`` towards
  ``w_avg`` (needs ``w_avg``); ``psi = 1`` is the untruncated generator.
  """
  if truncation_psi != 1.0 and w_avg is None:
    raise ValueError("truncation_psi != 1 needs w_avg (the checkpoint's mean hidden code)")
  plan = generator.make_plan(size, size, window)
  w_avg = None if truncation_psi == 1.0 else w_avg
  flat = _render_fn(generator)(params, w_avg, z, jnp.float32(truncation_psi), plan)
  return flat.reshape(flat.shape[0], size, size, flat.shape[-1])


def latents(generator, num: int, batch_size: int, seed: int) -> Iterator[jax.Array]:
  """``num`` latents in batches of ``batch_size``; the stream depends only on ``seed``.

  Batch ``i`` is drawn from ``fold_in(key(seed), i)``: every batch has the
  full size (the tail batch is trimmed by the caller), so one compile serves all.
  """
  key = jax.random.key(seed)
  for i, start in enumerate(range(0, num, batch_size)):
    z = generator.sample_z(jax.random.fold_in(key, i), batch_size)
    yield z[:min(batch_size, num - start)]


def sample_batches(generator, params, num: int, batch_size: int, size: int, seed: int = 0,
                   w_avg=None, truncation_psi: float = 1.0,
                   sharding: Optional[jax.sharding.Sharding] = None) -> Iterator[np.ndarray]:
  """uint8 RGB samples ``[<=batch_size, size, size, 3]``, ``num`` in total.

  With ``sharding`` (a batch sharding over a mesh; ``params`` replicated on
  it), each batch is generated data-parallel; the images do not depend on it.
  """
  for z in latents(generator, num, batch_size, seed):
    n = len(z)
    if n < batch_size:  # keep one shape: pad, render, trim
      z = jnp.concatenate([z, jnp.zeros((batch_size - n, z.shape[1]), z.dtype)])
    if sharding is not None:
      z = jax.device_put(z, sharding)
    images = render(generator, params, z, size, w_avg, truncation_psi)
    yield _rgb(np.asarray(to_uint8(images))[:n])


def _rgb(images: np.ndarray) -> np.ndarray:
  if images.shape[-1] == 1:
    return np.repeat(images, 3, axis=-1)
  if images.shape[-1] != 3:
    raise ValueError(f"metrics need 1- or 3-channel images, got {images.shape[-1]} channels")
  return images
