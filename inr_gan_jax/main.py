r"""Trains INR-GAN: ``python -m inr_gan_jax.main --config=configs/quickstart.py --workdir=runs/q``.

Override any config value on the command line (``--config.train.num_steps=100``).
Starting again on the same workdir resumes from its latest checkpoint.
Several hosts: run the same command on every host with ``--num_processes``,
``--process_id`` and ``--coordinator_address`` (or on a cluster that
``jax.distributed.initialize()`` auto-detects, with ``--distributed``).
"""
import difflib
import sys
from typing import List, Optional

from absl import app
from absl import flags
from absl import logging
import jax
from ml_collections import config_flags

from inr_gan_jax import config_lib
from inr_gan_jax.train import loop as train

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file.",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and samples.")
_DISTRIBUTED = flags.DEFINE_bool("distributed", False,
                                 "Call jax.distributed.initialize() (cluster auto-detection).")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None, "host:port of process 0.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Number of processes.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index.")
flags.mark_flags_as_required(["config", "workdir"])


def unknown_override(argv: List[str]) -> Optional[str]:
  """The message for the first ``--config.a.b=v`` whose key the config file lacks, if any."""
  config_arg = next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), None)
  if config_arg is None:
    return None
  path, _, arg = config_arg.partition(":")
  config = config_lib.load_config_file(path, arg or None)
  for a in argv:
    if not a.startswith("--config."):
      continue
    dotted = a[len("--config."):].split("=", 1)[0]
    node, walked = config, []
    for key in dotted.split("."):
      if not hasattr(node, "keys") or key not in node:
        where = "config." + ".".join(walked) if walked else "config"
        keys = sorted(node.keys()) if hasattr(node, "keys") else []
        close = difflib.get_close_matches(key, keys, n=3)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        known = ", ".join(keys) if keys else "(not a section)"
        return (f"unknown config key {dotted!r} in {a!r}: {where} has no {key!r}.{hint} Known "
                f"keys of {where}: {known}.")
      node, walked = node[key], walked + [key]
  return None


def parse_flags(argv: List[str]) -> List[str]:
  """absl's parser, with a one-line message instead of a traceback for a bad config override."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:  # a bad value, a missing flag: absl's own one-line report
    print(f"FATAL Flags parsing error: {e}\nPass --helpshort or --helpfull to see help on flags.",
          file=sys.stderr)
    sys.exit(1)
  except (AttributeError, KeyError, TypeError, ValueError) as e:
    try:
      message = unknown_override(argv)
    except Exception:  # pylint: disable=broad-except  (the config file itself is broken)
      message = None
    print(f"FATAL: {message or f'cannot apply the --config overrides: {e!r}'}", file=sys.stderr)
    sys.exit(2)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  if not flags.FLAGS["verbosity"].present:
    # Orbax logs every checkpoint step at INFO; progress is printed by train.py.
    logging.set_verbosity(logging.WARNING)
  if _DISTRIBUTED.value or _COORDINATOR.value:
    jax.distributed.initialize(coordinator_address=_COORDINATOR.value,
                               num_processes=_NUM_PROCESSES.value, process_id=_PROCESS_ID.value)
  if jax.process_index() == 0:
    print(f"JAX {jax.__version__}: {jax.process_count()} process(es), {jax.device_count()} "
          f"{jax.devices()[0].platform} device(s).", flush=True)
  verbose = flags.FLAGS["verbosity"].present
  sys.exit(train.run(_CONFIG.value, _WORKDIR.value, verbose=verbose))


def cli() -> None:
  """``inr-gan-train``: the same as ``python -m inr_gan_jax.main``."""
  # --help lists the flags of the module named sys.argv[0], here the console script.
  for flag in flags.FLAGS.get_flags_for_module(__name__):
    flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
  app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
  cli()
