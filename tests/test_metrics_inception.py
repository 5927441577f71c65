"""The FID InceptionV3 and the torch-free .pth reader.

The synthetic weight files are written here in PyTorch's own formats (zip and
legacy) with pytorch-fid's tensor names and shapes, listed below from the
PyTorch architecture ([out, in, kh, kw] convs) independently of the Flax code.
"""
import collections
import contextlib
import io
import os
import pickle
import struct
import sys
import tempfile
import types
import zipfile

from absl.testing import absltest
import pytest
import jax
import jax.numpy as jnp
import numpy as np

from inr_gan_jax.metrics import inception
from inr_gan_jax.metrics import inception_weights


def _fid_inception_convs():
  """[(name, out, in, kh, kw)] of pytorch-fid's FID InceptionV3 (BasicConv2d layers)."""
  convs = [("Conv2d_1a_3x3", 32, 3, 3, 3), ("Conv2d_2a_3x3", 32, 32, 3, 3),
           ("Conv2d_2b_3x3", 64, 32, 3, 3), ("Conv2d_3b_1x1", 80, 64, 1, 1),
           ("Conv2d_4a_3x3", 192, 80, 3, 3)]

  def a(name, cin, pool):
    convs.extend([(f"{name}.branch1x1", 64, cin, 1, 1), (f"{name}.branch5x5_1", 48, cin, 1, 1),
                  (f"{name}.branch5x5_2", 64, 48, 5, 5), (f"{name}.branch3x3dbl_1", 64, cin, 1, 1),
                  (f"{name}.branch3x3dbl_2", 96, 64, 3, 3),
                  (f"{name}.branch3x3dbl_3", 96, 96, 3, 3), (f"{name}.branch_pool", pool, cin, 1, 1)])

  def c(name, c7):
    convs.extend([(f"{name}.branch1x1", 192, 768, 1, 1), (f"{name}.branch7x7_1", c7, 768, 1, 1),
                  (f"{name}.branch7x7_2", c7, c7, 1, 7), (f"{name}.branch7x7_3", 192, c7, 7, 1),
                  (f"{name}.branch7x7dbl_1", c7, 768, 1, 1),
                  (f"{name}.branch7x7dbl_2", c7, c7, 7, 1),
                  (f"{name}.branch7x7dbl_3", c7, c7, 1, 7),
                  (f"{name}.branch7x7dbl_4", c7, c7, 7, 1),
                  (f"{name}.branch7x7dbl_5", 192, c7, 1, 7), (f"{name}.branch_pool", 192, 768, 1, 1)])

  def e(name, cin):
    convs.extend([(f"{name}.branch1x1", 320, cin, 1, 1), (f"{name}.branch3x3_1", 384, cin, 1, 1),
                  (f"{name}.branch3x3_2a", 384, 384, 1, 3), (f"{name}.branch3x3_2b", 384, 384, 3, 1),
                  (f"{name}.branch3x3dbl_1", 448, cin, 1, 1),
                  (f"{name}.branch3x3dbl_2", 384, 448, 3, 3),
                  (f"{name}.branch3x3dbl_3a", 384, 384, 1, 3),
                  (f"{name}.branch3x3dbl_3b", 384, 384, 3, 1), (f"{name}.branch_pool", 192, cin, 1, 1)])

  a("Mixed_5b", 192, 32)
  a("Mixed_5c", 256, 64)
  a("Mixed_5d", 288, 64)
  convs.extend([("Mixed_6a.branch3x3", 384, 288, 3, 3), ("Mixed_6a.branch3x3dbl_1", 64, 288, 1, 1),
                ("Mixed_6a.branch3x3dbl_2", 96, 64, 3, 3), ("Mixed_6a.branch3x3dbl_3", 96, 96, 3, 3)])
  for name, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
    c(name, c7)
  convs.extend([("Mixed_7a.branch3x3_1", 192, 768, 1, 1), ("Mixed_7a.branch3x3_2", 320, 192, 3, 3),
                ("Mixed_7a.branch7x7x3_1", 192, 768, 1, 1),
                ("Mixed_7a.branch7x7x3_2", 192, 192, 1, 7),
                ("Mixed_7a.branch7x7x3_3", 192, 192, 7, 1),
                ("Mixed_7a.branch7x7x3_4", 192, 192, 3, 3)])
  e("Mixed_7b", 1280)
  e("Mixed_7c", 2048)
  return convs


def fid_inception_state_dict(seed=0):
  """Random tensors with pytorch-fid's names and shapes (including fc and BN counters)."""
  rng = np.random.default_rng(seed)
  sd = collections.OrderedDict()
  for name, out, cin, kh, kw in _fid_inception_convs():
    sd[f"{name}.conv.weight"] = rng.standard_normal((out, cin, kh, kw), np.float32) * 0.05
    sd[f"{name}.bn.weight"] = rng.uniform(0.5, 1.5, out).astype(np.float32)
    sd[f"{name}.bn.bias"] = rng.standard_normal(out, np.float32)
    sd[f"{name}.bn.running_mean"] = rng.standard_normal(out, np.float32)
    sd[f"{name}.bn.running_var"] = rng.uniform(0.5, 2.0, out).astype(np.float32)
    sd[f"{name}.bn.num_batches_tracked"] = np.array(0, np.int64)
  sd["fc.weight"] = rng.standard_normal((1008, 2048), np.float32)
  sd["fc.bias"] = rng.standard_normal(1008, np.float32)
  return sd


# ---- writing PyTorch's file formats without torch -------------------------------
@contextlib.contextmanager
def _fake_torch_modules():
  """Pickle records globals by module and name, checked through sys.modules: stand-ins
  named like torch's let us emit exactly the GLOBAL opcodes torch.save emits."""
  torch_mod, utils_mod = types.ModuleType("torch"), types.ModuleType("torch._utils")

  def _rebuild_tensor_v2(*args):
    raise AssertionError("never called while saving")

  _rebuild_tensor_v2.__module__ = "torch._utils"
  _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
  utils_mod._rebuild_tensor_v2 = _rebuild_tensor_v2
  storages = {}
  for name in ("FloatStorage", "LongStorage"):
    cls = type(name, (), {"__module__": "torch"})
    setattr(torch_mod, name, cls)
    storages[np.dtype({"FloatStorage": np.float32, "LongStorage": np.int64}[name])] = cls
  torch_mod._utils = utils_mod
  saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
  sys.modules.update({"torch": torch_mod, "torch._utils": utils_mod})
  try:
    yield utils_mod, storages
  finally:
    for k, v in saved.items():
      if v is None:
        sys.modules.pop(k, None)
      else:
        sys.modules[k] = v


class _Storage:
  def __init__(self, key, array, storage_cls):
    self.key, self.array, self.storage_cls = key, array, storage_cls


class _Tensor:
  def __init__(self, storage, shape, rebuild):
    self.storage, self.shape, self.rebuild = storage, shape, rebuild

  def __reduce_ex__(self, protocol):
    strides = tuple(int(np.prod(self.shape[i + 1:])) for i in range(len(self.shape)))
    return (self.rebuild, (self.storage, 0, tuple(self.shape), strides, False,
                           collections.OrderedDict()))


def _dump_state_dict(sd, file, legacy: bool):
  """Pickles ``sd`` as torch.save does; returns the storages in key order."""
  with _fake_torch_modules() as (utils_mod, storage_types):
    storages, obj = [], collections.OrderedDict()
    for i, (name, array) in enumerate(sd.items()):
      storage = _Storage(str(i), np.ascontiguousarray(array).ravel(), storage_types[array.dtype])
      storages.append(storage)
      obj[name] = _Tensor(storage, array.shape, utils_mod._rebuild_tensor_v2)
    # Module.state_dict() attaches per-module versions; they pickle as BUILD state.
    obj._metadata = collections.OrderedDict([("", {"version": 1}), ("fc", {"version": 1})])

    class Pickler(pickle.Pickler):
      def persistent_id(self, o):
        if isinstance(o, _Storage):
          pid = ("storage", o.storage_cls, o.key, "cpu", o.array.size)
          return pid + (None,) if legacy else pid
        return None

    Pickler(file, protocol=2).dump(obj)
  return storages


def write_torch_zip(path, sd):
  buf = io.BytesIO()
  storages = _dump_state_dict(sd, buf, legacy=False)
  with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
    zf.writestr("archive/data.pkl", buf.getvalue())
    zf.writestr("archive/byteorder", "little")
    for s in storages:
      zf.writestr(f"archive/data/{s.key}", s.array.astype(s.array.dtype.newbyteorder("<")).tobytes())
    zf.writestr("archive/version", "3\n")


def write_torch_legacy(path, sd):
  with open(path, "wb") as f:
    pickle.dump(0x1950A86A20F9469CFC6C, f, protocol=2)
    pickle.dump(1001, f, protocol=2)
    pickle.dump({"protocol_version": 1001, "little_endian": True,
                 "type_sizes": {"short": 2, "int": 4, "long": 4}}, f, protocol=2)
    storages = _dump_state_dict(sd, f, legacy=True)
    pickle.dump([s.key for s in storages], f, protocol=2)
    for s in storages:
      f.write(struct.pack("<q", s.array.size))
      f.write(s.array.tobytes())


# ---- numpy reference of pytorch-fid's blocks (NCHW, as the PyTorch forward) -------
def _np_conv_bn_relu(sd, name, x, stride=1, pad=(0, 0)):
  w = sd[f"{name}.conv.weight"].astype(np.float64)  # [O, C, kh, kw]
  o, c, kh, kw = w.shape
  xp = np.pad(x, ((0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
  h_out = (xp.shape[1] - kh) // stride + 1
  w_out = (xp.shape[2] - kw) // stride + 1
  out = np.zeros((o, h_out, w_out))
  for i in range(kh):
    for j in range(kw):
      patch = xp[:, i:i + stride * h_out:stride, j:j + stride * w_out:stride]  # [C, H', W']
      out += np.einsum("oc,chw->ohw", w[:, :, i, j], patch)
  g, b = sd[f"{name}.bn.weight"], sd[f"{name}.bn.bias"]
  m, v = sd[f"{name}.bn.running_mean"], sd[f"{name}.bn.running_var"]
  out = (out - m[:, None, None]) / np.sqrt(v[:, None, None] + 1e-3) * g[:, None, None] + b[:, None, None]
  return np.maximum(out, 0.0)


def _np_pool3(x, kind, stride=1, pad=1):
  fill = -np.inf if kind == "max" else 0.0
  xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)), constant_values=fill)
  ones = np.pad(np.ones(x.shape[1:]), pad)
  h_out = (xp.shape[1] - 3) // stride + 1
  w_out = (xp.shape[2] - 3) // stride + 1
  out = np.zeros((x.shape[0], h_out, w_out))
  for r in range(h_out):
    for q in range(w_out):
      win = xp[:, r * stride:r * stride + 3, q * stride:q * stride + 3]
      if kind == "max":
        out[:, r, q] = win.max(axis=(1, 2))
      else:  # count_include_pad=False
        out[:, r, q] = win.sum(axis=(1, 2)) / ones[r * stride:r * stride + 3,
                                                   q * stride:q * stride + 3].sum()
  return out


def _np_block(sd, name, x):
  f = lambda n, inp, **kw: _np_conv_bn_relu(sd, f"{name}.{n}", inp, **kw)
  if name in ("Mixed_5b",):  # FIDInceptionA
    b5 = f("branch5x5_2", f("branch5x5_1", x), pad=(2, 2))
    bd = f("branch3x3dbl_3", f("branch3x3dbl_2", f("branch3x3dbl_1", x), pad=(1, 1)), pad=(1, 1))
    return np.concatenate([f("branch1x1", x), b5, bd, f("branch_pool", _np_pool3(x, "avg"))])
  if name == "Mixed_6a":  # InceptionB
    bd = f("branch3x3dbl_3", f("branch3x3dbl_2", f("branch3x3dbl_1", x), pad=(1, 1)), stride=2)
    return np.concatenate([f("branch3x3", x, stride=2), bd, _np_pool3(x, "max", 2, 0)])
  if name == "Mixed_6b":  # FIDInceptionC
    b7 = f("branch7x7_3", f("branch7x7_2", f("branch7x7_1", x), pad=(0, 3)), pad=(3, 0))
    bd = f("branch7x7dbl_1", x)
    for k, p in ((2, (3, 0)), (3, (0, 3)), (4, (3, 0)), (5, (0, 3))):
      bd = f(f"branch7x7dbl_{k}", bd, pad=p)
    return np.concatenate([f("branch1x1", x), b7, bd, f("branch_pool", _np_pool3(x, "avg"))])
  if name == "Mixed_7a":  # InceptionD
    b3 = f("branch3x3_2", f("branch3x3_1", x), stride=2)
    b7 = f("branch7x7x3_3", f("branch7x7x3_2", f("branch7x7x3_1", x), pad=(0, 3)), pad=(3, 0))
    return np.concatenate([b3, f("branch7x7x3_4", b7, stride=2), _np_pool3(x, "max", 2, 0)])
  if name in ("Mixed_7b", "Mixed_7c"):  # FIDInceptionE_1 (avg) / E_2 (max)
    b3 = f("branch3x3_1", x)
    b3 = np.concatenate([f("branch3x3_2a", b3, pad=(0, 1)), f("branch3x3_2b", b3, pad=(1, 0))])
    bd = f("branch3x3dbl_2", f("branch3x3dbl_1", x), pad=(1, 1))
    bd = np.concatenate([f("branch3x3dbl_3a", bd, pad=(0, 1)), f("branch3x3dbl_3b", bd, pad=(1, 0))])
    pool = _np_pool3(x, "avg" if name == "Mixed_7b" else "max")
    return np.concatenate([f("branch1x1", x), b3, bd, f("branch_pool", pool)])
  raise ValueError(name)


class WeightsLoaderTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.tmp = tempfile.TemporaryDirectory()
    cls.sd = fid_inception_state_dict()
    cls.zip_path = os.path.join(cls.tmp.name, inception_weights.EXPECTED_FILE)
    write_torch_zip(cls.zip_path, cls.sd)

  @classmethod
  def tearDownClass(cls):
    cls.tmp.cleanup()
    super().tearDownClass()

  def _check_round_trip(self, loaded):
    self.assertEqual(list(loaded), list(self.sd))
    for name, array in self.sd.items():
      np.testing.assert_array_equal(loaded[name], array, err_msg=name)
      self.assertEqual(loaded[name].dtype, array.dtype, name)

  def test_zip_round_trip(self):
    self._check_round_trip(inception_weights.read_state_dict(self.zip_path))

  def test_legacy_round_trip(self):
    sd = collections.OrderedDict(list(self.sd.items())[:12])
    path = os.path.join(self.tmp.name, "legacy.pth")
    write_torch_legacy(path, sd)
    loaded = inception_weights.read_state_dict(path)
    self.assertEqual(list(loaded), list(sd))
    for name, array in sd.items():
      np.testing.assert_array_equal(loaded[name], array)

  def test_flax_variables_match_model_and_transpose(self):
    variables = inception_weights.load_inception_variables(self.zip_path)
    want = jax.eval_shape(inception.InceptionV3FID().init, jax.random.key(0),
                          jnp.zeros((1, 299, 299, 3)))
    self.assertEqual(jax.tree.structure(variables), jax.tree.structure(want))
    w = self.sd["Mixed_6b.branch7x7_2.conv.weight"]  # [out, in, 1, 7]
    k = variables["params"]["Mixed_6b"]["branch7x7_2"]["conv"]["kernel"]  # [1, 7, in, out]
    np.testing.assert_array_equal(np.asarray(k)[0, 3, 5, 2], w[2, 5, 0, 3])
    np.testing.assert_array_equal(variables["batch_stats"]["Mixed_7c"]["branch_pool"]["bn"]["var"],
                                  self.sd["Mixed_7c.branch_pool.bn.running_var"])

  @pytest.mark.slow  # deselect with -m 'not slow' (the default run keeps it)
  def test_blocks_match_numpy_pytorch_reference(self):
    # Loaded weights through each block kind == the PyTorch forward re-derived in
    # numpy: checks branch wiring, concat order, paddings and the A/C/E pool quirks.
    variables = inception_weights.load_inception_variables(self.zip_path)
    blocks = {"Mixed_5b": (inception.BlockA(32), 192, 5), "Mixed_6a": (inception.BlockB(), 288, 7),
              "Mixed_6b": (inception.BlockC(128), 768, 5), "Mixed_7a": (inception.BlockD(), 768, 7),
              "Mixed_7b": (inception.BlockE("avg"), 1280, 4),
              "Mixed_7c": (inception.BlockE("max"), 2048, 4)}
    rng = np.random.default_rng(3)
    for name, (module, cin, size) in blocks.items():
      x = rng.normal(size=(cin, size, size))  # CHW
      got = module.apply({"params": variables["params"][name],
                          "batch_stats": variables["batch_stats"][name]},
                         jnp.asarray(x.transpose(1, 2, 0)[None], jnp.float32))[0]
      want = _np_block(self.sd, name, x).transpose(1, 2, 0)
      self.assertEqual(got.shape, want.shape, name)
      np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4 * np.abs(want).max(),
                                 err_msg=name)

  def test_missing_file_names_the_expected_file(self):
    with self.assertRaisesRegex(FileNotFoundError, "pt_inception-2015-12-05-6726825d.pth"):
      inception_weights.read_state_dict(os.path.join(self.tmp.name, "nope.pth"))

  def test_corrupt_files_are_clear_errors(self):
    with open(self.zip_path, "rb") as f:
      raw = f.read()
    truncated = os.path.join(self.tmp.name, "truncated.pth")
    with open(truncated, "wb") as f:
      f.write(raw[:len(raw) // 2])
    garbage = os.path.join(self.tmp.name, "garbage.pth")
    with open(garbage, "wb") as f:
      f.write(b"\x00 this is not a torch file" * 10)
    for path in (truncated, garbage):
      with self.assertRaisesRegex(inception_weights.WeightsError, "pt_inception-2015-12-05"):
        inception_weights.load_inception_variables(path)

  def test_wrong_network_is_clear_error(self):
    sd = collections.OrderedDict(self.sd)
    del sd["Mixed_7c.branch_pool.conv.weight"]
    sd["Mixed_5b.branch1x1.conv.weight"] = np.zeros((64, 191, 1, 1), np.float32)
    path = os.path.join(self.tmp.name, "wrong.pth")
    write_torch_zip(path, sd)
    with self.assertRaisesRegex(inception_weights.WeightsError,
                                r"1 missing.*1 mis-shaped.*Mixed_7c.*Mixed_5b"):
      inception_weights.load_inception_variables(path)

  def test_refuses_foreign_globals(self):
    path = os.path.join(self.tmp.name, "evil.pth")
    with zipfile.ZipFile(path, "w") as zf:
      zf.writestr("archive/data.pkl", pickle.dumps({"x": os.getcwd}, protocol=2))
    with self.assertRaisesRegex(inception_weights.WeightsError, "refusing to load global"):
      inception_weights.read_state_dict(path)


def _torch_bilinear(x, size):
  """numpy re-derivation of F.interpolate(bilinear, align_corners=False) on [H, W]."""
  def axis_weights(n_in, n_out):
    src = np.maximum((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    frac = src - i0
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), i0] += 1 - frac
    m[np.arange(n_out), i1] += frac
    return m
  return axis_weights(x.shape[0], size) @ x @ axis_weights(x.shape[1], size).T


class InceptionModelTest(absltest.TestCase):

  def test_resize_matches_torch_bilinear(self):
    rng = np.random.default_rng(0)
    for n_in, n_out in ((5, 13), (28, 299), (40, 17)):
      x = rng.normal(size=(n_in, n_in))
      got = inception.resize_bilinear(jnp.asarray(x)[None, :, :, None], n_out)[0, :, :, 0]
      np.testing.assert_allclose(got, _torch_bilinear(x, n_out), atol=1e-5)

  def test_avg_pool_excludes_padding(self):
    x = jnp.ones((1, 4, 5, 2))
    np.testing.assert_allclose(inception._avg_pool_3x3(x), 1.0)  # 4/9 at corners if padded
    r = np.random.default_rng(1).normal(size=(1, 4, 5, 1))
    got = np.asarray(inception._avg_pool_3x3(jnp.asarray(r)))
    np.testing.assert_allclose(got[0, 0, 0, 0], r[0, :2, :2, 0].mean(), rtol=1e-6)
    np.testing.assert_allclose(got[0, 2, 3, 0], r[0, 1:4, 2:5, 0].mean(), rtol=1e-6)

  def test_forward_deterministic_and_batch_invariant(self):
    variables = inception.init_random(0)
    fn = jax.jit(inception.apply)
    rng = np.random.default_rng(2)
    images = jnp.asarray(rng.uniform(-1, 1, (2, 32, 32, 3)), jnp.float32)
    a = np.asarray(fn(variables, images))
    b = np.asarray(fn(variables, images))
    self.assertEqual(a.shape, (2, inception.FEATURE_DIM))
    self.assertTrue(np.all(np.isfinite(a)) and np.all(a >= 0))  # means of ReLU maps
    np.testing.assert_array_equal(a, b)
    single = np.asarray(fn(variables, images[1:]))  # batch 1: another compiled program
    np.testing.assert_allclose(single[0], a[1], rtol=1e-4, atol=1e-5 * np.abs(a).max())
    self.assertGreater(np.abs(a[0] - a[1]).max(), 1e-3 * np.abs(a).max())  # inputs matter


if __name__ == "__main__":
  absltest.main()
