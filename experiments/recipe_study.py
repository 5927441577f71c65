r"""Recipe study: which optimiser / regulariser settings make INR-GAN cover its data?

  python -m experiments.recipe_study --dataset=mnist                 # every setting, seeds 0,1
  python -m experiments.recipe_study --dataset=mnist --settings=paper,dcgan --seeds=0
  python -m experiments.recipe_study --dataset=mnist --doc_only      # rebuild the doc
  python -m experiments.recipe_study --dataset=mnist --seeds=0 --settings=a,b --tag=round6

Each setting is a set of overrides on the dataset's base config (written out in
:data:`SETTINGS`, the base named in :data:`BASES`); every run trains for the
same number of images (``--kimg``, default 16: 1000 steps at batch 16) and is
evaluated every ``--kimg / 4`` on 5k samples of the EMA generator: FD and KID
on the MNIST feature CNN (``experiments/train_feature_net.py``, trained here if
missing), the class-histogram entropy of its classifier head and k-NN
coverage/density (``inr_gan_jax/metrics/coverage.py``). ``dcgan`` is the
pixel baseline (``inr_gan_jax/model/conv_generator.py``) trained by the same loop,
discriminator, losses, data, batch and steps under the ``paper`` rates.

Cost (2-core AMD EPYC with AVX-512): ~4-5 min per MNIST run including the four
evaluations, so the default (the first round, 7 settings x 2 seeds) takes ~65 min. Output:
``runs/recipe_study/<dataset>/`` (disposable) and ``docs/recipe_study_<dataset>.md``
+ ``docs/figures/recipe_<dataset>_<kimg>kimg_curves.png``.
"""
import json
import os

from absl import app
from absl import flags

from experiments import study
from experiments.recipe_settings import BASES, ROUND1, SETTINGS

_DATASET = flags.DEFINE_enum("dataset", "mnist", sorted(BASES), "Dataset (base config).")
_TAG = flags.DEFINE_string("tag", "", "Name of a round: the figure becomes docs/figures/"
                           "recipe_<dataset>_<kimg>kimg_<tag>_curves.png and holds only "
                           "--settings and `current` (without a tag: every finished setting).")
_SETTINGS = flags.DEFINE_list("settings", [], "Settings to run (default: the first round, "
                               "ROUND1; the doc lists the commands of later rounds).")
_SEEDS = flags.DEFINE_list("seeds", ["0", "1"], "Seeds.")
_KIMG = flags.DEFINE_integer("kimg", 16, "Thousands of training images per run.")
_EVAL_NUM = flags.DEFINE_integer("eval_num", 5, "Thousands of samples per evaluation.")
_OUT = flags.DEFINE_string("out", "runs/recipe_study", "Run directories.")
_DOC_ONLY = flags.DEFINE_bool("doc_only", False, "Only rebuild the doc from finished runs.")


def run_dir(dataset: str, setting: str, seed: int) -> str:
  return os.path.join(_OUT.value, dataset, f"{setting}_s{seed}")


def main(argv):
  del argv
  dataset = _DATASET.value
  settings = _SETTINGS.value or list(ROUND1[dataset])
  unknown = [s for s in settings if s not in SETTINGS[dataset]]
  if unknown:
    raise app.UsageError(f"unknown settings {unknown}; known: {list(SETTINGS[dataset])}")
  seeds = [int(s) for s in _SEEDS.value]
  feature_net = study.ensure_feature_net()
  metrics = f"coverage{_EVAL_NUM.value}k,fid{_EVAL_NUM.value}k,kid{_EVAL_NUM.value}k"
  seconds = {}
  if not _DOC_ONLY.value:
    for seed in seeds:          # seed-major: a cut-short study still has one seed of each
      for setting in settings:
        _, overrides = SETTINGS[dataset][setting]
        batch = int(overrides.get("train.batch_size", 16))
        steps = _KIMG.value * 1000 // batch
        ov = study.run_overrides(dataset, overrides, seed, steps)
        wd = run_dir(dataset, setting, seed)
        print(f"== {setting} seed {seed}: {steps} steps -> {wd}", flush=True)
        seconds[(setting, seed)] = study.run(BASES[dataset], ov, wd, steps // 4, metrics,
                                             feature_net)
  shown = list(SETTINGS[dataset])
  if _TAG.value:  # one round's figure and table: its settings next to the reference
    shown = ["current"] + [s for s in settings if s != "current"]
  results = study.collect(shown, seeds, lambda setting, seed: run_dir(dataset, setting, seed))
  summary = study.summarise(results)
  tag = f"_{_TAG.value}" if _TAG.value else ""
  os.makedirs(os.path.join(_OUT.value, dataset), exist_ok=True)
  with open(os.path.join(_OUT.value, dataset, f"results{tag}.json"), "w") as f:
    json.dump({"curves": {k: {str(s): c for s, c in v.items()} for k, v in results.items()},
               "summary": summary, "cpu": study.cpu_model()}, f, indent=1)
  study.plot_curves(f"docs/figures/recipe_{dataset}_{_KIMG.value}kimg{tag}_curves.png", results)
  descriptions = {k: v[0] for k, v in SETTINGS[dataset].items()}
  print(study.table(summary, descriptions))


if __name__ == "__main__":
  app.run(main)
