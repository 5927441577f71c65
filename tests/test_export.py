"""Standalone INR export: the numpy renderer reproduces the generator; no JAX needed to render."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from absl.testing import absltest
from absl.testing import parameterized
import jax
import numpy as np
from PIL import Image

from inr_gan_jax.render import export
from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.model import inr
from inr_gan_jax import render_inr
from tests import helpers

VARIANTS = {
    "nearest": dict(upsample="nearest"),
    "bilinear": dict(upsample="bilinear"),
    "latent_raw": dict(conditioning="latent", coord_encoding="raw", fmm_rank=0),
    "to_rgb_fmm": dict(to_rgb="fmm"),
    "to_rgb_shared": dict(to_rgb="shared"),
    "latent_grid": dict(latent_grid=3, latent_grid_channels=4),
    "fourier_capped": dict(fourier_max_cycles=0.5, fourier_scale=6.0),
    "grey": dict(grey=True),
}


_CACHE = {}


def build(name):
  if name not in _CACHE:
    g = generator_lib.Generator(helpers.tiny_model(**VARIANTS[name]))
    params = jax.jit(g.init)(jax.random.key(0))
    theta = jax.jit(g.theta)(params, g.sample_z(jax.random.key(1), 2))
    _CACHE[name] = (g, params, theta)
  return _CACHE[name]


class ExportTest(parameterized.TestCase):

  def _tmpdir(self):
    d = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, d, ignore_errors=True)
    return d

  @parameterized.parameters("nearest", "bilinear", "latent_raw", "to_rgb_fmm", "to_rgb_shared",
                            "latent_grid", "fourier_capped", "grey")
  def test_round_trip(self, name):
    g, params, theta = build(name)
    path = os.path.join(self._tmpdir(), "s.npz")
    size = export.save_inr(path, g.layout, export.take_sample(theta, 1), params["inr"], {"seed": 7})
    self.assertEqual(size, os.path.getsize(path))
    meta, tensors = render_inr.load(path)
    self.assertEqual(meta["source"], {"seed": 7})
    evaluate = jax.jit(lambda t, s, plan: inr.evaluate_batch(g.layout, t, s, plan))
    for height, width, window in ((16, 16, (0, 0, 1, 1)), (21, 34, (-0.3, -0.5, 1.3, 1.5))):
      ref = np.asarray(evaluate(theta, params["inr"], inr.make_plan(g.layout, height, width, window)))
      ref = ref[1].reshape(height, width, -1)
      out = render_inr.render(meta, tensors, height, width, window)
      self.assertEqual(out.shape, ref.shape)
      self.assertLess(np.abs(out - ref).max(), 1e-5)

  def test_contents_are_folded_per_sample_tensors(self):
    g, params, theta = build("nearest")
    arrays = export.export_arrays(g.layout, export.take_sample(theta, 0), params["inr"])
    meta = json.loads(str(arrays["meta_json"]))
    self.assertEqual(meta["format"], export.FORMAT)
    self.assertIn("pixel centres", meta["coordinate_convention"])
    self.assertEqual([b["resolution"] for b in meta["layout"]["blocks"]], [8, 16])
    # FMM folded: W = W_s * 2 sigmoid(A B), recomputed here with numpy.
    t0 = jax.tree.map(lambda x: np.asarray(x[0], np.float64), theta)
    ws = np.asarray(params["inr"]["block1"]["layer1"]["w"], np.float64)
    ab = t0["block1"]["layer1"]["a"] @ t0["block1"]["layer1"]["b"]
    np.testing.assert_allclose(arrays["block1/layer1/w"], ws * 2 / (1 + np.exp(-ab)), rtol=1e-5,
                               atol=1e-6)
    self.assertNotIn("block1/layer1/a", arrays)
    for blk in g.layout.blocks:
      for lyr in blk.layers:
        self.assertEqual(arrays[f"{blk.name}/{lyr.name}/w"].shape, (lyr.out_dim, lyr.fan_in))

  def test_cli_renders_png_and_rejects_bad_input(self):
    g, params, theta = build("bilinear")
    tmp = self._tmpdir()
    path = os.path.join(tmp, "s.npz")
    export.save_inr(path, g.layout, export.take_sample(theta, 0), params["inr"])
    png = os.path.join(tmp, "out.png")
    render_inr.main([path, "--height=12", "--width=20", "--window=-0.5,0,1.5,1", f"--out={png}"])
    meta, tensors = render_inr.load(path)
    expect = render_inr.to_uint8(render_inr.render(meta, tensors, 12, 20, (-0.5, 0, 1.5, 1)))
    np.testing.assert_array_equal(np.asarray(Image.open(png)), expect)
    for bad in (["--resolution=0"], ["--window=1,0,0,1"], ["--window=0,0,1"]):
      with self.assertRaises(SystemExit):
        render_inr.main([path] + bad)
    with self.assertRaisesRegex(FileNotFoundError, "nope.npz"):
      render_inr.load(os.path.join(tmp, "nope.npz"))
    np.savez(os.path.join(tmp, "other.npz"), x=np.zeros(3))
    with self.assertRaisesRegex(ValueError, "not an exported INR"):
      render_inr.load(os.path.join(tmp, "other.npz"))

  def test_renderer_does_not_import_jax(self):
    code = ("import sys; from inr_gan_jax import render_inr; "
            "assert 'jax' not in sys.modules, 'jax imported'; print('ok')")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    res = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         timeout=60)
    self.assertEqual(res.returncode, 0, res.stderr)


if __name__ == "__main__":
  absltest.main()
