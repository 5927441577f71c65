"""Generator evaluation: the metric pipeline end to end, UpsampledFID, the CLI entry point,
the periodic-eval hook and feature-net files."""
import json
import os
import tempfile

from absl.testing import absltest
import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
from jax.sharding import Mesh

from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.utils import image_utils
from inr_gan_jax.metrics import evaluator as evaluator_lib
from inr_gan_jax.metrics import feature_nets
from inr_gan_jax.metrics import generated
from inr_gan_jax.metrics import upsampled_fid
from inr_gan_jax import evaluate
from tests import helpers


class _Source:
  """A minimal in-memory data source (len / get)."""

  def __init__(self, images):
    self.images, self.resolution = images, images.shape[1]

  def __len__(self):
    return len(self.images)

  def get(self, indices):
    return self.images[np.asarray(indices)]


def _one_device_mesh():
  # Sharding itself is tested in test_metrics_stats; one device compiles faster.
  return Mesh(np.array(jax.devices()[:1]), ("data",))


def _tiny_feature_net(directory):
  cfg = feature_nets.classifier_config(widths=[4, 8], feature_dim=6, input_size=16)
  model = feature_nets.build_cnn(cfg)
  params = jax.jit(model.init)(jax.random.key(1), jnp.zeros((1, 16, 16, 3)))["params"]
  path = os.path.join(directory, "net.msgpack")
  feature_nets.save_classifier(path, params, cfg, {"note": "random, for tests"})
  return path, model, params


def _reference_fid(a, b):
  """pytorch-fid's formula with scipy's sqrtm (independent of frechet.py)."""
  # Dead ReLU units (zero in both sets) add nothing to FD but make scipy's sqrtm singular.
  live = (a.std(0) > 0) | (b.std(0) > 0) | (a.mean(0) != b.mean(0))
  a, b = a[:, live], b[:, live]
  mu1, mu2 = a.mean(0), b.mean(0)
  s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2)
               - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2)).real)


class EvaluatorTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.tmp = tempfile.TemporaryDirectory()
    cls.net_path, cls.model, cls.net_params = _tiny_feature_net(cls.tmp.name)
    cls.g = generator_lib.Generator(helpers.tiny_model())
    cls.params = jax.jit(cls.g.init)(jax.random.key(0))

  @classmethod
  def tearDownClass(cls):
    cls.tmp.cleanup()
    super().tearDownClass()

  def test_parse_metrics(self):
    specs = evaluator_lib.parse_metrics(["fid50k", "kid2k", "upsampled_fid10k"])
    self.assertEqual([(s.kind, s.num) for s in specs],
                     [("fid", 50000), ("kid", 2000), ("upsampled_fid", 10000)])
    self.assertEqual(evaluator_lib.parse_metrics(["fid50k"], num_samples=40)[0].num, 40)
    with self.assertRaisesRegex(ValueError, "unknown metric 'is50k'"):
      evaluator_lib.parse_metrics(["is50k"])

  def test_fid_matches_independent_pipeline(self):
    net = feature_nets.classifier(self.net_path)
    rng = np.random.default_rng(0)
    reals = rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8)
    ev = evaluator_lib.Evaluator(net, None, batch_size=16, source_override={16: _Source(reals)},
                                 seed=3, mesh=_one_device_mesh())
    got = ev.evaluate(evaluator_lib.parse_metrics(["fid1k"], num_samples=24), self.g, self.params)
    # Reference: public generate(), image_utils.to_uint8, the model itself, scipy.
    zs = list(generated.latent_batches(self.g, 24, 16, seed=3))
    fakes = np.concatenate([image_utils.to_uint8(np.asarray(self.g.generate(self.params, z)))
                            for z in zs])
    feats = lambda u8: np.asarray(self.model.apply({"params": self.net_params},
                                                   jnp.asarray(u8, jnp.float32) / 127.5 - 1)[0],
                                  np.float64)
    # Real statistics use the first min(N, len(source)) = 24 real images.
    np.testing.assert_allclose(got["fid1k"], _reference_fid(feats(reals[:24]), feats(fakes)),
                               rtol=1e-3)
    self.assertEqual(got["fid1k_num_real"], 24)

  def test_same_images_give_zero_fid_and_kid_reported(self):
    net = feature_nets.classifier(self.net_path)
    fakes = np.concatenate(list(generated.sample_batches(self.g, self.params, 32, 16, 16, seed=5)))
    ev = evaluator_lib.Evaluator(net, None, batch_size=16, source_override={16: _Source(fakes)},
                                 seed=5, mesh=_one_device_mesh())
    got = ev.evaluate(evaluator_lib.parse_metrics(["fid1k", "kid1k"], num_samples=32),
                      self.g, self.params)
    self.assertLess(got["fid1k"], 1e-6)
    self.assertIn("kid1k_std", got)
    self.assertTrue(np.isfinite(got["kid1k"]))

  def test_truncated_samples(self):
    """sample_batches at psi=0 draws the mean image for every latent; psi=1 the plain G."""
    w_avg = jnp.mean(self.g.hidden(self.params, self.g.sample_z(jax.random.key(9), 64)), 0)
    plain = np.concatenate(list(generated.sample_batches(self.g, self.params, 6, 4, 16, seed=2)))
    z = jnp.concatenate(list(generated.latent_batches(self.g, 6, 4, seed=2)))
    ref = np.asarray(generated.to_uint8(self.g(self.params, z, 16, 16)), np.int32)  # eager, unjitted
    ref = np.repeat(ref, 3, -1) if ref.shape[-1] == 1 else ref
    self.assertLessEqual(np.abs(plain.astype(np.int32) - ref).max(), 1)  # rounding of float noise
    at_mean = np.concatenate(list(generated.sample_batches(
        self.g, self.params, 6, 4, 16, seed=2, w_avg=w_avg, truncation_psi=0.0)))
    np.testing.assert_array_equal(at_mean, np.broadcast_to(at_mean[:1], at_mean.shape))
    with self.assertRaisesRegex(ValueError, "w_mean"):
      next(generated.sample_batches(self.g, self.params, 4, 4, 16, truncation_psi=0.5))

  def test_upsampled_fid_table(self):
    net = feature_nets.classifier(self.net_path)
    rng = np.random.default_rng(1)
    reals32 = rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    ev = evaluator_lib.Evaluator(net, None, batch_size=8, source_override={32: _Source(reals32)},
                                 mesh=_one_device_mesh())
    res = upsampled_fid.upsampled_fid(ev, self.g, self.params, 12)
    self.assertEqual(res["resolution"], 32)
    self.assertEqual(set(res["fid"]), set(upsampled_fid.METHODS))
    self.assertTrue(all(np.isfinite(v) and v >= 0 for v in res["fid"].values()))
    self.assertIn("| bicubic |", upsampled_fid.format_table(res))
    with tempfile.TemporaryDirectory() as d:  # Fig. 10's bars, one per method
      png = os.path.join(d, "m_upsampled_fid.png")
      evaluate.save_upsampled_fid_bars(png, res)
      self.assertGreater(os.path.getsize(png), 1000)
    small = rng.integers(0, 256, (2, 5, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(upsampled_fid.upsample(small, "nearest"),
                                  small.repeat(2, axis=1).repeat(2, axis=2))
    # Bilinear 2x with half-pixel centres: interior outputs are 3/4-1/4 blends.
    lin = upsampled_fid.upsample(small, "bilinear").astype(float)
    np.testing.assert_allclose(lin[:, 1, 0], np.round(0.75 * small[:, 0, 0] + 0.25 * small[:, 1, 0]),
                               atol=1)


class FeatureNetFilesTest(absltest.TestCase):

  def test_errors_are_clear(self):
    with self.assertRaisesRegex(ValueError, "pt_inception-2015-12-05-6726825d.pth"):
      feature_nets.from_flags("", "")
    with self.assertRaisesRegex(ValueError, "not both"):
      feature_nets.from_flags("a.pth", "b.msgpack")
    with self.assertRaisesRegex(FileNotFoundError, "train_feature_net"):
      feature_nets.classifier("/nonexistent/net.msgpack")
    with tempfile.TemporaryDirectory() as d:
      bad = os.path.join(d, "bad.msgpack")
      with open(bad, "wb") as f:
        f.write(b"\xc1 garbage")
      with self.assertRaisesRegex(ValueError, "not a feature net file"):
        feature_nets.classifier(bad)

  def test_round_trip_and_name_tracks_weights(self):
    with tempfile.TemporaryDirectory() as d:
      path, model, params = _tiny_feature_net(d)
      net = feature_nets.classifier(path)
      x = jnp.linspace(-1, 1, 2 * 16 * 16 * 3).reshape(2, 16, 16, 3)
      np.testing.assert_array_equal(net.apply_fn(net.params, x),
                                    model.apply({"params": params}, x)[0])
      cfg = feature_nets.classifier_config(widths=[4, 8], feature_dim=6, input_size=16)
      other = jax.tree.map(lambda a: a + 1, params)
      feature_nets.save_classifier(path, other, cfg, {})
      self.assertNotEqual(feature_nets.classifier(path).name, net.name)  # new cache key


class CheckpointEvaluationTest(absltest.TestCase):
  """evaluate() on a real checkpoint: JSON next to it, cache reuse, periodic hook."""

  def test_evaluate_checkpoint_and_periodic(self):
    try:
      from inr_gan_jax import data as data_lib
      data_lib.build_source  # noqa: B018
    except (ImportError, AttributeError):
      self.skipTest("inr_gan_jax.data.build_source is not available yet")
    from inr_gan_jax.checkpoints import checkpointing
    from inr_gan_jax import evaluate
    from inr_gan_jax.train import step as train_step
    from inr_gan_jax.metrics import periodic
    config = helpers.tiny_train_config()
    with tempfile.TemporaryDirectory() as workdir:
      net_path, _, _ = _tiny_feature_net(workdir)
      trainer = train_step.Trainer(config, Mesh(np.array(jax.devices()[:1]), ("data",)))
      state = trainer.create_state(config.seed)
      with checkpointing.TrainCheckpointer(checkpointing.checkpoint_dir(workdir)) as ckpt:
        ckpt.save(2, state, {"step": 2, "config": json.loads(config.to_json_best_effort())},
                  force=True)
      rec = evaluate.evaluate(workdir, ["fid1k", "kid1k"], feature_net=net_path,
                              num_samples=24, batch_size=8)
      out = os.path.join(workdir, "checkpoints", "metrics_step2.json")
      with open(out) as f:
        saved = json.load(f)
      self.assertEqual(saved["runs"][0]["metrics"]["fid1k"], rec["metrics"]["fid1k"])
      self.assertEqual(rec["step"], 2)
      self.assertEqual(checkpointing.list_steps(checkpointing.checkpoint_dir(workdir)), [2])
      cached = os.listdir(os.path.join(workdir, "metrics_cache"))
      self.assertLen(cached, 1)
      self.assertIn(feature_nets.classifier(net_path).name, cached[0])
      # A second run with truncation: merged into the same file, real stats from cache.
      rec2 = evaluate.evaluate(workdir, ["fid1k"], feature_net=net_path, num_samples=24,
                               batch_size=8, truncation_psi=0.5)
      with open(out) as f:
        self.assertLen(json.load(f)["runs"], 2)
      self.assertNotEqual(rec2["metrics"]["fid1k"], rec["metrics"]["fid1k"])

      config.eval = {"metrics": "fid1k", "num_samples": 24, "feature_net": net_path,
                     "batch_size": 8}
      eval_fn = periodic.make_eval_fn(config, workdir)
      values = eval_fn(state["g_ema"], 2)
      np.testing.assert_allclose(values["eval/fid1k"], rec["metrics"]["fid1k"], rtol=1e-6)
      config.eval.unknown_key = 1
      with self.assertRaisesRegex(ValueError, "unknown_key"):
        periodic.make_eval_fn(config, workdir)


if __name__ == "__main__":
  absltest.main()
