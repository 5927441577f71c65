"""The INR-GAN generator: hypernetwork + INR, as pure functions of a params pytree.

``params = {"hyper": <flax params of the HyperNetwork>, "inr": <shared INR tensors>}``.
The two groups train with different learning rates (the paper's 1e-5 / 5e-5
for the hypernetwork, 5e-4 for shared INR weights).

Stages, each exposed so sampling, truncation, interpolation and export can
cut in between::

  z [B, D] --hidden--> w [B, 1024] --theta_from_hidden--> theta (pytree, leaves [B, ...])
        --render/evaluate on a GridPlan--> images [B, H, W, C] in [-1, 1]

The jitted entries (``generate``, ``generate_on``, ``predict``, ``evaluate``,
with truncation) come from :class:`inr_gan_jax.model.pipeline.Pipeline`.
"""
from typing import Any, Dict, Optional, Sequence

import jax
import jax.numpy as jnp

from inr_gan_jax.model import conv_generator
from inr_gan_jax.model import coords
from inr_gan_jax.model import hypernetwork
from inr_gan_jax.model import inr
from inr_gan_jax.model import latents
from inr_gan_jax.model import layout as layout_lib
from inr_gan_jax.model import pipeline

Params = Dict[str, Any]


class Generator(pipeline.Pipeline):
  """Bundles the static pieces derived from ``config.model``.

  Instances hold no parameters (only static numpy constants derived from the
  config); every method is a pure function of its arguments
  and can be called under ``jit``/``vmap``/``grad``.
  """

  def __init__(self, model_config):
    self.config = model_config
    self.layout = layout_lib.layout_from_config(model_config)
    self.latent_dim = int(model_config.latent_dim)
    self.latent_categories = int(model_config.get("latent_categories", 0))
    self.hyper = hypernetwork.HyperNetwork(
        connector_size=self.layout.connector_size, width=int(model_config.hyper_width),
        num_residual=int(model_config.hyper_num_residual),
        mapping=model_config.get("hyper_mapping", "relu"),
        ref_norm=int(model_config.get("hyper_ref_norm", 0)),
        bias_mult=float(model_config.get("hyper_bias_mult", 1.0)))
    # Static per-output multipliers of the connector (None when all are 1), built once.
    self._connector_mults = self.layout.connector_lr_mults()

  @property
  def resolution(self) -> int:
    return self.layout.resolution

  @property
  def hidden_dim(self) -> int:
    """Size of the hidden code ``w`` (the truncation centre's shape)."""
    return int(self.config.hyper_width)

  # ---- parameters --------------------------------------------------------------
  def init(self, rng: jax.Array) -> Params:
    """Fresh parameters (wrap in ``jax.jit``; eager Flax init is slow)."""
    k_hyper, k_inr = jax.random.split(rng)
    z = jnp.zeros((1, self.latent_dim), jnp.float32)
    hyper = self.hyper.init(k_hyper, z)["params"]
    mults = self._connector_mults
    if mults is not None:  # same initial outputs: theta_from_hidden multiplies them back
      conn = dict(hyper["connector"], kernel=hyper["connector"]["kernel"] / mults)
      hyper = {**hyper, "connector": conn}
    return {"hyper": hyper, "inr": self.layout.init_shared(k_inr)}

  def sample_z(self, rng: jax.Array, num: int) -> jax.Array:
    """Latents ``z ~ N(0, I)`` (first ``latent_categories`` entries a one-hot code when set):
    ``[num, latent_dim]``."""
    return latents.sample(rng, num, self.latent_dim, self.latent_categories)

  # ---- stages ------------------------------------------------------------------
  def hidden(self, params: Params, z: jax.Array) -> jax.Array:
    """``z [B, D] -> w [B, width]``, the hypernetwork's representation before the connector."""
    return self.hyper.apply({"params": params["hyper"]}, z, method=self.hyper.hidden)

  def theta_from_hidden(self, params: Params, w: jax.Array) -> Dict[str, Any]:
    """``w [B, width] ->`` predicted INR tensors (pytree, leaves ``[B, ...]``)."""
    raw = self.hyper.apply({"params": params["hyper"]}, w, method=self.hyper.connect)  # [B, P]
    if self._connector_mults is not None:
      raw = raw * self._connector_mults
    return self.layout.unflatten(raw)

  def theta(self, params: Params, z: jax.Array) -> Dict[str, Any]:
    return self.theta_from_hidden(params, self.hidden(params, z))

  def make_plan(self, height: int, width: int,
                window: Sequence[float] = coords.UNIT_WINDOW) -> inr.GridPlan:
    """Where every block is evaluated for an ``height x width`` render over ``window``."""
    return inr.make_plan(self.layout, height, width, window)

  def render_plan(self, params: Params, theta: Dict[str, Any], plan: inr.GridPlan,
                  compute_dtype=None) -> jax.Array:
    """Evaluates INRs on a plan's points: ``[B, N, C]`` (``compute_dtype``: see inr.evaluate)."""
    return inr.evaluate_batch(self.layout, theta, params["inr"], plan, compute_dtype)

  def render(self, params: Params, theta: Dict[str, Any], height: Optional[int] = None,
             width: Optional[int] = None, window: Sequence[float] = coords.UNIT_WINDOW,
             compute_dtype=None) -> jax.Array:
    """INRs -> images ``[B, H, W, C]`` (defaults: training resolution, unit window)."""
    height = self.resolution if height is None else height
    width = height if width is None else width
    return inr.render(self.layout, theta, params["inr"], height, width, window, compute_dtype)

  def __call__(self, params: Params, z: jax.Array, height: Optional[int] = None,
               width: Optional[int] = None,
               window: Sequence[float] = coords.UNIT_WINDOW) -> jax.Array:
    """``z [B, D] ->`` images ``[B, H, W, C]`` in ``[-1, 1]``."""
    return self.render(params, self.theta(params, z), height, width, window)


def build(model_config):
  """The generator ``config.model`` asks for: INR-GAN, or the conv baseline (``generator="conv"``)."""
  if model_config.get("generator", "inr") == "conv":
    return conv_generator.ConvGenerator(model_config)
  return Generator(model_config)
