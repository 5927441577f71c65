"""The DCGAN-style pixel baseline: shapes, its bilinear reading as a function, the train loop."""
import unittest

import jax
import jax.numpy as jnp
import numpy as np
import optax

from inr_gan_jax import config_lib
from inr_gan_jax.model import conv_generator
from inr_gan_jax.model import coords
from inr_gan_jax.model import generator as generator_lib
from tests import helpers


def conv_model(**kw):
  return helpers.tiny_model(generator="conv", conv_width=32, **kw)


class BilinearSampleTest(unittest.TestCase):

  def setUp(self):
    self.img = jnp.asarray(np.random.default_rng(0).normal(size=(2, 6, 6, 3)), jnp.float32)

  def test_pixel_centres_are_exact(self):
    pts = jnp.asarray(coords.pixel_grid(6, 6).reshape(-1, 2))
    got = conv_generator.bilinear_sample(self.img, pts).reshape(2, 6, 6, 3)
    np.testing.assert_allclose(np.asarray(got), np.asarray(self.img), atol=1e-6)

  def test_2x_equals_half_pixel_bilinear_resize(self):
    # jax.image.resize (linear, half-pixel centres, edge-normalised) is an independent reference.
    pts = jnp.asarray(coords.pixel_grid(12, 12).reshape(-1, 2))
    got = conv_generator.bilinear_sample(self.img, pts).reshape(2, 12, 12, 3)
    want = jax.image.resize(self.img, (2, 12, 12, 3), "linear", antialias=False)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-5)

  def test_midpoint_is_the_mean_of_four(self):
    pts = jnp.asarray([[2.0 / 6, 3.0 / 6]])  # between centres of columns 1,2 and rows 2,3
    got = np.asarray(conv_generator.bilinear_sample(self.img, pts))[:, 0]
    want = np.asarray(self.img)[:, 2:4, 1:3].mean(axis=(1, 2))
    np.testing.assert_allclose(got, want, atol=1e-6)


class ConvGeneratorTest(unittest.TestCase):

  def test_interface(self):
    g = generator_lib.build(conv_model())
    self.assertIsInstance(g, conv_generator.ConvGenerator)
    params = jax.jit(g.init)(jax.random.key(0))
    z = g.sample_z(jax.random.key(1), 3)
    img = g.generate(params, z)
    self.assertEqual(img.shape, (3, 16, 16, 3))
    self.assertLessEqual(float(jnp.max(jnp.abs(img))), 1.0)
    self.assertGreater(float(jnp.std(img)), 1e-3)
    big = g.generate(params, z, 32, 32)
    np.testing.assert_allclose(np.asarray(big), np.asarray(
        jax.image.resize(img, (3, 32, 32, 3), "linear", antialias=False)), atol=1e-5)
    # Metrics render through hidden -> theta -> plan like INR-GAN.
    flat = g.render_plan(params, g.theta_from_hidden(params, g.hidden(params, z)),
                         g.make_plan(16, 16))
    np.testing.assert_allclose(np.asarray(flat).reshape(img.shape), np.asarray(img), atol=1e-6)

  def test_grey_equals_rgb_with_tied_output_filters(self):
    # A grey conv generator is the RGB one whose three output filters are one filter.
    grey = generator_lib.build(conv_model(grey=True))
    rgb = generator_lib.build(conv_model())
    params = jax.jit(grey.init)(jax.random.key(0))
    self.assertEqual(params["conv"]["to_rgb"]["kernel"].shape[-1], 1)
    tied = jax.tree.map(lambda x: x, params)
    tied["conv"]["to_rgb"] = jax.tree.map(lambda x: jnp.repeat(x, 3, axis=-1),
                                          params["conv"]["to_rgb"])
    z = grey.sample_z(jax.random.key(1), 2)
    img = np.asarray(grey.generate(params, z))
    self.assertEqual(img.shape, (2, 16, 16, 3))
    np.testing.assert_array_equal(img[..., 0], img[..., 2])
    np.testing.assert_allclose(img, np.asarray(rgb.generate(tied, z)), atol=1e-6)

  def test_trains_in_the_gan_loop(self):
    from inr_gan_jax.train import loop as train
    from inr_gan_jax.train import step as train_step
    c = helpers.tiny_train_config()
    c.model = conv_model()
    config_lib.validate(c)
    trainer = train_step.Trainer(c, train.make_mesh())
    state = trainer.create_state(0)
    self.assertEqual(set(state["g"]), {"conv"})
    self.assertEqual(state["w_avg"].shape, (16,))  # its hidden code is z
    before = jax.tree.map(np.asarray, state["g"])
    reals = np.random.default_rng(0).integers(0, 256, (8, 16, 16, 3), dtype=np.uint8)
    state, m = trainer.jit_step(state, reals, True)
    self.assertTrue(bool(m["finite"]))
    moved = jax.tree.map(lambda a, b: float(np.abs(np.asarray(a) - b).max()), state["g"], before)
    self.assertTrue(all(v > 0 for v in jax.tree.leaves(moved)))

  def test_unknown_generator_rejected(self):
    c = helpers.tiny_train_config()
    c.model.generator = "unet"
    with self.assertRaisesRegex(ValueError, "model.generator"):
      config_lib.validate(c)


class MappingLrTest(unittest.TestCase):

  def test_mapping_layers_get_the_multiplier(self):
    from inr_gan_jax.train import optim
    g = generator_lib.Generator(helpers.tiny_model())
    params = jax.jit(g.init)(jax.random.key(0))
    t = helpers.tiny_train_config(lr_mapping_mult=0.1).train
    labels = optim.generator_labels(params, split_mapping=True)
    self.assertEqual(set(jax.tree.leaves(labels["hyper"]["connector"])), {"hyper"})
    self.assertEqual(set(jax.tree.leaves(labels["hyper"]["dense_in"])), {"mapping"})
    opt = optim.generator_optimizer(t)
    grads = jax.tree.map(jnp.ones_like, params)
    updates, _ = opt.update(grads, opt.init(params), params)
    # First Adam step with b1 = 0: |update| = lr * g / (|g| + eps) ~ lr for every entry.
    lr_of = lambda tree: float(np.abs(np.asarray(jax.tree.leaves(tree)[0])).max())  # noqa: E731
    self.assertAlmostEqual(lr_of(updates["hyper"]["dense_in"]), t.lr_hyper * 0.1, delta=1e-9)
    self.assertAlmostEqual(lr_of(updates["hyper"]["connector"]), t.lr_hyper, delta=1e-8)
    self.assertAlmostEqual(lr_of(updates["inr"]), t.lr_inr, delta=1e-7)
    # Without the multiplier the optimiser state has no extra group (old checkpoints restore).
    plain = optim.generator_optimizer(helpers.tiny_train_config().train).init(params)
    self.assertNotIn("mapping", plain.inner_states)

  def test_generator_momentum_is_its_own_and_d_keeps_adam_b1(self):
    from inr_gan_jax.train import optim
    g = generator_lib.Generator(helpers.tiny_model())
    params = jax.jit(g.init)(jax.random.key(0))
    t = helpers.tiny_train_config(adam_b1_generator=0.9).train
    b2, eps = float(t.adam_b2), float(t.adam_eps)

    def adam_second_step(b1, lr):  # gradients 1 then -1, Adam from its definition
      m = b1 * (1 - b1) * 1.0 + (1 - b1) * -1.0
      v = b2 * (1 - b2) * 1.0 + (1 - b2) * 1.0
      return -lr * (m / (1 - b1 ** 2)) / (np.sqrt(v / (1 - b2 ** 2)) + eps)

    def second_update(opt, p):  # the first entry of every group's second update
      state = opt.init(p)
      _, state = opt.update(jax.tree.map(jnp.ones_like, p), state, p)
      u, _ = opt.update(jax.tree.map(lambda x: -jnp.ones_like(x), p), state, p)
      return {k: float(np.asarray(jax.tree.leaves(v)[0]).ravel()[0]) for k, v in u.items()}

    got = second_update(optim.generator_optimizer(t), params)
    self.assertAlmostEqual(got["hyper"], adam_second_step(0.9, float(t.lr_hyper)), delta=1e-10)
    self.assertAlmostEqual(got["inr"], adam_second_step(0.9, float(t.lr_inr)), delta=1e-9)
    got_d = second_update(optim.discriminator_optimizer(t), {"d": jnp.zeros((3,))})
    self.assertAlmostEqual(got_d["d"], adam_second_step(float(t.adam_b1), float(t.lr_disc)),
                           delta=1e-9)
    with self.assertRaisesRegex(ValueError, "adam_b1_generator"):
      config_lib.validate(helpers.tiny_train_config(adam_b1_generator=1.0))

  def test_optimism_extrapolates_adam_for_both_players(self):
    """Optimistic Adam against its definition: u_t = -lr ((1 + o) r_t - o r_{t-1})."""
    from inr_gan_jax.train import optim
    o = 0.7
    t = helpers.tiny_train_config(optimism=o).train
    b1, b2, eps = float(t.adam_b1), float(t.adam_b2), float(t.adam_eps)
    grads = (np.array([0.5, -2.0]), np.array([-1.5, 0.25]), np.array([3.0, 1.0]))

    def reference(lr):  # numpy Adam direction r_t, then the optimistic combination
      m = v = np.zeros(2)
      out, r_prev = [], None
      for step, g in enumerate(grads, 1):
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        r = (m / (1 - b1 ** step)) / (np.sqrt(v / (1 - b2 ** step)) + eps)
        r_prev = r if r_prev is None else r_prev
        out.append(-lr * ((1 + o) * r - o * r_prev))
        r_prev = r
      return out

    opt, p = optim.discriminator_optimizer(t), {"d": jnp.zeros(2)}
    state = opt.init(p)
    for grad, want in zip(grads, reference(float(t.lr_disc))):
      u, state = opt.update({"d": jnp.asarray(grad, jnp.float32)}, state, p)
      np.testing.assert_allclose(np.asarray(u["d"]), want, rtol=2e-5)
    params = jax.jit(generator_lib.Generator(helpers.tiny_model()).init)(jax.random.key(0))
    opt = optim.generator_optimizer(t)
    state = opt.init(params)
    want_hyper, want_inr = reference(float(t.lr_hyper)), reference(float(t.lr_inr))
    for k, grad in enumerate(grads):  # every leaf gets the first entry of the gradient
      u, state = opt.update(jax.tree.map(lambda x, v=grad[0]: jnp.full_like(x, v), params),
                            state, params)
      for group, want in (("hyper", want_hyper[k][0]), ("inr", want_inr[k][0])):
        first = np.asarray(jax.tree.leaves(u[group])[0]).ravel()[0]
        np.testing.assert_allclose(first, want, rtol=2e-5)
    # o = 0 is plain Adam, with its state structure (checkpoints of earlier runs restore).
    plain = helpers.tiny_train_config().train
    self.assertEqual(jax.tree.structure(optim.discriminator_optimizer(plain).init(p)),
                     jax.tree.structure(optax.adam(1e-3).init(p)))
    with self.assertRaisesRegex(ValueError, "optimism"):
      config_lib.validate(helpers.tiny_train_config(optimism=-1.0))

if __name__ == "__main__":
  unittest.main()
