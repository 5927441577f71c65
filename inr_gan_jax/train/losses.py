"""GAN losses of StyleGAN2 / INR-GAN: non-saturating logistic loss + R1.

Pure functions over logits and a discriminator closure `d_apply`, which maps
images [B, ...] to logits [B] (e.g. `lambda x: disc.apply(params_d, x)`).
Because `d_apply` closes over the discriminator parameters, taking jax.grad of
`d_loss_with_r1` with respect to those parameters differentiates through the
R1 penalty (a gradient of a gradient), as R1 regularisation requires.
"""
from __future__ import annotations

from typing import Callable, Union

import jax
import jax.numpy as jnp

DApply = Callable[[jax.Array], jax.Array]


def d_logistic_loss(real_logits: jax.Array,
                    fake_logits: jax.Array) -> jax.Array:
  """D logistic loss: mean softplus(D(fake)) + mean softplus(-D(real)).

  Equals -log(1 - sigmoid(D(fake))) - log(sigmoid(D(real))), averaged.
  """
  return (jnp.mean(jax.nn.softplus(fake_logits))
          + jnp.mean(jax.nn.softplus(-real_logits)))


def g_nonsaturating_loss(fake_logits: jax.Array) -> jax.Array:
  """G non-saturating loss: mean softplus(-D(fake)) = -log sigmoid(D(fake))."""
  return jnp.mean(jax.nn.softplus(-fake_logits))


def diversity_ratio(images: jax.Array, z: jax.Array, tau: float = 0.0) -> jax.Array:
  """Mean over pairs of min(mean|x_i - x_j| / mean|z_i - z_j|, tau) (DSGAN / MSGAN).

  The batch's first half is paired with its second half (sample i with i + B/2).
  A generator that maps distinct latents to one image scores 0; the G loss
  subtracts ``weight *`` this, so G is paid for keeping latents apart.

  Args:
    images: [B, ...] generated images (B even).
    z: [B, D] the latents they came from.
    tau: cap on each pair's ratio (0 = none): beyond it G gains nothing, so it
      is not pushed towards noise.

  Returns:
    A scalar.
  """
  b = images.shape[0]
  if b % 2 or b != z.shape[0]:
    raise ValueError(f"diversity_ratio needs an even batch of images and latents, got "
                     f"{images.shape[0]} images and {z.shape[0]} latents.")
  h = b // 2
  dx = jnp.mean(jnp.abs(images[:h] - images[h:]).reshape(h, -1), axis=1)  # [B/2]
  dz = jnp.mean(jnp.abs(z[:h] - z[h:]).reshape(h, -1), axis=1)            # [B/2]
  ratio = dx / (dz + 1e-8)
  if tau:
    ratio = jnp.minimum(ratio, tau)
  return jnp.mean(ratio)


def feature_matching(real_features: jax.Array, fake_features: jax.Array) -> jax.Array:
  """Salimans et al. (2016)'s feature matching: ``mean_k (E_b f_real - E_b f_fake)_k^2``.

  ``[B, K]`` features of D's last hidden layer for a real and a fake batch. A G that draws
  one digit moves its batch mean of D's features away from the real batch's, whatever D's
  verdict on each sample; the reals are constants for G (stop their gradient).
  """
  diff = jnp.mean(real_features, axis=0) - jnp.mean(fake_features, axis=0)  # [K]
  return jnp.mean(jnp.square(diff))


def q_head_init(rng: jax.Array, features: int, categories: int) -> dict:
  """InfoGAN's Q head: a linear map from D's last hidden layer ``[B, features]`` to code logits.

  Stored ``~N(0, 1)`` and scaled by ``1 / sqrt(features)`` at run time, D's equalised
  learning rate, so Adam at D's rate moves it as it moves D's own layers.
  """
  return {"kernel": jax.random.normal(rng, (features, categories), jnp.float32),
          "bias": jnp.zeros((categories,), jnp.float32)}


def q_head_apply(q: dict, features: jax.Array) -> jax.Array:
  """``features [B, F] ->`` code logits ``[B, K]``."""
  return features @ (q["kernel"] / jnp.sqrt(float(q["kernel"].shape[0]))) + q["bias"]


def info_loss(code_logits: jax.Array, codes: jax.Array) -> jax.Array:
  """Mean cross-entropy ``-log softmax(code_logits)[code]``, ``[B, K]`` logits, ``[B]`` codes.

  ``log K`` minus this is the variational lower bound on the mutual information between a
  fake's code and the fake (Chen et al. 2016) that D (through Q) and G both maximise.
  """
  log_p = jax.nn.log_softmax(code_logits, axis=-1)                       # [B, K]
  return -jnp.mean(jnp.take_along_axis(log_p, codes[:, None], axis=-1))


def diversity_weight_at(weight: float, fade_kimg: float, images_seen: jax.Array) -> jax.Array:
  """The diversity term's weight after ``images_seen`` images: ``weight``, or with
  ``fade_kimg > 0`` a linear fade to 0 at ``fade_kimg`` thousand images.

  At 16 kimg the term makes MNIST runs spread over more digits; at full length a constant
  weight keeps pushing samples apart once they should settle on the data (FD 19.8 against
  3.2 at 192 kimg, docs/training.md). A fade keeps the early push and ends it.
  """
  if not fade_kimg:
    return jnp.asarray(weight, jnp.float32)
  left = 1.0 - images_seen.astype(jnp.float32) / (1000.0 * fade_kimg)
  return weight * jnp.clip(left, 0.0, 1.0)


def r1_penalty(d_apply: DApply,
               reals: jax.Array) -> tuple[jax.Array, jax.Array]:
  """R1 penalty E_x ||grad_x D(x)||^2 on real images (Mescheder et al. 2018).

  Per-sample gradients come from one backward pass of sum_i D(x_i). That is
  exact when samples are scored independently. The minibatch-stddev layer
  couples samples within a group, so then the result is the gradient of the
  summed logits rather than strictly per-sample gradients; StyleGAN2 makes the
  same choice.

  Args:
    d_apply: images [B, ...] -> logits [B], or [B / m] for a D that packs m images
      per logit (PacGAN).
    reals: real images [B, ...].

  Returns:
    (penalty, real_logits): the mean over D's inputs (images, or packs) of the squared
    L2 norm of that input's gradient (a scalar), and D(reals) [B / m], so the caller
    need not run the discriminator on reals a second time.
  """
  def summed_logits(x):
    logits = d_apply(x)  # [B / m]
    if logits.ndim != 1 or not logits.shape[0] or x.shape[0] % logits.shape[0]:
      raise ValueError(f"d_apply must return logits of shape [B]=({x.shape[0]},), or "
                       f"[B / m] for packs of m images, got {logits.shape}.")
    return jnp.sum(logits), logits

  grads, real_logits = jax.grad(summed_logits, has_aux=True)(reals)  # [B, ...]
  per_sample = jnp.sum(jnp.square(grads).reshape(grads.shape[0], -1), axis=1)  # [B]
  # A packed D (PacGAN, m images per logit) reads a pack as one input: its R1 is the
  # squared gradient norm over the whole pack, the sum of its m images' norms.
  pack = reals.shape[0] // real_logits.shape[0]
  return pack * jnp.mean(per_sample), real_logits


def _check_r1_settings(r1_gamma, r1_interval) -> None:
  """Rejects invalid Python-number settings (traced values are not checked)."""
  if isinstance(r1_gamma, (int, float)) and r1_gamma < 0:
    raise ValueError(f"r1_gamma must be >= 0, got {r1_gamma}.")
  if not isinstance(r1_interval, int) or r1_interval < 1:
    raise ValueError(
        f"r1_interval must be a positive int, got {r1_interval!r}.")


def d_loss_with_r1(
    d_apply: DApply,
    reals: jax.Array,
    fakes: jax.Array,
    r1_gamma: Union[float, jax.Array],
    r1_interval: int = 1,
    apply_r1: Union[bool, jax.Array] = True,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Discriminator loss: logistic loss + lazily applied R1 regularisation.

    loss = d_logistic_loss + [apply_r1] * (r1_gamma / 2) * r1 * r1_interval

  StyleGAN2's lazy regularisation applies R1 only every r1_interval steps and
  multiplies it by r1_interval so its average strength is unchanged;
  r1_interval=1 (R1 every step) is the paper default of INR-GAN. Here R1 joins
  the ordinary D loss of that step instead of taking an extra optimizer step, so
  StyleGAN2's compensation of Adam's lr and betas by interval / (interval + 1)
  (which offsets that extra step) does not apply.

  Args:
    d_apply: images [B, ...] -> logits [B].
    reals: real images [B, ...].
    fakes: generated images [B', ...] (already stop-gradient'ed if desired).
    r1_gamma: R1 weight gamma.
    r1_interval: steps between R1 applications (the lazy-regularisation
      factor); a static Python int.
    apply_r1: whether this step applies R1. A Python bool picks the branch at
      trace time (no cost for the unused branch); a traced boolean scalar
      (e.g. `step % r1_interval == 0` inside jit) uses lax.cond so a single
      compiled train step serves both kinds of step.

  Returns:
    (loss, aux) where aux holds scalars 'd_loss_logistic', 'r1' (the raw
    penalty, 0 when not applied), 'd_real' and 'd_fake' (mean logits),
    'd_real_sign' (mean sign of the real logits).
  """
  _check_r1_settings(r1_gamma, r1_interval)
  fake_logits = d_apply(fakes)  # [B']

  def with_r1(x):
    return r1_penalty(d_apply, x)

  def without_r1(x):
    # Same output structure and dtypes as with_r1, as lax.cond requires.
    return jnp.zeros((), x.dtype), d_apply(x)

  if isinstance(apply_r1, bool):
    penalty, real_logits = (with_r1 if apply_r1 else without_r1)(reals)
  else:
    penalty, real_logits = jax.lax.cond(apply_r1, with_r1, without_r1, reals)

  logistic = d_logistic_loss(real_logits, fake_logits)
  loss = logistic + (0.5 * r1_gamma * r1_interval) * penalty
  aux = {
      "d_loss_logistic": logistic,
      "r1": penalty,
      "d_real": jnp.mean(real_logits),
      "d_fake": jnp.mean(fake_logits),
      # ADA's overfitting signal r_t = E[sign(D(real))] (augment.adapt_p).
      "d_real_sign": jnp.mean(jnp.sign(real_logits)),
  }
  return loss, aux
