r"""Writes a trained run's EMA generator as a small checkpoint for the repository.

  python -m experiments.export_pretrained --workdir=runs/mnist_full --out=pretrained/mnist_192kimg

Keeps only what sampling reads: ``g_ema`` and ``w_avg`` (no discriminator, no
optimiser moments), with the run's config in the metadata, as an Orbax
checkpoint that every command loads like a training workdir
(``inr-gan-sample --workdir=pretrained/mnist_192kimg``). Also writes
``config.json`` and ``SHA256SUMS`` (every file, checked by the tests).
"""
import hashlib
import json
import os

from absl import app
from absl import flags

_WORKDIR = flags.DEFINE_string("workdir", None, "Training workdir (or checkpoint dir).")
_STEP = flags.DEFINE_integer("step", None, "Checkpoint step (default: latest).")
_OUT = flags.DEFINE_string("out", None, "Output folder (must not exist).")


def sha256(path: str) -> str:
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
      h.update(chunk)
  return h.hexdigest()


def write_sums(root: str) -> str:
  """``SHA256SUMS`` (``sha256sum -c`` format) over every file under ``root``; returns its path."""
  lines = []
  for d, _, files in sorted(os.walk(root)):
    for name in sorted(files):
      path = os.path.join(d, name)
      rel = os.path.relpath(path, root)
      if rel != "SHA256SUMS":
        lines.append(f"{sha256(path)}  {rel}")
  out = os.path.join(root, "SHA256SUMS")
  with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
  return out


def main(argv):
  del argv
  from inr_gan_jax.checkpoints import checkpointing
  from inr_gan_jax.checkpoints import restore
  from inr_gan_jax.utils import cli_flags
  cli_flags.quiet_library_logs()
  if not (_WORKDIR.value and _OUT.value):
    raise app.UsageError("give --workdir and --out")
  if os.path.exists(_OUT.value):
    raise app.UsageError(f"{_OUT.value} exists; choose a new --out")
  loaded = restore.load_generator(_WORKDIR.value, _STEP.value)
  config = json.loads(loaded.config.to_json_best_effort())
  meta = {"step": int(loaded.step), "config": config,
          "source": {"workdir": os.path.abspath(_WORKDIR.value), "contents": "g_ema, w_avg"}}
  with checkpointing.TrainCheckpointer(checkpointing.checkpoint_dir(_OUT.value)) as ckpt:
    ckpt.save(int(loaded.step), {"g_ema": loaded.params, "w_avg": loaded.w_avg}, meta, force=True)
  with open(os.path.join(_OUT.value, "config.json"), "w") as f:
    json.dump(config, f, indent=2)
  print(f"wrote {_OUT.value} (step {loaded.step}); {write_sums(_OUT.value)}")


if __name__ == "__main__":
  app.run(main)
