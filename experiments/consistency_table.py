r"""EQ-T / EQ-S of trained generators as a markdown table (docs/analyses.md).

  python -m experiments.consistency_table --num=256 \
      --runs=runs/table1/table1_mnist/fourier_s0,runs/table1/table1_mnist/inr_gan_s0,...

For each run: the model's upsampling, blocks and training images, then EQ-T
(``inr_gan_jax.metrics.consistency``) per shift and direction (x / y averaged
here) and EQ-S, on ``--num`` samples of the EMA generator. With ``--doc`` the
table replaces the ``consistency`` block of that markdown file; with ``--figure``
EQ-T over a sweep of shifts is drawn, one line per run. Cost: about
10 s per MNIST run on a 2-core CPU.
"""
import json

from absl import app
from absl import flags

_RUNS = flags.DEFINE_list("runs", [], "Workdirs of trained runs.")
_NUM = flags.DEFINE_integer("num", 256, "Samples per run.")
_BATCH = flags.DEFINE_integer("batch", 64, "Samples per render call.")
_DOC = flags.DEFINE_string("doc", "", "Markdown file whose `consistency` block is replaced.")
_JSON = flags.DEFINE_string("json", "", "Optional JSON with every number.")
_FIGURE = flags.DEFINE_string("figure", "", "Optional PNG: EQ-T against the shift, one line per "
                              "run, over --sweep.")
_SWEEP = flags.DEFINE_list("sweep", ["0.25", "0.5", "0.75", "1", "1.25", "1.5", "1.75", "2", "3",
                                     "4"], "Shifts (pixels) of the --figure.")


def sweep_series(record, shifts):
  """``{run: (shifts, dB)}``: each run's EQ-T (x / y averaged) at every shift of the sweep."""
  return {name: (list(shifts), [(r["sweep"][f"shift_{s:g}x"] + r["sweep"][f"shift_{s:g}y"]) / 2
                                for s in shifts])
          for name, r in record.items()}


def describe(config) -> str:
  m = config.model
  if m.get("generator", "inr") == "conv":
    return "conv (pixels, read bilinearly)"
  blocks = "/".join(str(r) for r in m.block_resolutions)
  return f"{m.get('variant', '') or config.get('variant', '')} {blocks} px, {m.upsample}".strip()


def main(argv):
  del argv
  from inr_gan_jax.checkpoints import restore
  from inr_gan_jax.metrics import consistency
  from inr_gan_jax.utils import cli_flags
  from experiments import study
  cli_flags.quiet_library_logs()
  if not _RUNS.value:
    raise app.UsageError("give --runs=WORKDIR[,WORKDIR...]")
  rows, record = [], {}
  shifts = consistency.SHIFTS
  sweep = [float(x) for x in _SWEEP.value]
  for path in _RUNS.value:
    loaded = restore.load_generator(path)
    g, p = loaded.generator, loaded.params
    eqt = consistency.consistency(g, p, _NUM.value, _BATCH.value, kind="eqt")
    eqs = consistency.consistency(g, p, _NUM.value, _BATCH.value, kind="eqs")
    kimg = loaded.step * int(loaded.config.train.batch_size) / 1000
    name = path.rstrip("/").split("/")[-1]
    record[name] = {"path": path, "step": loaded.step, "kimg": kimg, "eqt": eqt, "eqs": eqs}
    if _FIGURE.value:  # the table's shifts are measured already (same latents): only the rest
      extra = [s for s in sweep if s not in shifts]
      more = consistency.consistency(g, p, _NUM.value, _BATCH.value, kind="eqt", shifts=extra)
      record[name]["sweep"] = {k: v for k, v in {**eqt, **more}.items() if k.startswith("shift_")}
    cells = [f"{(eqt[f'shift_{s:g}x'] + eqt[f'shift_{s:g}y']) / 2:.1f}" for s in shifts]
    rows.append(f"| `{name}` | {describe(loaded.config)} | {kimg:.0f} | " + " | ".join(cells)
                + f" | {eqs['eqs']:.1f} |")
    print(rows[-1], flush=True)
  head = ("| run | model | kimg | " + " | ".join(f"EQ-T {s:g} px" for s in shifts)
          + " | EQ-S |\n|" + "---|" * (4 + len(shifts)))
  table = head + "\n" + "\n".join(rows)
  if _DOC.value:
    study.write_block(_DOC.value, "consistency", table)
  if _FIGURE.value:
    from inr_gan_jax.utils import plotting
    plotting.save_panels(_FIGURE.value, [(
        f"EQ-T (dB, {consistency.MAX_DB:g} = exact) against the window shift",
        sweep_series(record, sweep))],
        xlabel="shift (pixels at the training resolution)", markers=True)
  if _JSON.value:
    with open(_JSON.value, "w") as f:
      json.dump(record, f, indent=1)
  print(table)


if __name__ == "__main__":
  app.run(main)
