"""Differentiable augmentation of the discriminator's inputs (DiffAugment / ADA style).

With few real images a discriminator memorises them and its gradients stop
telling the generator anything. Augmenting *everything D sees* -- reals and
fakes, in the D step and in the G step, by one pipeline -- keeps D from
memorising while leaving the generator's target distribution unchanged:
the augmentations are differentiable, so G learns to produce images whose
*augmented* versions look real, and since every op is applied with probability
``p < 1`` (or is invertible in distribution) nothing "leaks" into G's samples
as long as ``p`` stays moderate (Karras et al. 2020, "Training Generative
Adversarial Networks with Limited Data"; Zhao et al. 2020, "Differentiable
Augmentation for Data-Efficient GAN Training").

Ops (each applied per sample with probability ``p``; images ``[B, H, W, C]``
in ``[-1, 1]``)::

  translation  integer shift by up to ``1/8`` of the side, zeros (mid grey) fill
  color        brightness + U(-0.5, 0.5), saturation x U(0, 2), contrast x U(0.5, 1.5)
  cutout       a square of half the side, random centre, set to 0

ADA's adaptive ``p``: the overfitting signal ``r_t = E[sign(D(real))]`` is
driven towards a target (0.6) by raising ``p`` when ``r_t`` is above it and
lowering it otherwise, at a rate that could move ``p`` from 0 to 1 in
``ada_kimg`` thousand images (:func:`adapt_p`).
"""
from typing import Sequence, Tuple

import jax
import jax.numpy as jnp

OPS = ("translation", "color", "cutout")
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def parse_ops(spec: str) -> Tuple[str, ...]:
  """``"translation,color,cutout"`` -> a validated tuple ('' -> no augmentation)."""
  ops = tuple(s.strip() for s in str(spec).split(",") if s.strip())
  unknown = [o for o in ops if o not in OPS]
  if unknown:
    raise ValueError(f"unknown augmentation(s) {unknown}; choose from {', '.join(OPS)}")
  return ops


def _per_sample(key: jax.Array, p, batch: int) -> jax.Array:
  """Bernoulli(p) per sample, broadcastable to ``[B, 1, 1, 1]``."""
  return (jax.random.uniform(key, (batch,)) < p)[:, None, None, None]


def shift(x: jax.Array, dy: jax.Array, dx: jax.Array) -> jax.Array:
  """``out[b, i, j] = x[b, i - dy[b], j - dx[b]]``, zero outside: ``[B, H, W, C]``."""
  _, h, w, _ = x.shape
  rows = jnp.arange(h)[None, :] - dy[:, None]                # [B, H] source row of each row
  cols = jnp.arange(w)[None, :] - dx[:, None]                # [B, W]
  valid = (((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :])
  gather = jax.vmap(lambda img, r, c: img[r][:, c])          # [H, W, C] per sample
  out = gather(x, jnp.clip(rows, 0, h - 1), jnp.clip(cols, 0, w - 1))
  return jnp.where(valid[..., None], out, 0.0)


def translation(x: jax.Array, key: jax.Array, ratio: float = TRANSLATION_RATIO) -> jax.Array:
  b, h, w, _ = x.shape
  k_y, k_x = jax.random.split(key)
  sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
  dy = jax.random.randint(k_y, (b,), -sy, sy + 1)
  dx = jax.random.randint(k_x, (b,), -sx, sx + 1)
  return shift(x, dy, dx)


def color(x: jax.Array, key: jax.Array) -> jax.Array:
  b = x.shape[0]
  k_b, k_s, k_c = jax.random.split(key, 3)
  u = lambda k: jax.random.uniform(k, (b, 1, 1, 1))  # noqa: E731
  x = x + (u(k_b) - 0.5)                                              # brightness
  mean_c = jnp.mean(x, axis=3, keepdims=True)
  x = (x - mean_c) * (2.0 * u(k_s)) + mean_c                          # saturation
  mean_all = jnp.mean(x, axis=(1, 2, 3), keepdims=True)
  return (x - mean_all) * (u(k_c) + 0.5) + mean_all                   # contrast


def cutout_mask(key: jax.Array, batch: int, h: int, w: int, ratio: float = CUTOUT_RATIO
                ) -> jax.Array:
  """``[B, H, W, 1]`` float mask: 0 inside one ``ratio``-sized square per sample, 1 outside."""
  ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
  k_y, k_x = jax.random.split(key)
  # Centres anywhere such that the square may hang over the border (as DiffAugment).
  cy = jax.random.randint(k_y, (batch,), 0, h + (1 - ch % 2))
  cx = jax.random.randint(k_x, (batch,), 0, w + (1 - cw % 2))
  y0, x0 = cy - ch // 2, cx - cw // 2
  rows = jnp.arange(h)[None, :]
  cols = jnp.arange(w)[None, :]
  in_y = (rows >= y0[:, None]) & (rows < (y0 + ch)[:, None])           # [B, H]
  in_x = (cols >= x0[:, None]) & (cols < (x0 + cw)[:, None])           # [B, W]
  return 1.0 - (in_y[:, :, None] & in_x[:, None, :]).astype(jnp.float32)[..., None]


def cutout(x: jax.Array, key: jax.Array, ratio: float = CUTOUT_RATIO) -> jax.Array:
  b, h, w, _ = x.shape
  return x * cutout_mask(key, b, h, w, ratio).astype(x.dtype)


_FNS = {"translation": translation, "color": color, "cutout": cutout}


def augment(x: jax.Array, key: jax.Array, ops: Sequence[str], p) -> jax.Array:
  """Applies each op of ``ops`` in order, per sample with probability ``p`` (a float or traced)."""
  if not ops:
    return x
  b = x.shape[0]
  for i, op in enumerate(ops):
    k_apply, k_op = jax.random.split(jax.random.fold_in(key, i))
    x = jnp.where(_per_sample(k_apply, p, b), _FNS[op](x, k_op), x)
  return x


def adapt_p(p: jax.Array, real_sign: jax.Array, target: float, batch_size: int,
            ada_kimg: float) -> jax.Array:
  """ADA's update of ``p`` after one step of ``batch_size`` reals with ``E[sign(D(real))]``."""
  step = batch_size / (ada_kimg * 1000.0)
  return jnp.clip(p + jnp.sign(real_sign - target) * step, 0.0, 1.0)
