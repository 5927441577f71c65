"""Small shared test utilities: tiny configs and tree assertions."""
import jax
import numpy as np

from inr_gan_jax import config_lib


def tiny_model(**overrides):
  """A multi-scale INR-GAN small enough to compile and run in well under a second."""
  kw = dict(resolution=16, latent_dim=16, hyper_width=32, block_resolutions=(8, 16),
            block_widths=(24, 12), block_depths=(2, 2), num_fourier=6, fmm_rank=3)
  kw.update(overrides)
  return config_lib.model_config(**kw)


def assert_trees_all_close(testcase, a, b, rtol=1e-6, atol=1e-6):
  testcase.assertEqual(jax.tree.structure(a), jax.tree.structure(b))
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def assert_shapes_equal(testcase, tree, shapes):
  """``tree`` (arrays) has exactly the structure and shapes of ``shapes`` (tuples)."""
  got = jax.tree.map(lambda x: tuple(x.shape), tree)
  testcase.assertEqual(got, shapes)


def tiny_train_config(**train_overrides):
  """A complete experiment config (shapes data, 16x16) for train-loop tests."""
  c = config_lib.dataset_config(data_source="shapes", data_name="", model=tiny_model())
  c.data.num_examples = 256
  c.discriminator.channel_base = 128
  c.discriminator.channel_max = 16
  t = c.train
  t.num_steps = 4
  t.batch_size = 8
  t.lr_hyper, t.lr_inr, t.lr_disc = 1e-4, 1e-3, 2e-3
  t.r1_gamma, t.r1_interval = 10.0, 1
  t.ema_kimg = 0.1
  t.log_every = 2
  t.sample_every = 0
  t.num_sample_latents = 4
  c.checkpoint.every_steps = 2
  for key, value in train_overrides.items():
    t[key] = value
  return c
