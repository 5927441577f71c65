"""Mode-coverage metric: closed forms, brute-force k-NN references, the evaluator path."""
import unittest

import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import parameterized

from inr_gan_jax.metrics import coverage
from inr_gan_jax.metrics import evaluator as evaluator_lib
from inr_gan_jax.metrics import feature_nets
from tests import helpers


def brute_force(real, fake, k):
  """Naeem et al.'s definitions written out with explicit loops."""
  def dist(a, b):
    return float(np.sqrt(np.sum((a - b) ** 2)))
  radii = []
  for i, r in enumerate(real):
    d = sorted(dist(r, o) for j, o in enumerate(real) if j != i)
    radii.append(d[k - 1])
  cov = np.mean([any(dist(f, r) < radii[i] for f in fake) for i, r in enumerate(real)])
  dens = sum(dist(f, r) < radii[i] for f in fake for i, r in enumerate(real)) / (k * len(fake))
  return radii, cov, dens


class ClassHistogramTest(parameterized.TestCase):

  @parameterized.named_parameters(
      ("uniform", [0, 1, 2, 3] * 5, 4, 1.0),
      ("one_class", [2] * 9, 4, 0.0),
      ("two_of_four", [0, 1] * 6, 4, 0.5),       # log 2 / log 4
  )
  def test_normalized_entropy(self, preds, c, want):
    p = coverage.class_histogram(np.array(preds), c)
    self.assertAlmostEqual(p.sum(), 1.0)
    self.assertAlmostEqual(coverage.normalized_entropy(p), want, places=12)

  def test_total_variation_and_bad_input(self):
    self.assertAlmostEqual(coverage.total_variation([0.5, 0.5, 0], [0, 0.5, 0.5]), 0.5)
    with self.assertRaisesRegex(ValueError, "outside"):
      coverage.class_histogram(np.array([0, 5]), 3)

  def test_report_class_numbers(self):
    rng = np.random.default_rng(0)
    real_logits = np.eye(4)[np.arange(400) % 4] + 0.01 * rng.normal(size=(400, 4))
    fake_logits = np.eye(4)[np.array([0] * 150 + [1] * 150 + [2] * 100)]
    feats = rng.normal(size=(400, 3))
    r = coverage.report(feats, feats[:400], real_logits, fake_logits)
    self.assertAlmostEqual(r["real_class_entropy"], 1.0, places=6)
    p = np.array([0.375, 0.375, 0.25, 0.0])
    self.assertAlmostEqual(r["class_entropy"], -np.sum(p[:3] * np.log(p[:3])) / np.log(4))
    self.assertEqual(r["classes_present"], 3)                # class 3 missing
    self.assertAlmostEqual(r["class_tv"], 0.25)
    self.assertAlmostEqual(r["class_hist/2"], 0.25)


class KnnTest(parameterized.TestCase):

  @parameterized.parameters((1,), (3,), (5,))
  def test_matches_brute_force(self, k):
    rng = np.random.default_rng(k)
    real = rng.normal(size=(40, 3))
    fake = rng.normal(size=(25, 3)) * 1.5 + 0.3
    radii, cov, dens = brute_force(real, fake, k)
    np.testing.assert_allclose(coverage.knn_radii(real, k), radii, rtol=1e-9)
    got = coverage.coverage_density(real, fake, k)
    self.assertAlmostEqual(got["knn_coverage"], cov)
    self.assertAlmostEqual(got["knn_density"], dens)

  def test_collapsed_generator_covers_little(self):
    rng = np.random.default_rng(0)
    real = rng.normal(size=(500, 2))
    spread = coverage.coverage_density(real, rng.normal(size=(500, 2)))
    collapsed = coverage.coverage_density(real, 0.05 * rng.normal(size=(500, 2)))
    self.assertGreater(spread["knn_coverage"], 0.9)
    self.assertLess(collapsed["knn_coverage"], 0.1)

  def test_chunking_does_not_change_results(self):
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(300, 4)), rng.normal(size=(200, 4))
    want = coverage.coverage_density(real, fake)
    old = coverage._CHUNK
    try:
      coverage._CHUNK = 7
      got = coverage.coverage_density(real, fake)
    finally:
      coverage._CHUNK = old
    self.assertEqual(got, want)


class EvaluatorCoverageTest(unittest.TestCase):

  def test_metric_through_evaluator_with_classifier_head(self):
    from inr_gan_jax.model import generator as generator_lib
    g = generator_lib.Generator(helpers.tiny_model())
    params = jax.jit(g.init)(jax.random.key(0))
    # A 'classifier' whose class is the brightness bin of the mean pixel: an independent,
    # checkable labelling of real and generated images.
    feats = lambda p, x: jnp.mean(x, axis=(1, 2))                          # [B, 3]
    logits = lambda p, x: -jnp.abs(jnp.mean(x, axis=(1, 2, 3))[:, None]
                                   - jnp.linspace(-1, 1, 4)[None, :])      # [B, 4]
    net = feature_nets.FeatureNet("test-net", feats, {}, 3, logits_fn=logits)

    class Source:
      def __init__(self, images):
        self.images = images

      def __len__(self):
        return len(self.images)

      def get(self, idx):
        return self.images[idx]

    rng = np.random.default_rng(0)
    reals = rng.integers(0, 256, (64, 16, 16, 3), dtype=np.uint8)
    ev = evaluator_lib.Evaluator(net, None, batch_size=16, source_override={16: Source(reals)})
    specs = evaluator_lib.parse_metrics(["coverage1k", "fid1k"], num_samples=48)
    out = ev.evaluate(specs, g, params)
    cov = out["coverage1k"]
    self.assertEqual(cov["num_real"], 48)
    # Reference: the same images generated directly and scored in numpy.
    from inr_gan_jax.metrics import generated
    fakes = np.concatenate(list(generated.sample_batches(g, params, 48, ev.batch_size, 16)))
    fake_f = fakes.astype(np.float64) / 127.5 - 1
    real_f = reals[:48].astype(np.float64) / 127.5 - 1
    want = coverage.report(real_f.mean(axis=(1, 2)), fake_f.mean(axis=(1, 2)),
                           -np.abs(real_f.mean(axis=(1, 2, 3))[:, None] - np.linspace(-1, 1, 4)),
                           -np.abs(fake_f.mean(axis=(1, 2, 3))[:, None] - np.linspace(-1, 1, 4)))
    for key, value in want.items():
      self.assertAlmostEqual(cov[key], value, places=5, msg=key)
    self.assertIn("fid1k", out)

  def test_unknown_metric_names_coverage(self):
    with self.assertRaisesRegex(ValueError, "coverage<N>k"):
      evaluator_lib.parse_metrics(["covrage10k"])


if __name__ == "__main__":
  unittest.main()
