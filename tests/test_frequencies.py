"""experiments/frequencies.py: frequency norms in cycles per image, per block, and their summary."""
from absl.testing import absltest
import jax
import numpy as np

from experiments import frequencies
from inr_gan_jax.model import generator as generator_lib
from tests import helpers


class FrequenciesTest(absltest.TestCase):

  def test_cycles_per_image_closed_form(self):
    # sin(2 pi k x) repeats k times over the unit square: |w| = 2 pi k -> k cycles.
    w = np.array([[2 * np.pi * 3, 0.0], [0.0, 2 * np.pi], [6.0, 8.0]])
    np.testing.assert_allclose(frequencies.cycles_per_image(w), [3.0, 1.0, 10 / (2 * np.pi)])

  def test_block_frequencies_read_each_samples_rows(self):
    g = generator_lib.Generator(helpers.tiny_model())
    params = jax.jit(g.init)(jax.random.key(0))
    z = g.sample_z(jax.random.key(1), 5)
    got = frequencies.block_frequencies(g, params, z)
    theta = g.theta(params, z)
    self.assertEqual(sorted(got), ["block0", "block1"])
    for blk in ("block0", "block1"):
      w = np.asarray(theta[blk]["fourier"]["w"], np.float64)  # [B, n, 2]
      np.testing.assert_allclose(got[blk], np.hypot(w[..., 0], w[..., 1]) / (2 * np.pi),
                                 rtol=1e-5)
    # Shared frequencies: the same rows for every sample.
    gs = generator_lib.Generator(helpers.tiny_model(fourier_kind="shared"))
    ps = jax.jit(gs.init)(jax.random.key(0))
    shared = frequencies.block_frequencies(gs, ps, z)["block0"]
    self.assertEqual(shared.shape, (5, 6))
    np.testing.assert_array_equal(shared, np.broadcast_to(shared[:1], shared.shape))

  def test_cut_zeroes_exactly_the_rows_above_the_threshold(self):
    g = generator_lib.Generator(helpers.tiny_model(fourier_scale=20.0))
    params = jax.jit(g.init)(jax.random.key(0))
    theta = g.theta(params, g.sample_z(jax.random.key(1), 3))
    cut = frequencies.cut_frequencies(theta, g.layout, 2.0)
    for blk in ("block0", "block1"):
      w, c = np.asarray(theta[blk]["fourier"]["w"]), np.asarray(cut[blk]["fourier"]["w"])
      high = np.linalg.norm(w, axis=-1) / (2 * np.pi) > 2.0
      self.assertTrue(high.any() and (~high).any())
      np.testing.assert_array_equal(c[high], 0.0)
      np.testing.assert_array_equal(c[~high], w[~high])
      np.testing.assert_array_equal(np.asarray(cut[blk]["layer0"]["a"]),
                                    np.asarray(theta[blk]["layer0"]["a"]))  # nothing else

  def test_summary_quantiles_and_nyquist_share(self):
    cycles = np.array([[1.0, 2.0, 3.0, 9.0]])
    s = frequencies.summarise(cycles, block_resolution=16)
    self.assertEqual(s["nyquist"], 8.0)
    self.assertAlmostEqual(s["above_nyquist"], 0.25)
    self.assertAlmostEqual(s["q50"], 2.5)
    self.assertAlmostEqual(s["mean"], 3.75)


if __name__ == "__main__":
  absltest.main()
