r"""Evaluates a checkpoint's EMA generator: FID, KID, UpsampledFID.

  python -m inr_gan_jax.evaluate --workdir=runs/lsun256 --metrics=fid50k,kid50k \
      --inception_weights=~/.cache/torch/hub/checkpoints/pt_inception-2015-12-05-6726825d.pth
  python -m inr_gan_jax.evaluate --workdir=runs/mnist --metrics=fid2k,kid2k,upsampled_fid2k \
      --feature_net=runs/feature_net/mnist_cnn.msgpack

``--workdir`` may also be a ``checkpoints`` directory or one step directory;
``--step`` picks a step (default: the latest). Results are printed and written
as JSON next to the checkpoint: ``<workdir>/checkpoints/metrics_step<STEP>.json``
(merged with earlier results for that step). Real statistics are cached in
``--cache_dir`` (default ``<workdir>/metrics_cache``). Nothing is downloaded:
standard FID needs pytorch-fid's weights file on disk.
"""
import json
import os
import time
from typing import Any, Dict, Optional

from absl import app
from absl import flags
from absl import logging
import jax

from inr_gan_jax import config_lib
from inr_gan_jax.checkpoints import checkpointing
from inr_gan_jax.utils import cli_flags
from inr_gan_jax.metrics import evaluator as evaluator_lib
from inr_gan_jax.metrics import feature_nets
from inr_gan_jax.metrics import upsampled_fid

# Flags are defined when the CLI runs (define_flags), not at import: the sample CLI
# shares names (--workdir, --step, --batch_size, ...) and both modules are imported
# by tests and experiments in one process. Re-definition is skipped. Defaults shared with the
# periodic evaluation during training come from config_lib.EVAL_DEFAULTS (written once).
_D = config_lib.EVAL_DEFAULTS
_FLAGS = (
    ("string", "workdir", None, "Workdir, checkpoints dir or step dir."),
    ("integer", "step", None, "Checkpoint step (default: latest)."),
    ("list", "metrics", ["fid50k"], "Comma-separated: fid<N>k, kid<N>k, upsampled_fid<N>k, "
     "coverage<N>k, eqt<N>k (translation consistency, dB), eqs<N>k (scale consistency, dB)."),
    ("string", "inception_weights", _D["inception_weights"], "pytorch-fid's pt_inception-2015-12-05-6726825d.pth."),
    ("string", "feature_net", _D["feature_net"], "Classifier from experiments/train_feature_net.py, or "
     "random_inception[:SEED] (diagnostic), instead of --inception_weights."),
    ("float", "truncation_psi", _D["truncation_psi"], "Truncation psi (1 = none)."),
    ("string", "truncation_center", config_lib.TRUNCATION_CENTERS[0], "Truncation centre: 'estimate' (the mean hidden "
     "code of the EMA generator, shared with sampling) or 'state' (the train state's w_avg)."),
    ("integer", "num_samples", _D["num_samples"], "Override every metric's sample count (0 = from the name)."),
    ("integer", "batch_size", _D["batch_size"], "Images per generation / feature batch."),
    ("string", "cache_dir", _D["cache_dir"], "Real statistics cache (default <workdir>/metrics_cache)."),
    ("integer", "seed", 0, "Latent seed."),
    ("string", "output", "", "JSON path (default: next to the checkpoint)."),
)


def define_flags(flag_values=flags.FLAGS) -> None:
  """Defines the CLI flags (idempotent; shared with sample.py where names coincide)."""
  cli_flags.define_missing(_FLAGS, flag_values)


def results_path(path: str, step: Optional[int]) -> str:
  directory, step = checkpointing.resolve_checkpoint(path, step)
  return os.path.join(str(directory), f"metrics_step{step}.json")


def default_cache_dir(path: str) -> str:
  directory, _ = checkpointing.resolve_checkpoint(path)
  return os.path.join(os.path.dirname(str(directory)), "metrics_cache")


def evaluate(path: str, metrics, *, step: Optional[int] = None,
             inception_weights: str = _D["inception_weights"],
             feature_net: str = _D["feature_net"], truncation_psi: float = _D["truncation_psi"],
             truncation_center: str = config_lib.TRUNCATION_CENTERS[0], num_samples: int = _D["num_samples"],
             progress: bool = False, batch_size: int = _D["batch_size"],
             cache_dir: str = _D["cache_dir"], seed: int = 0, output: str = "",
             data_config=None) -> Dict[str, Any]:
  """Evaluates a checkpoint; returns (and writes) the result record.

  ``data_config`` overrides the checkpoint's ``config.data`` (e.g. a data
  path on another machine).
  """
  from inr_gan_jax.checkpoints import restore  # local: keeps `--help` fast
  specs = evaluator_lib.parse_metrics(metrics, num_samples)
  # Consistency (eqt, eqs) compares renders with each other: no feature net, no data.
  needs_net = any(s.kind not in ("eqt", "eqs") for s in specs)
  net = feature_nets.from_flags(inception_weights, feature_net) if needs_net else None
  loaded = restore.load_generator(path, step)
  t0 = time.time()
  w_center = restore.truncation_center(loaded, path, truncation_psi, truncation_center)
  if needs_net:
    ev = evaluator_lib.Evaluator(net, data_config or loaded.config.data,
                                 cache_dir or default_cache_dir(path), batch_size=batch_size,
                                 seed=seed, progress=progress)
    values = ev.evaluate(specs, loaded.generator, loaded.params, w_avg=w_center,
                         truncation_psi=truncation_psi)
  else:
    from inr_gan_jax.metrics import consistency
    values = {s.name: consistency.consistency(loaded.generator, loaded.params, s.num, batch_size,
                                              seed, w_center, truncation_psi, kind=s.kind)
              for s in specs}
  record = {"step": loaded.step, "feature_net": net.name if net else None,
            "truncation_psi": truncation_psi,
            "truncation_center": truncation_center if truncation_psi != 1.0 else None,
            "seed": seed, "seconds": round(time.time() - t0, 1), "metrics": values}
  out = output or results_path(path, loaded.step)
  if jax.process_index() == 0:
    _write_merged(out, record)
    for name, value in values.items():
      if isinstance(value, dict) and "fid" in value:  # UpsampledFID: Fig. 10's bars beside it
        save_upsampled_fid_bars(os.path.splitext(out)[0] + f"_{name}.png", value)
  return record


def save_upsampled_fid_bars(path: str, result: Dict[str, Any]) -> None:
  """The paper's Fig. 10: FID of the INR's own 2x render vs each upsampling of the 1x samples."""
  from inr_gan_jax.utils import plotting  # local: matplotlib only when a figure is written
  methods = list(result["fid"])
  fig = plotting.bar_figure(methods, {"FID at 2x": [result["fid"][m] for m in methods]},
                            title=f"UpsampledFID at {result['resolution']} px ({result['num']} "
                                  f"samples, {result['num_real']} real)", ylabel="FID")
  plotting.save(path, fig)
  print(f"Wrote {path}")


def _write_merged(path: str, record: Dict[str, Any]) -> None:
  """Keeps earlier entries for other feature nets / psi: one file per checkpoint step."""
  runs = []
  if os.path.isfile(path):
    try:
      with open(path) as f:
        runs = json.load(f).get("runs", [])
    except (OSError, ValueError):
      logging.warning("Overwriting unreadable %s", path)
  runs.append(record)
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump({"step": record["step"], "runs": runs}, f, indent=2)
  os.replace(tmp, path)
  print(f"Wrote {path}")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  f = flags.FLAGS
  cli_flags.quiet_library_logs()
  if not f.workdir:
    raise app.UsageError("--workdir is required (a workdir, its checkpoints dir or a step dir)")
  if f.truncation_center not in config_lib.TRUNCATION_CENTERS:  # before the slow restore
    raise app.UsageError(f"--truncation_center must be one of {config_lib.TRUNCATION_CENTERS}, "
                         f"got {f.truncation_center!r}")
  record = evaluate(f.workdir, f.metrics, step=f.step, inception_weights=f.inception_weights,
                    feature_net=f.feature_net, truncation_psi=f.truncation_psi,
                    truncation_center=f.truncation_center, num_samples=f.num_samples,
                    batch_size=f.batch_size, cache_dir=f.cache_dir, seed=f.seed,
                    output=f.output, progress=True)
  for name, value in record["metrics"].items():
    if isinstance(value, dict) and "fid" in value:
      print(f"{name}:\n{upsampled_fid.format_table(value)}")
    else:
      print(f"{name}: {value}")
  print(json.dumps(record))


def cli() -> None:
  """``inr-gan-evaluate``: the same as ``python -m inr_gan_jax.evaluate``."""
  define_flags()
  app.run(main)


if __name__ == "__main__":
  cli()
