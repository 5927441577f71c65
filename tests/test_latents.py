"""Latents with a categorical code (InfoGAN's): layout, distribution, and the default draw."""
from absl.testing import absltest
from absl.testing import parameterized
import jax
import numpy as np

from inr_gan_jax import config_lib
from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.model import latents
from tests import helpers


class LatentsTest(parameterized.TestCase):

  def test_no_code_is_the_plain_gaussian_draw(self):
    # Checkpoints and sample seeds of runs without a code keep their latents.
    key = jax.random.key(3)
    np.testing.assert_array_equal(np.asarray(latents.sample(key, 5, 7)),
                                  np.asarray(jax.random.normal(key, (5, 7))))

  @parameterized.parameters(2, 10)
  def test_code_is_a_scaled_one_hot_drawn_uniformly(self, k):
    n = 20000
    z = np.asarray(latents.sample(jax.random.key(0), n, 16, k))
    head, tail = z[:, :k], z[:, k:]
    c = np.asarray(latents.code(z, k))
    want = np.zeros((n, k))
    want[np.arange(n), c] = np.sqrt(k)
    np.testing.assert_allclose(head, want, rtol=1e-6)
    # Second moment of the code's entries summed: k, as for k Gaussian entries.
    np.testing.assert_allclose(np.mean(np.sum(head ** 2, axis=1)), k, rtol=1e-5)
    # Uniform: Pearson's chi-square with k - 1 dof well under its 0.999 quantile (<= 28).
    counts = np.bincount(c, minlength=k)
    self.assertLess(np.sum((counts - n / k) ** 2 / (n / k)), 28.0)
    self.assertLess(abs(tail.mean()), 0.01)
    self.assertLess(abs(tail.std() - 1.0), 0.01)

  def test_generator_samples_with_its_config_code(self):
    g = generator_lib.Generator(helpers.tiny_model(latent_categories=4))
    z = np.asarray(g.sample_z(jax.random.key(1), 6))
    np.testing.assert_allclose(np.sort(z[:, :4], axis=1)[:, :3], 0.0)
    np.testing.assert_allclose(z[:, :4].max(axis=1), 2.0, rtol=1e-6)

  @parameterized.parameters(
      dict(model=dict(latent_categories=1), train={}, match="latent_categories"),
      dict(model=dict(latent_categories=17), train={}, match="latent_categories"),
      dict(model={}, train=dict(info_weight=1.0), match="needs a code"),
      dict(model=dict(latent_categories=4), train=dict(info_weight=-1.0), match="info_weight"))
  def test_bad_settings_are_named(self, model, train, match):
    c = helpers.tiny_train_config(**train)
    for key, value in model.items():
      c.model[key] = value
    with self.assertRaisesRegex(ValueError, match):
      config_lib.validate(c)

  def test_info_needs_one_image_per_d_input(self):
    c = helpers.tiny_train_config(info_weight=1.0)
    c.model.latent_categories = 4
    c.discriminator.pack = 2
    with self.assertRaisesRegex(ValueError, "pack"):
      config_lib.validate(c)


if __name__ == "__main__":
  absltest.main()
