"""Coordinate gradients of the INR against finite differences of an independent float64 model."""
import json

from absl.testing import absltest
from absl.testing import parameterized
import jax
import numpy as np

from inr_gan_jax.render import export
from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.render import gradients
from tests import helpers

VARIANTS = {
    "nearest": dict(upsample="nearest"),
    "bilinear": dict(upsample="bilinear"),
    "single_scale": dict(block_resolutions=(16,), block_widths=(24,), block_depths=(2,)),
}
WINDOW = (-0.2, 0.1, 1.1, 0.9)
HEIGHT, WIDTH = 20, 12


def _grid_taps(c, lo, hi, n, mode):
  """Taps at arbitrary coordinates ``c [N]`` into an ``n``-cell pixel-centred axis."""
  u = (c - lo) * n / (hi - lo)
  if mode == "nearest":  # the cell containing c
    return np.clip(np.floor(u), 0, n - 1).astype(int)[:, None], np.ones((len(c), 1))
  u = u - 0.5
  lo_i = np.floor(u)
  f = u - lo_i
  return np.clip(np.stack([lo_i, lo_i + 1], -1), 0, n - 1).astype(int), np.stack([1 - f, f], -1)


def continuous_image(meta, tensors, height, width, window, p):
  """float64 numpy model of the image at arbitrary final points ``p [N, 2]``.

  Coarse blocks are evaluated on their grids; the last block reads them at the
  cell containing ``p`` (nearest) or by linear interpolation at ``p`` (bilinear).
  """
  lay = meta["layout"]
  t = {k: v.astype(np.float64) for k, v in tensors.items()}
  x0, y0, x1, y1 = window

  def feats(blk, q):
    if blk["coord_encoding"] == "fourier":
      proj = q @ t[f"{blk['name']}/fourier/w"].T
      return np.concatenate([np.sin(proj), np.cos(proj)], -1)
    return 2 * q - 1

  def mlp(blk, h, e):
    for lyr in blk["layers"]:
      x = e if h is None else np.concatenate([h, e], -1)
      pre = x @ t[f"{blk['name']}/{lyr['name']}/w"].T + t[f"{blk['name']}/{lyr['name']}/bias"]
      h = np.where(pre >= 0, pre, lay["lrelu_slope"] * pre)
    return h, h @ t[f"{blk['name']}/to_rgb/w"].T + t[f"{blk['name']}/to_rgb/bias"]

  def upsample(v, ty, wy, tx, wx):  # v [hc, wc, C] at points given by separable taps
    return sum(v[ty[:, a], tx[:, b]] * (wy[:, a] * wx[:, b])[:, None]
               for a in range(ty.shape[1]) for b in range(tx.shape[1]))

  h = rgb = None
  prev = None
  for blk in lay["blocks"]:
    last = blk is lay["blocks"][-1]
    if last:
      q = p
    else:
      bh = int(np.ceil(height * blk["resolution"] / lay["resolution"]))
      bw = int(np.ceil(width * blk["resolution"] / lay["resolution"]))
      xs = x0 + (np.arange(bw) + 0.5) * (x1 - x0) / bw
      ys = y0 + (np.arange(bh) + 0.5) * (y1 - y0) / bh
      q = np.stack(np.meshgrid(xs, ys, indexing="xy"), -1).reshape(-1, 2)
    if prev is not None:
      hc, wc = prev
      ty, wy = _grid_taps(q[:, 1], y0, y1, hc, lay["upsample"])
      tx, wx = _grid_taps(q[:, 0], x0, x1, wc, lay["upsample"])
      h = upsample(h.reshape(hc, wc, -1), ty, wy, tx, wx)
      rgb = upsample(rgb.reshape(hc, wc, -1), ty, wy, tx, wx)
    h, out = mlp(blk, h, feats(blk, q))
    rgb = out if rgb is None else rgb + out
    if not last:
      prev = (bh, bw)
  return np.tanh(rgb)


class GradientTest(parameterized.TestCase):

  @parameterized.parameters("nearest", "bilinear", "single_scale")
  def test_against_finite_differences(self, name):
    g = generator_lib.Generator(helpers.tiny_model(**VARIANTS[name]))
    params = jax.jit(g.init)(jax.random.key(0))
    theta = jax.jit(g.theta)(params, g.sample_z(jax.random.key(1), 2))
    img, gx, gy = gradients.image_gradients(g.layout, theta, params["inr"], HEIGHT, WIDTH, WINDOW)
    arrays = export.export_arrays(g.layout, export.take_sample(theta, 1), params["inr"])
    meta = json.loads(str(arrays["meta_json"]))
    tensors = {k: v for k, v in arrays.items() if k not in ("meta_json", "format")}
    x0, y0, x1, y1 = WINDOW
    xs = x0 + (np.arange(WIDTH) + 0.5) * (x1 - x0) / WIDTH
    ys = y0 + (np.arange(HEIGHT) + 0.5) * (y1 - y0) / HEIGHT
    p = np.stack(np.meshgrid(xs, ys, indexing="xy"), -1).reshape(-1, 2)
    f = lambda q: continuous_image(meta, tensors, HEIGHT, WIDTH, WINDOW, q).reshape(HEIGHT, WIDTH, -1)  # noqa: E731
    np.testing.assert_allclose(img[1], f(p), atol=1e-5)
    # Central differences in float64 with a step small enough to stay inside cells and
    # (almost surely) on one side of every leaky-ReLU kink.
    eps = 1e-7
    fx = (f(p + [eps, 0]) - f(p - [eps, 0])) / (2 * eps)
    fy = (f(p + [0, eps]) - f(p - [0, eps])) / (2 * eps)
    scale = max(np.abs(fx).max(), np.abs(fy).max())
    self.assertGreater(scale, 0.1)  # the test is not vacuous
    np.testing.assert_allclose(gx[1], fx, atol=1e-4 * scale)
    np.testing.assert_allclose(gy[1], fy, atol=1e-4 * scale)
    if name != "bilinear":
      return
    # Tiled gradients equal the one-call ones (one case: each tile shape compiles anew).
    _, tgx, tgy = gradients.image_gradients(g.layout, theta, params["inr"], HEIGHT, WIDTH, WINDOW,
                                            max_pixels_per_call=50)
    np.testing.assert_allclose(tgx, gx, atol=1e-5 * scale)
    np.testing.assert_allclose(tgy, gy, atol=1e-5 * scale)

  def test_magnitude(self):
    rng = np.random.default_rng(0)
    gx, gy = rng.normal(size=(2, 3, 4, 5, 3))
    mag = gradients.gradient_magnitude(gx, gy, (0.5, 0.25))
    expect = np.sqrt(((0.5 * gx) ** 2 + (0.25 * gy) ** 2).sum(-1))
    np.testing.assert_allclose(mag, expect, rtol=1e-12)
    img = gradients.magnitude_to_uint8(mag[0])
    self.assertEqual(img.shape, (4, 5, 1))
    self.assertEqual(img.dtype, np.uint8)


if __name__ == "__main__":
  absltest.main()
