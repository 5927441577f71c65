"""Progress bars: counts, percentages, rate/ETA, log-file vs terminal output, disabled."""
import io

from absl.testing import absltest

from inr_gan_jax.utils import progress


class _Tty(io.StringIO):
  def isatty(self):
    return True


class ProgressTest(absltest.TestCase):

  def test_format_eta_and_bar(self):
    self.assertEqual(progress.format_eta(75), "1m15s")
    self.assertEqual(progress.format_eta(3 * 3600 + 120), "3h02m")
    self.assertEqual(progress.format_eta(-4), "0m00s")
    self.assertEqual(progress.bar(1, 4, width=8), "[##......]")
    self.assertEqual(progress.bar(9, 4, width=4), "[####]")

  def test_track_counts_sizes_and_writes_log_lines(self):
    out = io.StringIO()  # not a terminal: one line per interval (0 here) and the final one
    items = [[0] * 3, [0] * 3, [0] * 2]
    got = list(progress.track(items, 8, "fakes", sizes=len, stream=out, log_interval=0.0,
                              unit="images"))
    self.assertEqual(got, items)
    lines = out.getvalue().splitlines()
    self.assertLen(lines, 3)
    self.assertIn("fakes [", lines[0])
    self.assertIn(" 37.5% 3/8 images", lines[0])
    self.assertIn("100.0% 8/8 images", lines[-1])
    self.assertRegex(lines[-1], r"\| [0-9.]+/s \| ETA 0m00s$")

  def test_terminal_redraws_in_place_and_ends_the_line(self):
    out = _Tty()
    p = progress.Progress(4, "tiles", stream=out, tty_interval=0.0)
    for _ in range(4):
      p.update()
    text = out.getvalue()
    self.assertEqual(text.count("\r"), 4)
    self.assertTrue(text.endswith("\n"))
    self.assertEqual(text.count("\n"), 1)

  def test_early_stop_closes_with_a_final_line_and_disabled_is_silent(self):
    out = io.StringIO()
    for _ in progress.track(range(3), 10, stream=out, log_interval=1e9):
      pass
    self.assertIn("3/10", out.getvalue())  # the last line is written even before total
    quiet = io.StringIO()
    self.assertEqual(list(progress.track(range(3), 3, stream=quiet, enabled=False)), [0, 1, 2])
    self.assertEqual(quiet.getvalue(), "")


if __name__ == "__main__":
  absltest.main()
