r"""Parameter and MAC counts of generator configs (the paper's Table 1, Fig. 9).

  python -m experiments.model_stats --config=configs/lsun256.py           # table
  python -m experiments.model_stats --config=configs/lsun256.py --json    # one JSON object
  python -m experiments.model_stats --all                                 # Table 1: variants x datasets
"""
import json
import os

from absl import app
from absl import flags
from ml_collections import config_flags

from inr_gan_jax.model import complexity
from inr_gan_jax import config_lib

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file.")
_JSON = flags.DEFINE_bool("json", False, "Print one JSON object instead of a table.")
_ALL = flags.DEFINE_bool("all", False, "Print Table 1: every variant x lsun128/lsun256/ffhq1024.")

_CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")
# (params in M, GMACs per image) from the paper's Table 1, for the full INR-GAN.
PAPER = {("lsun256", "inr_gan"): (107.03, 38.76), ("ffhq1024", "inr_gan"): (117.3, 47.35)}


def _table(stats) -> str:
  rows = [("parameters, total", f"{stats['params_total'] / 1e6:.2f} M"),
          ("  mapping network", f"{stats['params_mapping'] / 1e6:.2f} M"),
          ("  connector", f"{stats['params_connector'] / 1e6:.2f} M"),
          ("  shared INR weights", f"{stats['params_shared_inr'] / 1e6:.2f} M"),
          ("predicted scalars per sample", f"{stats['predicted_per_sample']:,}"),
          (f"GMACs per {stats['resolution']}px image", f"{stats['gmacs']:.2f}"),
          ("  hypernetwork", f"{stats['gmacs_hypernetwork']:.3f}"),
          ("  INR", f"{stats['gmacs_inr']:.2f}")]
  rows += [(f"GMACs when sampling at {s}px", f"{g:.3f}")
           for s, g in stats["gmacs_by_resolution"].items()]
  width = max(len(k) for k, _ in rows)
  return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _table1() -> list:
  out = []
  for name in ("lsun128", "lsun256", "ffhq1024"):
    for variant in config_lib.VARIANTS:
      cfg = config_lib.load_config_file(os.path.join(_CONFIG_DIR, f"{name}.py"), variant)
      s = complexity.model_stats(cfg.model)
      paper = PAPER.get((name, variant))
      out.append({"config": name, "variant": variant,
                  "params_m": s["params_total"] / 1e6, "gmacs": s["gmacs"],
                  "paper_params_m": paper[0] if paper else None,
                  "paper_gmacs": paper[1] if paper else None})
  return out


def main(argv):
  del argv
  if _ALL.value:
    rows = _table1()
    if _JSON.value:
      print(json.dumps(rows, indent=1))
      return
    fmt = lambda v, f: "-" if v is None else format(v, f)
    print(f"{'config':<9} {'variant':<19} {'params (M)':>11} {'paper':>7} {'GMACs':>9} {'paper':>7}")
    for r in rows:
      print(f"{r['config']:<9} {r['variant']:<19} {r['params_m']:>11.2f} "
            f"{fmt(r['paper_params_m'], '.2f'):>7} {r['gmacs']:>9.2f} {fmt(r['paper_gmacs'], '.2f'):>7}")
    return
  if _CONFIG.value is None:
    raise app.UsageError("pass --config=configs/<name>.py (or --all)")
  stats = complexity.model_stats(_CONFIG.value.model)
  print(json.dumps(stats, indent=1) if _JSON.value else _table(stats))


if __name__ == "__main__":
  app.run(main)
