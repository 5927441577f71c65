"""Generator: parameter bookkeeping, init statistics, sharding, compilation."""
from absl.testing import absltest
from absl.testing import parameterized
import chex
from unittest import mock
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from inr_gan_jax.model import complexity
from inr_gan_jax import config_lib
from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.model import inr as inr_lib
from inr_gan_jax.model import layout as layout_lib
from inr_gan_jax.model import pipeline
from tests import helpers


def build(model_cfg, seed=0):
  g = generator_lib.Generator(model_cfg)
  return g, jax.jit(g.init)(jax.random.key(seed))


class ParameterCountTest(parameterized.TestCase):

  @parameterized.named_parameters(
      [(v, v) for v in config_lib.VARIANTS])
  def test_layout_counts_equal_pytree_sizes(self, variant):
    m = config_lib.apply_variant(helpers.tiny_model(), variant)
    g = generator_lib.Generator(m)
    params = jax.eval_shape(g.init, jax.random.key(0))
    theta = jax.eval_shape(g.theta, params, jax.ShapeDtypeStruct((2, m.latent_dim), jnp.float32))
    per_sample = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape[1:], x.dtype), theta)
    helpers.assert_shapes_equal(self, per_sample, g.layout.predicted_shapes())
    helpers.assert_shapes_equal(self, params["inr"], g.layout.shared_shapes())
    self.assertEqual(complexity.tree_size(theta) // 2, g.layout.connector_size)
    self.assertEqual(complexity.tree_size(params["inr"]), g.layout.num_shared)
    stats = complexity.model_stats(m)
    self.assertEqual(complexity.tree_size(params), stats["params_total"])
    self.assertEqual(complexity.tree_size(params["hyper"]["connector"]), stats["params_connector"])

  def test_variant_ownership(self):
    tiny = helpers.tiny_model()
    latent = layout_lib.layout_from_config(config_lib.apply_variant(tiny, "latent_conditioned"))
    self.assertEqual(latent.predicted_shapes(), {"cond": (tiny.latent_cond_dim,)})
    hyper = layout_lib.layout_from_config(config_lib.apply_variant(tiny, "hypernetwork"))
    self.assertEqual(hyper.num_shared, 0)  # every INR tensor predicted
    fmm = layout_lib.layout_from_config(config_lib.apply_variant(tiny, "fmm"))
    self.assertLen(fmm.blocks, 1)
    self.assertEqual(fmm.shared_shapes()["block0"]["layer1"]["w"], (24, 24 + 12))
    full = layout_lib.layout_from_config(tiny)
    self.assertLen(full.blocks, 2)
    # FMM predicts r * (in + out) + out per layer instead of in * out + out.
    self.assertLess(fmm.connector_size, layout_lib.layout_from_config(
        config_lib.apply_variant(tiny, "fourier")).connector_size)

  def test_unknown_variant_and_bad_layout(self):
    with self.assertRaisesRegex(ValueError, "unknown variant"):
      config_lib.apply_variant(helpers.tiny_model(), "gan")
    with self.assertRaisesRegex(ValueError, "block_resolutions"):
      layout_lib.layout_from_config(helpers.tiny_model(block_resolutions=(16, 8)))
    with self.assertRaisesRegex(ValueError, "equal length"):
      layout_lib.layout_from_config(helpers.tiny_model(block_widths=(4,)))
    with self.assertRaisesRegex(KeyError, "unknown model key"):
      config_lib.model_config(fmm_ranks=3)
    with self.assertRaisesRegex(ValueError, "fmm_modulation"):
      layout_lib.layout_from_config(helpers.tiny_model(fmm_modulation="tanh"))
    with self.assertRaisesRegex(ValueError, "fmm_logit_std"):
      layout_lib.layout_from_config(helpers.tiny_model(fmm_logit_std=0.0))
    for key, bad in (("upsample", "bicubic"), ("conditioning", "film"), ("to_rgb", "conv"),
                     ("hyper_mapping", "gelu"), ("fourier_kind", "learned")):
      with self.assertRaisesRegex(ValueError, f"model.{key} must be one of .*got '{bad}'"):
        layout_lib.layout_from_config(helpers.tiny_model(**{key: bad}))

  @parameterized.parameters(("sigmoid", 1.0), ("sigmoid", 0.1), ("sigmoid", 3.0), ("sigmoid", 0.999),
                            ("linear", 1.0), ("linear", 0.3))
  def test_modulation_second_moment_against_monte_carlo(self, kind, std):
    x = np.random.default_rng(0).normal(scale=std, size=2_000_000)
    mod = 1 + x if kind == "linear" else 2 / (1 + np.exp(-x))
    self.assertAlmostEqual(layout_lib.modulation_second_moment(kind, std), np.mean(mod ** 2),
                           delta=3e-3 * np.mean(mod ** 2))

  @parameterized.parameters(("sigmoid", 1.0, False), ("linear", 0.5, False), ("sigmoid", 1.0, True))
  def test_modulated_weights_keep_he_variance_at_init(self, kind, std, demod):
    # W_s is scaled by 1 / rms(modulation) so that, for unit-variance connector outputs, every
    # sample's FMM weight starts at the He scale: E[W_ij^2] = gain^2 / fan_in (row by row
    # when demodulated).
    layout = layout_lib.layout_from_config(helpers.tiny_model(
        block_widths=(64, 32), fmm_modulation=kind, fmm_logit_std=std, fmm_demodulate=demod))
    raw = jax.random.normal(jax.random.key(1), (64, layout.connector_size))
    theta = layout.unflatten(raw)
    shared = layout.init_shared(jax.random.key(2))
    lyr = layout.blocks[0].layers[1]
    p = {**shared["block0"]["layer1"], **theta["block0"]["layer1"]}
    w = jax.vmap(lambda a, b, bias: inr_lib.layer_weight(
        layout, lyr, {"w": p["w"], "a": a, "b": b, "bias": bias}))(p["a"], p["b"], p["bias"])
    w = np.asarray(w)  # [64 samples, out, fan_in]
    logits = np.einsum("sor,sri->soi", np.asarray(p["a"]), np.asarray(p["b"]))
    self.assertAlmostEqual(logits.std(), std, delta=0.1 * std)  # std(A @ B) = fmm_logit_std
    second = float(np.mean(w ** 2)) * lyr.fan_in
    self.assertAlmostEqual(second, layout.he_gain ** 2, delta=0.1 * layout.he_gain ** 2)
    if demod:
      np.testing.assert_allclose(np.linalg.norm(w, axis=-1), layout.he_gain, rtol=1e-5)


class GeneratorTest(parameterized.TestCase):

  def test_fresh_generator_statistics_paper_layout(self):
    # The lsun256 layout (107M parameters), drawn at 32x32 to stay cheap: images
    # must vary across pixels and samples and keep tanh out of saturation.
    g, params = build(config_lib.model_config())
    images = np.asarray(g.generate(params, g.sample_z(jax.random.key(1), 8), 32, 32))
    self.assertBetween(images.std(), 0.2, 0.8)
    self.assertBetween(np.abs(images.mean()), 0.0, 0.4)
    self.assertGreater(images.std(axis=(1, 2)).mean(), 0.1)   # not constant within an image
    self.assertGreater(images.std(axis=0).mean(), 0.1)        # samples differ
    self.assertLess((np.abs(images) > 0.99).mean(), 0.02)     # tanh not saturated

  def test_connector_lr_mults_keep_the_initial_generator_and_speed_up_their_rows(self):
    # Equalized-lr multipliers: same initial theta (kernel / m, outputs * m); one SGD-like
    # sign step of the connector kernel moves the multiplied tensors m times as far.
    base_cfg = helpers.tiny_model()
    fast_cfg = helpers.tiny_model(fmm_lr_mult=10.0, bias_lr_mult=4.0, fourier_lr_mult=0.25)
    g0, g1 = generator_lib.Generator(base_cfg), generator_lib.Generator(fast_cfg)
    p0, p1 = jax.jit(g0.init)(jax.random.key(0)), jax.jit(g1.init)(jax.random.key(0))
    z = g0.sample_z(jax.random.key(1), 4)
    t0, t1 = g0.theta(p0, z), g1.theta(p1, z)
    helpers.assert_trees_all_close(self, t0, t1, rtol=1e-5, atol=1e-6)
    step = lambda p: jax.tree_util.tree_map_with_path(
        lambda kp, x: x + 1e-3 if "connector" in str(kp) and "kernel" in str(kp) else x, p)
    d0 = jax.tree.map(lambda a, b: np.asarray(a - b), g0.theta(step(p0), z), t0)
    d1 = jax.tree.map(lambda a, b: np.asarray(a - b), g1.theta(step(p1), z), t1)
    for blk in ("block0", "block1"):
      np.testing.assert_allclose(d1[blk]["layer0"]["a"], 10 * d0[blk]["layer0"]["a"], rtol=1e-3, atol=1e-6)
      np.testing.assert_allclose(d1[blk]["layer1"]["b"], 10 * d0[blk]["layer1"]["b"], rtol=1e-3, atol=1e-6)
      np.testing.assert_allclose(d1[blk]["layer0"]["bias"], 4 * d0[blk]["layer0"]["bias"], rtol=1e-3, atol=1e-6)
      np.testing.assert_allclose(d1[blk]["fourier"]["w"], 0.25 * d0[blk]["fourier"]["w"], rtol=1e-3, atol=1e-6)
      np.testing.assert_allclose(d1[blk]["to_rgb"]["w"], d0[blk]["to_rgb"]["w"], rtol=1e-3, atol=1e-6)
    self.assertIsNone(g0.layout.connector_lr_mults())

  def test_block_scales_scale_each_blocks_frequencies(self):
    # A predicted frequency is the connector's raw output times its block's scale, so from
    # one seed scales (s, 3s) give block 0 the frequencies of fourier_scale=s and block 1
    # three times them; the rest of theta is unchanged.
    g0, p0 = build(helpers.tiny_model(fourier_scale=2.0))
    g1, p1 = build(helpers.tiny_model(fourier_scale=2.0, fourier_block_scales=(2.0, 6.0)))
    z = g0.sample_z(jax.random.key(1), 4)
    t0, t1 = jax.device_get(g0.theta(p0, z)), jax.device_get(g1.theta(p1, z))
    np.testing.assert_allclose(t1["block0"]["fourier"]["w"], t0["block0"]["fourier"]["w"], rtol=1e-6)
    np.testing.assert_allclose(t1["block1"]["fourier"]["w"], 3 * t0["block1"]["fourier"]["w"],
                               rtol=1e-5)
    np.testing.assert_allclose(t1["block1"]["layer0"]["a"], t0["block1"]["layer0"]["a"], rtol=1e-6)
    for bad in ((2.0,), (2.0, 0.0)):
      with self.assertRaisesRegex(ValueError, "fourier_block_scales"):
        generator_lib.Generator(helpers.tiny_model(fourier_block_scales=bad))

  @parameterized.parameters("relu", "tanh")
  def test_tanh_mapping_has_zero_mean_w(self, mapping):
    # tanh is odd and z ~ N(0, I) symmetric, so at init every unit of w has mean 0 over z
    # (a ReLU stack's units are >= 0, their mean of the order of their spread).
    g, p = build(helpers.tiny_model(hyper_mapping=mapping))
    w = np.asarray(g.hidden(p, g.sample_z(jax.random.key(2), 4096)))  # [4096, width]
    common = np.mean(w.mean(0) ** 2) / np.mean(w.var(0))
    if mapping == "tanh":
      self.assertLess(common, 0.01)         # sampling noise: ~1 / 4096
    else:
      self.assertGreater(common, 0.5)
      self.assertGreaterEqual(w.min(), 0.0)

  def test_ref_norm_standardises_w_over_the_reference_latents(self):
    # hyper_ref_norm adds no parameters; its w is the plain mapping's, centred and scaled by
    # the per-unit mean and variance (floor 1e-2) over 64 fixed latents drawn from key 0.
    g0, p = build(helpers.tiny_model())
    g1 = generator_lib.Generator(helpers.tiny_model(hyper_ref_norm=64))
    self.assertEqual(jax.tree.structure(jax.eval_shape(g1.init, jax.random.key(0))),
                     jax.tree.structure(p))
    z_ref = jax.random.normal(jax.random.PRNGKey(0), (64, 16))
    h_ref = np.asarray(g0.hidden(p, z_ref), np.float64)
    z = g0.sample_z(jax.random.key(3), 5)
    want = (np.asarray(g0.hidden(p, z)) - h_ref.mean(0)) / np.sqrt(h_ref.var(0) + 1e-2)
    np.testing.assert_allclose(np.asarray(g1.hidden(p, z)), want, rtol=1e-4, atol=1e-5)

  @parameterized.parameters(0, 64)
  def test_ref_norm_sends_a_common_gradient_to_the_bias_alone(self, ref_norm):
    # The same output gradient c for every reference latent: the connector's kernel gradient
    # is sum_b w_b c^T, which vanishes when w is centred over exactly those latents (the step
    # that moves every sample at once goes through the bias); the plain ReLU w, whose units
    # are >= 0, puts most of it in the kernel.
    g, p = build(helpers.tiny_model(hyper_ref_norm=ref_norm))
    z_ref = jax.random.normal(jax.random.PRNGKey(0), (64, 16))
    c = jax.random.normal(jax.random.key(4), (g.layout.connector_size,))
    raw = lambda p: g.hyper.apply({"params": p["hyper"]}, z_ref)  # [64, P]
    grads = jax.grad(lambda p: jnp.sum(raw(p) @ c))(p)["hyper"]["connector"]
    np.testing.assert_allclose(np.asarray(grads["bias"]), 64 * np.asarray(c), rtol=1e-5)
    kernel = float(jnp.linalg.norm(grads["kernel"]))
    bias = float(jnp.linalg.norm(grads["bias"]))
    if ref_norm:
      self.assertLess(kernel, 1e-3 * bias)
    else:
      self.assertGreater(kernel, bias)

  @parameterized.parameters(1.0, 16.0)
  def test_bias_mult_scales_the_connector_bias_in_the_forward(self, mult):
    # hyper_bias_mult keeps nn.Dense's params (and so checkpoints); the raw connector output
    # is w @ kernel + mult * bias, re-derived in numpy with a non-zero bias.
    g, p = build(helpers.tiny_model(hyper_bias_mult=mult))
    _, p1 = build(helpers.tiny_model())
    self.assertEqual(jax.tree.structure(p), jax.tree.structure(p1))
    conn = p["hyper"]["connector"]
    bias = jax.random.normal(jax.random.key(5), conn["bias"].shape)
    hyper = {**p["hyper"], "connector": {**conn, "bias": bias}}
    z = g.sample_z(jax.random.key(6), 3)
    w = np.asarray(g.hyper.apply({"params": hyper}, z, method="hidden"), np.float64)
    want = w @ np.asarray(conn["kernel"], np.float64) + mult * np.asarray(bias, np.float64)
    got = g.hyper.apply({"params": hyper}, z)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)

  def test_hidden_and_theta_stages_compose(self):
    g, params = build(helpers.tiny_model())
    z = g.sample_z(jax.random.key(1), 3)
    w = jax.jit(g.hidden)(params, z)
    self.assertEqual(w.shape, (3, 32))
    helpers.assert_trees_all_close(self, jax.jit(g.theta_from_hidden)(params, w),
                                   jax.jit(g.theta)(params, z))
    direct = jax.jit(lambda p, z: g(p, z))(params, z)
    np.testing.assert_allclose(np.asarray(g.generate(params, z)), np.asarray(direct), atol=1e-6)

  def test_sharded_generation_equals_unsharded(self):
    self.assertEqual(jax.device_count(), 8)
    g, params = build(helpers.tiny_model())
    z = g.sample_z(jax.random.key(1), 16)
    mesh = Mesh(np.array(jax.devices()), ("data",))
    z_sharded = jax.device_put(z, NamedSharding(mesh, P("data")))
    params_repl = jax.device_put(params, NamedSharding(mesh, P()))
    sharded = g.generate(params_repl, z_sharded, 16, 24)
    self.assertEqual(sharded.sharding.spec, P("data"))
    single = g.generate(params, jax.device_put(z, jax.devices()[0]), 16, 24)
    np.testing.assert_allclose(np.asarray(sharded), np.asarray(single), atol=1e-6)

  def test_compiles_once_per_grid_shape(self):
    g, params = build(helpers.tiny_model())
    z = g.sample_z(jax.random.key(1), 2)
    # Fresh compiles for this check, and none of its counting wrappers left for later tests.
    pipeline._compiled.cache_clear()  # pylint: disable=protected-access
    self.addCleanup(pipeline._compiled.cache_clear)  # pylint: disable=protected-access
    once = chex.assert_max_traces(generator_lib.Generator.render_plan, n=1)
    with mock.patch.object(generator_lib.Generator, "render_plan", once):
      g.generate(params, z, 16, 16)
      g.generate(params, z, 16, 16, (-0.3, -0.3, 1.3, 1.3))   # new window, same shape
      g.generate(params, z + 1.0, 16, 16)
      # Another instance of an equal config (every restore builds one) shares the compile.
      generator_lib.Generator(helpers.tiny_model()).generate(params, z, 16, 16)
      with self.assertRaisesRegex(AssertionError, "traced > 1"):
        g.generate(params, z, 32, 16)                          # a new shape compiles again

  def test_generate_from_w_and_truncated(self):
    g, params = build(helpers.tiny_model())
    z = g.sample_z(jax.random.key(1), 3)
    w = g.hidden(params, z)
    np.testing.assert_allclose(g.generate(params, w=w), g.generate(params, z), atol=1e-6)
    w_mean = jnp.mean(w, 0)
    # psi=0.5 from z equals the untruncated render of the hand-truncated w (numpy arithmetic).
    w_half = jnp.asarray(np.asarray(w_mean) + 0.5 * (np.asarray(w) - np.asarray(w_mean)))
    np.testing.assert_allclose(g.generate(params, z, w_mean=w_mean, psi=0.5),
                               g.render(params, g.theta_from_hidden(params, w_half)), atol=1e-5)
    with self.assertRaisesRegex(ValueError, "exactly one of z"):
      g.generate(params, z, w=w)
    with self.assertRaisesRegex(ValueError, "exactly one of z"):
      g.generate(params)


if __name__ == "__main__":
  absltest.main()
