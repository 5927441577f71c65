"""Checkpointing of the train state with Orbax (clean exit on signals: preemption.py).

A checkpoint is one step directory written by an Orbax `CheckpointManager`:

  workdir/checkpoints/<step>/state/  the train state (pytree of jax.Array)
  workdir/checkpoints/<step>/meta/   JSON-able dict (config, data position)

Orbax writes each step into a `<step>.orbax-checkpoint-tmp*` directory and
renames it when complete, so an interrupted save leaves only a tmp directory,
which step listing and restore ignore (and the next writer deletes).

Saves are asynchronous: `save` returns once the arrays have been copied off the
devices (so the caller may donate or overwrite them), and the files are written
in a background thread. A process that exits before `wait()` / `close()` loses
that checkpoint silently, hence `TrainCheckpointer` is a context manager whose
exit always waits.

Typical use in a train loop::

  with TrainCheckpointer(checkpoint_dir(workdir), max_to_keep=3) as ckpt, \
       preemption.PreemptionFlag() as preempted:
    if ckpt.latest_step() is not None:
      state, meta = ckpt.restore(abstract_state)
    for step in range(start, num_steps + 1):
      state = train_step(state, batch)
      stop = preempted.is_set_on_any_process()
      ckpt.save(step, state, meta, force=stop or step == num_steps)
      if stop:
        break
"""
from __future__ import annotations

import json
import os
import pathlib
import re
from typing import Any, Mapping

import jax
import orbax.checkpoint as ocp

from inr_gan_jax.checkpoints import targets

CHECKPOINT_SUBDIR = "checkpoints"
_STATE = "state"
_META = "meta"
_STEP_NAME = re.compile(r"^(0|[1-9]\d*)$")

PathLike = str | os.PathLike


def checkpoint_dir(workdir: PathLike) -> pathlib.Path:
  """Where the train loop keeps its checkpoints: workdir/checkpoints."""
  return pathlib.Path(workdir) / CHECKPOINT_SUBDIR


def list_steps(directory: PathLike) -> list[int]:
  """Sorted steps of the finished checkpoints in `directory` ([] if none).

  A step is a directory named by the bare number, as Orbax's standard name
  format writes it. Unfinished saves (`<step>.orbax-checkpoint-tmp*`) do not
  match; neither do other run outputs such as `samples_1000/`, which Orbax's
  own looser `checkpoint_steps` would count.
  """
  directory = pathlib.Path(directory)
  if not directory.is_dir():
    return []
  return sorted(int(p.name) for p in directory.iterdir()
                if _STEP_NAME.match(p.name) and p.is_dir())


def resolve_checkpoint(path: PathLike,
                       step: int | None = None) -> tuple[pathlib.Path, int]:
  """Finds the checkpoint a user means by `path`, for CLIs.

  Args:
    path: a workdir (containing `checkpoints/`), a checkpoints directory, or
      one step directory such as `workdir/checkpoints/1000`.
    step: the step to use when `path` is a workdir or checkpoints directory;
      None means the latest one.

  Returns:
    (checkpoints directory, step).

  Raises:
    FileNotFoundError: nothing at `path`, no finished checkpoint there, or
      `step` is not among the saved steps.
    ValueError: `path` is a step directory and `step` names another step.
  """
  path = pathlib.Path(path).expanduser()
  if not path.exists():
    raise FileNotFoundError(f"checkpoint path {path} does not exist")
  if not path.is_dir():
    raise FileNotFoundError(
        f"checkpoint path {path} is a file; expected a workdir, a "
        f"'{CHECKPOINT_SUBDIR}' directory, or a step directory inside it")

  if _STEP_NAME.match(path.name) and (path / _STATE).is_dir():
    path_step = int(path.name)
    if step is not None and step != path_step:
      raise ValueError(
          f"checkpoint path {path} is the step {path_step} directory but "
          f"step={step} was requested")
    if path_step not in list_steps(path.parent):
      raise FileNotFoundError(
          f"checkpoint directory {path} is not a finished checkpoint")
    return path.parent, path_step

  directory = path
  if (path / CHECKPOINT_SUBDIR).is_dir():  # a workdir
    directory = path / CHECKPOINT_SUBDIR
  steps = list_steps(directory)
  if not steps:
    raise FileNotFoundError(
        f"no finished checkpoint in {path} (looked for numbered step "
        f"directories in {path} and {path / CHECKPOINT_SUBDIR})")
  if step is None:
    return directory, steps[-1]
  if step not in steps:
    raise FileNotFoundError(
        f"no checkpoint for step {step} in {directory}; saved steps: {steps}")
  return directory, step


class TrainCheckpointer:
  """Saves and restores (train state, JSON metadata) pairs; a context manager.

  All processes of a multi-process job must make the same calls in the same
  order: Orbax synchronises them internally and each process writes its own
  shards.
  """

  def __init__(self, directory: PathLike, *, max_to_keep: int | None = 3,
               save_interval_steps: int = 1, async_save: bool = True,
               read_only: bool = False):
    """Opens (and, unless read_only, creates) a checkpoint directory.

    Args:
      directory: the checkpoints directory, usually `checkpoint_dir(workdir)`.
      max_to_keep: keep only the most recent this many steps; None keeps all.
      save_interval_steps: `save` without `force` writes only steps that are a
        multiple of this. 1 leaves the decision entirely to the caller.
      async_save: write files in a background thread after `save` returns.
      read_only: never write or delete (for sampling / evaluation CLIs that
        read a run's checkpoints while it may still be training).
    """
    if max_to_keep is not None and max_to_keep < 1:
      raise ValueError(f"max_to_keep must be >= 1 or None, got {max_to_keep}")
    if save_interval_steps < 1:
      raise ValueError(
          f"save_interval_steps must be >= 1, got {save_interval_steps}")
    self._directory = pathlib.Path(directory).expanduser().absolute()
    self._save_interval_steps = save_interval_steps
    self._read_only = read_only
    if read_only:
      # Setting the write options to their read-only values explicitly keeps
      # Orbax from warning about each one it would override.
      options = ocp.CheckpointManagerOptions(
          read_only=True, create=False, save_interval_steps=0,
          max_to_keep=None)
    else:
      options = ocp.CheckpointManagerOptions(
          max_to_keep=max_to_keep,
          create=True,
          # Tmp dirs left by a killed writer only waste disk. Only a writer
          # removes them: a reader could delete a live save in progress.
          cleanup_tmp_directories=True,
          enable_async_checkpointing=async_save)
    # Registering the handlers up front lets `item_metadata` read a step's
    # tree before the first restore, which the mismatch check needs.
    registry = ocp.handlers.create_default_handler_registry(
        **{_STATE: ocp.StandardCheckpointHandler(),
           _META: ocp.JsonCheckpointHandler()})
    self._manager = ocp.CheckpointManager(
        self._directory, options=options, handler_registry=registry)

  @property
  def directory(self) -> pathlib.Path:
    return self._directory

  def all_steps(self) -> list[int]:
    """Sorted saved steps (this writer's own pending saves included)."""
    return sorted(self._manager.all_steps())

  def latest_step(self) -> int | None:
    """The newest saved step (this writer's own pending saves included)."""
    return self._manager.latest_step()

  def save(self, step: int, state: Any, meta: Mapping[str, Any] | None = None,
           *, force: bool = False) -> bool:
    """Starts saving `state` and `meta` as checkpoint `step`.

    Returns as soon as the arrays are copied off the devices; call `wait()`
    (or leave the `with` block) before relying on the files.

    Args:
      step: the train step; names the checkpoint directory.
      state: a pytree of jax.Array (sharded or not).
      meta: JSON-serialisable dict.
      force: save even if `step` is not a multiple of `save_interval_steps`
        (final step, preemption).

    Returns:
      Whether a save was started. False if `step` is off the interval and not
      forced, or if `step` is already saved (a forced save right after an
      interval save of the same step is a no-op, not an error).
    """
    if self._read_only:
      raise ValueError(f"checkpointer for {self._directory} is read-only")
    meta = {} if meta is None else dict(meta)
    try:
      # Checked here: in the async writer a failure would surface only later.
      json.dumps(meta)
    except (TypeError, ValueError) as e:
      raise ValueError(f"checkpoint meta for step {step} is not JSON-"
                       f"serialisable: {e}") from e
    if step in self._manager.all_steps():
      return False
    if not force and step % self._save_interval_steps:
      return False
    # The interval decision is ours, so Orbax's own policy is bypassed.
    return self._manager.save(
        step, force=True,
        args=ocp.args.Composite(**{
            _STATE: ocp.args.StandardSave(state),
            _META: ocp.args.JsonSave(meta)}))

  def restore(self, abstract_state: Any,
              step: int | None = None) -> tuple[Any, dict[str, Any]]:
    """Restores checkpoint `step` (default: latest) into `abstract_state`.

    Args:
      abstract_state: pytree of jax.ShapeDtypeStruct with shardings (e.g.
        `jax.eval_shape` output with shardings attached) or of jax.Arrays; its
        structure, shapes and dtypes must match the checkpoint.
      step: which step; None for the latest.

    Returns:
      (state, meta): state has the structure of `abstract_state` and arrays
      placed with its shardings (resharding if the checkpoint was written with
      another layout); meta is the saved dict.

    Raises:
      FileNotFoundError: no checkpoint, or no checkpoint for `step`.
      ValueError: the checkpoint does not match `abstract_state`.
    """
    step = self._saved_step(step)
    abstract_state = self._checked_target(abstract_state, step)
    restored = self._manager.restore(
        step, args=ocp.args.Composite(**{
            _STATE: ocp.args.StandardRestore(abstract_state),
            _META: ocp.args.JsonRestore()}))
    return restored[_STATE], dict(restored[_META] or {})

  def _saved_step(self, step: int | None) -> int:
    """`step` (default: the latest) after pending saves finish; FileNotFoundError if absent."""
    # A step this checkpointer is still writing is already listed.
    self.wait()
    steps = self.all_steps()
    if not steps:
      raise FileNotFoundError(f"no checkpoint to restore in {self._directory}")
    if step is None:
      return steps[-1]
    if step not in steps:
      raise FileNotFoundError(
          f"no checkpoint for step {step} in {self._directory}; saved steps: "
          f"{steps}")
    return step

  def _checked_target(self, abstract: Any, step: int, subset: bool = False) -> Any:
    """`abstract` as ShapeDtypeStructs, checked against step `step`'s saved tree.

    With `subset`, `abstract` names some top-level entries of the saved state
    and only those are compared.
    """
    target = jax.tree_util.tree_map_with_path(
        lambda path, x: targets.target_leaf(targets.path_str(path), x), abstract)
    saved = self._manager.item_metadata(step)[_STATE]
    saved = getattr(saved, "tree", saved)  # TreeMetadata
    if subset:
      missing = sorted(set(target) - set(saved))
      if missing:
        raise ValueError(f"checkpoint at step {step} in {self._directory} has no {missing}")
      saved = {k: saved[k] for k in target}
    targets.check_matches(targets.flatten_by_path(saved), targets.flatten_by_path(target),
                   f"checkpoint at step {step} in {self._directory}")
    return target

  def restore_subset(self, abstract_subset: Mapping[str, Any],
                     step: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Restores only the top-level entries of the state named in `abstract_subset`.

    Inference needs the EMA generator and `w_avg`, a fraction of the bytes of
    the full train state (D, optimiser moments): the rest is never read.

    Args:
      abstract_subset: `{name: pytree of ShapeDtypeStruct with shardings}` for
        some top-level keys of the saved state; shapes must match.
      step: which step; None for the latest.

    Returns:
      (subset, meta).
    """
    step = self._saved_step(step)
    target = self._checked_target(dict(abstract_subset), step, subset=True)
    restore_args = jax.tree.map(lambda x: ocp.ArrayRestoreArgs(sharding=x.sharding), target)
    # Our manager registered the standard handler for the state, which restores whole trees
    # only; a bare read-only manager picks the PyTree handler that reads a subset.
    reader = ocp.CheckpointManager(self._directory, options=ocp.CheckpointManagerOptions(
        read_only=True, create=False, save_interval_steps=0))
    try:
      restored = reader.restore(step, args=ocp.args.Composite(**{
          _STATE: ocp.args.PyTreeRestore(item=target, restore_args=restore_args,
                                         partial_restore=True),
          _META: ocp.args.JsonRestore()}))
    finally:
      reader.close()
    return dict(restored[_STATE]), dict(restored[_META] or {})

  def read_meta(self, step: int | None = None) -> dict[str, Any]:
    """Only the JSON metadata of checkpoint `step` (default: latest)."""
    step = self._saved_step(step)
    restored = self._manager.restore(
        step, args=ocp.args.Composite(**{_META: ocp.args.JsonRestore()}))
    return dict(restored[_META] or {})

  def wait(self) -> None:
    """Blocks until every started save is on disk (and old steps deleted)."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    """Waits for pending saves, then releases Orbax's threads."""
    self._manager.close()

  def __enter__(self) -> TrainCheckpointer:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()


def load_checkpoint(path: PathLike, abstract_state: Any,
                    step: int | None = None) -> tuple[Any, dict[str, Any], int]:
  """Read-only restore for CLIs: `path` as in `resolve_checkpoint`.

  Returns:
    (state, meta, step).
  """
  directory, step = resolve_checkpoint(path, step)
  with TrainCheckpointer(directory, read_only=True) as ckpt:
    state, meta = ckpt.restore(abstract_state, step)
  return state, meta, step


def load_subset(path: PathLike, abstract_subset: Mapping[str, Any],
                step: int | None = None) -> tuple[dict[str, Any], dict[str, Any], int]:
  """Read-only `TrainCheckpointer.restore_subset` for CLIs: `(subset, meta, step)`."""
  directory, step = resolve_checkpoint(path, step)
  with TrainCheckpointer(directory, read_only=True) as ckpt:
    subset, meta = ckpt.restore_subset(abstract_subset, step)
  return subset, meta, step


def load_meta(path: PathLike, step: int | None = None) -> tuple[dict[str, Any], int]:
  """Read-only: `(meta, step)` of a checkpoint, `path` as in `resolve_checkpoint`."""
  directory, step = resolve_checkpoint(path, step)
  with TrainCheckpointer(directory, read_only=True) as ckpt:
    return ckpt.read_meta(step), step
