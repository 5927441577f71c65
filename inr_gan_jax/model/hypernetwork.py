"""The hypernetwork ``G: z -> theta`` (Flax linen; used only via init/apply).

``z [B, 512] -> Dense 1024 + ReLU -> 2 x residual (Dense 1024 + ReLU)``
gives the hidden representation ``w [B, 1024]``; one linear "connector" maps
it to every predicted INR parameter at once, ``[B, P]``.

Initialisation, chosen so a fresh generator already draws varied, unsaturated
images: dense layers use He-normal weights (ReLU gain) and zero biases, so the
first hidden layer has unit second moment for ``z ~ N(0, I)``; residual
branches are summed with a ``1/sqrt(2)`` scale so the second moment stays
O(1) with depth; the connector is LeCun-normal, so its raw outputs have
roughly unit variance. :class:`~inr_gan_jax.model.layout.INRLayout` then scales each
predicted tensor to its role (He-scaled weights, FMM logits of std 1, small
biases, Fourier frequencies times ``fourier_scale``).
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

_he = nn.initializers.variance_scaling(2.0, "fan_in", "normal")


class HyperNetwork(nn.Module):
  """Mapping network + connector.

  Attributes:
    connector_size: number of predicted INR scalars P per sample.
    width: hidden width (1024 in the paper).
    num_residual: residual layers after the first dense layer (2).
  """
  connector_size: int
  width: int = 1024
  num_residual: int = 2
  # "linear": w = Dense(z), no nonlinearity and no residual layers. The ReLU stack's w is
  # non-negative with a large mean over z, so the connector's gradient sum_b w_b g_b^T is
  # dominated by the common mode; a linear map of z ~ N(0, I) has zero mean (like the first
  # layer of a conv generator).
  # "tanh": the ReLU stack with tanh in place of ReLU. tanh is odd, so for z ~ N(0, I) w has
  # zero mean over z at initialisation: no common mode that moves every sample at once.
  mapping: str = "relu"
  # > 0: reference normalisation of w (Salimans et al. 2016's reference batch norm, with the
  # statistics held constant): w is centred and scaled per feature by its mean and std over
  # this many fixed reference latents, recomputed from the current weights on every call and
  # taken as constants by the gradient. The connector's gradient sum_b w_b g_b^T then carries
  # only what differs between samples; what moves every sample at once goes through its bias
  # alone (one Adam step per output, not one per weight). Deterministic, independent of the
  # batch, the same at training and sampling time. 0: off (the paper's).
  ref_norm: int = 0
  # Forward multiplier of the connector's bias (1: the paper's). Under Adam a forward factor K
  # multiplies the bias's effective step by K. With ref_norm the bias is the only path that
  # moves every sample at once, one step of lr per output where the uncentred ReLU w moved
  # it by lr * sum_j w_j; K gives that common mode its speed back. The bias starts at zero.
  bias_mult: float = 1.0

  def setup(self):
    self.input_layer = nn.Dense(self.width, kernel_init=_he, name="dense_in")
    self.residual = [nn.Dense(self.width, kernel_init=_he, name=f"residual{i}")
                     for i in range(self.num_residual)]
    self.connector = _Connector(self.connector_size, bias_mult=self.bias_mult,
                                name="connector")

  def hidden(self, z: jax.Array) -> jax.Array:
    """``z [B, D] -> w [B, width]``: the representation before the connector."""
    if self.ref_norm <= 0:
      return self._mapping(z)
    # Fixed reference latents: a constant of the config, not of the caller's key.
    z_ref = jax.random.normal(jax.random.PRNGKey(0), (self.ref_norm, z.shape[-1]), z.dtype)
    h_ref = jax.lax.stop_gradient(self._mapping(z_ref))       # [ref_norm, width]
    mean = jnp.mean(h_ref, axis=0)                            # [width]
    # The floor keeps a feature that no reference latent activates from being blown up.
    std = jnp.sqrt(jnp.var(h_ref, axis=0) + 1e-2)             # [width]
    return (self._mapping(z) - mean) / std                    # [B, width]

  def _mapping(self, z: jax.Array) -> jax.Array:
    if self.mapping == "linear":
      return self.input_layer(z)
    act = jnp.tanh if self.mapping == "tanh" else nn.relu
    h = act(self.input_layer(z))
    for layer in self.residual:
      h = (h + act(layer(h))) * (1.0 / jnp.sqrt(2.0))
    return h

  def connect(self, h: jax.Array) -> jax.Array:
    """``w [B, width] -> [B, P]`` raw connector outputs."""
    return self.connector(h)

  def __call__(self, z: jax.Array) -> jax.Array:
    return self.connect(self.hidden(z))


class _Connector(nn.Module):
  """``nn.Dense`` (same ``kernel`` / ``bias`` params) with the bias scaled by ``bias_mult``."""
  features: int
  bias_mult: float = 1.0

  @nn.compact
  def __call__(self, h: jax.Array) -> jax.Array:
    kernel = self.param("kernel", nn.initializers.lecun_normal(), (h.shape[-1], self.features))
    bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
    if self.bias_mult != 1.0:
      bias = bias * self.bias_mult
    return h @ kernel + bias                                  # [B, P]
