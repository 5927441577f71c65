"""Shared flag tables: idempotent definition, first definition wins, kinds honoured."""
import os
import re
import shutil
import subprocess
import sys

from absl import flags
from absl.testing import absltest
from absl.testing import parameterized

from inr_gan_jax.utils import cli_flags
from inr_gan_jax import evaluate
from inr_gan_jax import sample


class DefineMissingTest(absltest.TestCase):

  def test_idempotent_and_shared_flags(self):
    fv = flags.FlagValues()
    cli_flags.define_missing([("integer", "n", 3, "count"), ("string", "s", "a", "text")], fv)
    cli_flags.define_missing([("integer", "n", 3, "other"), ("float", "x", 0.5, "x")], fv)
    fv(["prog", "--n=7"])
    self.assertEqual((fv.n, fv.s, fv.x), (7, "a", 0.5))

  def test_a_shared_flag_with_another_default_is_refused(self):
    fv = flags.FlagValues()
    cli_flags.define_missing([("integer", "n", 3, "count")], fv)
    with self.assertRaisesRegex(ValueError, r"--n is declared twice with different defaults "
                                            r"\(3 and 9\)"):
      cli_flags.define_missing([("integer", "n", 9, "other")], fv)

  def test_sample_and_evaluate_share_one_flag_table(self):
    fv = flags.FlagValues()
    sample.define_flags(fv)
    evaluate.define_flags(fv)
    sample.define_flags(fv)  # again: nothing raises, nothing is redefined
    names = {r[1] for r in sample._FLAGS} | {r[1] for r in evaluate._FLAGS}
    self.assertEqual(set(fv), names)


class QuietLogsTest(absltest.TestCase):

  def test_orbax_read_only_notice_and_info_are_dropped(self):
    import logging as py_logging
    from absl import logging
    before = logging.get_verbosity()
    self.addCleanup(logging.set_verbosity, before)
    cli_flags.quiet_library_logs()
    cli_flags.quiet_library_logs()  # idempotent: one filter
    absl_logger = py_logging.getLogger("absl")
    self.assertLen([f for f in absl_logger.filters if isinstance(f, cli_flags._DropReadOnlyNotice)], 1)
    self.assertEqual(logging.get_verbosity(), logging.WARNING)
    with self.assertLogs(logger="absl", level="WARNING") as logs:
      logging.warning("Given directory is read only=/x/checkpoints")
      logging.warning("a real warning")
    self.assertEqual([r.getMessage() for r in logs.records], ["a real warning"])


_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class HelpTest(parameterized.TestCase):
  """``python -m inr_gan_jax.<command> --help`` lists the command's own flags with help text."""

  @parameterized.parameters(
      ("main", "inr-gan-train", ("config", "workdir")),
      ("sample", "inr-gan-sample", ("workdir", "checkpoint", "seeds", "resolution", "window",
                                    "truncation", "out", "export_inr", "render_batch")),
      ("evaluate", "inr-gan-evaluate", ("workdir", "metrics", "feature_net", "inception_weights",
                                        "num_samples", "batch_size")),
      ("fit", "inr-gan-fit", ("mode", "out", "data", "steps", "checkpoint", "space")),
      ("render_inr", "inr-gan-render", ("resolution", "window", "out")),
      ("dataset", "inr-gan-dataset", ("source", "out", "resolution", "max_images")),
  )
  def test_help_names_main_flags(self, command, script, names):
    self._check_help([sys.executable, "-m", f"inr_gan_jax.{command}", "--help"], command, names)
    # The console script of an installed checkout (pip install -e .) lists the same flags.
    path = shutil.which(script)
    if path is None:
      self.skipTest(f"{script} is not installed (pip install -e .)")
    self._check_help([path, "--help"], command, names)

  def _check_help(self, cmd, command, names):
    out = subprocess.run(cmd, cwd=_ROOT, capture_output=True, text=True, timeout=120, check=False)
    # absl's --help exits with status 1, argparse's with 0; neither may fail on the way.
    self.assertIn(out.returncode, (0, 1), out.stderr[-2000:])
    self.assertNotIn("Traceback", out.stderr)
    text = out.stdout
    for name in names:
      # absl: "  --name: help"; argparse: "  --name NAME  help" (help possibly on the next line).
      m = re.search(rf"^  --(\[no\])?{name}\b[^\n]*(\n {{6,}}\S[^\n]*)?", text, re.M)
      self.assertIsNotNone(m, f"--{name} missing from {command} --help:\n{text}")
      entry = re.sub(rf"^  --(\[no\])?{name}(:| [A-Z_]+| {{\S+}})?", "", m.group(0)).strip()
      self.assertTrue(re.search(r"[a-z]{3}", entry), f"--{name} of {command} has no help text")
    if command in ("sample", "evaluate") and cmd[1] == "-m":  # absl: filed under the command
      self.assertIn(f"inr_gan_jax/{command}.py:", text)


if __name__ == "__main__":
  absltest.main()
