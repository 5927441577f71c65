"""Projection: the latent of a trained INR-GAN that best reproduces a given image.

Gradient descent (Adam) on a multi-scale pixel loss: the MSE at the image's
resolution plus the MSE of 2x, 4x, ... average-pooled versions, so coarse
structure (pose, colours) is matched before fine detail. The latent is either
``z`` (the prior's input) or the hypernetwork's hidden representation ``w``
(more expressive, started at the mean ``w_avg``). The result is an INR: it is
rendered at any resolution and over any window.
"""
from typing import Dict, List, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np
import optax


SPACES = ("z", "w")


def avg_pool(x: jax.Array, factor: int) -> jax.Array:
  """``[B, H, W, C] -> [B, H/f, W/f, C]`` block means (H, W divisible by f)."""
  b, h, w, c = x.shape
  return x.reshape(b, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))


def multiscale_mse(pred: jax.Array, target: jax.Array, scales: Sequence[int]) -> jax.Array:
  """Sum over ``scales`` (pooling factors, 1 = full resolution) of the pooled MSE."""
  return sum(jnp.mean(jnp.square(avg_pool(pred, s) - avg_pool(target, s))) for s in scales)


def initial_latents(generator, params, space: str, num_starts: int = 1, seed: int = 0,
                    w_avg=None) -> jax.Array:
  """``[K, D]`` starting points: random ``z ~ N(0, I)``, or for w their hidden
  representations with ``w_avg`` (if given) as the first start."""
  if space not in SPACES:
    raise ValueError(f"unknown latent space {space!r}; choose one of {SPACES}")
  z = generator.sample_z(jax.random.PRNGKey(seed), num_starts)  # [K, latent_dim]
  if space == "z":
    return z
  w = generator.hidden(params, z)  # [K, width]
  return w if w_avg is None else w.at[0].set(jnp.asarray(w_avg))


def project(generator, params, target, *, space: str = "w", num_steps: int = 300,
            lr: float = 0.05, scales: Sequence[int] = (1, 2, 4), init=None,
            log_every: int = 0) -> Tuple[jax.Array, List[Dict[str, float]]]:
  """Finds a latent whose render matches ``target``.

  Args:
    generator: a :class:`~inr_gan_jax.model.generator.Generator`.
    params: its (EMA) params.
    target: ``[H, W, C]`` in ``[-1, 1]`` (H, W divisible by every scale).
    space: "z" or "w".
    init: starting latent(s), ``[D]`` or ``[K, D]`` (K starts optimised together, the
      best one is returned); default :func:`initial_latents` with one start. Note
      ``z = 0`` is a poor start: ReLU gradients vanish at the origin.

  Returns:
    ``(latent [D], history)``; history rows: step, loss, rmse (full-resolution
    pixel RMSE of the best start).
  """
  if space not in SPACES:
    raise ValueError(f"unknown latent space {space!r}; choose one of {SPACES}")
  target = jnp.asarray(target, jnp.float32)[None]  # [1, H, W, C]
  _, h, w, _ = target.shape
  bad = [s for s in scales if h % s or w % s]
  if bad:
    raise ValueError(f"image size {h}x{w} is not divisible by scales {bad}")
  if init is None:
    init = initial_latents(generator, params, space)
  latent = jnp.atleast_2d(jnp.asarray(init, jnp.float32))  # [K, D]
  plan = generator.make_plan(h, w)

  def render(latent):  # [K, D] -> [K, H, W, C], through the generator's one jitted path
    codes = {space: latent}
    return generator.generate_on(params, plan, **codes).reshape(latent.shape[0], h, w, -1)

  def per_start(latent):  # -> loss [K], rmse [K]
    pred = render(latent)
    loss = jax.vmap(lambda p: multiscale_mse(p[None], target, scales))(pred)
    return loss, jnp.sqrt(jnp.mean(jnp.square(pred - target), axis=(1, 2, 3)))

  def loss_fn(latent):  # starts are independent, so the sum optimises each one
    loss, rmse = per_start(latent)
    return jnp.sum(loss), (loss, rmse)

  opt = optax.adam(optax.cosine_decay_schedule(lr, num_steps, alpha=0.05))

  @jax.jit
  def step(latent, opt_state):
    (_, (loss, rmse)), g = jax.value_and_grad(loss_fn, has_aux=True)(latent)
    updates, opt_state = opt.update(g, opt_state, latent)
    return optax.apply_updates(latent, updates), opt_state, loss, rmse

  opt_state = opt.init(latent)
  history = []
  for i in range(1, num_steps + 1):
    latent, opt_state, loss, rmse = step(latent, opt_state)
    if log_every and i % log_every == 0:
      k = int(jnp.argmin(loss))
      history.append({"step": i, "loss": float(loss[k]), "rmse": float(rmse[k])})
  # The step's values are of the latents before its update: score the final ones.
  loss, rmse = jax.jit(per_start)(latent)
  k = int(jnp.argmin(loss))
  history.append({"step": num_steps, "loss": float(loss[k]), "rmse": float(rmse[k]), "start": k})
  return latent[k], history


def render_views(generator, params, latent, space: str, size: int,
                 upscale: int = 4, zoom_window=(-0.5, -0.5, 1.5, 1.5)) -> Dict[str, np.ndarray]:
  """The projected INR at ``size``, at ``upscale * size`` and zoomed out (``[H, W, C]`` each)."""
  codes = {space: latent[None]}
  big = upscale * size
  return {"fit": np.asarray(generator.generate(params, height=size, **codes))[0],
          "upscaled": np.asarray(generator.generate(params, height=big, **codes))[0],
          "zoom_out": np.asarray(generator.generate(params, height=size, window=zoom_window,
                                                    **codes))[0]}
