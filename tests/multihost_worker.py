"""One process of the 2-process test (see test_multihost.py); not a test module itself.

Usage: python -m tests.multihost_worker PORT PROCESS_ID NUM_PROCESSES OUT.npz
Each process has 4 fake CPU devices; together they form one 8-device mesh.
"""
import os
import sys


def main(port: str, process_id: int, num_processes: int, out: str) -> None:
  os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
  import jax  # pylint: disable=g-import-not-at-top
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(coordinator_address=f"localhost:{port}",
                             num_processes=num_processes, process_id=process_id)
  import numpy as np  # pylint: disable=g-import-not-at-top
  from tests import helpers  # pylint: disable=g-import-not-at-top
  from inr_gan_jax.train import loop as train  # pylint: disable=g-import-not-at-top

  assert jax.device_count() == 4 * num_processes, jax.devices()
  config = helpers.tiny_train_config()
  state = run_steps(config, train.make_mesh(), num_steps=2)
  if process_id == 0:
    flat = {jax.tree_util.keystr(k): np.asarray(v.addressable_data(0))
            for k, v in jax.tree_util.tree_leaves_with_path({"g": state["g"], "d": state["d"]})}
    np.savez(out, **flat)
  jax.distributed.shutdown()


def run_steps(config, mesh, num_steps):
  """Builds the state and runs ``num_steps`` train steps on process-local data slices."""
  import jax  # pylint: disable=g-import-not-at-top
  from inr_gan_jax import data as data_lib  # pylint: disable=g-import-not-at-top
  from inr_gan_jax.train import step as train_step_lib  # pylint: disable=g-import-not-at-top
  trainer = train_step_lib.Trainer(config, mesh)
  state = trainer.create_state(config.seed)
  source = data_lib.build_source(config.data, config.model.resolution)
  for step in range(num_steps):
    local = data_lib.process_local_batch(source, config.train.batch_size, config.seed, step,
                                         jax.process_index(), jax.process_count())
    batch = jax.make_array_from_process_local_data(trainer.batch_sharding, local)
    state, _ = trainer.jit_step(state, batch, True)
  return state


if __name__ == "__main__":
  main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
