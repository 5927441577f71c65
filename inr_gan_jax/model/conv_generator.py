"""A pixel-based baseline: a DCGAN-style generator of transposed convolutions.

The recipe study (issue 10, ``experiments/recipe_study.py``) asks how an INR
generator compares with a convolutional one trained by the *same* loop,
discriminator, losses, data, batch and step count. This generator plugs into
that loop through the :class:`~inr_gan_jax.model.generator.Generator` interface
(``init / sample_z / hidden / theta_from_hidden / render / make_plan /
render_plan / generate``) and is selected by ``config.model.generator = "conv"``::

  z [B, D] -> dense -> [B, 4, 4, C0] -> (4x4 transposed conv stride 2, pixel norm,
      leaky ReLU) x log2(R / 4), halving channels -> 3x3 conv -> tanh   # [B, R, R, C]

Pixel norm (Karras et al. 2018) replaces DCGAN's batch norm, so the generator
stays a pure per-sample function with no batch statistics. It has no mapping
network: its "hidden code" is ``z`` itself (truncation then acts on ``z``).
Rendering at other sizes or windows reads the ``R x R`` output as a function by
bilinear interpolation between pixel centres (clamped at the border): the
baseline a continuous generator's superresolution has to beat.

Its parameters form one optimiser group ``conv``, trained at ``train.lr_inr``
(both are the synthesis weights of their generator).
"""
import math
from typing import Any, Dict, Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from inr_gan_jax.model import coords
from inr_gan_jax.model import latents
from inr_gan_jax.model import layers
from inr_gan_jax.model import pipeline

_he = nn.initializers.variance_scaling(2.0, "fan_in", "normal")


pixel_norm = layers.pixel_norm  # one definition, shared with the INR's model.pixel_norm


class ConvNet(nn.Module):
  resolution: int
  out_channels: int
  base_width: int = 256
  min_width: int = 32
  grey: bool = False  # one output channel, repeated to out_channels

  @nn.compact
  def __call__(self, z: jax.Array) -> jax.Array:
    b = z.shape[0]
    width = self.base_width
    x = nn.Dense(4 * 4 * width, kernel_init=_he, name="project")(pixel_norm(z))
    x = nn.leaky_relu(pixel_norm(x.reshape(b, 4, 4, width)), 0.2)       # [B, 4, 4, C0]
    for i in range(int(math.log2(self.resolution // 4))):
      width = max(self.min_width, width // 2)
      x = nn.ConvTranspose(width, (4, 4), strides=(2, 2), padding="SAME", kernel_init=_he,
                           name=f"up{i}")(x)                             # doubles H and W
      x = nn.leaky_relu(pixel_norm(x), 0.2)
    x = nn.Conv(1 if self.grey else self.out_channels, (3, 3),
                kernel_init=nn.initializers.lecun_normal(), name="to_rgb")(x)
    x = jnp.tanh(x)                                                      # [B, R, R, C or 1]
    return layers.grey_to_channels(x, self.out_channels) if self.grey else x


def bilinear_sample(images: jax.Array, points: jax.Array) -> jax.Array:
  """Reads images ``[B, R, R, C]`` at points ``[N, 2]`` (x, y in the unit-square convention).

  Pixel ``(i, j)`` is the value at its centre ``((j + 0.5) / R, (i + 0.5) / R)``;
  between centres values are bilinear, outside the outermost centres clamped.
  Returns ``[B, N, C]``.
  """
  return jax.vmap(lambda image: layers.grid_features(points, image))(images)


class ConvGenerator(pipeline.Pipeline):
  """The DCGAN-style baseline behind the Generator interface (holds no arrays)."""

  def __init__(self, model_config):
    self.config = model_config
    self.latent_dim = int(model_config.latent_dim)
    self.net = ConvNet(resolution=int(model_config.resolution),
                       out_channels=int(model_config.out_channels),
                       base_width=int(model_config.get("conv_width", 256)),
                       grey=bool(model_config.get("grey", False)))

  @property
  def resolution(self) -> int:
    return int(self.config.resolution)

  @property
  def hidden_dim(self) -> int:
    return self.latent_dim

  def init(self, rng: jax.Array) -> Dict[str, Any]:
    z = jnp.zeros((1, self.latent_dim), jnp.float32)
    return {"conv": self.net.init(rng, z)["params"]}

  def sample_z(self, rng: jax.Array, num: int) -> jax.Array:
    return latents.sample(rng, num, self.latent_dim,
                          int(self.config.get("latent_categories", 0)))

  def hidden(self, params, z: jax.Array) -> jax.Array:
    del params
    return z

  def theta_from_hidden(self, params, w: jax.Array) -> jax.Array:
    """The "function" of a sample is its pixel grid ``[B, R, R, C]``."""
    return self.net.apply({"params": params["conv"]}, w)

  def theta(self, params, z: jax.Array) -> jax.Array:
    return self.theta_from_hidden(params, z)

  def make_plan(self, height: int, width: int,
                window: Sequence[float] = coords.UNIT_WINDOW) -> Optional[jax.Array]:
    """Points ``[N, 2]`` to read, or None for the native grid (read exactly, no resampling)."""
    if (height, width) == (self.resolution,) * 2 and tuple(window) == tuple(coords.UNIT_WINDOW):
      return None
    return jnp.asarray(coords.pixel_grid(height, width, window).reshape(-1, 2))  # [N, 2]

  def render_plan(self, params, theta: jax.Array, plan: Optional[jax.Array],
                  compute_dtype=None) -> jax.Array:
    del params, compute_dtype  # reading pixels: no layers to run in another dtype
    if plan is None:
      return theta.reshape(theta.shape[0], -1, theta.shape[-1])          # [B, R*R, C]
    return bilinear_sample(theta, plan)                                 # [B, N, C]

  def render(self, params, theta: jax.Array, height: Optional[int] = None,
             width: Optional[int] = None, window: Sequence[float] = coords.UNIT_WINDOW,
             compute_dtype=None) -> jax.Array:
    height = self.resolution if height is None else height
    width = height if width is None else width
    flat = self.render_plan(params, theta, self.make_plan(height, width, window), compute_dtype)
    return flat.reshape(flat.shape[0], height, width, flat.shape[-1])

  def __call__(self, params, z, height=None, width=None, window=coords.UNIT_WINDOW):
    return self.render(params, self.theta(params, z), height, width, window)
