"""The jitted GAN step: compiles once, shards like one device, updates what it should."""
from absl.testing import absltest
import chex
import jax
import numpy as np
from jax.sharding import Mesh

from inr_gan_jax.train import optim
from inr_gan_jax.train import step as train_step_lib
from tests import helpers


def reals(batch=8, res=16, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (batch, res, res, 3), dtype=np.uint8)


class TrainStepTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    # One trainer per mesh for the whole class: compiling a GAN step with R1 is
    # the slow part of these tests.
    cls.config = helpers.tiny_train_config()
    cls.trainers = {}
    for n in (8, 1):
      trainer = train_step_lib.Trainer(cls.config, Mesh(np.array(jax.devices()[:n]), ("data",)))
      # chex keys its trace counter by the wrapped source and call site, so both trainers
      # share one budget: one trace per mesh (apply_r1=True only), two in all; a retrace raises.
      trainer.train_step = chex.assert_max_traces(trainer.train_step, n=2)
      cls.trainers[n] = trainer

  def test_compiles_once_and_updates_every_group(self):
    trainer = self.trainers[8]
    state0 = jax.device_get(trainer.create_state(0))
    state = trainer.create_state(0)
    for i in range(3):
      state, metrics = trainer.jit_step(state, reals(seed=i), True)
    self.assertEqual(int(state["step"]), 3)
    self.assertTrue(bool(metrics["finite"]))
    for group in ("g", "d", "g_ema"):
      changed = jax.tree.map(lambda a, b: bool(np.any(np.asarray(a) != np.asarray(b))),
                             state0[group], jax.device_get(state[group]))
      self.assertTrue(all(jax.tree.leaves(changed)), group)

  def test_sharded_step_equals_single_device(self):
    out = []
    for n in (8, 1):
      trainer = self.trainers[n]
      state = trainer.create_state(0)
      for i in range(2):
        state, _ = trainer.jit_step(state, reals(seed=i), True)
      out.append(jax.device_get(state))
    helpers.assert_trees_all_close(self, out[0]["g"], out[1]["g"], rtol=1e-4, atol=1e-5)
    helpers.assert_trees_all_close(self, out[0]["d"], out[1]["d"], rtol=1e-4, atol=1e-5)

  def test_diversity_term_enters_g_loss_with_its_faded_weight(self):
    # Weight 4 fading to 0 at 16 images; at step 1 (8 images seen, batch 8) it is 2. The D
    # update ignores the term, so from one state G's loss is the plain run's minus 2 * ratio.
    config = helpers.tiny_train_config(diversity_weight=4.0, diversity_fade_kimg=0.016)
    faded = train_step_lib.Trainer(config, self.trainers[1].mesh)
    out = []
    for trainer in (self.trainers[1], faded):
      state = trainer.create_state(0)
      state["step"] = state["step"] + 1
      out.append(jax.device_get(trainer.jit_step(state, reals(), True)[1]))
    plain, div = out
    self.assertEqual(float(plain["g_diversity"]), 0.0)
    self.assertGreater(float(div["g_diversity"]), 0.0)
    np.testing.assert_allclose(float(div["d_loss"]), float(plain["d_loss"]), rtol=1e-6)
    np.testing.assert_allclose(float(div["g_loss"]),
                               float(plain["g_loss"]) - 2.0 * float(div["g_diversity"]),
                               rtol=1e-5, atol=1e-6)

  def test_feature_matching_enters_g_loss_with_its_weight(self):
    # The D update ignores the term; from one state G's loss is the plain run's plus
    # weight * the matching term, which is positive for fakes against reals.
    config = helpers.tiny_train_config(feature_matching_weight=3.0)
    matched = train_step_lib.Trainer(config, self.trainers[1].mesh)
    out = [jax.device_get(t.jit_step(t.create_state(0), reals(), True)[1])
           for t in (self.trainers[1], matched)]
    plain, fm = out
    self.assertEqual(float(plain["g_feature_matching"]), 0.0)
    self.assertGreater(float(fm["g_feature_matching"]), 0.0)
    np.testing.assert_allclose(float(fm["d_loss"]), float(plain["d_loss"]), rtol=1e-6)
    np.testing.assert_allclose(float(fm["g_loss"]),
                               float(plain["g_loss"]) + 3.0 * float(fm["g_feature_matching"]),
                               rtol=1e-5, atol=1e-6)

  def test_info_term_enters_both_losses_with_its_weight(self):
    # D frozen (lr_disc 0), so G meets the D and Q it started from. Against the same code
    # without the term (same latents, same fakes): each loss is the plain one plus
    # weight * a cross-entropy, re-derived here from the step's latents and D's features.
    from inr_gan_jax.model import latents
    out, trainers = [], []
    for w in (0.0, 2.0):
      config = helpers.tiny_train_config(lr_disc=0.0, info_weight=w)
      config.model.latent_categories = 4
      trainer = train_step_lib.Trainer(config, self.trainers[1].mesh)
      state = trainer.create_state(0)
      self.assertEqual("q" in state, bool(w))
      trainers.append((trainer, jax.device_get(state)))
      out.append(jax.device_get(trainer.jit_step(state, reals(), True)[1]))
    (plain, info), (trainer, state) = out, trainers[1]
    self.assertEqual(float(plain["d_info"]), 0.0)
    key = jax.random.fold_in(jax.random.wrap_key_data(state["rng"]), state["step"])
    ces = []
    for k_z in jax.random.split(key, 3)[:2]:  # the D step's and the G step's latents
      z = trainer.generator.sample_z(k_z, 8)
      images = trainer._fakes(state["g"], z)[0]
      f = np.asarray(trainer._d_features(state["d"], images)[1], np.float64)
      k = np.asarray(state["q"]["kernel"], np.float64)
      logits = f @ k / np.sqrt(k.shape[0]) + np.asarray(state["q"]["bias"])
      log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
      codes = np.asarray(latents.code(z, 4))
      ces.append(-np.mean(log_p[np.arange(8), codes]))
    np.testing.assert_allclose(float(info["d_info"]), ces[0], rtol=1e-4)
    np.testing.assert_allclose(float(info["d_loss"]), float(plain["d_loss"]) + 2.0 * ces[0],
                               rtol=1e-5)
    np.testing.assert_allclose(float(info["g_loss"]), float(plain["g_loss"]) + 2.0 * ces[1],
                               rtol=1e-5)
    # Q's state is the state of D's optimiser (Adam at D's rate) over Q's parameters.
    self.assertEqual(jax.tree.structure(state["opt_q"]),
                     jax.tree.structure(trainer.opt_d.init(state["q"])))

  def test_info_state_holds_q_and_trains_it(self):
    # Checkpoints restore into abstract_state, so it must hold Q and its Adam state too.
    config = helpers.tiny_train_config(info_weight=1.0)
    config.model.latent_categories = 4
    trainer = train_step_lib.Trainer(config, self.trainers[1].mesh)
    state0 = jax.device_get(trainer.create_state(0))
    self.assertEqual(jax.tree.structure(trainer.abstract_state()),
                     jax.tree.structure(state0))
    state, metrics = trainer.jit_step(trainer.create_state(0), reals(), True)
    self.assertTrue(bool(metrics["finite"]))
    moved = jax.tree.map(lambda a, b: bool(np.any(np.asarray(a) != np.asarray(b))),
                         state0["q"], jax.device_get(state["q"]))
    self.assertTrue(all(jax.tree.leaves(moved)))

  def test_d_features_are_the_input_of_its_output_layer(self):
    # The captured features, through b4_out's equalized dense (weight / sqrt(fan_in) + bias,
    # linear), give back D's logits: they are D's last hidden layer.
    trainer = self.trainers[1]
    d = jax.device_get(trainer.create_state(0)["d"])
    x = np.asarray(reals(), np.float32) / 127.5 - 1.0
    logits, features = trainer._d_features(d, x)
    out = d["b4_out"]
    k = np.asarray(out["kernel"], np.float64)
    want = np.asarray(features, np.float64) @ k / np.sqrt(k.shape[0]) + np.asarray(out["bias"])
    np.testing.assert_allclose(np.asarray(logits), want[:, 0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(logits),
                               np.asarray(trainer._d_apply(d)(x)), rtol=1e-6, atol=1e-6)

  def test_packed_d_judges_pairs_and_shards_like_one_device(self):
    # PacGAN packs of 2: D's first layer reads 6 channels, and with packs inside each
    # device's batch (2 devices x 4 images) the step equals the single-device one.
    config = helpers.tiny_train_config()
    config.discriminator.pack = 2
    out = []
    for n in (2, 1):
      trainer = train_step_lib.Trainer(config, Mesh(np.array(jax.devices()[:n]), ("data",)))
      state = trainer.create_state(0)
      self.assertEqual(state["d"]["fromrgb"]["kernel"].shape[2], 6)
      state, metrics = trainer.jit_step(state, reals(), True)
      self.assertTrue(bool(metrics["finite"]))
      self.assertGreater(float(metrics["r1"]), 0.0)
      out.append((jax.device_get(state), jax.device_get(metrics)))
    (two, m2), (one, m1) = out
    for key in ("d_loss", "r1", "d_real", "d_fake", "g_loss"):
      np.testing.assert_allclose(m2[key], m1[key], rtol=1e-5, err_msg=key)
    # Adam's first step is ~lr * sign(g): summation-order noise in a near-zero gradient can
    # move an element by a fraction of lr, hence atol 1e-4 (D lr 2e-3) for the parameters.
    helpers.assert_trees_all_close(self, two["d"], one["d"], rtol=1e-4, atol=1e-4)
    helpers.assert_trees_all_close(self, two["g"], one["g"], rtol=1e-4, atol=1e-4)

  def test_ema_beta_half_life(self):
    # After ema_kimg * 1000 images at constant beta, the weight of the start halves.
    beta = float(optim.ema_beta(jax.numpy.asarray(10**6), 32, 10.0, 0.0))
    self.assertAlmostEqual(beta ** (10_000 / 32), 0.5, places=5)
    ramped = float(optim.ema_beta(jax.numpy.asarray(9), 32, 10.0, 0.05))  # 320 images seen
    self.assertAlmostEqual(ramped, 0.5 ** (32 / (320 * 0.05)), places=5)


if __name__ == "__main__":
  absltest.main()
