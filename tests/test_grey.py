"""The grey generator (``model.grey``): one channel shown as C, with gradients that compile right.

``jnp.broadcast_to`` / ``repeat`` / ``tile`` of the size-1 channel axis got jit-compiled
gradients wrong on XLA:CPU (jaxlib 0.10.2) under the diversity loss (per-pair means of
|x_i - x_j| divided by |z_i - z_j|): NaN, 1e30s, or a segfault, while the same gradient run
op by op was right. ``layers.grey_to_channels`` concatenates instead; these tests hold that line.
"""
from absl.testing import absltest
from absl.testing import parameterized
import jax
import numpy as np

from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.train import losses
from tests import helpers


def _diversity_grads(model, seed, batch=8):
  g = generator_lib.build(model)
  params = jax.jit(g.init)(jax.random.key(0))
  z = g.sample_z(jax.random.key(seed), batch)
  theta = g.theta_from_hidden(params, g.hidden(params, z))
  loss = lambda th: losses.diversity_ratio(g.render(params, th), z)  # noqa: E731
  return g, params, theta, jax.jit(jax.grad(loss))(theta), jax.grad(loss)(theta)


class GreyTest(parameterized.TestCase):

  @parameterized.parameters(1, 2)
  def test_jitted_diversity_gradient_equals_the_op_by_op_one(self, seed):
    # 32 px and a batch of 16 (configs/mnist.py's): the size at which broadcasting failed;
    # smaller ones (16 px, or 8 samples) compiled right either way.
    model = helpers.tiny_model(grey=True, resolution=32, block_resolutions=(16, 32))
    _, _, _, jitted, eager = _diversity_grads(model, seed, batch=16)
    for a, b in zip(jax.tree.leaves(jitted), jax.tree.leaves(eager)):
      self.assertTrue(np.all(np.isfinite(np.asarray(a))))
      np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-7)

  def test_channels_are_one_predicted_channel(self):
    g, params, theta, _, _ = _diversity_grads(helpers.tiny_model(grey=True), 1)
    self.assertEqual(theta["block0"]["to_rgb"]["w"].shape[1], 1)  # [B, 1, width]
    images = np.asarray(g.render(params, theta))
    self.assertEqual(images.shape[-1], 3)
    np.testing.assert_array_equal(images[..., 0], images[..., 1])
    np.testing.assert_array_equal(images[..., 0], images[..., 2])
    # The same INR with a one-channel output (out_channels=1) draws that channel.
    one = generator_lib.build(helpers.tiny_model(out_channels=1))
    np.testing.assert_allclose(np.asarray(one.render(params, theta))[..., 0], images[..., 0],
                               atol=1e-6)


if __name__ == "__main__":
  absltest.main()
