"""Latent codes ``z``: Gaussian, with an optional categorical part (InfoGAN's code).

With ``categories = K > 0`` the first ``K`` entries of ``z`` are a one-hot code
``sqrt(K) * e_c``, ``c ~ U{0..K-1}`` (Chen et al. 2016), the rest stay ``N(0, 1)``.
The scale gives those ``K`` entries the second moment ``K`` of ``K`` Gaussian ones, so the
hypernetwork's first layer sees inputs of the size it was initialised for. Every latent of
the package (training, sampling, metrics, truncation) is drawn here, so a generator trained
with a code is sampled from the distribution it was trained on.
"""
import jax
import jax.numpy as jnp


def sample(rng: jax.Array, num: int, dim: int, categories: int = 0) -> jax.Array:
  """``[num, dim]`` latents; the first ``categories`` entries one-hot when ``categories > 0``."""
  k_normal, k_code = jax.random.split(rng) if categories else (rng, None)
  z = jax.random.normal(k_normal, (num, dim), jnp.float32)  # [num, dim]
  if not categories:
    return z  # the same draw as before codes existed
  c = jax.random.randint(k_code, (num,), 0, categories)    # [num]
  one_hot = jax.nn.one_hot(c, categories, dtype=jnp.float32) * jnp.sqrt(float(categories))
  return z.at[:, :categories].set(one_hot)


def code(z: jax.Array, categories: int) -> jax.Array:
  """The categorical code of latents drawn by :func:`sample`: ``[num]`` int32 in ``[0, K)``."""
  return jnp.argmax(z[:, :categories], axis=-1).astype(jnp.int32)
