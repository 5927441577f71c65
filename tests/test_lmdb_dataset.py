"""LMDB sources (LSUN as distributed) and the dataset converter, on small LMDBs built here."""
import io
import os
import shutil
import subprocess
import sys
import tempfile

from absl.testing import absltest
import lmdb
import numpy as np
from PIL import Image

from inr_gan_jax.data import config as data_config
from inr_gan_jax.data import folder
from inr_gan_jax.data import pipeline
from inr_gan_jax.data import transforms
from inr_gan_jax import dataset

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def encode(array, fmt):
  buf = io.BytesIO()
  Image.fromarray(array).save(buf, format=fmt, **({"lossless": True} if fmt == "WEBP" else {}))
  return buf.getvalue()


def make_lmdb(path, values):
  env = lmdb.open(path, map_size=1 << 26)
  with env.begin(write=True) as txn:
    for key, value in values.items():
      txn.put(key.encode(), value)
  env.close()


class LmdbTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.dir = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
    rng = np.random.default_rng(0)
    # Non-square images of several formats, keyed out of insertion order (LMDB sorts keys).
    self.arrays = {f"{k:02x}": rng.integers(0, 256, (20 + k, 28, 3), dtype=np.uint8)
                   for k in (9, 3, 7, 1, 5)}
    fmts = ["WEBP", "JPEG", "PNG", "WEBP", "PNG"]
    self.values = {k: encode(a, f) for (k, a), f in zip(self.arrays.items(), fmts)}
    self.values["04"] = b"not an image"
    self.lmdb_path = os.path.join(self.dir, "bedroom_train_lmdb")
    make_lmdb(self.lmdb_path, self.values)

  def expected(self, resolution, keys=None):
    keys = keys or sorted(k for k in self.values if k != "04")
    return np.stack([transforms.decode_file(io.BytesIO(self.values[k]), resolution)
                     for k in keys])

  def test_source_reads_in_key_order_and_skips_corrupt_values(self):
    cfg = data_config.default_data_config()
    cfg.source, cfg.path = "lmdb", self.lmdb_path
    src = data_config.build_source(cfg, 16)
    self.assertLen(src, 5)  # eager: the bad value is dropped
    self.assertEqual(src.num_skipped, 1)
    self.assertIn("[04]", src.skipped_paths[0])
    np.testing.assert_array_equal(src.get(np.arange(5)), self.expected(16))
    lazy = folder.FolderSource(os.path.join(self.lmdb_path, "data.mdb"), 16, decode="lazy")
    self.assertLen(lazy, 6)
    np.testing.assert_array_equal(lazy.get(np.array([0, 1])), self.expected(16)[:2])

  def test_batches_split_over_processes_as_for_any_source(self):
    src = folder.FolderSource(self.lmdb_path, 8)
    whole = pipeline.BatchIterator(src, 4, seed=3, num_steps=2, process_index=0,
                                   process_count=1)
    halves = [pipeline.BatchIterator(src, 4, seed=3, num_steps=2, process_index=i,
                                     process_count=2) for i in range(2)]
    for _ in range(2):
      step, batch = next(whole)
      parts = [next(h)[1] for h in halves]
      np.testing.assert_array_equal(np.concatenate(parts), batch)
    for it in [whole] + halves:
      it.close()

  def test_not_an_lmdb_is_one_clear_error(self):
    cfg = data_config.default_data_config()
    cfg.source, cfg.path = "lmdb", self.dir  # a directory without data.mdb
    with self.assertRaisesRegex(FileNotFoundError, "not an LMDB directory"):
      data_config.build_source(cfg, 16)

  def test_convert_to_zip_and_npz_equal_the_source(self):
    zip_out, npz_out = os.path.join(self.dir, "d.zip"), os.path.join(self.dir, "d.npz")
    self.assertEqual(dataset.convert(self.lmdb_path, zip_out, 16, show_progress=False), 5)
    self.assertEqual(dataset.convert(self.lmdb_path, npz_out, 16, show_progress=False), 5)
    want = self.expected(16)
    np.testing.assert_array_equal(folder.FolderSource(zip_out, 16).get(np.arange(5)), want)
    with np.load(npz_out) as f:
      np.testing.assert_array_equal(f["images"], want)
    first3 = os.path.join(self.dir, "first3.npz")
    self.assertEqual(dataset.convert(self.lmdb_path, first3, 16, max_images=3,
                                     show_progress=False), 2)  # key 04 is among the first 3
    with self.assertRaisesRegex(FileExistsError, "exists"):
      dataset.convert(self.lmdb_path, zip_out, 16, show_progress=False)
    self.assertFalse(any(n.endswith(".tmp") for n in os.listdir(self.dir)))

  def test_cli_errors_are_one_line(self):
    out = subprocess.run([sys.executable, "-m", "inr_gan_jax.dataset", f"--source={self.dir}/x",
                          f"--out={self.dir}/o.tar", "--resolution=8"], cwd=_ROOT,
                         capture_output=True, text=True, timeout=120, check=False)
    self.assertEqual(out.returncode, 2)
    self.assertNotIn("Traceback", out.stderr)
    self.assertIn(".zip or .npz", out.stderr)


if __name__ == "__main__":
  absltest.main()
