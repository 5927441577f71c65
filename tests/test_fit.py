"""Tests for the INR fitting toolkit (inr_gan_jax.fit)."""
import json
import math
import os
import shutil
import tempfile

from absl.testing import absltest
from absl.testing import parameterized
import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image

from inr_gan_jax.model import coords
from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.utils import image_utils
from inr_gan_jax.fit import __main__ as fit_cli
from inr_gan_jax.fit import config as fit_config
from inr_gan_jax.fit import analysis
from inr_gan_jax.fit import autodecoder
from inr_gan_jax.fit import data as data_lib
from inr_gan_jax.fit import engine
from inr_gan_jax.fit import image_set
from inr_gan_jax.fit import models
from inr_gan_jax.fit import objectives
from inr_gan_jax.fit import project
from tests import helpers


class FitSingleTest(parameterized.TestCase):

  @parameterized.parameters(
      ("ffn", 3e-3, dict(width=64, depth=2, num_fourier=32, fourier_scale=2.0)),
      ("siren", 1e-3, dict(width=64, depth=2, omega0=30.0)))
  def test_reaches_psnr_on_smooth_image(self, kind, lr, kw):
    size = 16
    img = data_lib.synthetic_image(size, seed=1)  # [16, 16, 3]
    targets = img.reshape(1, -1, 3)
    model = image_set.MLPImageSet(models.MLPSpec(kind=kind, **kw), 1, size)
    params = model.init(jax.random.PRNGKey(0))
    p0 = objectives.psnr(np.asarray(model.render(params, model.codes(params), size, size)), img[None])
    params, _ = engine.fit(model.predict, params, targets, np.arange(size * size)[None],
                           num_steps=300, lr=lr, images_per_step=1,
                           pixels_per_image=size * size, lr_decay=False)
    recon = np.asarray(model.render(params, model.codes(params), size, size))[0]
    p1 = objectives.psnr(recon, img)
    self.assertGreater(p1, 35.0, f"{kind}: {p0:.1f} -> {p1:.1f} dB")
    self.assertLess(p0, 20.0)


class HeldOutTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.n, self.size = 3, 8
    p = self.size * self.size
    self.train_index, self.heldout_index = objectives.holdout_split(
        np.random.default_rng(0), self.n, p, 0.25)
    spec = models.MLPSpec(kind="ffn", width=16, depth=2, num_fourier=8, code_dim=1)
    self.model = image_set.MLPImageSet(spec, self.n, self.size, "index")
    self.params = self.model.init(jax.random.PRNGKey(0))
    self.targets = jnp.asarray(np.random.default_rng(1).uniform(-1, 1, (self.n, p, 3)), jnp.float32)

  def test_split_is_a_partition(self):
    self.assertEqual(self.heldout_index.shape, (self.n, 16))
    for tr, ho in zip(self.train_index, self.heldout_index):
      np.testing.assert_array_equal(np.sort(np.concatenate([tr, ho])), np.arange(64))
    # Per-image splits are independent draws.
    self.assertFalse(np.array_equal(self.heldout_index[0], self.heldout_index[1]))

  def _heldout_mask(self):
    mask = np.zeros(self.targets.shape[:2], bool)
    np.put_along_axis(mask, self.heldout_index, True, axis=1)
    return mask

  def test_gradient_wrt_heldout_targets_is_zero(self):
    mask = self._heldout_mask()
    ti = jnp.asarray(self.train_index)
    for pixels in (10_000, 8):  # full batch, then sampled pixel batches
      def loss(targets, key):
        ids, pix = engine.sample_batch(key, ti, self.n, pixels)
        return engine.batch_loss(self.model.predict, self.params, targets, ids, pix)
      for seed in range(3):
        g = np.asarray(jax.grad(loss)(self.targets, jax.random.PRNGKey(seed)))  # [N, P, 3]
        self.assertTrue(np.all(g[mask] == 0.0))
        self.assertGreater(np.count_nonzero(g[~mask]), 0)
    g = np.asarray(jax.grad(lambda t: objectives.masked_mse(
        self.model.predict(self.params, jnp.arange(self.n),
                           jnp.tile(jnp.arange(64), (self.n, 1))), t, ti))(self.targets))
    self.assertTrue(np.all(g[mask] == 0.0))
    self.assertTrue(np.all(g[~mask] != 0.0))

  def test_changing_heldout_targets_leaves_loss_unchanged(self):
    mask = self._heldout_mask()
    other = jnp.where(mask[..., None], 5.0, self.targets)
    ti = jnp.asarray(self.train_index)
    for pixels in (10_000, 8):
      ids, pix = engine.sample_batch(jax.random.PRNGKey(3), ti, 2, pixels)
      a = engine.batch_loss(self.model.predict, self.params, self.targets, ids, pix)
      b = engine.batch_loss(self.model.predict, self.params, other, ids, pix)
      self.assertEqual(float(a), float(b))


class CodesTest(parameterized.TestCase):

  @parameterized.parameters(1, 2, 5, 100)
  def test_index_and_binary_are_distinct(self, n):
    idx = models.image_codes("index", n)
    self.assertEqual(idx.shape, (n, 1))
    self.assertEqual(len(np.unique(idx, axis=0)), n)
    self.assertTrue(np.all(np.abs(idx) <= 1))
    if n > 1:
      np.testing.assert_allclose(idx[:, 0], np.linspace(-1, 1, n), atol=1e-6)
    binary = models.image_codes("binary", n)
    k = max(1, math.ceil(math.log2(max(n, 2))))
    self.assertEqual(binary.shape, (n, k))
    self.assertEqual(len(np.unique(binary, axis=0)), n)
    # Reference: read the bits back as an integer.
    back = ((binary > 0).astype(int) * (2 ** np.arange(k))).sum(1)
    np.testing.assert_array_equal(back, np.arange(n))

  def test_network_inputs_differ_per_image(self):
    spec = models.MLPSpec(kind="siren", width=8, depth=1, code_dim=3)
    model = image_set.MLPImageSet(spec, 5, 4, "binary")
    params = model.init(jax.random.PRNGKey(0))
    out = model.predict(params, jnp.arange(5), jnp.tile(jnp.arange(16), (5, 1)))  # [5, 16, 3]
    flat = np.asarray(out).reshape(5, -1)
    self.assertEqual(len(np.unique(flat.round(6), axis=0)), 5)

  def test_bad_code_kind(self):
    with self.assertRaisesRegex(ValueError, "code kind"):
      models.image_codes("onehot", 3)
    with self.assertRaisesRegex(ValueError, "code_fourier_scale"):
      models.MLPSpec(kind="siren", code_dim=1, code_fourier_scale=2.0)

  @parameterized.parameters(0.0, 3.0)
  def test_code_in_or_beside_fourier_features_matches_numpy(self, cfs):
    spec = models.MLPSpec(kind="ffn", width=6, depth=2, num_fourier=5, fourier_scale=2.0,
                          code_dim=1, code_fourier_scale=cfs)
    params = models.init(spec, jax.random.PRNGKey(1))
    pts = np.random.default_rng(0).uniform(0, 1, (7, 2)).astype(np.float32)
    code = np.array([0.4], np.float32)
    got = np.asarray(models.apply(spec, params, jnp.asarray(pts), jnp.asarray(code)))
    w = np.asarray(params["fourier"]["w"], np.float64)
    self.assertEqual(w.shape, (5, 3 if cfs else 2))
    inp = np.concatenate([pts, np.tile(code, (7, 1))], 1) if cfs else pts
    proj = inp @ w.T
    h = np.concatenate([np.sin(proj), np.cos(proj)], 1)
    if not cfs:
      h = np.concatenate([h, np.tile(code, (7, 1))], 1)  # the raw code beside the features
    for lyr in params["hidden"]:
      h = np.maximum(h @ np.asarray(lyr["w"], np.float64).T + np.asarray(lyr["bias"]), 0)
    want = h @ np.asarray(params["to_rgb"]["w"], np.float64).T + np.asarray(params["to_rgb"]["bias"])
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5)
    if cfs:  # the code columns of the frequency matrix use their own scale
      self.assertGreater(np.std(w[:, 2]), np.std(w[:, :2]))


class AutoScaleTest(absltest.TestCase):

  def test_auto_fourier_scale_follows_size(self):
    from inr_gan_jax.fit import modes
    self.assertEqual(modes.auto_scale(0.0, 48), 2.0)
    self.assertEqual(modes.auto_scale(0.0, 240), 10.0)
    self.assertEqual(modes.auto_scale(3.5, 48), 3.5)  # an explicit scale is kept
    with self.assertRaisesRegex(ValueError, "fourier_scale"):
      modes.auto_scale(-1.0, 48)
    args = fit_config.from_args(["--mode=memorize", "--out=x", "--size=96"])
    spec = modes.mlp_spec(args, "ffn", code_dim=1)
    self.assertEqual((spec.fourier_scale, spec.code_fourier_scale), (4.0, 0.0))

  def test_typed_config_is_what_the_command_line_builds(self):
    # Library callers build the FitConfig directly; the parser gives the same typed value.
    parsed = fit_config.from_args(["--mode=project", "--out=x", "--size=96", "--holdout=0.25",
                                   "--space=z"])
    self.assertEqual(parsed, fit_config.FitConfig(mode="project", out="x", size=96, holdout=0.25,
                                                  space="z"))
    self.assertIsInstance(parsed.holdout, float)
    with self.assertRaises(SystemExit):  # argparse rejects a value outside the choices
      fit_config.from_args(["--mode=project", "--out=x", "--space=q"])


class RenderTest(absltest.TestCase):

  def test_coords_grid_matches_core(self):
    got = image_set.coords_grid(5, 7, jnp.asarray((-0.5, 0.0, 1.5, 2.0)))
    np.testing.assert_allclose(got, coords.pixel_grid(5, 7, (-0.5, 0.0, 1.5, 2.0)).reshape(-1, 2),
                               atol=1e-6)

  def test_upsampled_render_shapes(self):
    model = image_set.MLPImageSet(models.MLPSpec(width=8, depth=1, num_fourier=4, code_dim=1),
                                  3, 8, "index")
    params = model.init(jax.random.PRNGKey(0))
    self.assertEqual(analysis.render_all(model, params, model.codes(params), 40, 24, chunk=2).shape,
                     (3, 40, 24, 3))
    ad = autodecoder.AutoDecoderImageSet(
        autodecoder.autodecoder_config(8, latent_dim=4, hyper_width=16, width=8, depth=2,
                                       num_fourier=4, fmm_rank=2), 3, 8)
    ap = ad.init(jax.random.PRNGKey(0))
    self.assertEqual(ad.render(ap, ad.codes(ap), 32, 32).shape, (3, 32, 32, 3))

  def test_autodecoder_predict_matches_render(self):
    ad = autodecoder.AutoDecoderImageSet(
        autodecoder.autodecoder_config(8, latent_dim=4, hyper_width=16, width=8, depth=2,
                                       num_fourier=4, fmm_rank=2), 3, 8)
    params = ad.init(jax.random.PRNGKey(1))
    full = np.asarray(ad.render(params, ad.codes(params), 8, 8)).reshape(3, 64, 3)
    pix = jnp.asarray([[0, 5, 63], [7, 8, 9]])
    sub = np.asarray(ad.predict(params, jnp.asarray([2, 0]), pix))  # [2, 3, 3]
    np.testing.assert_allclose(sub, full[[2, 0]][np.arange(2)[:, None], np.asarray(pix)],
                               atol=1e-5)


class SirenInitTest(absltest.TestCase):

  def test_uniform_bounds(self):
    spec = models.MLPSpec(kind="siren", width=256, depth=3, omega0=30.0)
    params = models.init(spec, jax.random.PRNGKey(0))
    for i, lyr in enumerate(params["hidden"]):
      w = np.asarray(lyr["w"])
      fan_in = w.shape[1]
      bound = 1.0 / fan_in if i == 0 else math.sqrt(6.0 / fan_in) / 30.0
      self.assertLessEqual(np.abs(w).max(), bound)
      self.assertGreater(np.abs(w).max(), 0.95 * bound)
      # U(-b, b) has std b / sqrt(3).
      np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.1)
    # The SIREN argument: hidden pre-activations omega0 * (W h + b) ~ unit-scale,
    # so activations keep the arcsine distribution (std 1/sqrt(2)) through depth.
    pts = jnp.asarray(np.random.default_rng(0).uniform(0, 1, (4096, 2)), jnp.float32)
    _, h = models.apply(spec, params, pts, return_hidden=True)
    np.testing.assert_allclose(np.std(np.asarray(h)), 1 / math.sqrt(2), rtol=0.1)


class MetricsTest(absltest.TestCase):

  def test_psnr_closed_form(self):
    a = np.zeros((4, 4, 3))
    self.assertAlmostEqual(float(objectives.psnr(a + 0.2, a)), 10 * math.log10(4 / 0.04), places=6)

  def test_ssim_constant_images(self):
    a = np.full((1, 16, 16, 3), 0.2)
    b = np.full((1, 16, 16, 3), -0.4)
    ma, mb, c1 = 0.6, 0.3, 1e-4
    want = (2 * ma * mb + c1) / (ma ** 2 + mb ** 2 + c1)
    np.testing.assert_allclose(objectives.ssim(a, b), [want], rtol=1e-6)
    noise = np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 3))
    np.testing.assert_allclose(objectives.ssim(noise, noise), [1.0, 1.0], rtol=1e-9)
    self.assertLess(float(objectives.ssim(noise[:1], noise[1:])[0]), 0.2)

  def test_cosine_pairs_brute_force(self):
    e = np.random.default_rng(0).normal(size=(6, 4))
    (i, j, smax), (k, l, smin) = analysis.cosine_pairs(e)
    cos = lambda u, v: u @ v / np.linalg.norm(u) / np.linalg.norm(v)
    sims = {(p, q): cos(e[p], e[q]) for p in range(6) for q in range(6) if p != q}
    self.assertAlmostEqual(smax, max(sims.values()))
    self.assertAlmostEqual(smin, min(sims.values()))
    self.assertAlmostEqual(cos(e[i], e[j]), smax)
    self.assertAlmostEqual(cos(e[k], e[l]), smin)

  def test_interpolation_metrics_closed_form(self):
    class SquareModel:  # renders code**2 as a flat image: a known non-linear path
      def codes(self, params):
        return params

      def render(self, params, codes, h, w, window):
        return np.broadcast_to(np.square(codes)[:, None, None, :], (len(codes), h, w, 1))

    codes = np.array([[0.0], [1.0], [0.5]], np.float32)
    gallery = np.square(codes)[:, None, None, :] * np.ones((1, 4, 4, 1))
    strip, m = analysis.interpolation(SquareModel(), codes, 0, 1, 4, num=5, gallery=gallery)
    self.assertEqual(strip.shape, (5, 4, 4, 1))
    # Midpoint 0.5**2 = 0.25 against the blend 0.5 of endpoints 0 and 1: RMSE 0.25 of 1.
    self.assertAlmostEqual(m["blend_ratio"], 0.25, places=6)
    self.assertAlmostEqual(m["endpoint_rmse"], 1.0, places=6)
    # The midpoint equals image 2's render exactly.
    self.assertEqual(m["nearest_image"], 2)
    self.assertAlmostEqual(m["nearest_ratio"], 0.0, places=6)


class ProjectTest(absltest.TestCase):

  def test_recovers_latent_of_same_generator(self):
    # fourier_scale=1: a smooth generator, as training makes one; a random
    # high-frequency generator has a far rougher (more local-minima) landscape.
    gen = generator_lib.Generator(helpers.tiny_model(fourier_scale=1.0))
    params = jax.jit(gen.init)(jax.random.PRNGKey(0))
    z_true = gen.sample_z(jax.random.PRNGKey(1), 1)
    target = np.asarray(gen.generate(params, z_true))[0]  # [16, 16, 3]
    w_avg = gen.hidden(params, gen.sample_z(jax.random.PRNGKey(2), 256)).mean(0)
    for space in ("w", "z"):
      init = project.initial_latents(gen, params, space, num_starts=4, seed=7, w_avg=w_avg)
      start = np.asarray(gen.generate(params, init if space == "z" else z_true))
      latent, hist = project.project(gen, params, target, space=space, num_steps=300,
                                     lr=0.1, init=init)
      views = project.render_views(gen, params, latent, space, 16, upscale=4)
      rmse = float(np.sqrt(np.mean((views["fit"] - target) ** 2)))
      self.assertAlmostEqual(rmse, hist[-1]["rmse"], places=4)
      self.assertLess(rmse, 0.03, space)
      self.assertEqual(views["upscaled"].shape, (64, 64, 3))
      self.assertEqual(views["zoom_out"].shape, (16, 16, 3))
      if space == "z":  # the starts were far from the target
        self.assertGreater(float(np.sqrt(np.mean((start - target) ** 2, axis=(1, 2, 3))).min()),
                           5 * rmse)

  def test_rejects_bad_space(self):
    gen = generator_lib.Generator(helpers.tiny_model())
    with self.assertRaisesRegex(ValueError, "latent space"):
      project.project(gen, None, np.zeros((16, 16, 3)), space="q")


class CliTest(absltest.TestCase):

  def test_memorize_and_autodecoder_write_outputs(self):
    tmp = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, tmp)
    rng = np.random.default_rng(0)
    hi = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    np.savez(os.path.join(tmp, "hi.npz"), images=hi)
    common = [f"--hires_data={tmp}/hi.npz", "--num_images=3", "--size=16", "--upsample_to=32",
              "--steps=3", "--eval_every=2", "--width=8", "--depth=1", "--num_fourier=4",
              "--images_per_step=2", "--pixels_per_image=16", "--upsample_images=2"]
    fit_cli.main(["--mode=memorize", f"--out={tmp}/m", "--code=binary", *common])
    res = json.load(open(f"{tmp}/m/results.json"))["ffn_binary_w1x"]
    self.assertEqual(len(res["psnr_per_image"]), 3)
    self.assertEqual(res["upsampling"]["high_size"], 32)
    for f in ("reconstructions.png", "upsampling.png", "interpolation.png", "zoom_out.png",
              "psnr_curves.png"):
      self.assertTrue(os.path.exists(f"{tmp}/m/ffn_binary_w1x/{f}"), f)
    fit_cli.main(["--mode=autodecoder", f"--out={tmp}/a", "--latent_dim=4", "--hyper_width=16",
                  "--fmm_rank=2", "--ad_num_fourier=4", "--name=ad_small", *common])
    res = json.load(open(f"{tmp}/a/results.json"))["ad_small"]
    self.assertTrue(os.path.exists(f"{tmp}/a/ad_small/psnr_curves.png"))
    self.assertIn("heldout_psnr", res)
    self.assertIn("similar", res["interpolation"])

  def test_single_writes_history_and_figures(self):
    tmp = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, tmp)
    img = image_utils.to_uint8(data_lib.synthetic_image(32, seed=2))[None]  # [1, 32, 32, 3]
    np.savez(os.path.join(tmp, "one.npz"), images=img)
    fit_cli.main(["--mode=single", f"--out={tmp}/s", f"--hires_data={tmp}/one.npz", "--size=16",
                  "--upsample_to=32", "--arch=ffn,siren", "--steps=4", "--eval_every=2",
                  "--width=8", "--depth=1", "--num_fourier=4", "--target_psnr=0"])
    res = json.load(open(f"{tmp}/s/results.json"))
    for kind in ("ffn", "siren"):
      self.assertEqual([r["step"] for r in res[kind]["history"]], [2, 4])
      self.assertIsNone(res[kind]["steps_to_target"])
      self.assertEqual(res[kind]["upsampling"]["high_size"], 32)
    for f in ("single_fits.png", "psnr_curves.png", "upsampling_ffn.png"):
      self.assertTrue(os.path.exists(f"{tmp}/s/{f}"), f)

  def test_gray_images_fit_in_every_mode(self):
    tmp = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, tmp)
    hi = np.random.default_rng(1).integers(0, 256, (3, 32, 32, 1), dtype=np.uint8)
    np.savez(os.path.join(tmp, "gray.npz"), images=hi)
    common = [f"--hires_data={tmp}/gray.npz", "--num_images=3", "--size=16", "--upsample_to=32",
              "--steps=2", "--eval_every=2", "--width=8", "--depth=1", "--num_fourier=4",
              "--images_per_step=2", "--pixels_per_image=16", "--upsample_images=2"]
    fit_cli.main(["--mode=memorize", f"--out={tmp}/m", "--code=index", *common])
    fit_cli.main(["--mode=autodecoder", f"--out={tmp}/a", "--latent_dim=4", "--hyper_width=16",
                  "--fmm_rank=2", "--ad_num_fourier=4", *common])
    fit_cli.main(["--mode=single", f"--out={tmp}/s", "--arch=siren", "--target_psnr=0",
                  *common])
    for path, key in ((f"{tmp}/m", "ffn_index_w1x"), (f"{tmp}/a", "autodecoder"),
                      (f"{tmp}/s", "siren")):
      res = json.load(open(f"{path}/results.json"))[key]
      self.assertEqual(res["upsampling"]["high_size"], 32)
    recon = np.asarray(Image.open(f"{tmp}/m/ffn_index_w1x/reconstructions.png"))
    self.assertEqual(recon.ndim, 2)  # written as a gray PNG

  def test_bad_list_flags_are_named(self):
    for flag, msg in (("--width_mult=1,abc", "--width_mult: 'abc'"), ("--arch=ffn,relu", "--arch"),
                      ("--code=onehot", "--code"), ("--scales=1,0", "--scales: '0'")):
      with self.assertRaisesRegex(ValueError, msg):
        fit_cli.main(["--mode=memorize", "--out=/nonexistent/never_written", flag])

  def test_missing_data_file(self):
    tmp = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, tmp)
    with self.assertRaisesRegex(FileNotFoundError, "nope.npz"):
      fit_cli.main(["--mode=single", f"--out={tmp}", "--data=/nonexistent/nope.npz"])


if __name__ == "__main__":
  absltest.main()
