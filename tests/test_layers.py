"""FMM, dense and Fourier layers against numpy re-derivations."""
from absl.testing import absltest
import jax
import jax.numpy as jnp
import numpy as np

from inr_gan_jax.model import layers


def np_sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


class LayersTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.rng = np.random.default_rng(0)

  def test_fmm_with_zero_factors_is_the_shared_dense_layer(self):
    w_s = self.rng.normal(size=(7, 5)).astype(np.float32)
    a, b = np.zeros((7, 3), np.float32), np.zeros((3, 5), np.float32)
    x = self.rng.normal(size=(11, 5)).astype(np.float32)
    bias = self.rng.normal(size=(7,)).astype(np.float32)
    w = jax.jit(layers.fmm_weight)(w_s, a, b)
    np.testing.assert_array_equal(np.asarray(w), w_s)  # 2*sigmoid(0) == 1 exactly
    y = jax.jit(layers.dense)(x, w, bias)
    np.testing.assert_allclose(np.asarray(y), x @ w_s.T + bias, rtol=1e-5, atol=1e-5)

  def test_tanh_inward_floor_against_numpy(self):
    # Forward: tanh exactly. Backward, by finite differences of tanh where they apply: the
    # true derivative where descent goes outwards (g * x <= 0), max(derivative, floor) inwards.
    x = np.array([-6.0, -3.0, -0.2, 0.0, 0.3, 2.5, 7.0], np.float32)
    g = np.array([1.0, -1.0, 2.0, 1.0, -0.5, 1.5, -2.0], np.float32)
    y, vjp = jax.vjp(lambda v: layers.tanh_inward_floor(v, 0.1), jnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(y), np.asarray(jnp.tanh(x)))
    xd = x.astype(np.float64)
    deriv = (np.tanh(xd + 1e-6) - np.tanh(xd - 1e-6)) / 2e-6
    want = g * np.where(g * x > 0, np.maximum(deriv, 0.1), deriv)
    np.testing.assert_allclose(np.asarray(vjp(jnp.asarray(g))[0]), want, rtol=1e-4, atol=1e-6)
    # x = 7 with g < 0 (descent pushes it further up) keeps the saturated derivative; x = -3
    # with g < 0 (descent brings it back up) gets the floor.
    dx = np.asarray(vjp(jnp.asarray(g))[0])
    self.assertLess(abs(float(dx[-1])), 1e-4)
    self.assertAlmostEqual(float(dx[1]), -0.1, places=6)

  def test_fmm_against_numpy(self):
    w_s = self.rng.normal(size=(6, 9)).astype(np.float32)
    a = self.rng.normal(size=(6, 4)).astype(np.float32)
    b = self.rng.normal(size=(4, 9)).astype(np.float32)
    expected = np.empty((6, 9))
    for o in range(6):  # element-wise definition, no matrix product
      for i in range(9):
        logit = sum(a[o, k] * b[k, i] for k in range(4))
        expected[o, i] = w_s[o, i] * 2.0 * np_sigmoid(logit)
    np.testing.assert_allclose(np.asarray(jax.jit(layers.fmm_weight)(w_s, a, b)), expected,
                               rtol=1e-5, atol=1e-6)

  def test_linear_fmm_against_numpy(self):
    w_s = self.rng.normal(size=(6, 9)).astype(np.float32)
    a = self.rng.normal(size=(6, 4)).astype(np.float32)
    b = self.rng.normal(size=(4, 9)).astype(np.float32)
    expected = np.empty((6, 9))
    for o in range(6):
      for i in range(9):
        expected[o, i] = w_s[o, i] * (1.0 + sum(a[o, k] * b[k, i] for k in range(4)))
    np.testing.assert_allclose(np.asarray(jax.jit(layers.fmm_linear_weight)(w_s, a, b)),
                               expected, rtol=1e-5, atol=1e-5)

  def test_demodulated_rows_have_the_gain_norm_and_fix_the_output_scale(self):
    w = self.rng.normal(size=(64, 200)).astype(np.float32) * self.rng.uniform(
        0.1, 10, size=(64, 1)).astype(np.float32)  # rows of very different scale
    d = np.asarray(jax.jit(layers.demodulate, static_argnums=1)(w, 1.3))
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.3, rtol=1e-5)
    np.testing.assert_allclose(d / w, (d / w)[:, :1] * np.ones_like(w), rtol=1e-5)  # row-wise scale
    # For white inputs every output's second moment is gain^2, whatever the row's scale.
    x = self.rng.normal(size=(20000, 200)).astype(np.float32)
    np.testing.assert_allclose(((x @ d.T) ** 2).mean(0), 1.69, rtol=0.06)

  def test_fourier_features_against_numpy(self):
    p = self.rng.uniform(size=(13, 2)).astype(np.float32)
    w = (10 * self.rng.normal(size=(5, 2))).astype(np.float32)
    e = np.asarray(jax.jit(layers.fourier_features)(p, w))
    self.assertEqual(e.shape, (13, 10))
    for n in range(13):
      for j in range(5):
        phase = w[j, 0] * p[n, 0] + w[j, 1] * p[n, 1]
        self.assertAlmostEqual(e[n, j], np.sin(phase), places=4)
        self.assertAlmostEqual(e[n, 5 + j], np.cos(phase), places=4)

  def test_leaky_relu(self):
    x = np.array([-2.0, -0.5, 0.0, 3.0], np.float32)
    np.testing.assert_allclose(np.asarray(layers.leaky_relu(x, 0.2)), [-0.4, -0.1, 0.0, 3.0])

  def test_grid_features_interpolates_cell_centres_and_holds_edges(self):
    g = np.random.default_rng(0).normal(size=(3, 4, 2)).astype(np.float32)[:, :3]  # [3, 3, 2]
    centres = (np.arange(3) + 0.5) / 3
    # At a cell centre the value is that cell's.
    pts = np.array([[centres[j], centres[i]] for i in range(3) for j in range(3)], np.float32)
    np.testing.assert_allclose(np.asarray(layers.grid_features(pts, g)), g.reshape(9, 2), atol=1e-6)
    # Midway between two centres along x: their mean; beyond the outer centres: held.
    mid = np.array([[(centres[0] + centres[1]) / 2, centres[2]], [-0.7, centres[1]],
                    [1.4, 1.9]], np.float32)
    want = np.stack([(g[2, 0] + g[2, 1]) / 2, g[1, 0], g[2, 2]])
    np.testing.assert_allclose(np.asarray(layers.grid_features(mid, g)), want, atol=1e-6)
    # Linear in the grid: the gradient of one read wrt the grid is its tap weights (sum 1).
    p = jnp.array([[0.4, 0.55]])
    dg = jax.grad(lambda v: layers.grid_features(p, v)[0, 0])(jnp.asarray(g))
    self.assertAlmostEqual(float(dg[..., 0].sum()), 1.0, places=6)
    self.assertEqual(int((np.asarray(dg[..., 0]) > 0).sum()), 4)
    np.testing.assert_array_equal(np.asarray(dg[..., 1]), 0.0)
    # A non-square grid ([H, W] = [2, 3]): each axis uses its own cell count.
    rect = np.arange(2 * 3 * 1, dtype=np.float32).reshape(2, 3, 1)
    centres = np.array([[(j + 0.5) / 3, (i + 0.5) / 2] for i in range(2) for j in range(3)],
                       np.float32)
    np.testing.assert_allclose(np.asarray(layers.grid_features(centres, rect)),
                               rect.reshape(6, 1), atol=1e-6)

  def test_soft_cap_rows_bounds_norms_keeps_directions_and_short_rows(self):
    w = np.array([[1e-3, 0.0], [3.0, 4.0], [300.0, -400.0], [0.0, 0.0]], np.float32)
    out = np.asarray(layers.soft_cap_rows(w, 10.0))
    norms = np.linalg.norm(out, axis=-1)
    np.testing.assert_allclose(norms[:3], 10.0 * np.tanh(np.array([1e-3, 5.0, 500.0]) / 10.0),
                               rtol=1e-5)
    self.assertLessEqual(norms.max(), 10.0)
    np.testing.assert_allclose(out[1] / norms[1], [0.6, 0.8], rtol=1e-5)  # same direction
    np.testing.assert_allclose(out[0], w[0], rtol=1e-5)  # short rows pass unchanged
    np.testing.assert_array_equal(out[3], 0.0)
    g = jax.grad(lambda v: layers.soft_cap_rows(v, 10.0).sum())(jnp.asarray(w))
    self.assertTrue(np.all(np.isfinite(np.asarray(g))))  # the zero row too


if __name__ == "__main__":
  absltest.main()
