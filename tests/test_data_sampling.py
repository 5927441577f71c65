"""The embedded shapes dataset and the batch sampler (order, resume, sharding, prefetch)."""
from absl.testing import absltest
from absl.testing import parameterized
import jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
import numpy as np

from inr_gan_jax import data
from inr_gan_jax.data import shapes as shapes_lib

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


if __name__ == "__main__":
  absltest.main()
