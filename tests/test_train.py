"""The training loop and binary: resume is exact, bad configs fail early, NaN keeps checkpoints."""
import math
import json
import os
import subprocess
import sys
import tempfile

from absl.testing import absltest
import pytest
import jax
import numpy as np

from inr_gan_jax.checkpoints import checkpointing
from inr_gan_jax import config_lib
from inr_gan_jax.checkpoints import restore
from inr_gan_jax.train import loop as train
from inr_gan_jax.train import step as train_step_lib
from inr_gan_jax.utils import summary
from tests import helpers

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_state(workdir, step=None):
  config = helpers.tiny_train_config()
  trainer = train_step_lib.Trainer(config, train.make_mesh())
  state, meta, _ = checkpointing.load_checkpoint(workdir, trainer.abstract_state(config.seed), step)
  return jax.device_get(state), meta


def assert_states_identical(testcase, a, b):
  testcase.assertEqual(jax.tree.structure(a), jax.tree.structure(b))
  for (path, x), y in zip(jax.tree_util.tree_leaves_with_path(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=jax.tree_util.keystr(path))


def run_cli(workdir, *overrides):
  env = dict(os.environ, PYTHONPATH=_ROOT)
  cmd = [sys.executable, "-m", "inr_gan_jax.main", "--config=tests/tiny_config.py",
         f"--workdir={workdir}", *overrides]
  return subprocess.run(cmd, cwd=_ROOT, env=env, capture_output=True, text=True, timeout=300)


class TrainLoopTest(absltest.TestCase):

  def test_half_run_then_resume_equals_straight_run(self):
    straight, halves = tempfile.mkdtemp(), tempfile.mkdtemp()
    config = helpers.tiny_train_config(num_steps=4)
    train.train_and_evaluate(config, straight)
    train.train_and_evaluate(helpers.tiny_train_config(num_steps=2), halves)
    self.assertEqual(checkpointing.list_steps(checkpointing.checkpoint_dir(halves)), [2])
    train.train_and_evaluate(config, halves)
    a, meta = load_state(straight)
    b, _ = load_state(halves)
    self.assertEqual(int(a["step"]), 4)
    self.assertEqual(meta["step"], 4)
    assert_states_identical(self, a, b)
    # The checkpoint is self-describing: the EMA generator loads from the path alone.
    loaded = restore.load_generator(halves)
    self.assertEqual(loaded.step, 4)
    assert_states_identical(self, jax.device_get(loaded.params), a["g_ema"])

  @pytest.mark.slow  # deselect with -m 'not slow' (the default run keeps it)
  def test_bfloat16_half_run_then_resume_equals_straight_run(self):
    straight, halves = tempfile.mkdtemp(), tempfile.mkdtemp()
    config = helpers.tiny_train_config(num_steps=4, compute_dtype="bfloat16")
    train.train_and_evaluate(config, straight)
    train.train_and_evaluate(helpers.tiny_train_config(num_steps=2, compute_dtype="bfloat16"),
                             halves)
    train.train_and_evaluate(config, halves)
    a, _ = load_state(straight)
    b, _ = load_state(halves)
    assert_states_identical(self, a, b)  # (the state's dtypes: tests/test_compute_dtype.py)

  def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(self):
    workdir = tempfile.mkdtemp()
    train.train_and_evaluate(helpers.tiny_train_config(num_steps=2), workdir)
    with self.assertRaisesRegex(train.NonFiniteError, "last good checkpoint is step 2"):
      train.train_and_evaluate(helpers.tiny_train_config(num_steps=6, r1_gamma=math.inf), workdir)
    self.assertEqual(checkpointing.list_steps(checkpointing.checkpoint_dir(workdir)), [2])
    state, _ = load_state(workdir)
    self.assertTrue(all(np.isfinite(x).all() for x in jax.tree.leaves(state["g"])))

  def test_bad_configs_fail_before_work(self):
    cases = [({"batch_size": 12}, "divisible by the number of devices"),
             ({"num_steps": 0}, "train.num_steps"),
             ({"lr_disc": -1.0}, "train.lr_disc")]
    for overrides, message in cases:
      with self.assertRaisesRegex(ValueError, message):
        config_lib.validate(helpers.tiny_train_config(**overrides), num_devices=8)
    c = helpers.tiny_train_config()
    c.discriminator.pack = 3
    with self.assertRaisesRegex(ValueError, "discriminator.pack=3"):
      config_lib.validate(c)
    c = helpers.tiny_train_config()
    c.data.source = "imagenet"
    workdir = tempfile.mkdtemp()
    with self.assertRaisesRegex(ValueError, "data.source"):
      train.train_and_evaluate(c, workdir)
    self.assertEqual(os.listdir(workdir), [])
    c = helpers.tiny_train_config()
    c.eval.every_steps = 10
    with self.assertRaisesRegex(ValueError, "eval.inception_weights"):
      config_lib.validate(c)
    c = helpers.tiny_train_config()
    c.model.resolution = 24
    with self.assertRaisesRegex(ValueError, "block_resolutions"):
      config_lib.validate(c)

  def test_resume_with_a_different_model_is_refused(self):
    workdir = tempfile.mkdtemp()
    train.train_and_evaluate(helpers.tiny_train_config(num_steps=2), workdir)
    c = helpers.tiny_train_config(num_steps=4)
    c.model.fourier_scale = 3.0   # same shapes, different model
    with self.assertRaisesRegex(ValueError, "different model"):
      train.train_and_evaluate(c, workdir)

  def test_resume_check_reads_keys_a_checkpoint_predates_as_defaults(self):
    c = helpers.tiny_train_config()
    saved = json.loads(c.to_json_best_effort())
    del saved["model"]["latent_grid"]  # a checkpoint written before the switch existed
    train._check_resumed_config({"config": saved}, c)  # default now: same model
    c.model.latent_grid = 4
    with self.assertRaisesRegex(ValueError, r"different model \(keys \['latent_grid'\]"):
      train._check_resumed_config({"config": saved}, c)


class BinaryTest(absltest.TestCase):

  def test_full_disk_during_a_save_is_one_line_and_keeps_the_last_checkpoint(self):
    from unittest import mock
    import errno
    import io
    import contextlib
    workdir = tempfile.mkdtemp()
    self.assertEqual(train.run(helpers.tiny_train_config(num_steps=2), workdir), 0)
    full = OSError(errno.ENOSPC, "No space left on device")
    err = io.StringIO()
    with mock.patch.object(checkpointing.TrainCheckpointer, "save", side_effect=full), \
        contextlib.redirect_stderr(err):
      code = train.run(helpers.tiny_train_config(num_steps=4), workdir)
    self.assertEqual(code, 1)
    line = err.getvalue().strip()
    self.assertEqual(len(line.splitlines()), 1, line)
    self.assertIn("No space left on device", line)
    self.assertIn("step 2", line)
    self.assertIn("rerun the same command", line)
    self.assertEqual(checkpointing.resolve_checkpoint(workdir)[1], 2)  # nothing lost

  @pytest.mark.slow  # deselect with -m 'not slow' (the default run keeps it)
  def test_cli_two_steps_then_resume_equals_straight_run(self):
    straight, halves = tempfile.mkdtemp(), tempfile.mkdtemp()
    for workdir, steps in [(straight, 4), (halves, 2), (halves, 4)]:
      proc = run_cli(workdir, f"--config.train.num_steps={steps}")
      self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertIn("Resumed from", proc.stdout)
    self.assertIn("step 4/4", proc.stdout)
    assert_states_identical(self, load_state(straight)[0], load_state(halves)[0])
    self.assertTrue(os.path.isfile(os.path.join(straight, "config.json")))
    self.assertTrue(any(f.startswith("events.out.tfevents")
                        for f in os.listdir(os.path.join(straight, "tensorboard"))))
    # The run directory as StyleGAN2-ADA users know it: the console in log.txt (both
    # sessions of the resumed run), one metrics.jsonl line per log step.
    with open(os.path.join(halves, "log.txt")) as f:
      log = f.read()
    self.assertIn("step 2/2", log)
    self.assertIn("Resumed from", log)
    self.assertIn("step 4/4", log)
    rows = summary.read_jsonl(os.path.join(straight, "metrics.jsonl"))
    log_every = int(json.load(open(os.path.join(straight, "config.json")))["train"]["log_every"])
    self.assertEqual([r["step"] for r in rows], list(range(log_every, 5, log_every)))
    for key in ("kimg", "images_per_s", "d_loss", "g_loss", "r1", "d_real", "d_fake",
                "grad_norm_d", "grad_norm_g"):
      self.assertTrue(all(np.isfinite(r[key]) for r in rows), key)
    batch = json.load(open(os.path.join(straight, "config.json")))["train"]["batch_size"]
    self.assertAlmostEqual(rows[-1]["kimg"], 4 * batch / 1000.0)
    from experiments import plot_losses  # reads metrics.jsonl
    steps, d_loss = plot_losses.curves(straight)["d_loss"]
    np.testing.assert_array_equal(steps, [r["step"] for r in rows])
    np.testing.assert_allclose(d_loss, [r["d_loss"] for r in rows])

  def test_cli_bad_value_and_missing_data_are_one_line(self):
    for override, message in (("--config.train.lr_hyper=-1", "FATAL: config.train.lr_hyper=-1.0 "
                                                               "must be > 0"),
                              ("--config.data.path=/nonexistent.npz",
                               "FATAL: npz/npy file not found: '/nonexistent.npz' (set "
                               "--config.data.path"),
                              ("--config.train.num_steps=abc", "FATAL Flags parsing error")):
      workdir = tempfile.mkdtemp()
      c = "--config.data.source=npz" if "data.path" in override else "--config.seed=0"
      proc = run_cli(workdir, c, override)
      self.assertNotEqual(proc.returncode, 0, override)
      self.assertNotIn("Traceback", proc.stderr, override)
      self.assertIn(message, proc.stderr)

  def test_cli_unknown_key_is_a_clear_error(self):
    workdir = tempfile.mkdtemp()
    proc = run_cli(workdir, "--config.train.num_stepz=3")
    self.assertEqual(proc.returncode, 2)
    self.assertNotIn("Traceback", proc.stderr)
    # One line naming the key, where it was looked for, and what exists there.
    self.assertRegex(proc.stderr, r"FATAL: unknown config key 'train.num_stepz' .*config.train "
                                  r"has no 'num_stepz'. Did you mean 'num_steps'\? Known keys of "
                                  r"config.train: .*num_steps")
    self.assertFalse(os.path.exists(os.path.join(workdir, "checkpoints")))


if __name__ == "__main__":
  absltest.main()
