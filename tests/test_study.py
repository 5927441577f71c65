"""Study helpers: eval.jsonl parsing, seed summaries, the blockiness diagnostic."""
import json
import os
import tempfile
import unittest

import numpy as np

from experiments import blockiness
from experiments import study
from experiments import variation_channels


class StudyTest(unittest.TestCase):

  def test_read_eval_shortens_names_and_keeps_the_last_row_per_step(self):
    d = tempfile.mkdtemp()
    rows = [{"step": 250, "kimg": 4.0, "eval/fid5k": 9.0, "eval/kid5k": 0.002,
             "eval/kid5k_std": 0.1, "eval/fid5k_num_real": 5000.0,
             "eval/coverage5k/class_entropy": 0.5},
            {"step": 250, "kimg": 4.0, "eval/fid5k": 7.0},   # a resumed run's repeat
            {"step": 500, "kimg": 8.0, "eval/fid5k": 5.0}]
    with open(os.path.join(d, "eval.jsonl"), "w") as f:
      f.write("\n".join(json.dumps(r) for r in rows) + "\n")
    curve = study.read_eval(d)
    self.assertEqual([r["step"] for r in curve], [250, 500])
    self.assertEqual(curve[0], {"step": 250, "kimg": 4.0, "fid": 7.0})
    self.assertEqual(study.read_eval(tempfile.mkdtemp()), [])

  def test_collect_keeps_finished_runs_only(self):
    root = tempfile.mkdtemp()
    for name in ("a_s0", "a_s1", "b_s1", "c_s0"):
      os.makedirs(os.path.join(root, name))
    for name, fid in (("a_s0", 10.0), ("b_s1", 30.0), ("c_s0", 99.0)):
      with open(os.path.join(root, name, "eval.jsonl"), "w") as f:
        f.write(json.dumps({"step": 4, "kimg": 1.0, "eval/fid5k": fid}) + "\n")
    for name in ("a_s0", "a_s1", "b_s1"):   # c_s0 is still training: evaluations, no done.json
      with open(os.path.join(root, name, "done.json"), "w") as f:
        json.dump({"seconds": 1.0}, f)
    got = study.collect(["a", "b", "c"], [0, 1], lambda s, seed: os.path.join(root, f"{s}_s{seed}"))
    self.assertEqual({k: sorted(v) for k, v in got.items()}, {"a": [0], "b": [1]})
    self.assertEqual(got["b"][1], [{"step": 4, "kimg": 1.0, "fid": 30.0}])

  def test_a_record_stands_in_for_a_deleted_run(self):
    root, records = tempfile.mkdtemp(), os.path.join(tempfile.mkdtemp(), "table1_x_8kimg")
    wd = os.path.join(root, "fmm_s1")
    os.makedirs(wd)
    with open(os.path.join(wd, "eval.jsonl"), "w") as f:
      for step, fid in ((2, 50.0), (4, 20.0)):
        f.write(json.dumps({"step": step, "kimg": step / 2, "eval/fid2k": fid}) + "\n")
    with open(os.path.join(wd, "done.json"), "w") as f:
      json.dump({"seconds": 12.5, "cmd": ["python"], "cpu": "some CPU"}, f)
    self.assertEqual(study.run_or_record(wd, records, "fmm", 1), wd)
    self.assertEqual(study.run_cpu(wd), "some CPU")
    path = study.save_record(wd, records, "fmm", 1)
    self.assertEqual(study.run_cpu(path), "some CPU")
    self.assertEqual(study.run_cpu(os.path.join(records, "inr_gan_s0.jsonl")), "")
    self.assertEqual(path, os.path.join(records, "fmm_s1.jsonl"))
    with open(os.path.join(records, "fmm_s1.done.json")) as f:
      self.assertEqual(json.load(f), {"seconds": 12.5, "cpu": "some CPU"})
    before = study.read_eval(wd)
    for name in os.listdir(wd):   # the next session's fresh machine: no run directory
      os.remove(os.path.join(wd, name))
    os.rmdir(wd)
    self.assertEqual(study.run_or_record(wd, records, "fmm", 1), path)
    got = study.collect(["fmm"], [0, 1], lambda s, seed: study.run_or_record(
        os.path.join(root, f"{s}_s{seed}"), records, s, seed))
    self.assertEqual(got, {"fmm": {1: before}})
    self.assertEqual(before[-1], {"step": 4, "kimg": 2.0, "fid": 20.0})
    os.makedirs(wd)   # the same run started again and evaluated once: the record still stands
    with open(os.path.join(wd, "eval.jsonl"), "w") as f:
      f.write(json.dumps({"step": 2, "kimg": 1.0, "eval/fid2k": 77.0}) + "\n")
    self.assertEqual(study.run_or_record(wd, records, "fmm", 1), path)

  def test_summary_is_mean_and_half_range_of_final_rows(self):
    results = {"a": {0: [{"kimg": 4, "fid": 100.0}, {"kimg": 8, "fid": 10.0}],
                     1: [{"kimg": 8, "fid": 14.0, "coverage/class_entropy": 0.9}]}}
    s = study.summarise(results)["a"]
    self.assertEqual(s["seeds"], 2)
    self.assertEqual(s["fid"], (12.0, 2.0))
    self.assertEqual(s["coverage/class_entropy"], (0.9, 0.0))
    self.assertIn("| `a` |", study.table(study.summarise(results), {}))


class BlockinessTest(unittest.TestCase):

  def test_nearest_upsampled_images_are_blocky_and_smooth_ones_are_not(self):
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (8, 8, 8, 3)).astype(np.uint8)
    blocky = np.repeat(np.repeat(small, 2, axis=1), 2, axis=2)
    s = blockiness.block_stats(blocky)
    self.assertEqual(s["within"], 0.0)
    self.assertGreater(s["ratio"], 1e6)
    ramp = np.broadcast_to(np.arange(16, dtype=np.uint8)[None, None, :, None] * 10,
                           (2, 16, 16, 3))
    self.assertAlmostEqual(blockiness.block_stats(ramp)["ratio"], 1.0)
    self.assertEqual(blockiness.block_stats(ramp)["colour_dev"], 0.0)


class WriteBlockTest(unittest.TestCase):

  def test_replaces_only_its_block_and_creates_missing_ones(self):
    path = os.path.join(tempfile.mkdtemp(), "doc.md")
    study.write_block(path, "t", "first")
    self.assertEqual(open(path).read(), "<!-- t:begin -->\nfirst\n<!-- t:end -->\n")
    with open(path, "w") as f:
      f.write("# Title\nprose\n<!-- t:begin -->\nold\n<!-- t:end -->\nmore prose\n")
    study.write_block(path, "t", "new table")
    self.assertEqual(open(path).read(),
                     "# Title\nprose\n<!-- t:begin -->\nnew table\n<!-- t:end -->\nmore prose\n")
    study.write_block(path, "u", "other")
    text = open(path).read()
    self.assertTrue(text.startswith("# Title\nprose\n<!-- t:begin -->\nnew table"))
    self.assertTrue(text.endswith("more prose\n\n<!-- u:begin -->\nother\n<!-- u:end -->\n"))


class VariationChannelsTest(unittest.TestCase):

  def setUp(self):
    import jax
    from inr_gan_jax.model import generator as generator_lib
    from tests import helpers
    self.jax = jax
    self.g = generator_lib.Generator(helpers.tiny_model())
    self.params = jax.jit(self.g.init)(jax.random.key(0))
    self.z = self.g.sample_z(jax.random.key(1), 8)

  def test_one_kind_against_a_direct_render(self):
    jax, g, params = self.jax, self.g, self.params
    out = variation_channels.channel_effects(g, params, self.z)
    theta = g.theta(params, self.z)
    base = np.asarray(g.render(params, theta))
    self.assertAlmostEqual(out["image_std"], float(base.std(0).mean()), places=5)
    f = theta["block0"]["fourier"]["w"]
    theta["block0"]["fourier"]["w"] = jax.numpy.broadcast_to(f.mean(0), f.shape)
    images = np.asarray(g.render(params, theta))
    got = out["kinds"]["block0/fourier/w"]
    self.assertAlmostEqual(got["change"], float(np.abs(images - base).mean()), places=5)
    self.assertAlmostEqual(got["remaining_std"], float(images.std(0).mean()), places=5)
    self.assertIn("block1/hidden/a", out["kinds"])
    self.assertGreater(got["change"], 0.0)

  def test_a_generator_that_ignores_z_has_no_channel(self):
    jax, g = self.jax, self.g
    params = jax.tree_util.tree_map_with_path(   # connector kernel 0: theta = connector bias
        lambda kp, x: x * 0 if "connector" in str(kp) and "kernel" in str(kp) else x, self.params)
    out = variation_channels.channel_effects(g, params, self.z)
    self.assertLess(out["image_std"], 1e-6)
    for kind, e in out["kinds"].items():
      self.assertLess(e["change"], 1e-6, kind)


if __name__ == "__main__":
  unittest.main()
