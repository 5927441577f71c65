"""Differentiable D-input augmentation: numpy references, probabilities, gradients, ADA rule."""
import unittest

import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import parameterized

from inr_gan_jax.train import augment


def np_shift(x, dy, dx):
  out = np.zeros_like(x)
  b, h, w, _ = x.shape
  for n in range(b):
    for i in range(h):
      for j in range(w):
        si, sj = i - dy[n], j - dx[n]
        if 0 <= si < h and 0 <= sj < w:
          out[n, i, j] = x[n, si, sj]
  return out


class AugmentTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.x = np.random.default_rng(0).uniform(-1, 1, (4, 8, 8, 3)).astype(np.float32)

  def test_shift_matches_numpy(self):
    dy, dx = np.array([0, 1, -3, 8]), np.array([2, -1, 0, 0])
    got = augment.shift(jnp.asarray(self.x), jnp.asarray(dy), jnp.asarray(dx))
    np.testing.assert_array_equal(np.asarray(got), np_shift(self.x, dy, dx))

  def test_translation_is_a_bounded_shift(self):
    got = np.asarray(augment.translation(jnp.asarray(self.x), jax.random.key(3)))
    for n in range(4):  # some shift within +-1 pixel (1/8 of 8) reproduces each sample
      ok = [np.array_equal(got[n:n + 1], np_shift(self.x[n:n + 1], [a], [b]))
            for a in range(-1, 2) for b in range(-1, 2)]
      self.assertTrue(any(ok), n)

  def test_color_closed_form(self):
    key = jax.random.key(5)
    got = np.asarray(augment.color(jnp.asarray(self.x), key))
    k_b, k_s, k_c = jax.random.split(key, 3)
    u = [np.asarray(jax.random.uniform(k, (4, 1, 1, 1))) for k in (k_b, k_s, k_c)]
    y = self.x.astype(np.float64) + (u[0] - 0.5)
    m = y.mean(axis=3, keepdims=True)
    y = (y - m) * 2 * u[1] + m
    m = y.mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(got, (y - m) * (u[2] + 0.5) + m, atol=1e-5)

  def test_cutout_zeroes_one_square(self):
    mask = np.asarray(augment.cutout_mask(jax.random.key(1), 64, 8, 8))[..., 0]
    for m in mask:
      rows, cols = np.nonzero(m == 0)
      self.assertGreater(len(rows), 0)
      # The zeroed region is a full rectangle, at most 4 x 4, clipped by the border.
      self.assertEqual(len(rows), (np.ptp(rows) + 1) * (np.ptp(cols) + 1))
      self.assertLessEqual(np.ptp(rows) + 1, 4)
      self.assertLessEqual(np.ptp(cols) + 1, 4)
    self.assertEqual(int(np.sum(mask == 0, axis=(1, 2)).max()), 16)  # some fully inside

  @parameterized.parameters((0.0,), (1.0,), (0.5,))
  def test_probability(self, p):
    x = jnp.asarray(np.random.default_rng(1).uniform(-1, 1, (400, 8, 8, 3)), jnp.float32)
    y = augment.augment(x, jax.random.key(0), ("cutout",), p)
    changed = np.mean(np.any(np.asarray(y != x), axis=(1, 2, 3)))
    self.assertAlmostEqual(float(changed), p, delta=0.08)

  def test_gradient_flows_to_the_input(self):
    """Each op is a.e. linear/affine in x: the VJP equals a finite difference."""
    ops = augment.OPS
    x = jnp.asarray(self.x)
    w = jnp.asarray(np.random.default_rng(2).normal(size=self.x.shape), jnp.float32)
    f = lambda v: jnp.sum(w * augment.augment(v, jax.random.key(4), ops, 1.0))  # noqa: E731
    g = np.asarray(jax.grad(f)(x))
    d = np.random.default_rng(3).normal(size=self.x.shape).astype(np.float32)
    eps = 1e-2
    fd = (f(x + eps * d) - f(x - eps * d)) / (2 * eps)
    self.assertAlmostEqual(float(fd), float(np.sum(g * d)), delta=1e-2 * abs(float(fd)) + 1e-3)
    self.assertGreater(np.abs(g).sum(), 0)

  def test_parse_ops(self):
    self.assertEqual(augment.parse_ops(""), ())
    self.assertEqual(augment.parse_ops("translation, cutout"), ("translation", "cutout"))
    with self.assertRaisesRegex(ValueError, "unknown augmentation"):
      augment.parse_ops("translation,rotate")

  def test_adapt_p(self):
    # ADA: p rises by batch / (ada_kimg * 1000) when E[sign D(real)] is above target.
    p = augment.adapt_p(jnp.float32(0.2), jnp.float32(0.9), 0.6, 16, 2.0)
    self.assertAlmostEqual(float(p), 0.2 + 16 / 2000, places=6)
    p = augment.adapt_p(jnp.float32(0.2), jnp.float32(0.1), 0.6, 16, 2.0)
    self.assertAlmostEqual(float(p), 0.2 - 16 / 2000, places=6)
    self.assertEqual(float(augment.adapt_p(jnp.float32(0.0), jnp.float32(-1), 0.6, 16, 1)), 0.0)


class TrainStepAugmentTest(unittest.TestCase):

  def test_adaptive_p_tracks_the_overfitting_signal(self):
    from inr_gan_jax import config_lib
    from inr_gan_jax.train import loop as train
    from inr_gan_jax.train import step as train_step
    from tests import helpers
    c = helpers.tiny_train_config(augment="translation,color,cutout", ada_target=0.6,
                                  ada_kimg=0.1)
    config_lib.validate(c)
    trainer = train_step.Trainer(c, train.make_mesh())
    state = trainer.create_state(0)
    self.assertEqual(float(state["aug_p"]), 0.0)
    reals = np.random.default_rng(0).integers(0, 256, (8, 16, 16, 3), dtype=np.uint8)
    p_before = 0.0
    for i in range(3):
      state, m = trainer.jit_step(state, reals, i == 0)
      self.assertTrue(bool(m["finite"]))
      expected = np.clip(p_before + np.sign(float(m["d_real_sign"]) - 0.6) * 8 / 100, 0, 1)
      self.assertAlmostEqual(float(state["aug_p"]), expected, places=6)
      p_before = float(state["aug_p"])

  def test_off_by_default_and_validated(self):
    from inr_gan_jax import config_lib
    from tests import helpers
    c = helpers.tiny_train_config()
    self.assertEqual(c.train.augment, "")
    c.train.augment = "translation,zoom"
    with self.assertRaisesRegex(ValueError, "train.augment"):
      config_lib.validate(c)


if __name__ == "__main__":
  unittest.main()
