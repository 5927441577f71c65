r"""Loss curves of a training run as a PNG.

  python -m experiments.plot_losses --workdir=runs/mnist --out=docs/figures/mnist_losses.png

Reads the run's ``metrics.jsonl`` (one line per log step, written by the training
loop) and draws one panel per group: D and G loss, D(real) / D(fake), R1, and
the gradient norms. A resumed run that logged a step twice keeps the later line.
"""
import os

from absl import app
from absl import flags
import numpy as np

from inr_gan_jax.utils import plotting
from inr_gan_jax.utils import summary

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defined when run as a command only (tests import curves() beside other tools' flags)."""
  flags.DEFINE_string("workdir", None, "Training workdir (holds metrics.jsonl).")
  flags.DEFINE_string("out", None, "Output PNG (default: <workdir>/losses.png).")
PANELS = (("loss", ("d_loss", "g_loss")), ("D logits", ("d_real", "d_fake")),
          ("R1 penalty", ("r1",)), ("gradient norm", ("grad_norm_d", "grad_norm_g")))


def curves(workdir: str) -> dict:
  """``{key: (steps [T], values [T])}`` from ``workdir/metrics.jsonl``."""
  path = os.path.join(workdir, "metrics.jsonl")
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path} not found: --workdir must be a training workdir (runs "
                            "started before metrics.jsonl existed have none)")
  by_key = {}
  for row in summary.read_jsonl(path):
    for key, value in row.items():
      if key != "step" and isinstance(value, (int, float)):
        by_key.setdefault(key, {})[row["step"]] = value
  return {k: (np.array(sorted(v)), np.array([v[s] for s in sorted(v)], np.float64))
          for k, v in by_key.items()}


def draw(data: dict):
  """One panel per entry of PANELS -> PIL image."""
  panels = [(title, {k: data[k] for k in keys if k in data}) for title, keys in PANELS]
  return plotting.draw_panels(panels, xlabel="step", panel_h=220)


def main(argv):
  del argv
  if not FLAGS.workdir:
    raise app.UsageError("--workdir is required")
  try:
    image = draw(curves(FLAGS.workdir))
  except FileNotFoundError as e:
    raise app.UsageError(str(e)) from e
  out = FLAGS.out or os.path.join(FLAGS.workdir, "losses.png")
  image.save(out)
  print(f"wrote {out}")


if __name__ == "__main__":
  define_flags()
  app.run(main)
