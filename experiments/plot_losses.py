r"""Loss curves of a training run as a PNG (no plotting library needed).

  python -m experiments.plot_losses --workdir=runs/mnist --out=docs/mnist_losses.png

Reads the run's TensorBoard events (``inr_gan_jax.utils.summary.read_events``) and
draws one panel per tag: D loss, G loss, D(real)/D(fake), R1.
"""
import collections

from absl import app
from absl import flags
import numpy as np

from inr_gan_jax.utils import plotting
from inr_gan_jax.utils import summary

_WORKDIR = flags.DEFINE_string("workdir", None, "Training workdir.")
_OUT = flags.DEFINE_string("out", None, "Output PNG.")
PANELS = (("train/d_loss", "train/g_loss"), ("train/d_real", "train/d_fake"), ("train/r1",))


def curves(workdir: str) -> dict:
  series = collections.defaultdict(dict)
  for e in summary.read_events(f"{workdir}/tensorboard"):
    if "value" in e:
      series[e["tag"]][e["step"]] = e["value"]   # a resumed run overwrites repeated steps
  return {tag: (np.array(sorted(v)), np.array([v[s] for s in sorted(v)])) for tag, v in series.items()}


def draw(data: dict):
  """One panel per entry of PANELS: ``{tag: (steps, values)}`` -> PIL image."""
  panels = [(" / ".join(t.split("/")[-1] for t in tags),
             {t.split("/")[-1]: data[t] for t in tags if t in data}) for tags in PANELS]
  return plotting.draw_panels(panels, xlabel="step", panel_h=220)


def main(argv):
  del argv
  draw(curves(_WORKDIR.value)).save(_OUT.value)


if __name__ == "__main__":
  flags.mark_flags_as_required(["workdir", "out"])
  app.run(main)
