"""``train_and_evaluate(config, workdir)``: the INR-GAN training loop.

One device mesh with a ``data`` axis over every device of every process; the
state is replicated and born sharded (shape-first: ``eval_shape`` ->
shardings -> ``jit(init, out_shardings)``); the global batch is sharded over
``data`` and each process reads only its own slice. Starting on a workdir that
holds a checkpoint resumes from it: parameters, EMA, optimizer states, step,
RNG and data position (the data stream is a pure function of seed and step).
"""
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional

import jax
import numpy as np
from jax.sharding import Mesh

from inr_gan_jax.checkpoints import checkpointing
from inr_gan_jax import config_lib
from inr_gan_jax import data as data_lib
from inr_gan_jax.utils import image_utils
from inr_gan_jax.utils import progress
from inr_gan_jax.train import preemption
from inr_gan_jax.utils import summary
from inr_gan_jax.train import step as train_step_lib


class NonFiniteError(FloatingPointError):
  """Training produced NaN/Inf; the last good checkpoint was kept."""


class _Console:
  """Progress lines from process 0 on stdout and in ``workdir/log.txt`` (absl's INFO stream is
  left to libraries)."""

  def __init__(self, log_path: Optional[str]):
    self.chief = jax.process_index() == 0
    self.log_path = log_path if self.chief else None

  def __call__(self, message: str) -> None:
    if not self.chief:
      return
    print(message, flush=True)
    if self.log_path:
      try:
        with open(self.log_path, "a") as f:
          f.write(message + "\n")
      except OSError:  # a full disk must not end training through its log
        self.log_path = None


def make_mesh() -> Mesh:
  """A 1-D ``data`` mesh over all devices of all processes."""
  return Mesh(np.array(jax.devices()), ("data",))


def loss_curve(config, steps: int, mesh: Optional[Mesh] = None):
  """The bare step loop: ``(losses [steps, 2] (D, G), all finite, final state)``.

  ``steps`` train steps from ``config.seed`` (its data order and latents, R1 every
  ``train.r1_interval``), with no logging, checkpoints or evaluation; for comparing training
  variants step by step (``experiments/bf16_tracking.py`` and its test). ``mesh``: default all
  devices.
  """
  trainer = train_step_lib.Trainer(config, make_mesh() if mesh is None else mesh)
  batches = data_lib.BatchIterator(data_lib.build_source(config.data, config.model.resolution),
                                   config.train.batch_size, seed=config.seed)
  state, losses, finite = trainer.create_state(config.seed), [], True
  for i in range(steps):
    state, m = trainer.jit_step(state, next(batches)[1], i % config.train.r1_interval == 0)
    losses.append((float(m["d_loss"]), float(m["g_loss"])))
    finite &= bool(m["finite"])
  return np.array(losses), finite, state


class _SampleGrids:
  """Renders the EMA generator on fixed latents at 1x and 2x (superresolution)."""

  def __init__(self, trainer: train_step_lib.Trainer, config):
    g = trainer.generator
    self.generator = g
    self.z = g.sample_z(jax.random.key(config.seed + 12345), config.train.num_sample_latents)
    self.z = jax.device_put(self.z, trainer.replicated)
    self.sizes = (g.resolution, 2 * g.resolution)

  def __call__(self, g_params) -> Dict[int, np.ndarray]:
    out = {}
    for size in self.sizes:
      images = self.generator.generate(g_params, self.z, size, size)  # [N, s, s, C]
      out[size] = image_utils.make_grid(image_utils.to_uint8(np.asarray(images)))
    return out


def _save(ckpt, state, config, step, metrics_ok: bool, force: bool = True) -> bool:
  if not metrics_ok:
    return False
  meta = {"step": int(step), "config": json.loads(config.to_json_best_effort())}
  return ckpt.save(int(step), state, meta, force=force)


def train_and_evaluate(config, workdir: str) -> Dict[str, Any]:
  """Trains ``config`` in ``workdir`` (resuming if it has a checkpoint); returns the final state."""
  config_lib.validate(config, num_devices=jax.device_count())
  t = config.train
  os.makedirs(workdir, exist_ok=True)
  is_chief = jax.process_index() == 0
  say = _Console(os.path.join(workdir, "log.txt"))
  jsonl = summary.JsonlWriter(os.path.join(workdir, "metrics.jsonl"), enabled=is_chief)
  mesh = make_mesh()
  trainer = train_step_lib.Trainer(config, mesh)

  ckpt = checkpointing.TrainCheckpointer(checkpointing.checkpoint_dir(workdir),
                                         max_to_keep=config.checkpoint.keep)
  latest = ckpt.latest_step()
  if latest is not None:
    state, meta = ckpt.restore(trainer.abstract_state(config.seed))
    _check_resumed_config(meta, config)
    say(f"Resumed from {ckpt.directory} at step {int(jax.device_get(state['step']))}.")
  else:
    state = trainer.create_state(config.seed)
  start_step = int(jax.device_get(state["step"]))
  if is_chief:
    with open(os.path.join(workdir, "config.json"), "w") as f:
      f.write(config.to_json_best_effort(indent=2))

  source = data_lib.build_source(config.data, config.model.resolution)
  batches = data_lib.device_prefetch(
      data_lib.BatchIterator(source, t.batch_size, seed=config.seed, start_step=start_step,
                             process_index=jax.process_index(),
                             process_count=jax.process_count()),
      trainer.batch_sharding)
  writer = summary.SummaryWriter(os.path.join(workdir, "tensorboard"), enabled=is_chief)
  sampler = _SampleGrids(trainer, config)
  eval_every = int(config.eval.every_steps) if "eval" in config else 0
  eval_fn = None
  if eval_every:
    from inr_gan_jax.metrics import periodic  # pylint: disable=g-import-not-at-top
    eval_fn = periodic.make_eval_fn(config, workdir, generator=trainer.generator)
  say(f"Training {config.variant} for {t.num_steps} steps (batch {t.batch_size} on "
       f"{jax.device_count()} devices, {jax.process_count()} processes); data: "
       f"{config.data.source} ({len(source)} images); workdir: {workdir}")

  pending: List[Dict[str, jax.Array]] = []
  last_ok = True
  t_log, step_log = time.time(), start_step
  t_start = time.time()
  step = start_step
  with preemption.PreemptionFlag() as preempted:
    try:
      for step in range(start_step, t.num_steps):
        _, reals = next(batches)
        state, metrics = trainer.jit_step(state, reals, step % t.r1_interval == 0)
        pending.append(metrics)
        done = step + 1
        is_last = done == t.num_steps
        if done % t.log_every == 0 or is_last:
          last_ok = _log(pending, done, step_log, t_log, t_start, start_step, t, writer, say, jsonl)
          pending, t_log, step_log = [], time.time(), done
          if not last_ok:
            raise NonFiniteError(
                f"non-finite loss or gradient at step <= {done}; stopped without saving. The last "
                f"good checkpoint is step {ckpt.latest_step()} in {ckpt.directory}. Lower the "
                "learning rates or raise r1_gamma, then restart to resume from it.")
        if t.sample_every and (done % t.sample_every == 0 or is_last):
          for size, grid in sampler(state["g_ema"]).items():
            if is_chief:
              image_utils.save_png(os.path.join(workdir, "samples", f"{done:07d}_{size}px.png"), grid)
              writer.image(f"samples/ema_{size}px", grid, done)
        if eval_fn is not None and (done % eval_every == 0 or is_last):
          values = eval_fn(state["g_ema"], done, state["w_avg"])
          writer.scalars(values, done)
          record = {"step": done, "kimg": done * t.batch_size / 1000.0, **values}
          if is_chief:  # one JSON line per evaluation: FD / coverage against kimg
            with open(os.path.join(workdir, "eval.jsonl"), "a") as f:
              f.write(json.dumps(record) + "\n")
          jsonl.write(record)
          say(f"eval at step {done}: " + ", ".join(  # histograms go to eval.jsonl only
              f"{k}={v:.4g}" for k, v in values.items() if "/class_hist/" not in k))
        if done % config.checkpoint.every_steps == 0 or is_last:
          last_ok = _finite(pending, last_ok)
          _save(ckpt, state, config, done, last_ok)
        if preempted.is_set_on_any_process():
          say(f"Signal received: saving step {done} and stopping.")
          _save(ckpt, state, config, done, _finite(pending, last_ok))
          break
    finally:
      ckpt.close()  # waits for async writes: a checkpoint is never half-written
      writer.close()
  return state


def run(config, workdir: str, verbose: bool = False) -> int:
  """Trains. Expected failures end with one line: a bad value or missing data (status 2), a
  failed write such as a full disk (status 1); ``--verbosity=1`` keeps the traceback."""
  try:
    train_and_evaluate(config, workdir)  # validates the config before any work
  except (ValueError, FileNotFoundError, NonFiniteError) as e:
    if verbose:
      raise
    print(f"FATAL: {e}", file=sys.stderr, flush=True)  # each names the problem and the fix
    return 1 if isinstance(e, NonFiniteError) else 2
  except OSError as e:
    print(f"FATAL: {write_failure_message(e, workdir)}", file=sys.stderr, flush=True)
    return 1
  return 0


def write_failure_message(error: OSError, workdir: str) -> str:
  """What failed, what survived (the newest complete checkpoint) and how to go on."""
  what = error.strerror or str(error)
  where = error.filename or workdir
  try:
    directory, step = checkpointing.resolve_checkpoint(workdir)
    kept = (f"the newest complete checkpoint, step {step} in {directory}, is intact (a partial "
            "one is cleaned up on resume)")
  except (FileNotFoundError, ValueError):
    kept = "no checkpoint had been completed yet"
  return (f"training stopped: {what} ({where}); {kept}. Free space or pass another --workdir, "
          "then rerun the same command to resume.")


def _finite(pending, last_ok: bool) -> bool:
  if not pending:
    return last_ok
  return bool(all(bool(jax.device_get(m["finite"])) for m in pending)) and last_ok


def _log(pending, done, step_log, t_log, t_start, start_step, t, writer, say, jsonl) -> bool:
  """Averages the pending step metrics, prints a progress line, writes scalars and a JSON line."""
  host = jax.device_get(pending)
  ok = all(bool(m["finite"]) for m in host)
  mean = {k: float(np.mean([m[k] for m in host])) for k in host[0] if k != "finite"}
  elapsed = time.time() - t_log
  steps = max(1, done - step_log)
  img_s = steps * t.batch_size / max(elapsed, 1e-9)
  rate = (done - start_step) / max(time.time() - t_start, 1e-9)
  eta = (t.num_steps - done) / max(rate, 1e-9)
  kimg = done * t.batch_size / 1000.0
  say(f"{progress.bar(done, t.num_steps)} {100.0 * done / t.num_steps:5.1f}% step "
       f"{done}/{t.num_steps} | kimg {kimg:.1f} | {img_s:.1f} img/s | ETA {progress.format_eta(eta)} | "
       f"D {mean['d_loss']:.3f} G {mean['g_loss']:.3f} R1 {mean['r1']:.4f} D(real) "
       f"{mean['d_real']:.3f} D(fake) {mean['d_fake']:.3f} | |gD| {mean['grad_norm_d']:.3f} "
       f"|gG| {mean['grad_norm_g']:.3f}"
       + (f" | p_aug {mean['aug_p']:.3f}" if t.get("augment", "") else "")
       + (f" | Q CE {mean['d_info']:.3f}" if t.get("info_weight", 0.0) else ""))
  jsonl.write({"step": done, "kimg": kimg, "images_per_s": img_s,
               "seconds": time.time() - t_start, **mean})
  writer.scalars(mean, done, prefix="train/")
  writer.scalars({"kimg": kimg, "images_per_s": img_s}, done, prefix="progress/")
  writer.flush()
  return ok


def _check_resumed_config(meta: Optional[dict], config) -> None:
  """A checkpoint resumed with a different model would restore the wrong shapes."""
  if not meta or "config" not in meta:
    return
  # A key that a checkpoint predates was trained at that key's default (new switches are
  # added off), so older runs resume as long as the current value is still the default.
  defaults = json.loads(config_lib.model_config().to_json_best_effort())
  saved = {**defaults, **meta["config"].get("model", {})}
  now = json.loads(config.to_json_best_effort())["model"]
  diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
  if diff:
    raise ValueError(f"the checkpoint in this workdir was trained with a different model "
                     f"(keys {diff} differ); use a new --workdir or the original config")
