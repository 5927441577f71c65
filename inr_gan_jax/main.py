r"""Trains INR-GAN: ``python -m inr_gan_jax.main --config=configs/quickstart.py --workdir=runs/q``.

Override any config value on the command line (``--config.train.num_steps=100``).
Starting again on the same workdir resumes from its latest checkpoint.
Several hosts: run the same command on every host with ``--num_processes``,
``--process_id`` and ``--coordinator_address`` (or on a cluster that
``jax.distributed.initialize()`` auto-detects, with ``--distributed``).
"""
from absl import app
from absl import flags
from absl import logging
import jax
from ml_collections import config_flags

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
  train.train_and_evaluate(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
  app.run(main)
