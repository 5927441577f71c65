"""experiments/g_regression.py: the GAN-free probe of how fast G steers latents onto images."""
import unittest

import jax
import jax.numpy as jnp
import numpy as np

from experiments import g_regression
from inr_gan_jax.model import generator as generator_lib
from tests import helpers


class GRegressionTest(unittest.TestCase):

  def test_psnr_closed_form(self):
    # Peak-to-peak 2: an error of 0.2 everywhere is 10 log10(4 / 0.04) = 20 dB.
    self.assertAlmostEqual(g_regression.psnr(0.04), 20.0, places=6)
    self.assertAlmostEqual(g_regression.psnr(4.0), 0.0, places=6)

  def test_settings_resolve_to_the_study_overrides_and_the_variants(self):
    dcgan = g_regression.setting_config("mnist", "dcgan")
    self.assertEqual(dcgan.model.generator, "conv")
    self.assertEqual(dcgan.train.lr_inr, 5e-4)            # the paper rates of the study row
    self.assertEqual(dcgan.train.diversity_weight, 0.0)   # the 16-kimg pin (study.BASE_PINS)
    fmm = g_regression.setting_config("mnist", "fmm")
    self.assertEqual(len(fmm.model.block_resolutions), 1)  # the single-scale variant
    self.assertEqual(fmm.train.lr_hyper, 3e-4)            # on the base recipe

  def test_fit_improves_on_its_start_and_reports_the_constant_baseline(self):
    c = helpers.tiny_train_config(batch_size=4)
    res = int(c.model.resolution)
    x = np.random.default_rng(0).uniform(-1, 1, (8, res, res, 3)).astype(np.float32)
    r = g_regression.fit(c, x, seed=0, steps=40, every=20)
    self.assertEqual([p["step"] for p in r["curve"]], [0, 20, 40])
    self.assertGreater(r["curve"][-1]["psnr"], r["curve"][0]["psnr"] + 1.0)
    # The best constant image is the pixel mean: its MSE is the targets' variance over images.
    mse = np.mean((x - x.mean(0)) ** 2)
    self.assertAlmostEqual(r["mean_image_psnr"], 10 * np.log10(4 / mse), places=3)

  def test_free_theta_starts_at_the_prediction_and_moves_only_its_leaves(self):
    c = helpers.tiny_train_config(batch_size=4)
    res = int(c.model.resolution)
    x = np.random.default_rng(1).uniform(-1, 1, (8, res, res, 3)).astype(np.float32)
    # theta initialised from G(z_i): the first evaluation equals the hypernetwork path's.
    hyper = g_regression.fit(c, x, seed=0, steps=20, every=20)
    free = g_regression.fit(c, x, seed=0, steps=20, every=20, free_theta=True, theta_lr=1e-2)
    self.assertAlmostEqual(free["curve"][0]["psnr"], hyper["curve"][0]["psnr"], places=4)
    self.assertGreater(free["curve"][-1]["psnr"], free["curve"][0]["psnr"] + 0.5)
    # Leaf selection: a path matches by one of its keys, exactly; nothing named: all free.
    path = (jax.tree_util.DictKey("block0"), jax.tree_util.DictKey("layer0"),
            jax.tree_util.DictKey("bias"))
    self.assertTrue(g_regression.leaf_is_free(path, ["bias"]))
    self.assertFalse(g_regression.leaf_is_free(path, ["a", "b"]))
    self.assertTrue(g_regression.leaf_is_free(path, []))

  def test_held_theta_leaves_get_no_updates(self):
    c = helpers.tiny_train_config(batch_size=4)
    g = generator_lib.build(c.model)
    params = jax.jit(g.init)(jax.random.PRNGKey(0))
    z = jax.random.normal(jax.random.PRNGKey(1), (4, g.latent_dim))
    train, tx = g_regression.free_theta_setup(g, params, z, c, ["bias"], 1e-2)
    grads = jax.tree.map(jnp.ones_like, train)
    updates, _ = tx.update(grads, tx.init(train), train)
    for path, u in jax.tree_util.tree_leaves_with_path(updates["theta"]):
      moved = float(jnp.max(jnp.abs(u))) > 0
      self.assertEqual(moved, g_regression.leaf_is_free(path, ["bias"]), jax.tree_util.keystr(path))
    self.assertGreater(float(jnp.max(jnp.abs(jax.tree.leaves(updates["inr"])[0]))), 0)


if __name__ == "__main__":
  unittest.main()
