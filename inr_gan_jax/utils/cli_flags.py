"""absl flag tables shared by the command-line tools (sample, evaluate).

A tool lists its flags as ``(kind, name, default, help)`` rows and defines them
at run time, so importing a tool as a library defines nothing, and two tools
imported together share any flag they both declare.
"""
import logging as py_logging
import sys
from typing import Iterable, Optional, Tuple

from absl import flags
from absl import logging

FlagRow = Tuple[str, str, object, str]  # kind ("string", "integer", ...), name, default, help


def define_missing(rows: Iterable[FlagRow], flag_values=flags.FLAGS,
                   module: Optional[str] = None) -> None:
  """Defines each row's flag unless ``flag_values`` already has it (idempotent).

  A row whose flag exists with another default raises ValueError.

  Every row's flag, new or shared, becomes a key flag of ``module`` (default:
  the caller's module), so the tool's ``--help`` lists all of them; absl would
  otherwise file them under this helper module and print none.
  """
  module = module or sys._getframe(1).f_globals["__name__"]  # pylint: disable=protected-access
  # absl's --help lists the key flags of the module named sys.argv[0]: the file under
  # `python -m`, the console script (inr-gan-sample) otherwise. Register for both names.
  owners = {sys.argv[0]} | ({module} if module != "__main__" else set())
  for kind, name, default, help_ in rows:
    if name not in flag_values:
      getattr(flags, f"DEFINE_{kind}")(name, default, help_, flag_values=flag_values)
    elif flag_values[name].default != default:
      # A shared flag must mean the same in every tool: otherwise whichever tool defined it
      # first would silently set the other's default.
      raise ValueError(f"flag --{name} is declared twice with different defaults "
                       f"({flag_values[name].default!r} and {default!r}); give one a new name")
    for owner in owners:
      flag_values.register_key_flag_for_module(owner, flag_values[name])


class _DropReadOnlyNotice(py_logging.Filter):
  """Orbax warns "Given directory is read only" whenever a reader opens checkpoints: expected."""

  def filter(self, record: py_logging.LogRecord) -> bool:
    return "Given directory is read only" not in record.getMessage()


def quiet_library_logs() -> None:
  """WARNING and above from libraries (Orbax logs every restore at INFO) unless ``--verbosity``."""
  if "verbosity" not in flags.FLAGS or not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
    absl_logger = py_logging.getLogger("absl")
    if not any(isinstance(f, _DropReadOnlyNotice) for f in absl_logger.filters):
      absl_logger.addFilter(_DropReadOnlyNotice())
