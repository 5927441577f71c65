"""Tests for the GAN losses and the R1 penalty."""
from absl.testing import absltest
from absl.testing import parameterized
import chex
import jax
import jax.numpy as jnp
import numpy as np

from inr_gan_jax.train import discriminator as disc
from inr_gan_jax.train import losses

SHAPE = (4, 5, 5, 3)  # [B, H, W, C]


def _np_softplus(x):
  return np.logaddexp(0.0, np.asarray(x, np.float64))


def _np_sigmoid(x):
  return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def _quadratic_d(a):
  """D(x) = 0.5 * sum(a * x^2) per sample; grad_x D = a * x."""
  return lambda x: 0.5 * jnp.sum(a * jnp.square(x), axis=(1, 2, 3))


class LogisticLossTest(parameterized.TestCase):

  @parameterized.parameters(1.0, 30.0)
  def test_losses_match_numpy(self, scale):
    rng = np.random.default_rng(0)
    real = (scale * rng.normal(size=8)).astype(np.float32)
    fake = (scale * rng.normal(size=6)).astype(np.float32)
    np.testing.assert_allclose(
        losses.d_logistic_loss(real, fake),
        _np_softplus(fake).mean() + _np_softplus(-real).mean(), rtol=1e-5)
    np.testing.assert_allclose(losses.g_nonsaturating_loss(fake),
                               _np_softplus(-fake).mean(), rtol=1e-5)

  def test_optimum_direction(self):
    # A discriminator that is right with high confidence has near-zero loss.
    self.assertLess(float(losses.d_logistic_loss(jnp.full(4, 20.0),
                                                 jnp.full(4, -20.0))), 1e-8)
    self.assertAlmostEqual(
        float(losses.d_logistic_loss(jnp.zeros(4), jnp.zeros(4))),
        2 * np.log(2.0), places=6)


class R1PenaltyTest(parameterized.TestCase):

  def test_linear_discriminator_closed_form(self):
    rng = np.random.default_rng(1)
    w = rng.normal(size=SHAPE[1:]).astype(np.float32)
    x = rng.normal(size=SHAPE).astype(np.float32)
    d_apply = lambda x: jnp.sum(w * x, axis=(1, 2, 3)) + 0.3
    penalty, logits = losses.r1_penalty(d_apply, jnp.asarray(x))
    np.testing.assert_allclose(penalty, np.sum(w.astype(np.float64)**2),
                               rtol=1e-5)
    np.testing.assert_allclose(logits, np.sum(w * x, axis=(1, 2, 3)) + 0.3,
                               rtol=1e-5)

  def test_quadratic_discriminator_closed_form(self):
    rng = np.random.default_rng(2)
    a = rng.normal(size=SHAPE[1:]).astype(np.float32)
    x = rng.normal(size=SHAPE).astype(np.float32)
    penalty, _ = losses.r1_penalty(_quadratic_d(a), jnp.asarray(x))
    expected = np.mean(np.sum((a * x).astype(np.float64)**2, axis=(1, 2, 3)))
    np.testing.assert_allclose(penalty, expected, rtol=1e-5)

  def test_equals_per_sample_gradients_for_independent_samples(self):
    # With mbstd group size 1 the real discriminator scores samples
    # independently, so the summed-logits trick must equal per-sample grads.
    model = disc.Discriminator(16, channel_base=128, channel_max=16,
                               mbstd_group_size=1)
    x = jax.random.uniform(jax.random.key(0), (3, 16, 16, 3), minval=-1.0)
    # Params from eval_shape + numpy: compiling the init's RNG is slow on CPU.
    shapes = jax.eval_shape(model.init, jax.random.key(1), x)
    rng = np.random.default_rng(4)
    params = jax.tree.map(
        lambda s: jnp.asarray(rng.normal(size=s.shape), s.dtype), shapes)
    d_apply = lambda imgs: model.apply(params, imgs)

    penalty, logits = jax.jit(lambda x: losses.r1_penalty(d_apply, x))(x)
    one = lambda xi: d_apply(xi[None])[0]
    per_sample = jax.jit(jax.vmap(jax.grad(one)))(x)  # [B, 16, 16, 3]
    np.testing.assert_allclose(
        penalty, np.mean(np.sum(np.square(per_sample), axis=(1, 2, 3))),
        rtol=1e-4)
    np.testing.assert_allclose(logits, jax.jit(d_apply)(x), rtol=1e-5,
                               atol=1e-6)
    self.assertGreater(float(penalty), 0.0)

  def test_gradient_wrt_resblock_params_finite_difference(self):
    # R1's parameter gradient is a double backward through blur, the
    # polyphase stride-2 convs, lrelu and the skip path. lrelu kinks make R1
    # only piecewise smooth in the params: a central difference whose step
    # crosses a kink is off by jump / step. So use float64 and the median over
    # three steps (a wrong gradient disagrees at every step), along one random
    # direction. One ResBlock with a linear head keeps the compile short.
    with jax.enable_x64(True):
      block = disc.ResBlock(6)
      x = jax.random.uniform(jax.random.key(0), (2, 8, 8, 4), jnp.float64,
                             minval=-1.0)
      rng = np.random.default_rng(5)
      head = jnp.asarray(rng.normal(size=(4, 4, 6)))
      shapes = jax.eval_shape(block.init, jax.random.key(1), x)
      params = jax.tree.map(lambda s: jnp.asarray(rng.normal(size=s.shape)),
                            shapes)
      direction = jax.tree.map(lambda p: jnp.asarray(rng.normal(size=p.shape)),
                               params)

      def r1(p):
        d_apply = lambda im: jnp.sum(head * block.apply(p, im), axis=(1, 2, 3))
        return losses.r1_penalty(d_apply, x)[0]

      r1 = jax.jit(r1)
      analytic = sum(jnp.vdot(g, v) for g, v in zip(
          jax.tree.leaves(jax.jit(jax.grad(r1))(params)),
          jax.tree.leaves(direction)))
      shift = lambda s: jax.tree.map(lambda p, v: p + s * v, params, direction)
      numeric = np.median([(r1(shift(eps)) - r1(shift(-eps))) / (2 * eps)
                           for eps in (1e-4, 1e-5, 1e-6)])
      np.testing.assert_allclose(analytic, numeric, rtol=1e-5)
      self.assertGreater(abs(float(analytic)), 1e-3)

  def test_packed_discriminator_closed_form(self):
    # PacGAN: D(pack) = 0.5 sum over the pack's m images of sum a x^2. The pack is D's
    # input, so R1 is the mean over packs of the pack's squared gradient norm.
    rng = np.random.default_rng(4)
    a = rng.normal(size=SHAPE[1:]).astype(np.float32)
    x = rng.normal(size=SHAPE).astype(np.float32)
    m = 2
    d_apply = lambda im: jnp.sum(_quadratic_d(a)(im).reshape(-1, m), axis=1)  # [B / m]
    penalty, logits = losses.r1_penalty(d_apply, jnp.asarray(x))
    per_image = np.sum((a * x).astype(np.float64)**2, axis=(1, 2, 3))     # [B]
    np.testing.assert_allclose(penalty, per_image.reshape(-1, m).sum(1).mean(), rtol=1e-5)
    self.assertEqual(logits.shape, (SHAPE[0] // m,))

  def test_rejects_non_vector_logits(self):
    with self.assertRaisesRegex(ValueError, "logits of shape"):
      losses.r1_penalty(lambda x: jnp.sum(x, axis=(2, 3)), jnp.ones(SHAPE))
    with self.assertRaisesRegex(ValueError, "logits of shape"):  # 3 does not divide B = 4
      losses.r1_penalty(lambda x: jnp.sum(x, axis=(1, 2, 3))[:3], jnp.ones(SHAPE))


class DLossWithR1Test(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.default_rng(3)
    self.a = rng.normal(size=SHAPE[1:]).astype(np.float32)
    self.reals = rng.normal(size=SHAPE).astype(np.float32)
    self.fakes = rng.normal(size=SHAPE).astype(np.float32)

  def _np_loss(self, gamma, interval, apply_r1):
    """loss = logistic + apply * gamma/2 * interval * mean_i sum (a x_i)^2."""
    a, xr, xf = (v.astype(np.float64) for v in (self.a, self.reals, self.fakes))
    d_real = 0.5 * np.sum(a * xr**2, axis=(1, 2, 3))
    d_fake = 0.5 * np.sum(a * xf**2, axis=(1, 2, 3))
    logistic = _np_softplus(d_fake).mean() + _np_softplus(-d_real).mean()
    r1 = np.mean(np.sum((a * xr)**2, axis=(1, 2, 3))) if apply_r1 else 0.0
    return logistic + 0.5 * gamma * interval * r1, logistic, r1, d_real, d_fake

  @parameterized.product(interval=[1, 4, 16], apply_r1=[True, False])
  def test_matches_numpy_with_lazy_scaling(self, interval, apply_r1):
    gamma = 0.7
    loss, aux = losses.d_loss_with_r1(
        _quadratic_d(self.a), self.reals, self.fakes, r1_gamma=gamma,
        r1_interval=interval, apply_r1=apply_r1)
    ref, logistic, r1, d_real, d_fake = self._np_loss(gamma, interval, apply_r1)
    np.testing.assert_allclose(loss, ref, rtol=1e-5)
    np.testing.assert_allclose(aux["d_loss_logistic"], logistic, rtol=1e-5)
    np.testing.assert_allclose(aux["r1"], r1, rtol=1e-5)
    np.testing.assert_allclose(aux["d_real"], d_real.mean(), rtol=1e-5)
    np.testing.assert_allclose(aux["d_fake"], d_fake.mean(), rtol=1e-5)

  def test_lazy_term_is_linear_in_interval(self):
    run = lambda k: losses.d_loss_with_r1(
        _quadratic_d(self.a), self.reals, self.fakes, 1.0, r1_interval=k)
    (loss1, aux1), (loss8, aux8) = run(1), run(8)
    np.testing.assert_allclose(loss8 - aux8["d_loss_logistic"],
                               8 * (loss1 - aux1["d_loss_logistic"]), rtol=1e-5)

  def test_gradient_wrt_d_params_closed_form(self):
    # Differentiates through R1 (a gradient of a gradient) w.r.t. `a`.
    gamma = 2.0

    def loss_fn(a):
      return losses.d_loss_with_r1(_quadratic_d(a), self.reals, self.fakes,
                                   gamma)[0]

    grad = jax.grad(loss_fn)(jnp.asarray(self.a))
    a, xr, xf = (v.astype(np.float64) for v in (self.a, self.reals, self.fakes))
    b = SHAPE[0]
    d_real = 0.5 * np.sum(a * xr**2, axis=(1, 2, 3))[:, None, None, None]
    d_fake = 0.5 * np.sum(a * xf**2, axis=(1, 2, 3))[:, None, None, None]
    # d/da softplus(D) = sigmoid(D) x^2 / 2,
    # d/da softplus(-D) = -sigmoid(-D) x^2 / 2,
    # d/da of gamma/2 * mean_i sum a^2 x_i^2 = gamma * a * mean_i x_i^2.
    ref = (np.sum(_np_sigmoid(d_fake) * 0.5 * xf**2, axis=0) / b
           - np.sum(_np_sigmoid(-d_real) * 0.5 * xr**2, axis=0) / b
           + gamma * a * np.mean(xr**2, axis=0))
    np.testing.assert_allclose(grad, ref, rtol=1e-4, atol=1e-6)

  def test_traced_flag_matches_static_and_compiles_once(self):
    @jax.jit
    @chex.assert_max_traces(n=1)  # a traced apply_r1 must not retrace per step
    def step(a, reals, fakes, step_index):
      return losses.d_loss_with_r1(_quadratic_d(a), reals, fakes, 0.5,
                                   r1_interval=4,
                                   apply_r1=step_index % 4 == 0)

    for i in range(3):
      loss, aux = step(self.a, self.reals, self.fakes, i)
      ref, *_ = self._np_loss(0.5, 4, apply_r1=i % 4 == 0)
      np.testing.assert_allclose(loss, ref, rtol=1e-5)
      self.assertEqual(float(aux["r1"]) > 0, i % 4 == 0)

  @parameterized.parameters(dict(r1_gamma=-1.0, r1_interval=1),
                            dict(r1_gamma=1.0, r1_interval=0),
                            dict(r1_gamma=1.0, r1_interval=2.5))
  def test_bad_settings(self, r1_gamma, r1_interval):
    with self.assertRaisesRegex(ValueError, "r1_"):
      losses.d_loss_with_r1(_quadratic_d(self.a), self.reals, self.fakes,
                            r1_gamma, r1_interval=r1_interval)


class FeatureMatchingTest(absltest.TestCase):

  def test_matches_numpy_and_ignores_the_order_within_a_batch(self):
    rng = np.random.default_rng(3)
    real = rng.normal(size=(6, 5)).astype(np.float32)
    fake = rng.normal(size=(4, 5)).astype(np.float32)
    want = np.mean([(real[:, k].mean() - fake[:, k].mean()) ** 2 for k in range(5)])
    got = losses.feature_matching(jnp.asarray(real), jnp.asarray(fake))
    np.testing.assert_allclose(float(got), want, rtol=1e-5)
    self.assertAlmostEqual(float(losses.feature_matching(real, real[::-1])), 0.0, places=10)


class InfoLossTest(absltest.TestCase):
  """InfoGAN's Q head and cross-entropy against numpy."""

  def test_q_head_and_cross_entropy_match_numpy(self):
    rng = np.random.default_rng(4)
    q = losses.q_head_init(jax.random.key(0), 6, 4)
    self.assertEqual((q["kernel"].shape, q["bias"].shape), ((6, 4), (4,)))
    q = {"kernel": q["kernel"], "bias": jnp.asarray(rng.normal(size=4), jnp.float32)}
    f = rng.normal(size=(5, 6)).astype(np.float32)
    codes = np.array([0, 3, 1, 1, 2])
    logits = f.astype(np.float64) @ np.asarray(q["kernel"], np.float64) / np.sqrt(6) + np.asarray(
        q["bias"], np.float64)
    got = losses.q_head_apply(q, jnp.asarray(f))
    np.testing.assert_allclose(np.asarray(got), logits, rtol=1e-5, atol=1e-6)
    log_p = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    want = -np.mean(log_p[np.arange(5), codes])
    np.testing.assert_allclose(float(losses.info_loss(got, jnp.asarray(codes))), want, rtol=1e-5)
    # Uniform logits: log K, the bound's zero of information.
    np.testing.assert_allclose(float(losses.info_loss(jnp.zeros((5, 4)), jnp.asarray(codes))),
                               np.log(4.0), rtol=1e-6)


class DiversityRatioTest(parameterized.TestCase):
  """The diversity-sensitive term against a numpy loop over pairs."""

  @parameterized.parameters(dict(tau=0.0), dict(tau=0.3))
  def test_matches_numpy(self, tau):
    rng = np.random.default_rng(0)
    images = rng.normal(size=(6, 4, 4, 3)).astype(np.float32)
    z = rng.normal(size=(6, 5)).astype(np.float32)
    ref = []
    for i in range(3):  # sample i is paired with sample i + B/2
      r = np.mean(np.abs(images[i] - images[i + 3])) / np.mean(np.abs(z[i] - z[i + 3]))
      ref.append(min(r, tau) if tau else r)
    np.testing.assert_allclose(losses.diversity_ratio(jnp.asarray(images), jnp.asarray(z), tau),
                               np.mean(ref), rtol=1e-5)

  def test_collapsed_generator_scores_zero_and_gradient_separates(self):
    z = jnp.asarray(np.random.default_rng(1).normal(size=(4, 3)), jnp.float32)
    same = jnp.ones((4, 2, 2, 1))
    self.assertEqual(float(losses.diversity_ratio(same, z)), 0.0)
    # d ratio / d images pushes each pair apart: a step along the gradient raises the ratio.
    images = same + 0.01 * jnp.asarray(np.random.default_rng(2).normal(size=same.shape))
    g = jax.grad(lambda x: losses.diversity_ratio(x, z))(images)
    self.assertGreater(float(losses.diversity_ratio(images + 0.01 * g, z)),
                       float(losses.diversity_ratio(images, z)))

  @parameterized.parameters(
      # (weight, fade_kimg, images seen, expected): constant without a fade; linear to 0 at
      # fade_kimg thousand images, and 0 after.
      (4.0, 0.0, 10 ** 6, 4.0), (4.0, 64.0, 0, 4.0), (4.0, 64.0, 16000, 3.0),
      (4.0, 64.0, 32000, 2.0), (4.0, 64.0, 64000, 0.0), (4.0, 64.0, 200000, 0.0))
  def test_weight_fades_linearly(self, weight, fade_kimg, seen, expected):
    got = losses.diversity_weight_at(weight, fade_kimg, jnp.asarray(seen, jnp.int32))
    self.assertAlmostEqual(float(got), expected, places=6)

  def test_odd_batch_is_rejected(self):
    with self.assertRaisesRegex(ValueError, "even batch"):
      losses.diversity_ratio(jnp.zeros((3, 2, 2, 1)), jnp.zeros((3, 2)))


if __name__ == "__main__":
  absltest.main()
