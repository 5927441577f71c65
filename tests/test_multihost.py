"""Two processes x 4 CPU devices (jax.distributed, gloo collectives) == one process x 8."""
import os
import socket
import subprocess
import sys
import tempfile

from absl.testing import absltest
import pytest
import jax
import numpy as np

from inr_gan_jax.train import loop as train
from tests import helpers
from tests import multihost_worker

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


class MultiHostTest(absltest.TestCase):

  @pytest.mark.slow  # deselect with -m 'not slow' (the default run keeps it)
  def test_two_processes_match_one_process(self):
    out = os.path.join(tempfile.mkdtemp(), "params.npz")
    port = str(_free_port())
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["PYTHONPATH"] = _ROOT + os.pathsep + env.get("PYTHONPATH", "")
    procs = [subprocess.Popen([sys.executable, "-m", "tests.multihost_worker", port, str(i), "2", out],
                              cwd=_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for i in range(2)]
    logs = []
    for p in procs:
      try:
        logs.append(p.communicate(timeout=240)[0].decode(errors="replace"))
      except subprocess.TimeoutExpired:
        for q in procs:
          q.kill()
        self.fail("multi-process workers timed out")
    for p, log in zip(procs, logs):
      self.assertEqual(p.returncode, 0, f"worker failed:\n{log[-3000:]}")

    self.assertEqual(jax.device_count(), 8)
    state = multihost_worker.run_steps(helpers.tiny_train_config(), train.make_mesh(), num_steps=2)
    expected = {jax.tree_util.keystr(k): np.asarray(v) for k, v in
                jax.tree_util.tree_leaves_with_path(jax.device_get({"g": state["g"], "d": state["d"]}))}
    got = dict(np.load(out))
    self.assertEqual(sorted(got), sorted(expected))
    for key, value in expected.items():
      np.testing.assert_allclose(got[key], value, rtol=1e-4, atol=1e-5, err_msg=key)


if __name__ == "__main__":
  absltest.main()
