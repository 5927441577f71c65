"""Restore targets of a checkpoint: key paths, leaf checks, and mismatch messages.

A restore target is a pytree of ``jax.ShapeDtypeStruct`` (with shardings) or
``jax.Array``; before Orbax reads anything, :func:`check_matches` compares it
with the saved tree's metadata and names every key, shape and dtype that
differs, so a changed config fails with one readable line.
"""
from __future__ import annotations

from typing import Any, Mapping

import jax
import numpy as np

# How many individual mismatches an error message lists before eliding.
_MAX_LISTED = 8


def abstract_like(tree: Any) -> Any:
  """Restore target for a tree of jax.Arrays: same shapes, dtypes, shardings."""
  return jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding),
      tree)


def path_str(path: tuple[Any, ...]) -> str:
  """A pytree key path as 'a/b/0', the same for dict keys and attributes.

  Orbax stores namedtuples and dataclasses as dicts and tuples as lists, so
  `GetAttrKey('mu')` in the model must match `DictKey('mu')` on disk.
  """
  names = []
  for key in path:
    attr = next((a for a in ("key", "name", "idx") if hasattr(key, a)), None)
    names.append(str(getattr(key, attr) if attr else key))
  return "/".join(names)


def flatten_by_path(tree: Any) -> dict[str, Any]:
  leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
  return {path_str(path): leaf for path, leaf in leaves}


def target_leaf(path: str, leaf: Any) -> jax.ShapeDtypeStruct:
  """Checks one restore-target leaf; returns it as a ShapeDtypeStruct."""
  if isinstance(leaf, jax.Array):
    return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=leaf.sharding)
  if not isinstance(leaf, jax.ShapeDtypeStruct):
    raise ValueError(
        f"restore target leaf '{path}' is a {type(leaf).__name__}; expected "
        "jax.ShapeDtypeStruct (e.g. from jax.eval_shape) or jax.Array")
  if leaf.sharding is None:
    raise ValueError(
        f"restore target leaf '{path}' has no sharding; give every "
        "ShapeDtypeStruct a sharding (e.g. NamedSharding(mesh, P())) so the "
        "restored array is placed on devices as intended")
  return leaf


def elide(items: list[str]) -> str:
  shown = ", ".join(items[:_MAX_LISTED])
  if len(items) > _MAX_LISTED:
    shown += f", ... ({len(items) - _MAX_LISTED} more)"
  return shown


def check_matches(saved: Mapping[str, Any], target: Mapping[str, Any],
                   where: str) -> None:
  """Raises ValueError naming every key, shape and dtype that differs."""
  problems = []
  only_saved = sorted(saved.keys() - target.keys())
  only_target = sorted(target.keys() - saved.keys())
  if only_saved:
    problems.append("in the checkpoint but not in the model: "
                    + elide(only_saved))
  if only_target:
    problems.append("in the model but not in the checkpoint: "
                    + elide(only_target))
  mismatched = []
  for key in sorted(saved.keys() & target.keys()):
    have, want = saved[key], target[key]
    if jax.dtypes.issubdtype(want.dtype, jax.dtypes.prng_key):
      # Typed PRNG keys are stored as their uint32 key data.
      want = jax.eval_shape(jax.random.key_data,
                            jax.ShapeDtypeStruct(want.shape, want.dtype))
    have_shape = tuple(getattr(have, "shape", ()))
    if have_shape != tuple(want.shape):
      mismatched.append(f"{key} has shape {have_shape} in the checkpoint but "
                        f"{tuple(want.shape)} in the config")
    elif np.dtype(have.dtype) != np.dtype(want.dtype):
      mismatched.append(f"{key} has dtype {np.dtype(have.dtype)} in the "
                        f"checkpoint but {np.dtype(want.dtype)} in the config")
  if mismatched:
    problems.append(elide(mismatched))
  if problems:
    raise ValueError(f"{where} does not match the model: "
                     + "; ".join(problems) + "; did the config change?")
