"""The auto-decoder: a learned latent per image, the core's hypernetwork, the core's INR.

Each image ``i`` owns a latent ``c_i [latent_dim]`` (the bottleneck, much
smaller than the INR's parameter count), trained jointly with a generator
(:class:`~inr_gan_jax.model.generator.Generator`): ``c_i -> hidden -> connector ->``
FMM factors and Fourier frequencies -> INR. No discriminator: the image set
itself is the target (an auto-decoder, as in DeepSDF). The INR is single-scale
(one block at the training resolution), so any point subset is a valid
:class:`~inr_gan_jax.model.inr.GridPlan` with no upsampling taps.
"""
import functools
from typing import Sequence

import jax
import jax.numpy as jnp

from inr_gan_jax import config_lib
from inr_gan_jax.model import coords
from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.model import inr
from inr_gan_jax.fit.image_set import coords_grid


def autodecoder_config(size: int, latent_dim: int = 64, hyper_width: int = 256,
                       width: int = 128, depth: int = 4, num_fourier: int = 32,
                       fourier_scale: float = 10.0, fmm_rank: int = 10, out_channels: int = 3):
  """A single-block INR-GAN model config for an ``size x size`` image set."""
  return config_lib.model_config(
      resolution=size, latent_dim=latent_dim, hyper_width=hyper_width, hyper_num_residual=2,
      block_resolutions=(size,), block_widths=(width,), block_depths=(depth,),
      num_fourier=num_fourier, fourier_scale=fourier_scale, fmm_rank=fmm_rank,
      out_channels=out_channels)


class AutoDecoderImageSet:
  """``num_images`` learned latents + one generator."""

  def __init__(self, model_config, num_images: int, size: int, code_scale: float = 1.0):
    if len(model_config.block_resolutions) != 1:
      raise ValueError("the auto-decoder uses a single-block INR (block_resolutions=(size,)), "
                       f"got {tuple(model_config.block_resolutions)}")
    self.gen = generator_lib.Generator(model_config)
    self.num_images, self.size, self.code_scale = int(num_images), int(size), code_scale
    self.grid = jnp.asarray(coords.pixel_grid(size, size).reshape(-1, 2))  # [P, 2]

  def init(self, rng):
    k_gen, k_code = jax.random.split(rng)
    return {"gen": jax.jit(self.gen.init)(k_gen),
            "codes": self.code_scale * jax.random.normal(
                k_code, (self.num_images, self.gen.latent_dim))}

  def num_params(self, params) -> int:
    return sum(int(x.size) for x in jax.tree.leaves(params))

  def codes(self, params):
    return params["codes"]  # [N, latent_dim]

  def predict(self, params, ids, pix):
    theta = self.gen.theta(params["gen"], params["codes"][ids])  # leaves [B, ...]
    plan = inr.GridPlan(points=(self.grid[pix],), up_index=(), up_weight=())  # points [B, K, 2]
    fn = functools.partial(inr.evaluate, self.gen.layout)
    return jax.vmap(fn, in_axes=(0, None, 0))(theta, params["gen"]["inr"], plan)  # [B, K, C]

  @functools.partial(jax.jit, static_argnums=(0, 3, 4))
  def _render(self, params, codes, height, width, window):
    plan = inr.GridPlan(points=(coords_grid(height, width, window),), up_index=(), up_weight=())
    theta = self.gen.theta(params["gen"], codes)
    out = inr.evaluate_batch(self.gen.layout, theta, params["gen"]["inr"], plan)  # [B, P, C]
    return out.reshape(codes.shape[0], height, width, -1)

  def render(self, params, codes, height: int, width: int,
             window: Sequence[float] = coords.UNIT_WINDOW):
    return self._render(params, codes, height, width, jnp.asarray(window, jnp.float32))

  @functools.partial(jax.jit, static_argnums=0)
  def embed(self, params):
    """Per-image embedding: the learned latent, ``[N, latent_dim]``."""
    return params["codes"]
