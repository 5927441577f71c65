r"""Table 1 at CPU scale: every INR-GAN ablation variant, one recipe, one budget, several seeds.

  python -m experiments.table1 --dataset=mnist                   # 5 variants x seeds 0,1
  python -m experiments.table1 --dataset=mnist --study=fmm_rank  # Fig. 8: FMM rank 1/3/10/30/full
  python -m experiments.table1 --dataset=mnist --doc_only
  python -m experiments.table1 --dataset=celebahq64 --seeds=0 --only=inr_gan,fmm  # 32 kimg

Variants (``config_lib.VARIANTS``, selected by the config argument, e.g.
``configs/mnist.py:fmm``): ``latent_conditioned``, ``hypernetwork``,
``fourier``, ``fmm`` (single scale) and ``inr_gan`` (multi-scale + FMM). Every
run uses the dataset config's own recipe unchanged -- no variant is tuned -- and
the same number of images (``--kimg``); evaluation as in
``experiments/recipe_study.py`` (FD/KID on the MNIST feature CNN, class-entropy
and k-NN coverage, every quarter of the run, 5k samples).

``--study=fmm_rank`` trains the full model with ``model.fmm_rank`` in 1, 3, 10,
30 and 0 (every INR weight predicted whole) instead.

On ``celebahq64`` (the 200 faces of ``../shared/data``, ``configs/celebahq64.py``) the
evaluation is 2k samples on the instance-discrimination CNN of the faces (trained first if
missing, ~15 min), and the default budget is 32 kimg. The single-scale variants render every
layer at 64 px, so they cost 2-2.5x the multi-scale model's MACs.

Every finished run's curve is recorded in ``docs/results/<study>_<dataset>_<kimg>kimg/``
(``study.save_record``): a recorded run is not trained again, and the tables are rebuilt from
the records on a fresh clone, so a study too long for one session grows over several.

Cost (2-core AMD EPYC with AVX-512): 3-5 min per MNIST run at 16 kimg; 10 runs
~40 min. CelebA-HQ 64 at 32 kimg: ~22 min for ``inr_gan``, ~40-55 min for a single-scale
variant. Output: ``runs/table1/<study>_<dataset>/`` and
``docs/figures/<study>_<dataset>_<kimg>kimg_curves.png``; ``--study=table1`` also rewrites its
generated table in ``docs/table1.md`` (the prose there is kept).
"""
import json
import os

from absl import app
from absl import flags

from experiments import study
from inr_gan_jax.model import complexity
from inr_gan_jax import config_lib

BASES = {"mnist": "configs/mnist.py", "celebahq64": "configs/celebahq64.py"}
# Per dataset: the feature net (path, experiments.train_feature_net arguments that make it),
# thousands of samples per evaluation, and the default budget in kimg.
FEATURE_NETS = {
    "mnist": (study.FEATURE_NET, ("--steps=2000",)),
    "celebahq64": ("runs/feature_net/celebahq200_instance.msgpack",
                   ("--instance", "--resolution=64", "--steps=800",
                    "--data=../shared/data/celebahq_200/celebahq200_64x64.npz")),
}
EVAL_NUM = {"mnist": 5, "celebahq64": 2}
KIMG = {"mnist": 16, "celebahq64": 32}
# The paper's Table 1 (LSUN bedroom 128, FID) beside ours; the multi-scale row is the full model.
PAPER_FID = {"latent_conditioned": 229.9, "hypernetwork": 28.83, "fourier": 23.07, "fmm": 11.51,
             "inr_gan": 5.69}
RANKS = (1, 3, 10, 30, 0)

_DATASET = flags.DEFINE_enum("dataset", "mnist", sorted(BASES), "Dataset (base config).")
_STUDY = flags.DEFINE_enum("study", "table1", ["table1", "fmm_rank"], "Which ablation.")
_ONLY = flags.DEFINE_list("only", [], "Run only these settings (variant names or rank_<r>).")
_SEEDS = flags.DEFINE_list("seeds", ["0", "1"], "Seeds.")
_KIMG = flags.DEFINE_integer("kimg", None, "Thousands of training images per run "
                             "(default: 16 on mnist, 32 on celebahq64).")
_EVAL_NUM = flags.DEFINE_integer("eval_num", None, "Thousands of samples per evaluation "
                                 "(default: 5 on mnist, 2 on celebahq64).")
_RECORDS = flags.DEFINE_string("records", "docs/results", "Where finished runs' curves are "
                               "recorded ('' = nowhere).")
_OUT = flags.DEFINE_string("out", "runs/table1", "Run directories.")
_DOC_ONLY = flags.DEFINE_bool("doc_only", False, "Only rebuild the outputs from finished runs.")


def settings(study_name: str):
  """``{name: (config argument, overrides)}``."""
  if study_name == "table1":
    return {v: (v, {}) for v in config_lib.VARIANTS}
  return {f"rank_{r}" if r else "rank_full": ("inr_gan", {"model.fmm_rank": r}) for r in RANKS}


def cost(config_file: str, arg: str, overrides) -> dict:
  c = study.load_config(config_file, arg, overrides)
  s = complexity.model_stats(c.model)
  return {"params_m": s["params_total"] / 1e6, "mmacs": s["gmacs"] * 1e3}


def main(argv):
  del argv
  dataset, name = _DATASET.value, _STUDY.value
  table = settings(name)
  chosen = _ONLY.value or list(table)
  seeds = [int(s) for s in _SEEDS.value]
  out = os.path.join(_OUT.value, f"{name}_{dataset}")
  kimg = _KIMG.value or KIMG[dataset]
  num = _EVAL_NUM.value or EVAL_NUM[dataset]
  records = os.path.join(_RECORDS.value, f"{name}_{dataset}_{kimg}kimg") if _RECORDS.value else ""
  metrics = f"coverage{num}k,fid{num}k,kid{num}k"
  base = study.base_train(BASES[dataset])
  steps = kimg * 1000 // base["batch_size"]
  workdir = lambda setting, seed: os.path.join(out, f"{setting}_s{seed}")  # noqa: E731
  recorded = lambda setting, seed: bool(records) and os.path.isfile(  # noqa: E731
      study.record_file(records, setting, seed))
  if not _DOC_ONLY.value:
    feature_net = study.ensure_feature_net(*FEATURE_NETS[dataset])
    for seed in seeds:
      for setting in chosen:
        wd = workdir(setting, seed)
        if recorded(setting, seed) and not os.path.isfile(os.path.join(wd, "done.json")):
          print(f"== {setting} seed {seed}: recorded in {records}, not trained again", flush=True)
          continue
        arg, overrides = table[setting]
        ov = study.run_overrides(dataset, overrides, seed, steps)
        print(f"== {setting} seed {seed}: {steps} steps -> {wd}", flush=True)
        study.run(f"{BASES[dataset]}:{arg}", ov, wd, steps // 4, metrics, feature_net)
  if records:  # every finished run's curve goes into the repository
    for setting in table:
      for seed in seeds:
        if os.path.isfile(os.path.join(workdir(setting, seed), "done.json")):
          study.save_record(workdir(setting, seed), records, setting, seed)
  where = lambda setting, s: study.run_or_record(workdir(setting, s), records, setting, s)  # noqa: E731
  results = study.collect(list(table), seeds, where)
  summary = study.summarise(results)
  costs = {s: cost(BASES[dataset], *table[s]) for s in results}
  os.makedirs(out, exist_ok=True)
  with open(os.path.join(out, "results.json"), "w") as f:
    json.dump({"curves": {k: {str(s): c for s, c in v.items()} for k, v in results.items()},
               "summary": summary, "cost": costs, "cpu": study.cpu_model()}, f, indent=1)
  study.plot_curves(f"docs/figures/{name}_{dataset}_{kimg}kimg_curves.png", results)
  desc = {s: f"{costs[s]['params_m']:.2f}M params, {costs[s]['mmacs']:.1f} MMACs"
          + (f"; paper FID {PAPER_FID[s]}" if name == "table1" else "") for s in results}
  text = study.table(summary, desc)
  print(text)
  if name == "table1":  # the generated part of docs/table1.md; the prose around it is kept
    figure = f"figures/{name}_{dataset}_{kimg}kimg_curves.png"
    # The seeds and CPUs of the runs in the table, which may come from several sessions'
    # records, not this invocation's --seeds and machine.
    shown = sorted({seed for by_seed in results.values() for seed in by_seed})
    cpus = sorted({study.run_cpu(where(st, seed)) for st, by_seed in results.items()
                   for seed in by_seed} - {""}) or [study.cpu_model()]
    study.write_block("docs/table1.md", f"{name}_{dataset}_{kimg}kimg", (
        f"{dataset}, {kimg} kimg per run, seeds {','.join(map(str, shown))}; "
        f"trained on {' and on '.join(cpus)}; mean ± half-range over seeds. Paper FID: LSUN bedroom 128.\n\n"
        f"{text}\n\n![curves]({figure})"))


if __name__ == "__main__":
  app.run(main)
