"""INR building blocks as pure functions of one sample's parameters.

Every function here acts on a single sample's points ``x [N, in]``; batching
over samples is done once, by ``jax.vmap`` in :mod:`inr_gan_jax.model.inr`.
Weights are ``[out, in]`` as in the paper (``y = x W^T + b``).
"""
import functools

import jax
import jax.numpy as jnp


def fourier_features(p: jax.Array, w: jax.Array) -> jax.Array:
  """Fourier coordinate features ``e(p) = [sin(W p), cos(W p)]``.

  Args:
    p: points ``[N, 2]`` (x, y).
    w: frequency matrix ``[n, 2]`` (already multiplied by ``fourier_scale``).

  Returns:
    ``[N, 2n]``: the n sines, then the n cosines.
  """
  proj = p @ w.T  # [N, n]
  return jnp.concatenate([jnp.sin(proj), jnp.cos(proj)], axis=-1)  # [N, 2n]


def grid_features(p: jax.Array, grid: jax.Array) -> jax.Array:
  """Bilinear reading of a feature grid that covers the unit square.

  Cell ``(i, j)`` of an ``H x W`` grid is centred at ``((j + 0.5) / W, (i + 0.5) / H)``;
  between centres the value is interpolated, beyond the outer centres it is held
  (edge clamping, the convention of the INR's bilinear upsampling). So the
  features are a continuous function of ``p`` at any resolution or window. The
  latent grid and the conv baseline's pixels are both read this way.

  Args:
    p: points ``[N, 2]`` (x, y).
    grid: ``[H, W, C]`` (rows = y).

  Returns:
    ``[N, C]``.
  """
  def axis(t, n):  # 2 taps per point along one axis of n cells: indices [N, 2], weights [N, 2]
    u = t * n - 0.5  # in cell-centre units
    lo = jnp.floor(u)
    frac = u - lo
    idx = jnp.clip(jnp.stack([lo, lo + 1], -1), 0, n - 1).astype(jnp.int32)
    return idx, jnp.stack([1.0 - frac, frac], -1)
  (ix, wx), (iy, wy) = axis(p[:, 0], grid.shape[1]), axis(p[:, 1], grid.shape[0])
  taps = grid[iy[:, :, None], ix[:, None, :]]  # [N, 2, 2, C]
  return jnp.einsum("nabc,na,nb->nc", taps, wy, wx)  # [N, C]


def soft_cap_rows(w: jax.Array, limit: float) -> jax.Array:
  """Rows of ``w [..., n, d]`` with their norm r mapped to ``limit * tanh(r / limit)``.

  Identity to first order for short rows, and no row longer than ``limit``;
  smooth, so gradients flow everywhere.
  """
  # The epsilon keeps the norm's gradient finite at a zero row (scale -> 1 there).
  r = jnp.sqrt(jnp.sum(jnp.square(w), axis=-1, keepdims=True) + 1e-24)  # [..., n, 1]
  return w * (limit * jnp.tanh(r / limit) / r)


def fmm_weight(w_shared: jax.Array, a: jax.Array, b: jax.Array) -> jax.Array:
  """Factorized multiplicative modulation ``W = W_s * 2 sigmoid(A @ B)``.

  Args:
    w_shared: full-rank shared weight ``[out, in]``.
    a: per-sample left factor ``[out, r]``.
    b: per-sample right factor ``[r, in]``.

  Returns:
    The sample's weight ``[out, in]``. ``A = B = 0`` gives ``W_s`` exactly,
    because ``2 sigmoid(0) = 1``.
  """
  return w_shared * (2.0 * jax.nn.sigmoid(a @ b))  # [out, in]


def fmm_linear_weight(w_shared: jax.Array, a: jax.Array, b: jax.Array) -> jax.Array:
  """Linear modulation ``W = W_s * (1 + A @ B)`` (the authors' later code): ``[out, in]``.

  ``A @ B`` is already scaled by the layout (its std at initialisation is
  ``fmm_logit_std``), so no ``1 / sqrt(r)`` appears here.
  """
  return w_shared * (1.0 + a @ b)  # [out, in]


def demodulate(w: jax.Array, gain: float, eps: float = 1e-8) -> jax.Array:
  """Rows of ``w [out, in]`` rescaled to norm ``gain``: ``w_i * gain / |w_i|``.

  StyleGAN2's demodulation: for inputs of unit second moment every output then
  has second moment ``gain^2`` whatever the sample's modulation, so activations
  cannot grow or vanish per sample.
  """
  return w * (gain * jax.lax.rsqrt(jnp.sum(w * w, axis=-1, keepdims=True) + eps))


def dense(x: jax.Array, w: jax.Array, bias: jax.Array) -> jax.Array:
  """``x [N, in] -> x W^T + bias``: ``[N, out]``.

  The same op serves the three layer kinds; they differ only in where ``w``
  comes from (shared, predicted whole, or built by :func:`fmm_weight`).
  """
  return jnp.einsum("ni,oi->no", x, w) + bias


def split_dense(h: jax.Array, e: jax.Array, w: jax.Array, bias: jax.Array) -> jax.Array:
  """``[h, e] W^T + bias`` without materialising the concatenation ``[h, e]``.

  Args:
    h: activations ``[N, in]``.
    e: coordinate features ``[N, c]``.
    w: weight ``[out, in + c]`` (columns ordered as the concatenation).
    bias: ``[out]``.

  Returns:
    ``[N, out]``, equal to ``dense(concat([h, e]), w, bias)`` up to rounding.
    Two products are cheaper than copying ``[N, in + c]`` once per layer: the
    copy is pure memory traffic, and the ``in``-wide product stays aligned.
  """
  in_dim = h.shape[-1]
  return dense(h, w[:, :in_dim], bias) + jnp.einsum("nc,oc->no", e, w[:, in_dim:])


def leaky_relu(x: jax.Array, slope: float) -> jax.Array:
  return jnp.where(x >= 0, x, slope * x)


def pixel_norm(x: jax.Array, eps: float = 1e-8) -> jax.Array:
  """Each row of ``x [..., C]`` rescaled to unit mean square (Karras et al. 2018's pixel norm)."""
  return x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + eps)


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def tanh_inward_floor(x: jax.Array, floor: float) -> jax.Array:
  """``tanh(x)`` whose derivative is at least ``floor`` where the step leads back inwards.

  A saturated output (|tanh| near 1) passes almost no gradient, so G cannot draw where it
  has painted background. With a cotangent ``g`` the backward pass is ``g * d`` with
  ``d = max(1 - tanh(x)^2, floor)`` when descent moves x towards 0 (``g * x > 0``) and the true
  ``1 - tanh(x)^2`` otherwise, so nothing is pushed further into saturation than tanh would.
  The forward is exactly ``tanh``.
  """
  return jnp.tanh(x)


def _tanh_floor_fwd(x, floor):
  t = jnp.tanh(x)
  return t, (x, t)


def _tanh_floor_bwd(floor, res, g):
  x, t = res
  d = 1.0 - jnp.square(t)
  return (g * jnp.where(g * x > 0, jnp.maximum(d, floor), d),)


tanh_inward_floor.defvjp(_tanh_floor_fwd, _tanh_floor_bwd)


def grey_to_channels(x: jax.Array, channels: int) -> jax.Array:
  """``[..., 1]`` -> ``[..., channels]`` equal channels (a grey generator's output).

  By concatenation: broadcasting the size-1 axis (``jnp.broadcast_to`` / ``repeat`` /
  ``tile``) gets jit-compiled gradients wrong on XLA:CPU (jaxlib 0.10.2: garbage or NaN
  under the diversity loss at some sizes; tests/test_grey.py).
  """
  return jnp.concatenate([x] * channels, axis=-1)
