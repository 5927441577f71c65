"""Tests for the StyleGAN2 ResNet discriminator."""
import math

from absl.testing import absltest
from absl.testing import parameterized
import chex
import jax
import jax.numpy as jnp
import numpy as np

from inr_gan_jax.train import discriminator as disc

# Tiny widths: ch(res) = min(256 // res, 32) -> 16 px: 16, 8 px: 32, 4 px: 32.
TINY = dict(channel_base=256, channel_max=32)


def _input(model, batch):
  return jnp.zeros((batch, model.resolution, model.resolution,
                    model.in_channels))


def _params(model, batch=4, seed=0):
  """Params with the model's pytree and init distribution, without compiling.

  XLA takes seconds to compile the RNG of a whole-model init on 2 cores, so
  tests fill the eval_shape'd tree (the init traced abstractly) from numpy:
  kernels ~N(0, 1), biases 0, the form EqualizedLrTest checks the layers'
  real init has.
  """
  shapes = jax.eval_shape(model.init, jax.random.key(0), _input(model, batch))
  rng = np.random.default_rng(seed)

  def fill(path, leaf):
    if path[-1].key == "bias":
      return jnp.zeros(leaf.shape, leaf.dtype)
    return jnp.asarray(rng.normal(size=leaf.shape), leaf.dtype)

  return jax.tree_util.tree_map_with_path(fill, shapes)


def _np_conv2d(x, w, stride=1, pad=(0, 0)):
  """Reference NHWC/HWIO cross-correlation by summing shifted matmuls."""
  x = np.pad(x, ((0, 0), pad, pad, (0, 0)))
  kh, kw = w.shape[:2]
  h_out = (x.shape[1] - kh) // stride + 1
  w_out = (x.shape[2] - kw) // stride + 1
  out = np.zeros((x.shape[0], h_out, w_out, w.shape[3]), np.float64)
  for dy in range(kh):
    for dx in range(kw):
      patch = x[:, dy:dy + stride * h_out:stride, dx:dx + stride * w_out:stride]
      out += patch @ w[dy, dx]
  return out


def _np_blur(x, pad, stride=1):
  """Depthwise [1,3,3,1] blur as a dense conv with a diagonal channel matrix."""
  taps = np.array([1.0, 3.0, 3.0, 1.0])
  f = np.outer(taps, taps) / 64.0
  c = x.shape[-1]
  w = f[:, :, None, None] * np.eye(c)[None, None]
  return _np_conv2d(x, w, stride, pad)


def _np_lrelu(x):
  return np.where(x >= 0, x, 0.2 * x) * math.sqrt(2.0)


class ArchitectureTest(parameterized.TestCase):

  @parameterized.parameters(16, 32, 64)
  def test_output_shape_and_param_count(self, res):
    model = disc.Discriminator(res, **TINY)
    params = _params(model)
    x = jax.random.uniform(jax.random.key(1), (8, res, res, 3), minval=-1.0)
    logits = jax.jit(model.apply)(params, x)
    self.assertEqual(logits.shape, (8,))
    self.assertTrue(np.all(np.isfinite(logits)))
    self.assertEqual(disc.num_params(params),
                     disc.expected_num_params(res, in_channels=3, **TINY))

  def test_any_number_of_input_channels(self):
    model = disc.Discriminator(16, in_channels=1, **TINY)
    params = _params(model, 2)
    self.assertEqual(params["params"]["fromrgb"]["kernel"].shape, (1, 1, 1, 16))
    logits = jax.jit(model.apply)(params, jnp.ones((2, 16, 16, 1)))
    self.assertEqual(logits.shape, (2,))
    self.assertEqual(disc.num_params(params),
                     disc.expected_num_params(16, in_channels=1, **TINY))

  @parameterized.parameters(2, 4)
  def test_packing_matches_channel_stacked_input(self, pack):
    # PacGAN: a packed D is the unpacked D with m*C input channels applied to the images
    # stacked along channels by hand, pack j = images j*m .. j*m+m-1.
    packed = disc.Discriminator(16, in_channels=3, pack=pack, **TINY)
    stacked = disc.Discriminator(16, in_channels=3 * pack, **TINY)
    params = _params(stacked, 8 // pack)
    x = np.random.default_rng(3).uniform(-1, 1, (8, 16, 16, 3)).astype(np.float32)
    by_hand = np.stack([np.concatenate(list(x[j * pack:(j + 1) * pack]), axis=-1)
                        for j in range(8 // pack)])           # [8/m, 16, 16, 3m]
    np.testing.assert_allclose(jax.jit(packed.apply)(params, x),
                               jax.jit(stacked.apply)(params, by_hand), rtol=1e-5, atol=1e-5)
    self.assertEqual(jax.eval_shape(packed.init, jax.random.key(0), x), jax.tree.map(
        lambda p: jax.ShapeDtypeStruct(p.shape, p.dtype), params))
    with self.assertRaisesRegex(ValueError, "pack size 4 must divide the batch size 6"):
      disc.pack_images(jnp.zeros((6, 16, 16, 3)), 4)

  @parameterized.product(preset=["small", "full"], res=[32, 64, 256, 1024])
  def test_preset_param_count_matches_analytic(self, preset, res):
    model = disc.Discriminator(res, channel_preset=preset)
    # eval_shape builds the pytree of shapes without running the init.
    shapes = jax.eval_shape(model.init, jax.random.key(0),
                            jnp.zeros((4, res, res, 3)))
    base, cmax = disc.CHANNEL_PRESETS[preset]
    self.assertEqual(disc.num_params(shapes),
                     disc.expected_num_params(res, base, cmax))

  def test_small_preset_256_layer_shapes_by_hand(self):
    # Config-e widths, written out from min(16384 / res, 512).
    ch = {256: 64, 128: 128, 64: 256, 32: 512, 16: 512, 8: 512, 4: 512}
    expected = {("fromrgb", "kernel"): (1, 1, 3, 64),
                ("fromrgb", "bias"): (64,)}
    for res in (256, 128, 64, 32, 16, 8):
      c_in, c_out = ch[res], ch[res // 2]
      expected[(f"b{res}", "conv0", "kernel")] = (3, 3, c_in, c_in)
      expected[(f"b{res}", "conv0", "bias")] = (c_in,)
      expected[(f"b{res}", "conv1", "kernel")] = (3, 3, c_in, c_out)
      expected[(f"b{res}", "conv1", "bias")] = (c_out,)
      expected[(f"b{res}", "skip", "kernel")] = (1, 1, c_in, c_out)
    expected[("b4_conv", "kernel")] = (3, 3, 512 + 1, 512)  # +1: mbstd channel
    expected[("b4_conv", "bias")] = (512,)
    expected[("b4_fc", "kernel")] = (4 * 4 * 512, 512)
    expected[("b4_fc", "bias")] = (512,)
    expected[("b4_out", "kernel")] = (512, 1)
    expected[("b4_out", "bias")] = (1,)

    model = disc.Discriminator(256, channel_preset="small")
    shapes = jax.eval_shape(model.init, jax.random.key(0),
                            jnp.zeros((4, 256, 256, 3)))["params"]
    flat = {tuple(k.key for k in path): leaf.shape
            for path, leaf in jax.tree_util.tree_flatten_with_path(shapes)[0]}
    self.assertEqual(flat, expected)
    by_hand = sum(math.prod(s) for s in expected.values())
    self.assertEqual(disc.num_params(shapes), by_hand)
    self.assertEqual(disc.expected_num_params(256, 16384, 512), by_hand)

  @parameterized.parameters(48, 8, 2048, 0, 100)
  def test_unsupported_resolution(self, res):
    with self.assertRaisesRegex(ValueError, f"resolution {res}.*1024"):
      disc.Discriminator(res)
    with self.assertRaisesRegex(ValueError, f"resolution {res}"):
      disc.expected_num_params(res)

  def test_unknown_preset(self):
    with self.assertRaisesRegex(ValueError, "channel_preset 'huge'"):
      disc.Discriminator(32, channel_preset="huge")

  @parameterized.parameters((2, 32, 16, 3), (2, 16, 16, 3), (2, 32, 32, 1),
                            (32, 32, 3))
  def test_wrong_input_shape(self, *shape):
    model = disc.Discriminator(32, **TINY)
    params = _params(model, 2)
    with self.assertRaisesRegex(ValueError, r"\[B, 32, 32, 3\].*got"):
      jax.jit(model.apply)(params, jnp.zeros(shape))

  def test_batch_not_divisible_by_group(self):
    model = disc.Discriminator(16, **TINY)
    params = _params(model)
    with self.assertRaisesRegex(ValueError, "group size 4.*batch size 6"):
      jax.jit(model.apply)(params, jnp.zeros((6, 16, 16, 3)))

  def test_jitted_apply_traces_once_per_shape(self):
    model = disc.Discriminator(16, **TINY)
    params = _params(model)
    @jax.jit
    @chex.assert_max_traces(n=1)
    def apply(p, x):
      return model.apply(p, x)

    for seed in range(3):
      apply(params, jax.random.normal(jax.random.key(seed), (4, 16, 16, 3)))
    with self.assertRaisesRegex(AssertionError, "traced > 1"):
      apply(params, jnp.zeros((8, 16, 16, 3)))  # a new batch size is a new trace


class BlurTest(parameterized.TestCase):

  def test_filter_is_normalised_separable_1331(self):
    f = disc.fir_filter()
    self.assertEqual(f.shape, (4, 4))
    self.assertAlmostEqual(float(f.sum()), 1.0, places=6)
    np.testing.assert_allclose(f, np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64.0,
                               rtol=1e-6)

  @parameterized.parameters(8, 16, 32)
  def test_downsample_keeps_constant_and_halves(self, res):
    x = jnp.full((2, res, res, 3), 0.7)
    y = np.asarray(disc.downsample_2x(x))
    self.assertEqual(y.shape, (2, res // 2, res // 2, 3))
    # Zero padding only touches the outermost output ring.
    np.testing.assert_allclose(y[:, 1:-1, 1:-1], 0.7, rtol=1e-6)
    z = np.asarray(disc.blur(x, padding=(2, 2)))  # pre-conv blur of conv1
    self.assertEqual(z.shape, (2, res + 1, res + 1, 3))
    np.testing.assert_allclose(z[:, 2:-2, 2:-2], 0.7, rtol=1e-6)

  def test_blur_matches_numpy(self):
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(disc.blur(jnp.asarray(x), (1, 2), stride=2),
                               _np_blur(x, (1, 2), stride=2), atol=1e-5)

  @parameterized.parameters((9, 9, 3, 3), (8, 11, 3, 1), (17, 16, 1, 1),
                            (10, 10, 2, 4))
  def test_polyphase_stride2_conv_matches_lax(self, h, w, kh, kw):
    rng = np.random.default_rng(h * w)
    x = rng.normal(size=(2, h, w, 3)).astype(np.float32)
    k = rng.normal(size=(kh, kw, 3, 4)).astype(np.float32)
    ref = jax.lax.conv_general_dilated(x, k, (2, 2), "VALID",
                                       dimension_numbers=("NHWC", "HWIO",
                                                          "NHWC"))
    np.testing.assert_allclose(disc.conv2d_stride2(jnp.asarray(x),
                                                   jnp.asarray(k)),
                               ref, rtol=1e-5, atol=1e-5)

  @parameterized.product(res=[8, 16], kernel_size=[1, 3])
  def test_down_conv_halves_resolution(self, res, kernel_size):
    layer = disc.EqualizedConv2d(5, kernel_size, down=True)
    x = jnp.ones((1, res, res, 2))
    out, _ = jax.eval_shape(layer.init_with_output, jax.random.key(0), x)
    self.assertEqual(out.shape, (1, res // 2, res // 2, 5))


class MinibatchStddevTest(parameterized.TestCase):

  @parameterized.parameters((8, 4, 1), (8, 4, 2), (3, 4, 1), (2, 2, 1),
                            (4, 1, 1))
  def test_matches_numpy(self, batch, group_size, num_channels):
    rng = np.random.default_rng(batch + group_size)
    x = rng.normal(size=(batch, 4, 4, 6)).astype(np.float32)
    out = np.asarray(disc.minibatch_stddev(jnp.asarray(x), group_size,
                                           num_channels))
    self.assertEqual(out.shape, (batch, 4, 4, 6 + num_channels))
    np.testing.assert_array_equal(out[..., :6], x)
    g = min(group_size, batch)
    c = 6 // num_channels
    for i in range(batch):
      members = x[[j for j in range(batch) if j // g == i // g]]  # contiguous
      self.assertLen(members, g)
      std = np.sqrt(members.astype(np.float64).var(axis=0) + 1e-8)  # [4, 4, 6]
      for k in range(num_channels):
        np.testing.assert_allclose(out[i, :, :, 6 + k],
                                   std[..., k * c:(k + 1) * c].mean(),
                                   rtol=1e-5)


  def test_groups_stay_on_device_when_batch_is_sharded(self):
    devices = jax.devices()
    if len(devices) < 2:
      self.skipTest("needs several devices (tests/conftest.py gives 8)")
    mesh = jax.sharding.Mesh(np.array(devices), ("data",))
    batch = 4 * len(devices)  # 4 samples = one group per device
    x = jax.random.normal(jax.random.key(0), (batch, 4, 4, 8))
    xs = jax.device_put(x, jax.sharding.NamedSharding(
        mesh, jax.sharding.PartitionSpec("data")))
    compiled = jax.jit(disc.minibatch_stddev).lower(xs).compile()
    hlo = compiled.as_text()
    for op in ("all-gather", "all-reduce", "all-to-all", "collective-permute"):
      self.assertNotIn(op, hlo)
    np.testing.assert_allclose(compiled(xs), disc.minibatch_stddev(x),
                               rtol=1e-6)


class EqualizedLrTest(parameterized.TestCase):

  @parameterized.parameters(
      (disc.EqualizedConv2d(64, 3), (1, 4, 4, 64), (3, 3, 64, 64)),
      (disc.EqualizedDense(96), (1, 384), (384, 96)))
  def test_init_is_unit_normal_and_zero_bias(self, layer, in_shape, w_shape):
    params = layer.init(jax.random.key(0), jnp.zeros(in_shape))["params"]
    w = np.asarray(params["kernel"])
    self.assertEqual(w.shape, w_shape)
    self.assertLess(abs(w.mean()), 0.02)
    self.assertAlmostEqual(float(w.std()), 1.0, delta=0.02)
    np.testing.assert_array_equal(params["bias"], 0.0)

  @parameterized.product(kernel_size=[1, 3], down=[False, True],
                         gain=[1.0, 2.0], activation=["lrelu", "linear"])
  def test_conv_matches_numpy(self, kernel_size, down, gain, activation):
    rng = np.random.default_rng(kernel_size + 2 * down)
    c_in, c_out, k = 4, 5, kernel_size
    x = rng.normal(size=(2, 8, 8, c_in)).astype(np.float32)
    w = rng.normal(size=(k, k, c_in, c_out)).astype(np.float32)
    b = rng.normal(size=(c_out,)).astype(np.float32)
    layer = disc.EqualizedConv2d(c_out, k, down=down, gain=gain,
                                 activation=activation)
    y = layer.apply({"params": {"kernel": w, "bias": b}}, jnp.asarray(x))

    scale = gain / math.sqrt(k * k * c_in)  # the runtime equalized-lr factor
    if down:
      p = k + 1  # blur padding for a 4-tap filter before a stride-2 conv
      ref = _np_conv2d(_np_blur(x, ((p + 1) // 2, p // 2)), w * scale, stride=2)
    else:
      ref = _np_conv2d(x, w * scale, pad=(k // 2, k // 2))
    ref = ref + b
    if activation == "lrelu":
      ref = _np_lrelu(ref)
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)

  def test_dense_matches_numpy(self):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 20)).astype(np.float32)
    w = rng.normal(size=(20, 7)).astype(np.float32)
    b = rng.normal(size=(7,)).astype(np.float32)
    y = disc.EqualizedDense(7, gain=1.5).apply(
        {"params": {"kernel": w, "bias": b}}, jnp.asarray(x))
    np.testing.assert_allclose(
        y, _np_lrelu(x @ (w * 1.5 / math.sqrt(20)) + b), rtol=1e-5, atol=1e-6)


if __name__ == "__main__":
  absltest.main()
