"""Image-set models: N images in one network, behind one interface.

* :class:`MLPImageSet`: the memorizing network, a coordinate MLP whose input is
  ``[coordinate features, code_i]`` (code = index coordinate or binary code);
  N = 1 with no code is the single-image INR.
* :class:`AutoDecoderImageSet` (in :mod:`autodecoder`): learned latent per
  image -> the core's FMM hypernetwork -> the core's INR.

Both expose ``init``, ``predict(params, ids [B], pix [B, K]) -> [B, K, C]`` on
the training grid, ``render(params, codes, H, W, window) -> [B, H, W, C]``,
``codes(params) -> [N, D]`` (what interpolation blends) and ``embed``.
"""
import functools
from typing import Sequence

import jax
import jax.numpy as jnp

from inr_gan_jax.model import coords
from inr_gan_jax.fit import models


class MLPImageSet:
  """A coordinate MLP memorizing ``num_images`` images of ``size x size``."""

  def __init__(self, spec: models.MLPSpec, num_images: int, size: int, code_kind: str = "index"):
    self.num_images, self.size = int(num_images), int(size)
    self.code_kind = code_kind if num_images > 1 else None
    want = models.code_dim(code_kind, num_images) if self.code_kind else 0
    if spec.code_dim != want:
      raise ValueError(f"spec.code_dim={spec.code_dim} but {num_images} images with "
                       f"code {self.code_kind!r} need {want}")
    self.spec = spec
    self.grid = jnp.asarray(coords.pixel_grid(size, size).reshape(-1, 2))  # [P, 2]
    self._codes = (jnp.asarray(models.image_codes(code_kind, num_images)) if self.code_kind
                   else jnp.zeros((num_images, 0)))  # [N, k]

  def init(self, rng):
    return models.init(self.spec, rng)

  def num_params(self, params) -> int:
    return models.num_params(params)

  def codes(self, params) -> jax.Array:
    del params  # fixed inputs, not learned
    return self._codes

  def _one(self, params, points, code, return_hidden=False):
    return models.apply(self.spec, params, points, code if self.spec.code_dim else None,
                        return_hidden)

  def predict(self, params, ids, pix):
    points = self.grid[pix]  # [B, K, 2]
    return jax.vmap(self._one, in_axes=(None, 0, 0))(params, points, self._codes[ids])

  @functools.partial(jax.jit, static_argnums=(0, 3, 4))
  def _render(self, params, codes, height, width, window):
    points = coords_grid(height, width, window)  # [P, 2]
    out = jax.lax.map(lambda c: self._one(params, points, c), codes)  # [B, P, C]
    return jnp.clip(out, -1, 1).reshape(codes.shape[0], height, width, -1)

  def render(self, params, codes, height: int, width: int,
             window: Sequence[float] = coords.UNIT_WINDOW):
    return self._render(params, codes, height, width, jnp.asarray(window, jnp.float32))

  @functools.partial(jax.jit, static_argnums=0)
  def embed(self, params):
    """Per-image embedding: last hidden layer averaged over the image's pixels, ``[N, width]``."""
    def one(code):
      _, h = self._one(params, self.grid, code, return_hidden=True)  # [P, width]
      return h.mean(axis=0)
    return jax.lax.map(one, self._codes)


def coords_grid(height: int, width: int, window: jax.Array) -> jax.Array:
  """Traceable :func:`coords.pixel_grid` (window as data): ``[H * W, 2]``."""
  x0, y0, x1, y1 = window[0], window[1], window[2], window[3]
  xs = x0 + (jnp.arange(width) + 0.5) * (x1 - x0) / width
  ys = y0 + (jnp.arange(height) + 0.5) * (y1 - y0) / height
  xx, yy = jnp.meshgrid(xs, ys, indexing="xy")
  return jnp.stack([xx, yy], axis=-1).reshape(-1, 2)
