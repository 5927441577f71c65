"""The INR exercise's report: collapse floor, collapsed rows, numbers carried into the doc."""
import argparse
import os
import tempfile

from absl.testing import absltest
import numpy as np

from experiments import inr_exercise
from experiments import inr_exercise_doc


def set_row(psnr: float, blend: float, seconds: float = 10.0) -> dict:
  interp = {"blend_ratio": blend, "nearest_ratio": 0.5, "endpoint_rmse": 0.3}
  return {"num_params": 1000, "train_seconds": seconds, "psnr_mean": psnr,
          "psnr_per_image": [psnr - 1, psnr + 1], "train_psnr": psnr + 0.5,
          "heldout_psnr": psnr - 0.5, "num_images": 2, "size": 16,
          "history": [{"step": 10, "seconds": seconds, "train_psnr": psnr,
                       "heldout_psnr": psnr - 1}],
          "upsampling": {"inr_psnr": psnr - 2, "inr_ssim": 0.5, "bicubic_psnr": 25.0,
                         "bicubic_ssim": 0.7, "low_size": 16, "high_size": 64},
          "interpolation": {"similar": dict(interp), "dissimilar": dict(interp)}}


class ExerciseReportTest(absltest.TestCase):

  def test_mean_image_psnr_matches_numpy(self):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (3, 256, 256, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as d:
      path = os.path.join(d, "set.npz")
      np.savez(path, images=imgs)
      got = inr_exercise.mean_image_psnr(path, 3, 256)  # size 256: no resampling
    x = imgs.astype(np.float64) / 127.5 - 1.0
    mse = ((x - x.mean(0, keepdims=True)) ** 2).mean(axis=(1, 2, 3))
    self.assertAlmostEqual(got, float(np.mean(10 * np.log10(4.0 / mse))), places=6)

  def test_phase_errors_name_the_problem(self):
    with tempfile.TemporaryDirectory() as d:
      args = argparse.Namespace(quick=True, phases="bogus", figures=d, data_dir=d)
      with self.assertRaisesRegex(ValueError, "bogus"):
        inr_exercise.run_all(args)
      args.phases = "base"
      with self.assertRaisesRegex(FileNotFoundError, "summary.json"):
        inr_exercise.run_all(args)

  def test_doc_marks_collapsed_rows_and_carries_numbers(self):
    hist = [{"step": 25, "seconds": 1.0, "psnr": 31.0}]
    single = {"size": 64, "ffn": {"num_params": 10, "steps_to_target": 25,
                                  "seconds_to_target": 17.3, "final_psnr": 31.0,
                                  "history": hist}}
    base = {"size": 16, "ffn": {"num_params": 5, "final_psnr": 30.0, "history": hist}}
    summary = {"preset": "quick", "single": single, "base": base, "project": None,
               "checkpoint": "nowhere", "times": {"single": 1.0, "total": 1.0},
               "mean_image_psnr": 12.0,
               "memorize_rows": {"ffn_index_w1x": set_row(12.5, 0.111),
                                 "ffn_binary_w10x": set_row(22.0, 0.222)},
               "ad_rows": {"autodecoder": set_row(21.0, 0.333)}}
    with tempfile.TemporaryDirectory() as d:
      doc = os.path.join(d, "doc.md")
      inr_exercise_doc.write_doc(summary, os.path.join(d, "fig"), doc)
      text = open(doc).read()
      self.assertTrue(os.path.exists(os.path.join(d, "fig", "set_curves.png")))
    rows = {line.split("|")[1].strip(): line for line in text.splitlines()
            if line.startswith("| ffn_") or line.startswith("| autodecoder")}
    self.assertIn("*collapsed*", rows["ffn_index_w1x"])  # 12.5 dB is within 1 dB of 12.0
    self.assertNotIn("0.111", text)
    self.assertIn("0.222", rows["ffn_binary_w10x"])
    self.assertIn("0.333", rows["autodecoder"])
    self.assertIn("| 17.3 |", text)  # seconds to 30 dB, in the single-image table
    collapse = next(line for line in text.splitlines() if line.startswith("* **Collapse"))
    self.assertIn("`ffn_index_w1x`", collapse)
    self.assertNotIn("binary", collapse)
    self.assertIn("Skipped: no checkpoint", text)


if __name__ == "__main__":
  absltest.main()
