r"""Loading a generator for inference: the whole train state vs ``g_ema`` + ``w_avg`` only.

  python -m benchmarks.checkpoint_load --config=configs/lsun256.py --json

Builds the config's train state (random weights; shapes are what matter), saves
it as a training checkpoint in a temporary directory, then times, from a cold
start of each path (fresh objects; the OS file cache may be warm, so the second
number of each pair repeats the load):

* ``full``: restoring the whole train state (g, g_ema, d, both optimisers, w_avg)
  into a ``Trainer``'s abstract state, then keeping ``g_ema`` and ``w_avg`` (what
  ``load_generator`` did before it read a subset);
* ``subset``: ``restore.load_generator``, an Orbax partial restore of
  ``g_ema`` and ``w_avg`` from an abstract tree the ``Generator`` alone builds.

Reports seconds, the bytes of the arrays each path restores, and the bytes the
process read through read syscalls (``rchar`` of /proc/self/io; includes the
OS cache). Cost on the 2-core EPYC for lsun256: ~2 GB written, about 1-2 minutes.
"""
import json
import shutil
import tempfile
import time

from absl import app
from absl import flags
import jax
import numpy as np
from ml_collections import config_flags

from inr_gan_jax.checkpoints import checkpointing
from inr_gan_jax.checkpoints import restore
from inr_gan_jax.train import loop
from inr_gan_jax.train import step as train_step_lib

_CONFIG = config_flags.DEFINE_config_file("config", "configs/lsun256.py", "Experiment config.")
_JSON = flags.DEFINE_bool("json", False, "Print one JSON object.")
_REPEATS = flags.DEFINE_integer("repeats", 2, "Loads per path.")


def _rchar() -> int:
  try:
    with open("/proc/self/io") as f:
      return int(next(line for line in f if line.startswith("rchar:")).split()[1])
  except (OSError, StopIteration):
    return -1


def _nbytes(tree) -> int:
  return int(sum(np.prod(x.shape) * np.dtype(x.dtype).itemsize for x in jax.tree.leaves(tree)))


def main(argv):
  del argv
  config = _CONFIG.value
  trainer = train_step_lib.Trainer(config, loop.make_mesh())
  tmp = tempfile.mkdtemp(prefix="ckpt_load_")
  try:
    state = trainer.create_state(config.seed)
    meta = {"step": 0, "config": json.loads(config.to_json_best_effort())}
    t0 = time.perf_counter()
    with checkpointing.TrainCheckpointer(checkpointing.checkpoint_dir(tmp)) as ckpt:
      ckpt.save(0, state, meta, force=True)
    save_s = time.perf_counter() - t0
    state_bytes = _nbytes(state)
    del state

    def full():
      t = train_step_lib.Trainer(config, loop.make_mesh())
      restored, _, _ = checkpointing.load_checkpoint(tmp, t.abstract_state(config.seed))
      return {"g_ema": restored["g_ema"], "w_avg": restored["w_avg"]}, _nbytes(restored)

    def subset():
      loaded = restore.load_generator(tmp)
      out = {"g_ema": loaded.params, "w_avg": loaded.w_avg}
      return out, _nbytes(out)

    result = {"config": config_flags.get_config_filename(flags.FLAGS["config"]),
              "state_bytes": state_bytes, "save_seconds": round(save_s, 1), "paths": {}}
    for name, fn in (("full", full), ("subset", subset)):
      rows = []
      for _ in range(_REPEATS.value):
        r0, t0 = _rchar(), time.perf_counter()
        out, restored_bytes = fn()
        jax.block_until_ready(out)
        rows.append({"seconds": round(time.perf_counter() - t0, 2),
                     "restored_bytes": restored_bytes, "rchar": _rchar() - r0})
        del out
      result["paths"][name] = rows
    f, s = result["paths"]["full"][-1], result["paths"]["subset"][-1]
    result["bytes_ratio"] = round(f["restored_bytes"] / s["restored_bytes"], 2)
    result["seconds_ratio"] = round(f["seconds"] / s["seconds"], 2)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  if _JSON.value:
    print(json.dumps(result))
  else:
    for name, rows in result["paths"].items():
      for r in rows:
        print(f"{name:7s} {r['seconds']:7.2f} s  restored {r['restored_bytes'] / 1e9:.2f} GB  "
              f"read {r['rchar'] / 1e9:.2f} GB")
    print(f"full / subset: {result['bytes_ratio']}x bytes, {result['seconds_ratio']}x seconds")


if __name__ == "__main__":
  app.run(main)
