"""The multi-scale INR evaluator against an independent numpy forward pass."""
import json

from absl.testing import absltest
from absl.testing import parameterized
import jax
import jax.numpy as jnp
import numpy as np
from scipy import ndimage

from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.model import inr
from inr_gan_jax.model import layout as layout_lib
from inr_gan_jax import render_inr
from inr_gan_jax.render import export
from tests import helpers


def np_lrelu(x, s):
  return np.where(x >= 0, x, s * x)


def np_forward(layout, theta, shared, height, width, window=(0, 0, 1, 1)):
  """Straight numpy multi-scale INR for one sample, integer block ratios only.

  Written from the paper's description, independently of inr.py: grids from
  the pixel-centre formula, upsampling by np.repeat.
  """
  x0, y0, x1, y1 = window
  h = rgb = None
  prev_hw = None
  for k, blk in enumerate(layout.blocks):
    bh, bw = height * blk.resolution // layout.resolution, width * blk.resolution // layout.resolution
    xs = x0 + (np.arange(bw) + 0.5) * (x1 - x0) / bw
    ys = y0 + (np.arange(bh) + 0.5) * (y1 - y0) / bh
    pts = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)  # [bh*bw, 2] (x, y)
    node = {**shared.get(blk.name, {})}
    for key, val in theta.get(blk.name, {}).items():
      node[key] = {**node.get(key, {}), **val}
    if blk.coord_encoding == "fourier":
      freqs = node["fourier"]["w"] + node["fourier"].get("dw", 0)  # shared + per-sample offset
      if blk.fourier_max_cycles:  # soft cap: norm r -> L tanh(r / L), L = 2 pi cycles
        lim = 2 * np.pi * blk.fourier_max_cycles
        r = np.linalg.norm(freqs, axis=-1, keepdims=True)
        freqs = freqs / r * lim * np.tanh(r / lim)
      ph = pts @ freqs.T
      e = np.concatenate([np.sin(ph), np.cos(ph)], -1)
    else:
      e = 2 * pts - 1
    if blk.grid_size:
      e = np.concatenate([e, np_grid(node["grid"]["v"], pts)], -1)
    if k > 0:
      ry, rx = bh // prev_hw[0], bw // prev_hw[1]
      up = lambda v: np.repeat(np.repeat(v.reshape(prev_hw + (-1,)), ry, 0), rx, 1).reshape(bh * bw, -1)
      h, rgb = up(h), up(rgb)
    for lyr in blk.layers:
      p = node[lyr.name]
      w = np_layer_weight(layout, lyr, p)
      bias = p["bias"] + (p["w_cond"] @ theta["cond"] if lyr.cond_dim else 0)
      x = e if h is None else np.concatenate([h, e], -1)
      h = np_lrelu(x @ w.T + bias, layout.lrelu_slope)
      if layout.pixel_norm:  # unit mean square over each point's channels
        h = h / np.sqrt(np.mean(h ** 2, axis=-1, keepdims=True) + 1e-8)
    q = node["to_rgb"]
    w_rgb = np_layer_weight(layout, blk.to_rgb, q)
    out = h @ w_rgb.T + q["bias"]
    rgb = out if rgb is None else rgb + out
    prev_hw = (bh, bw)
  image = (rgb if layout.output_activation == "linear" else np.tanh(rgb)).reshape(height, width, -1)
  if layout.grey:  # the one predicted channel is every output channel
    image = np.concatenate([image] * layout.out_channels, axis=-1)
  return image


def np_grid(grid, pts):
  """Latent-grid features by scipy's linear interpolation (cell centres at (i + 0.5) / G, edges held)."""
  g = grid.shape[0]
  rows, cols = pts[:, 1] * g - 0.5, pts[:, 0] * g - 0.5
  return np.stack([ndimage.map_coordinates(grid[..., c], [rows, cols], order=1, mode="nearest")
                   for c in range(grid.shape[-1])], -1)  # [N, C]


def np_layer_weight(layout, lyr, p):
  """A layer's weight from the definitions: FMM modulation, then (hidden layers) demodulation."""
  if lyr.kind != "fmm":
    return p["w"]
  logits = p["a"] @ p["b"]
  mod = 1 + logits if layout.fmm_modulation == "linear" else 2 / (1 + np.exp(-logits))
  w = p["w"] * mod
  if layout.fmm_demodulate and lyr.activation:
    gain = np.sqrt(2 / (1 + layout.lrelu_slope ** 2))
    w = w * gain / np.sqrt((w ** 2).sum(1, keepdims=True))
  return w


def make(model_cfg, batch=3, seed=0):
  g = generator_lib.Generator(model_cfg)
  params = jax.jit(g.init)(jax.random.key(seed))
  z = g.sample_z(jax.random.key(seed + 1), batch)
  theta = jax.jit(g.theta)(params, z)
  return g, params, theta


def sample(tree, i):
  return jax.tree.map(lambda x: np.asarray(x[i], np.float64), tree)


class INRTest(parameterized.TestCase):

  @parameterized.named_parameters(
      ("inr_gan", {}),
      ("three_blocks", dict(resolution=32, block_resolutions=(8, 16, 32), block_widths=(16, 8, 8),
                            block_depths=(2, 1, 2))),
      ("no_fmm", dict(fmm_rank=0)),
      ("to_rgb_fmm", dict(to_rgb="fmm")),
      ("to_rgb_shared", dict(to_rgb="shared")),
      ("demodulated", dict(fmm_demodulate=True, to_rgb="fmm")),
      ("linear_modulation", dict(fmm_modulation="linear", fmm_logit_std=0.3)),
      ("linear_demodulated", dict(fmm_modulation="linear", fmm_demodulate=True)),
      ("fourier_shared", dict(fourier_kind="shared")),
      ("fourier_offset", dict(fourier_kind="offset", fourier_offset_std=0.5, bias_std=1.0)),
      ("latent_grid", dict(latent_grid=4, latent_grid_channels=5)),
      ("fourier_capped", dict(fourier_max_cycles=0.5, fourier_scale=6.0)),
      ("grey", dict(grey=True)),
      ("pixel_norm", dict(pixel_norm=True)),
      ("linear_output", dict(output_activation="linear")),
      ("tanh_grad_floor", dict(output_grad_floor=0.3)),  # forward unchanged
      ("grey_to_rgb_fmm", dict(grey=True, to_rgb="fmm")),
      ("latent_grid_raw", dict(latent_grid=3, coord_encoding="raw", fmm_rank=0,
                               block_resolutions=(16,), block_widths=(16,), block_depths=(2,))),
      ("raw_coords", dict(coord_encoding="raw", fmm_rank=0, block_resolutions=(16,),
                          block_widths=(16,), block_depths=(3,))),
      ("latent_conditioned", dict(conditioning="latent", coord_encoding="raw", fmm_rank=0,
                                  latent_cond_dim=10, block_resolutions=(16,), block_widths=(16,),
                                  block_depths=(3,))),
  )
  def test_matches_numpy_forward(self, overrides):
    g, params, theta = make(helpers.tiny_model(**overrides))
    r = g.resolution
    for (hh, ww, window) in [(r, r, (0, 0, 1, 1)), (r, 2 * r, (-0.3, 0.0, 1.3, 0.5))]:
      images = np.asarray(g.generate(params, g.sample_z(jax.random.key(1), 3), hh, ww, window))
      self.assertEqual(images.shape, (3, hh, ww, 3))
      shared = jax.tree.map(lambda x: np.asarray(x, np.float64), params["inr"])
      for i in range(3):
        ref = np_forward(g.layout, sample(theta, i), shared, hh, ww, window)
        np.testing.assert_allclose(images[i], ref, atol=2e-5)

  def test_linear_output_is_the_tanh_output_before_its_tanh(self):
    g, params, _ = make(helpers.tiny_model())
    g_lin, _, _ = make(helpers.tiny_model(output_activation="linear"))
    z = g.sample_z(jax.random.key(2), 2)
    lin = np.asarray(g_lin.generate(params, z))  # same params: only the last op differs
    np.testing.assert_allclose(np.tanh(lin), np.asarray(g.generate(params, z)), atol=1e-6)
    with self.assertRaisesRegex(ValueError, "output_activation"):
      layout_lib.layout_from_config(helpers.tiny_model(output_activation="sigmoid"))

  def test_grad_floor_one_passes_inward_gradients_as_if_linear(self):
    # L = sum(image^2) / 2 has cotangent g = tanh(x), so g * x > 0 at every pixel: with floor 1
    # the backward is g * 1, i.e. the gradient of sum(stop_grad(tanh(x)) * x) of the linear
    # output, with the same params. Without the floor the two differ by tanh's derivative.
    g, params, _ = make(helpers.tiny_model())
    g_floor, _, _ = make(helpers.tiny_model(output_grad_floor=1.0))
    g_lin, _, _ = make(helpers.tiny_model(output_activation="linear"))
    z = g.sample_z(jax.random.key(2), 2)
    t = g.generate(params, z)  # [B, H, W, C], constant below
    sq = lambda gen: jax.grad(lambda p: 0.5 * jnp.sum(jnp.square(gen.generate(p, z))))(params)
    want = jax.grad(lambda p: jnp.sum(t * g_lin.generate(p, z)))(params)
    helpers.assert_trees_all_close(self, sq(g_floor), want, rtol=1e-4, atol=1e-6)
    plain = jax.tree.leaves(jax.tree.map(lambda a, b: float(jnp.max(jnp.abs(a - b))),
                                         sq(g), want))
    self.assertGreater(max(plain), 1e-3)

  def test_vmap_equals_python_loop(self):
    g, params, theta = make(helpers.tiny_model(), batch=4)
    plan = inr.make_plan(g.layout, 16, 16)
    batched = jax.jit(g.render_plan)(params, theta, plan)
    single = jax.jit(lambda t: inr.evaluate(g.layout, t, params["inr"], plan))
    for i in range(4):
      one = single(jax.tree.map(lambda x: x[i], theta))
      np.testing.assert_allclose(np.asarray(batched[i]), np.asarray(one), atol=1e-6)

  def test_bilinear_upsampling_matches_jax_image_resize(self):
    # With only a coarse block feeding the fine block's to-RGB path, compare the
    # upsampled hidden map with jax.image.resize (half-pixel centres, same convention).
    g, params, theta = make(helpers.tiny_model(upsample="bilinear"))
    plan = inr.make_plan(g.layout, 16, 16)
    v = jax.random.normal(jax.random.key(3), (8 * 8, 5))
    up = inr._upsample(v, plan.up_index[0], plan.up_weight[0]).reshape(16, 16, 5)
    ref = jax.image.resize(v.reshape(8, 8, 5), (16, 16, 5), "bilinear")
    np.testing.assert_allclose(np.asarray(up), np.asarray(ref), atol=1e-5)
    images = g.generate(params, g.sample_z(jax.random.key(1), 2))
    self.assertTrue(np.isfinite(np.asarray(images)).all())

  @parameterized.parameters((16, 16, (0, 0, 1, 1)), (9, 23, (0, 0, 1, 1)), (40, 12, (-0.5, -0.5, 1.5, 1.5)),
                            (1, 1, (0, 0, 1, 1)), (7, 7, (0.2, 0.2, 0.4, 0.4)))
  def test_any_grid_shape_and_window(self, hh, ww, window):
    g, params, _ = make(helpers.tiny_model())
    z = g.sample_z(jax.random.key(1), 2)
    images = np.asarray(g.generate(params, z, hh, ww, window))
    self.assertEqual(images.shape, (2, hh, ww, 3))
    # An independent reference: the standalone numpy renderer of each exported sample.
    theta = g.theta(params, z)
    for i in range(2):
      arrays = export.export_arrays(g.layout, export.take_sample(theta, i), params["inr"])
      meta = json.loads(str(arrays.pop("meta_json")))
      arrays.pop("format")
      np.testing.assert_allclose(images[i], render_inr.render(meta, arrays, hh, ww, window),
                                 atol=2e-5)

  def test_plan_is_cached_and_nonsquare_block_sizes(self):
    layout = layout_lib.layout_from_config(helpers.tiny_model())
    plan = inr.make_plan(layout, 10, 30)
    self.assertIs(plan, inr.make_plan(layout, 10, 30))
    self.assertEqual([p.shape for p in plan.points], [(5 * 15, 2), (10 * 30, 2)])
    self.assertEqual(plan.up_index[0].shape, (300, 1))
    self.assertLess(int(jnp.max(plan.up_index[0])), 5 * 15)


if __name__ == "__main__":
  absltest.main()
