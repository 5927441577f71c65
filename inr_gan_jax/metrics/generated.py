"""Generator samples for metrics: truncation, fixed latent streams, uint8 output.

Metrics see the images a user would save: the generator's ``[-1, 1]`` output
is quantised to uint8 exactly like :func:`image_utils.to_uint8`, then goes
through the same feature pipeline as the real images.
"""
from typing import Iterator, Optional

import jax
import jax.numpy as jnp
import numpy as np


def to_uint8(images: jax.Array) -> jax.Array:
  """``[-1, 1]`` floats -> uint8 (round half to even, as ``np.rint`` in image_utils)."""
  return jnp.clip(jnp.round((images + 1.0) * 127.5), 0, 255).astype(jnp.uint8)


def latent_batches(generator, num: int, batch_size: int, seed: int) -> Iterator[jax.Array]:
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
  for z in latent_batches(generator, num, batch_size, seed):
    n = len(z)
    if n < batch_size:  # keep one shape: pad, render, trim
      z = jnp.concatenate([z, jnp.zeros((batch_size - n, z.shape[1]), z.dtype)])
    if sharding is not None:
      z = jax.device_put(z, sharding)
    images = generator.generate(params, z, size, size, w_mean=w_avg, psi=truncation_psi)
    yield _rgb(np.asarray(to_uint8(images))[:n])


def _rgb(images: np.ndarray) -> np.ndarray:
  if images.shape[-1] == 1:
    return np.repeat(images, 3, axis=-1)
  if images.shape[-1] != 3:
    raise ValueError(f"metrics need 1- or 3-channel images, got {images.shape[-1]} channels")
  return images
