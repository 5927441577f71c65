"""absl flag tables shared by the command-line tools (sample, evaluate).

A tool lists its flags as ``(kind, name, default, help)`` rows and defines them
at run time, so importing a tool as a library defines nothing, and two tools
imported together share any flag they both declare.
"""
from typing import Iterable, Tuple

from absl import flags

FlagRow = Tuple[str, str, object, str]  # kind ("string", "integer", ...), name, default, help


def define_missing(rows: Iterable[FlagRow], flag_values=flags.FLAGS) -> None:
  """Defines each row's flag unless ``flag_values`` already has it (idempotent)."""
  for kind, name, default, help_ in rows:
    if name not in flag_values:
      getattr(flags, f"DEFINE_{kind}")(name, default, help_, flag_values=flag_values)
