"""Tests for inr_gan_jax.data: sources, conversions, batching and prefetching."""
import io
import os
import shutil
import tempfile
import time
import zipfile

from absl.testing import absltest
from absl.testing import parameterized
import jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
import numpy as np
from PIL import Image

from inr_gan_jax import data
from inr_gan_jax.data import npz as npz_lib
from inr_gan_jax.data import shapes as shapes_lib
from inr_gan_jax.data import transforms

_HERE = os.path.dirname(os.path.abspath(__file__))
# The development data sit beside the checkout (../shared/data, see the guide); an
# environment variable points elsewhere. No machine's absolute path is written here.
_SHARED_CANDIDATES = tuple(p for p in (os.environ.get("INR_GAN_SHARED_DATA"),
                                       os.path.join(_HERE, "..", "..", "shared", "data"),
                                       os.path.join("..", "shared", "data")) if p)


def _shared_file(rel):
  for root in _SHARED_CANDIDATES:
    path = os.path.join(root, rel)
    if os.path.exists(path):
      return path
  return None


def _tempdir(test):
  """A temporary directory removed after `test` (pytest runs absl tests unparsed)."""
  path = tempfile.mkdtemp()
  test.addCleanup(shutil.rmtree, path, ignore_errors=True)
  return path


def _lanczos(square, r):
  """Reference resize of an already-square uint8 array."""
  return np.asarray(Image.fromarray(square).resize((r, r), Image.Resampling.LANCZOS))


def _save(path, image, **kwargs):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  image.save(path, **kwargs)


def _make_tree(root, rng):
  """Writes a nested folder of images; returns {relative path: expected RGB at 16}."""
  expected = {}
  rgb = rng.integers(0, 256, (16, 16, 3), np.uint8)
  _save(os.path.join(root, "a", "b", "rgb.png"), Image.fromarray(rgb))
  expected["a/b/rgb.png"] = rgb
  webp = rng.integers(0, 256, (16, 16, 3), np.uint8)
  _save(os.path.join(root, "a", "lossless.webp"), Image.fromarray(webp), lossless=True)
  expected["a/lossless.webp"] = webp
  smooth = np.broadcast_to(np.linspace(40, 200, 16, dtype=np.uint8)[None, :, None],
                           (16, 16, 3)).copy()
  _save(os.path.join(root, "c", "photo.jpg"), Image.fromarray(smooth), quality=95)
  expected["c/photo.jpg"] = smooth  # approximate (lossy)
  gray = rng.integers(0, 256, (16, 16), np.uint8)
  _save(os.path.join(root, "gray.png"), Image.fromarray(gray, "L"))
  expected["gray.png"] = np.repeat(gray[..., None], 3, -1)
  with open(os.path.join(root, "notes.txt"), "w") as f:
    f.write("not an image")
  return expected


class TransformsTest(parameterized.TestCase):

  def test_gray_palette_rgba_16bit_to_rgb(self):
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (5, 7), np.uint8)
    np.testing.assert_array_equal(
        transforms.to_rgb_array(Image.fromarray(gray, "L")), np.stack([gray] * 3, -1))

    palette_colors = rng.integers(0, 256, (4, 3), np.uint8)
    idx = rng.integers(0, 4, (5, 7), np.uint8)
    pal = Image.fromarray(idx, "P")
    pal.putpalette(palette_colors.flatten().tolist())
    np.testing.assert_array_equal(transforms.to_rgb_array(pal), palette_colors[idx])

    rgba = rng.integers(0, 256, (5, 7, 4), np.uint8)
    a = rgba[..., 3:].astype(np.float64) / 255
    want = np.rint(rgba[..., :3] * a + 255 * (1 - a))
    got = transforms.to_rgb_array(Image.fromarray(rgba, "RGBA")).astype(np.float64)
    np.testing.assert_allclose(got, want, atol=0.51)
    # Fully transparent -> white, fully opaque -> unchanged.
    rgba[0, 0, 3], rgba[0, 1, 3] = 0, 255
    got = transforms.to_rgb_array(Image.fromarray(rgba, "RGBA"))
    np.testing.assert_array_equal(got[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(got[0, 1], rgba[0, 1, :3])

    la = np.stack([gray, np.full_like(gray, 255)], -1)
    np.testing.assert_array_equal(
        transforms.to_rgb_array(Image.fromarray(la, "LA")), np.stack([gray] * 3, -1))

    sixteen = rng.integers(0, 65536, (5, 7)).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(sixteen).save(buf, format="PNG")
    buf.seek(0)
    got = transforms.to_rgb_array(Image.open(buf))
    np.testing.assert_array_equal(got[..., 0], np.rint(sixteen / 257.0).astype(np.uint8))
    np.testing.assert_array_equal(got[..., 0], got[..., 2])

  @parameterized.parameters((40, 24), (24, 40), (31, 20), (20, 31))
  def test_center_crop_keeps_middle_pixels(self, width, height):
    rng = np.random.default_rng(width)
    img = rng.integers(0, 256, (height, width, 3), np.uint8)
    side = min(width, height)
    top, left = (height - side) // 2, (width - side) // 2
    want = img[top:top + side, left:left + side]
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    buf.seek(0)
    np.testing.assert_array_equal(transforms.decode_file(buf, side), want)
    buf.seek(0)
    np.testing.assert_array_equal(transforms.decode_file(buf, 8), _lanczos(want, 8))

  def test_to_float(self):
    x = np.arange(256, dtype=np.uint8).reshape(16, 16)
    f = data.to_float(x)
    self.assertEqual(f.dtype, np.float32)
    np.testing.assert_allclose(f, x.astype(np.float64) / 127.5 - 1, atol=1e-6)
    self.assertEqual((f.min(), f.max()), (-1.0, 1.0))
    np.testing.assert_allclose(np.asarray(jax.jit(data.to_float_jnp)(x)), f, atol=1e-6)
    np.testing.assert_array_equal(data.to_uint8(f), x)


class FolderSourceTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.root = _tempdir(self)
    self.expected = _make_tree(self.root, np.random.default_rng(1))
    self.names = sorted(self.expected)

  def _check_images(self, source):
    self.assertLen(source, len(self.names))
    images = source.get(np.arange(len(source)))
    self.assertEqual((images.dtype, images.shape), (np.uint8, (len(self.names), 16, 16, 3)))
    for image, name in zip(images, self.names):
      want = self.expected[name]
      if name.endswith(".jpg"):
        self.assertLess(np.abs(image.astype(int) - want).mean(), 3, name)
      else:
        np.testing.assert_array_equal(image, want, err_msg=name)

  @parameterized.parameters("eager", "lazy")
  def test_nested_folder(self, decode):
    source = data.FolderSource(self.root, 16, decode=decode)
    self.assertEqual(source.decode, decode)
    self._check_images(source)

  def test_zip_matches_folder_and_resizes(self):
    zip_path = os.path.join(_tempdir(self), "images.zip")
    with zipfile.ZipFile(zip_path, "w") as archive:
      for name in self.names:
        archive.write(os.path.join(self.root, name), name)
      archive.writestr("__MACOSX/._gray.png", b"junk")
    self._check_images(data.FolderSource(zip_path, 16))
    small = data.FolderSource(zip_path, 8, decode="lazy").get(np.array([0, 3]))
    self.assertEqual(small.shape, (2, 8, 8, 3))
    want = _lanczos(self.expected[self.names[3]], 8)
    np.testing.assert_array_equal(small[1], want)

  def test_corrupt_skip_and_fail(self):
    bad = os.path.join(self.root, "a", "broken.png")
    with open(bad, "wb") as f:
      f.write(np.random.default_rng(2).bytes(300))
    with self.assertLogs("absl", "WARNING") as logs:
      eager = data.FolderSource(self.root, 16, on_corrupt="skip", decode="eager")
    self.assertIn("broken.png", "".join(logs.output))
    self.assertEqual(eager.num_skipped, 1)
    self.assertEqual(eager.skipped_paths, [bad])
    self._check_images(eager)  # The remaining images, in order.

    # Lazy: length stays, the bad index is served by the next readable file.
    lazy = data.FolderSource(self.root, 16, on_corrupt="skip", decode="lazy")
    all_names = sorted(self.names + ["a/broken.png"])
    bad_index = all_names.index("a/broken.png")
    self.assertLen(lazy, len(all_names))
    got = lazy.get(np.array([bad_index, bad_index]))
    np.testing.assert_array_equal(got[0], self.expected[all_names[bad_index + 1]])
    self.assertEqual(lazy.skipped_paths, [bad])

    for decode in ("eager", "lazy"):
      with self.assertRaisesRegex(data.CorruptImageError, "broken.png"):
        source = data.FolderSource(self.root, 16, on_corrupt="fail", decode=decode)
        source.get(np.arange(len(source)))

  def test_cache_dir_roundtrip(self):
    cache = _tempdir(self)
    first = data.FolderSource(self.root, 16, decode="eager", cache_dir=cache)
    self.assertLen([f for f in os.listdir(cache) if f.endswith(".npy")], 1)
    second = data.FolderSource(self.root, 16, decode="eager", cache_dir=cache)
    self.assertIsInstance(second._images, np.memmap)
    idx = np.arange(len(first))
    np.testing.assert_array_equal(first.get(idx), second.get(idx))

  def test_bad_paths(self):
    with self.assertRaisesRegex(FileNotFoundError, "nope"):
      data.FolderSource(os.path.join(self.root, "nope"), 16)
    with self.assertRaisesRegex(FileNotFoundError, "No images"):
      data.FolderSource(_tempdir(self), 16)
    with self.assertRaises(IndexError):
      data.FolderSource(self.root, 16).get(np.array([len(self.names)]))


class NpzSourceTest(parameterized.TestCase):

  @parameterized.parameters(((6, 12, 12),), ((6, 12, 12, 1),))
  def test_grayscale_npz(self, shape):
    images = np.random.default_rng(3).integers(0, 256, shape, np.uint8)
    path = os.path.join(_tempdir(self), "g.npz")
    np.savez(path, images=images)
    source = data.load_array_source(path, 12)
    gray = images.reshape(6, 12, 12)
    np.testing.assert_array_equal(source.get(np.arange(6)), np.stack([gray] * 3, -1))
    resized = data.load_array_source(path, 16).get(np.array([4]))
    np.testing.assert_array_equal(resized[0, ..., 1], _lanczos(gray[4], 16))
    np.testing.assert_array_equal(resized[0, ..., 0], resized[0, ..., 2])

  def test_rgb_npz_key_and_limit(self):
    images = np.random.default_rng(4).integers(0, 256, (5, 8, 8, 3), np.uint8)
    path = os.path.join(_tempdir(self), "c.npz")
    np.savez(path, pics=images)
    cfg = data.default_data_config()
    cfg.update(source="npz", path=path, key="pics", num_examples=3)
    source = data.build_source(cfg, 8)
    self.assertLen(source, 3)
    np.testing.assert_array_equal(source.get(np.array([2, 0])), images[[2, 0]])
    with self.assertRaisesRegex(KeyError, "images"):
      data.load_array_source(path, 8)
    with self.assertRaisesRegex(FileNotFoundError, "missing.npz"):
      data.load_array_source(path.replace("c.npz", "missing.npz"), 8)

  def test_shared_mnist_and_celebahq(self):
    mnist = _shared_file("mnist_test_10k_28x28.npz")
    celeb = _shared_file("celebahq_200/celebahq200_64x64.npz")
    if mnist is None or celeb is None:
      self.skipTest("shared data (../shared/data) not present")
    source = data.load_array_source(mnist, 32, num_examples=50)
    digits = source.get(np.arange(50))
    self.assertEqual(digits.shape, (50, 32, 32, 3))
    np.testing.assert_array_equal(digits[..., 0], digits[..., 2])
    raw = np.load(mnist)["images"][7, ..., 0]
    np.testing.assert_array_equal(digits[7, ..., 0], _lanczos(raw, 32))
    faces = data.load_array_source(celeb, 64)
    self.assertLen(faces, 200)
    np.testing.assert_array_equal(faces.get(np.array([5])), np.load(celeb)["images"][5:6])

  def test_shared_jpeg_folder_matches_lanczos_npz(self):
    jpgs = _shared_file("celebahq_200/jpg_1024")
    npz = _shared_file("celebahq_200/celebahq200_64x64.npz")
    if jpgs is None or npz is None:
      self.skipTest("shared data (../shared/data) not present")
    folder = data.FolderSource(jpgs, 64, num_examples=8)
    ref = np.load(npz)["images"][:8]
    self.assertLess(np.abs(folder.get(np.arange(8)).astype(int) - ref).mean(), 1.5)


def _inside_convex(px, py, vx, vy):
  """Point-in-convex-polygon by cross-product signs (vertices counter-clockwise)."""
  inside = np.ones(px.shape, bool)
  for k in range(len(vx)):
    x0, y0, x1, y1 = vx[k], vy[k], vx[(k + 1) % len(vx)], vy[(k + 1) % len(vx)]
    inside &= (x1 - x0) * (py - y0) - (y1 - y0) * (px - x0) >= 0
  return inside


class ShapesTest(parameterized.TestCase):

  def test_deterministic_and_distinct(self):
    a = data.ShapesSource(32, 1000, seed=5).get(np.array([3, 17, 3]))
    b = data.ShapesSource(32, 1000, seed=5).get(np.array([17, 3]))
    np.testing.assert_array_equal(a[0], a[2])
    np.testing.assert_array_equal(a[:2], b[::-1])
    self.assertFalse(np.array_equal(a[0], a[1]))
    other_seed = data.ShapesSource(32, 1000, seed=6).get(np.array([3]))
    self.assertFalse(np.array_equal(a[0], other_seed[0]))

  @parameterized.parameters(16, 32, 64)
  def test_antialiased_and_matches_supersampling(self, r):
    idx = np.arange(12)
    images = data.ShapesSource(r, 100).get(idx)
    self.assertEqual((images.dtype, images.shape), (np.uint8, (12, r, r, 3)))
    params = shapes_lib.shape_params(0, idx)
    self.assertEqual(set(params["kind"].tolist()), {0, 1, 2})
    ss = 8  # 8x8 subpixel point samples per pixel: an independent coverage estimate.
    sub = (np.arange(r * ss) + 0.5) / ss
    py, px = np.meshgrid(sub, sub, indexing="ij")
    for i, image in enumerate(images):
      bg, fg = params["background"][i] * 255, params["foreground"][i] * 255
      self.assertTrue(np.all(np.abs(fg - bg) >= 0.3 * 255 - 1e-6))
      cx, cy = params["center"][i] * r
      rad, angle, kind = params["radius"][i] * r, params["angle"][i], params["kind"][i]
      if kind == 0:
        inside = (px - cx) ** 2 + (py - cy) ** 2 <= rad ** 2
      else:
        n = 4 if kind == 1 else 3
        vert = angle + np.pi / n + 2 * np.pi * np.arange(n) / n
        inside = _inside_convex(px, py, cx + rad * np.cos(vert), cy + rad * np.sin(vert))
      coverage = inside.reshape(r, ss, r, ss).mean(axis=(1, 3))  # [R, R]
      want = bg + (fg - bg) * coverage[..., None]
      err = np.abs(image - want) / np.abs(fg - bg).max()
      self.assertLess(err.mean(), 0.01)
      self.assertLess(err.max(), 0.35)
      # Edge pixels take intermediate values on the bg-fg segment.
      self.assertGreater(len(np.unique(image.reshape(-1, 3), axis=0)), 2)
      self.assertTrue(np.all(image >= np.minimum(bg, fg).astype(int) - 1))
      self.assertTrue(np.all(image <= np.maximum(bg, fg).astype(int) + 1))

  def test_same_image_across_resolutions(self):
    hi = data.ShapesSource(64, 10).get(np.arange(4)).astype(np.float64)
    lo = data.ShapesSource(16, 10).get(np.arange(4)).astype(np.float64)
    pooled = hi.reshape(4, 16, 4, 16, 4, 3).mean(axis=(2, 4))
    self.assertLess(np.abs(pooled - lo).mean(), 3.0)


class _CountingSource:
  """Image i is filled with i % 256 (channel 0) and i // 256 (channel 1)."""

  resolution = 2

  def __init__(self, n):
    self.n, self.reads = n, 0

  def __len__(self):
    return self.n

  def get(self, indices):
    self.reads += len(indices)
    out = np.zeros((len(indices), 2, 2, 3), np.uint8)
    out[..., 0] = (np.asarray(indices) % 256)[:, None, None]
    out[..., 1] = (np.asarray(indices) // 256)[:, None, None]
    return out


def _decode_counting(batch):
  return batch[:, 0, 0, 0].astype(int) + 256 * batch[:, 0, 0, 1].astype(int)


class SamplingTest(parameterized.TestCase):

  @parameterized.parameters((10, 4), (37, 8), (10, 25))
  def test_each_epoch_is_a_permutation(self, n, b):
    num_epochs = 3
    steps = -(-num_epochs * n // b)
    stream = np.concatenate([data.global_batch_indices(n, b, 7, s) for s in range(steps)])
    for e in range(num_epochs):
      np.testing.assert_array_equal(np.sort(stream[e * n:(e + 1) * n]), np.arange(n))
    self.assertFalse(np.array_equal(stream[:n], stream[n:2 * n]))  # reshuffled
    np.testing.assert_array_equal(data.global_batch_indices(n, b, 7, 1), stream[b:2 * b])
    self.assertFalse(np.array_equal(data.global_batch_indices(n, b, 8, 0), stream[:b]))

  @parameterized.parameters(1, 2, 4)
  def test_process_slices_concatenate(self, process_count):
    source = _CountingSource(50)
    want = data.global_batch_indices(50, 16, 3, 5)
    parts = [data.process_local_batch(source, 16, 3, 5, p, process_count)
             for p in range(process_count)]
    np.testing.assert_array_equal(_decode_counting(np.concatenate(parts)), want)
    self.assertEqual(source.reads, 16)  # Each process read only its slice.

  def test_bad_arguments(self):
    with self.assertRaisesRegex(ValueError, "divisible"):
      data.process_local_batch(_CountingSource(10), 6, 0, 0, 0, 4)
    with self.assertRaisesRegex(ValueError, "step"):
      data.global_batch_indices(10, 4, 0, -1)

  def test_resume_reproduces_stream(self):
    source = _CountingSource(23)
    with data.BatchIterator(source, 8, seed=1, num_steps=7, process_index=0,
                            process_count=1) as straight:
      run = list(straight)
    self.assertEqual([s for s, _ in run], list(range(7)))
    with data.BatchIterator(source, 8, seed=1, start_step=4, num_steps=3, prefetch=1,
                            process_index=0, process_count=1) as resumed:
      for (s1, b1), (s2, b2) in zip(run[4:], resumed):
        self.assertEqual(s1, s2)
        np.testing.assert_array_equal(b1, b2)
    for s, batch in run:
      np.testing.assert_array_equal(_decode_counting(batch),
                                    data.global_batch_indices(23, 8, 1, s))

  def test_iterator_propagates_errors_and_closes(self):
    class Broken(_CountingSource):
      def get(self, indices):
        raise RuntimeError("decode failed")
    it = data.BatchIterator(Broken(5), 2, 0, process_index=0, process_count=1)
    with self.assertRaisesRegex(RuntimeError, "decode failed"):
      next(it)
    it.close()
    endless = data.BatchIterator(_CountingSource(5), 2, 0, process_index=0, process_count=1)
    next(endless)
    endless.close()
    self.assertFalse(endless._thread.is_alive())

  def test_device_prefetch_on_8_devices(self):
    self.assertEqual(jax.device_count(), 8)
    mesh = Mesh(np.array(jax.devices()), ("data",))
    sharding = NamedSharding(mesh, P("data"))
    source = data.ShapesSource(8, 100)
    it = data.BatchIterator(source, 16, seed=0, num_steps=3, process_index=0,
                            process_count=1)
    out = list(data.device_prefetch(it, sharding, size=2))
    self.assertEqual([s for s, _ in out], [0, 1, 2])
    for step, array in out:
      self.assertIsInstance(array, jax.Array)
      self.assertEqual((array.shape, array.dtype), ((16, 8, 8, 3), np.uint8))
      self.assertEqual(array.sharding, sharding)
      self.assertLen(array.addressable_shards, 8)
      want = data.process_local_batch(source, 16, 0, step, 0, 1)
      np.testing.assert_array_equal(np.asarray(array), want)
      np.testing.assert_array_equal(np.asarray(array.addressable_shards[1].data), want[2:4])


class TfdsAndConfigTest(parameterized.TestCase):

  def test_missing_dataset_fails_fast_with_instructions(self):
    data_dir = _tempdir(self)
    cfg = data.default_data_config()
    cfg.update(source="tfds", name="mnist", data_dir=data_dir)
    start = time.perf_counter()
    with self.assertRaisesRegex(FileNotFoundError, "tfds build mnist") as ctx:
      data.build_source(cfg, 32)
    self.assertLess(time.perf_counter() - start, 10)
    self.assertIn(data_dir, str(ctx.exception))
    with self.assertRaisesRegex(ValueError, "Unknown TFDS dataset"):
      data.open_tfds_source("no_such_dataset_xyz", 32, data_dir=data_dir)

  def test_mock_data_without_tensorflow(self):
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    with tfds.testing.mock_data(num_examples=5):
      for name in ("mnist", "lsun/bedroom"):
        source = data.open_tfds_source(name, 16, num_examples=4)
        raw = tfds.data_source(name, split="train")
        self.assertLen(source, 4)
        images = source.get(np.array([3, 1]))
        self.assertEqual(images.shape, (2, 16, 16, 3))
        for image, i in zip(images, (3, 1)):
          np.testing.assert_array_equal(
              image, transforms.array_to_square_rgb(raw[i]["image"], 16))

  def test_tfds_source_conversion_on_fake_records(self):
    rng = np.random.default_rng(9)
    gray = rng.integers(0, 256, (10, 6, 1), np.uint8)  # tall: rows 2..8 survive
    rgb = rng.integers(0, 256, (4, 4, 3), np.uint8)
    source = data.TfdsSource([{"image": gray}, {"image": rgb}, {"label": 1}], 4,
                             num_examples=2)
    self.assertLen(source, 2)
    got = source.get(np.array([0, 1]))
    np.testing.assert_array_equal(got[0], _lanczos(np.repeat(gray[2:8], 3, -1), 4))
    np.testing.assert_array_equal(got[1], rgb)
    with self.assertRaisesRegex(KeyError, "image"):
      data.TfdsSource([{"label": 1}], 4).get(np.array([0]))

  def test_build_source_dispatch_and_errors(self):
    cfg = data.default_data_config()
    self.assertEqual(
        set(cfg.keys()),
        {"source", "path", "name", "split", "data_dir", "download", "on_corrupt",
         "num_examples", "key", "seed", "decode", "cache_dir"})
    source = data.build_source(cfg, 16)
    self.assertIsInstance(source, data.ImageSource)
    self.assertLen(source, shapes_lib.DEFAULT_NUM_EXAMPLES)
    cfg.source = "hdf5"
    with self.assertRaisesRegex(ValueError, "shapes, npz, folder, lmdb, tfds"):
      data.build_source(cfg, 16)
    self.assertIsInstance(npz_lib.ArraySource(np.zeros((1, 4, 4, 3), np.uint8), 4),
                          data.ImageSource)


if __name__ == "__main__":
  absltest.main()
