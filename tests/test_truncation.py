"""psi-truncation: closed forms (the connector is affine) and the stored mean estimate."""
import os
import tempfile
import shutil
from unittest import mock

from absl.testing import absltest
import chex
import jax
import jax.numpy as jnp
import numpy as np

from inr_gan_jax.checkpoints import checkpointing
from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.model import truncation
from tests import helpers


class TruncationTest(absltest.TestCase):

  def _tmpdir(self):
    d = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, d, ignore_errors=True)
    return d

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.g = generator_lib.Generator(helpers.tiny_model())
    cls.params = jax.jit(cls.g.init)(jax.random.key(0))
    cls.z = cls.g.sample_z(jax.random.key(3), 4)
    cls.w_mean = jax.random.normal(jax.random.key(4), (cls.g.hyper.width,))
    cls.theta_fn = staticmethod(lambda z, m, psi: cls.g.predict(cls.params, z, w_mean=m, psi=psi))

  def test_psi_one_is_identity_and_zero_collapses(self):
    plain = self.g.theta(self.params, self.z)
    helpers.assert_trees_all_close(self, self.theta_fn(self.z, self.w_mean, 1.0), plain,
                                   rtol=1e-5, atol=1e-6)
    mean_theta = self.g.theta_from_hidden(self.params, self.w_mean[None])
    collapsed = self.theta_fn(self.z, self.w_mean, 0.0)
    for leaf, ref in zip(jax.tree.leaves(collapsed), jax.tree.leaves(mean_theta)):
      np.testing.assert_allclose(leaf, np.broadcast_to(ref, leaf.shape), rtol=1e-5, atol=1e-6)

  def test_truncation_interpolates_theta(self):
    """The connector is affine, so theta(psi) = theta_bar + psi (theta - theta_bar)."""
    psi = 0.35
    plain = self.g.theta(self.params, self.z)
    bar = self.g.theta_from_hidden(self.params, self.w_mean[None])
    expect = jax.tree.map(lambda t, b: b + psi * (t - b), plain, bar)
    helpers.assert_trees_all_close(self, self.theta_fn(self.z, self.w_mean, psi), expect,
                                   rtol=1e-4, atol=1e-5)

  def test_psi_one_is_exactly_untruncated(self):
    # psi = 1 takes the untruncated branch, so the result is bit-equal to no w_mean at all.
    chex.assert_trees_all_equal(self.theta_fn(self.z, self.w_mean, 1.0),
                                self.g.predict(self.params, self.z))

  def test_truncation_needs_a_centre(self):
    with self.assertRaisesRegex(ValueError, "needs w_mean"):
      self.g.predict(self.params, self.z, psi=0.5)

  def test_estimate_is_mean_of_hidden(self):
    est = truncation.estimate_mean_hidden(self.g, self.params, num_latents=50, seed=5, batch_size=20)
    key = jax.random.key(5)
    z = jnp.concatenate([self.g.sample_z(jax.random.fold_in(key, c), 20) for c in range(3)])[:50]
    w = np.asarray(self.g.hidden(self.params, z), np.float64)
    np.testing.assert_allclose(est, w.mean(0), rtol=1e-5, atol=1e-6)
    with self.assertRaisesRegex(ValueError, "num_latents"):
      truncation.estimate_mean_hidden(self.g, self.params, num_latents=0)

  def test_sidecar_is_written_once_per_step(self):
    ckpts = os.path.join(self._tmpdir(), "checkpoints")
    os.makedirs(os.path.join(ckpts, "7", checkpointing._STATE))  # pylint: disable=protected-access
    first = truncation.load_or_estimate(ckpts, self.g, self.params, num_latents=30,
                                        state_w_avg=np.zeros(self.g.hyper.width))
    path, step = truncation.sidecar_path(ckpts)
    self.assertEqual((path, step), (os.path.join(ckpts, "truncation", "step_7.npz"), 7))
    self.assertTrue(os.path.exists(path))
    with np.load(path) as f:
      self.assertAlmostEqual(float(f["state_w_avg_distance"]), float(np.linalg.norm(first)), 4)
    with mock.patch.object(truncation, "estimate_mean_hidden", side_effect=AssertionError):
      again = truncation.load_or_estimate(ckpts, self.g, self.params, num_latents=30)
    np.testing.assert_array_equal(first, again)
    # Another latent count is another estimate.
    other = truncation.load_or_estimate(ckpts, self.g, self.params, num_latents=31)
    self.assertFalse(np.array_equal(first, other))


if __name__ == "__main__":
  absltest.main()
