"""Shared runner for training studies (recipe study, Table 1, FMM rank ablation).

A study is a list of *runs* ``(setting, seed)``; each run is one
``python -m inr_gan_jax.main`` process with config overrides, periodic
evaluation on (FD, KID, mode coverage against kimg, from the run's
``eval.jsonl``), in ``<out>/<setting>_s<seed>``. Runs that already finished are
skipped, so a study interrupted by the session clock resumes where it stopped
(an unfinished run resumes from its checkpoint). Results are gathered into
``<out>/results.json``; tables report mean and spread (half the range: with two
seeds, the distance from the mean to either) over seeds.

Run directories are disposable (the next session may start on a fresh machine),
so a finished run's curve can also be *recorded* in the repository
(:func:`save_record`, ``docs/results/<study>/<setting>_s<seed>.jsonl``): a
recorded run counts as finished, and its curve is read from the record when its
run directory is gone. Long studies (Table 1 on faces) then grow over sessions.
"""
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from inr_gan_jax.utils import plotting

FEATURE_NET = "runs/feature_net/mnist_cnn_2k.msgpack"
# The 16-kimg studies (recipe rounds 1-8, Table 1, FMM rank) ran on configs/mnist.py before its
# faded diversity term became the default (2026-12-02); pinning it off keeps them rerunnable
# as they were. Settings that want the term set it themselves.
BASE_PINS = {"mnist": {"train.diversity_weight": 0.0, "train.diversity_fade_kimg": 0.0}}
# The scalars a study table reports, in order: key in eval.jsonl -> column title.
COLUMNS = (("fid", "FD"), ("kid", "KID"), ("coverage/class_entropy", "class entropy"),
           ("coverage/classes_present", "classes"), ("coverage/knn_coverage", "kNN coverage"),
           ("coverage/knn_density", "density"))


def cpu_model() -> str:
  """``lscpu`` model name and whether the CPU has AVX-512 (machines here differ ~2x)."""
  try:
    with open("/proc/cpuinfo") as f:
      info = f.read()
    name = next((ln.split(":", 1)[1].strip() for ln in info.splitlines()
                 if ln.startswith("model name")), platform.processor())
    return f"{name}, {os.cpu_count()} cores, {'AVX-512' if 'avx512f' in info else 'no AVX-512'}"
  except OSError:
    return platform.processor() or "unknown CPU"


def ensure_feature_net(path: str = FEATURE_NET, train_args: Sequence[str] = ("--steps=2000",)
                       ) -> str:
  """Trains the feature net with ``experiments.train_feature_net train_args`` if it is missing
  (the MNIST classifier by default: 2000 steps, ~2.5 min on 2 cores)."""
  if not os.path.isfile(path):
    subprocess.run([sys.executable, "-m", "experiments.train_feature_net", f"--out={path}",
                    *train_args], check=True)
  return path


def run_overrides(dataset: str, overrides: Dict[str, object], seed: int,
                  steps: int) -> Dict[str, object]:
  """A study run's config overrides: the dataset's pins, the setting's own, then the seed and a
  length of ``steps`` with one sample grid and checkpoint at the end and ten log lines."""
  return {**BASE_PINS.get(dataset, {}), **overrides, "seed": seed, "train.num_steps": steps,
          "train.sample_every": steps, "checkpoint.every_steps": steps,
          "train.log_every": max(1, steps // 10)}


def flag_overrides(overrides: Dict[str, object]) -> List[str]:
  return [f"--config.{k}={v}" for k, v in overrides.items()]


def run(config: str, overrides: Dict[str, object], workdir: str, eval_every: int,
        eval_metrics: str, feature_net: str) -> float:
  """Trains one run in a fresh process (skipped when finished); returns its wall seconds."""
  done_marker = os.path.join(workdir, "done.json")
  if os.path.isfile(done_marker):
    with open(done_marker) as f:
      return float(json.load(f)["seconds"])
  os.makedirs(workdir, exist_ok=True)
  ev = {"eval.every_steps": eval_every, "eval.metrics": eval_metrics,
        "eval.feature_net": feature_net,
        "eval.cache_dir": os.path.join(os.path.dirname(workdir), "metrics_cache")}
  cmd = [sys.executable, "-m", "inr_gan_jax.main", f"--config={config}", f"--workdir={workdir}",
         *flag_overrides({**overrides, **ev})]
  t0 = time.time()
  with open(os.path.join(workdir, "log.txt"), "a") as log:
    log.write(" ".join(cmd) + "\n")
    log.flush()
    subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT)
  seconds = time.time() - t0
  with open(done_marker, "w") as f:
    json.dump({"seconds": seconds, "cmd": cmd, "cpu": cpu_model()}, f)
  return seconds


def record_file(record_dir: str, setting: str, seed: int) -> str:
  return os.path.join(record_dir, f"{setting}_s{seed}.jsonl")


def save_record(workdir: str, record_dir: str, setting: str, seed: int) -> str:
  """Copies a finished run's ``eval.jsonl`` to its record (the file a fresh clone keeps)."""
  os.makedirs(record_dir, exist_ok=True)
  path = record_file(record_dir, setting, seed)
  shutil.copyfile(os.path.join(workdir, "eval.jsonl"), path)
  done = os.path.join(workdir, "done.json")
  if os.path.isfile(done):  # wall seconds and CPU, beside the curve
    with open(done) as f:
      info = json.load(f)
    with open(path[:-len(".jsonl")] + ".done.json", "w") as f:
      json.dump({k: info[k] for k in ("seconds", "cpu") if k in info}, f)
  return path


def run_or_record(workdir: str, record_dir: str, setting: str, seed: int) -> str:
  """Where a run's curve is: its workdir if that run finished, else its record (:func:`read_eval`)."""
  if is_finished(workdir) or not record_dir:
    return workdir
  return record_file(record_dir, setting, seed)


def is_finished(where: str) -> bool:
  """A workdir whose run wrote ``done.json``, or a record (saved only for finished runs). A run
  cut short, or still training, has evaluations but no ``done.json``: its last row is from an
  earlier kimg than the table's, so it must not stand in for a finished seed."""
  if where.endswith(".jsonl"):
    return os.path.isfile(where)
  return os.path.isfile(os.path.join(where, "done.json"))


def run_cpu(where: str) -> str:
  """The CPU a run trained on, from ``done.json`` in its workdir or the ``.done.json`` beside its
  record (what :func:`run_or_record` returns); ``""`` if neither says."""
  done = (where[:-len(".jsonl")] + ".done.json" if where.endswith(".jsonl")
          else os.path.join(where, "done.json"))
  if not os.path.isfile(done):
    return ""
  with open(done) as f:
    return str(json.load(f).get("cpu", ""))


def read_eval(workdir: str) -> List[Dict[str, float]]:
  """``eval.jsonl`` rows by step (a resumed run's repeated steps: the last row wins), with the
  metric names shortened: ``eval/fid5k`` -> ``fid``, ``eval/coverage5k/knn_coverage`` ->
  ``coverage/knn_coverage``. ``workdir`` may also be a ``.jsonl`` record itself."""
  path = workdir if workdir.endswith(".jsonl") else os.path.join(workdir, "eval.jsonl")
  rows = {}
  if os.path.isfile(path):
    with open(path) as f:
      for line in f:
        raw = json.loads(line)
        row = {}
        for k, v in raw.items():
          parts = k.split("/")
          if parts[0] == "eval":
            kind = parts[1].rstrip("0123456789k")
            if parts[1].endswith(("_num_real", "_std")):
              continue
            row["/".join([kind] + parts[2:])] = v
          else:
            row[k] = v
        rows[raw["step"]] = row
  return [rows[s] for s in sorted(rows)]


def collect(settings: Sequence[str], seeds: Sequence[int],
            workdir: Callable[[str, int], str]) -> Dict[str, Dict[int, List[Dict[str, float]]]]:
  """``{setting: {seed: curve}}`` of the finished runs (:func:`read_eval` of
  ``workdir(setting, seed)``); unfinished runs (:func:`is_finished`), runs without evaluations,
  and settings without any, are left out."""
  results = {}
  for setting in settings:
    by_seed = {s: c for s in seeds
               if is_finished(w := workdir(setting, s)) and (c := read_eval(w))}
    if by_seed:
      results[setting] = by_seed
  return results


def mean_spread(values: Sequence[float]) -> Tuple[float, float]:
  v = np.asarray(values, np.float64)
  return float(v.mean()), float((v.max() - v.min()) / 2) if len(v) > 1 else 0.0


def summarise(results: Dict[str, Dict[str, List[Dict[str, float]]]]) -> Dict[str, Dict]:
  """``{setting: {seed: curve}}`` -> per setting: final-step mean/spread of every column."""
  out = {}
  for setting, by_seed in results.items():
    finals = [curve[-1] for curve in by_seed.values() if curve]
    if not finals:
      continue
    out[setting] = {"seeds": len(finals), "kimg": finals[0]["kimg"]}
    for key, _ in COLUMNS:
      vals = [f[key] for f in finals if key in f]
      if vals:
        out[setting][key] = mean_spread(vals)
  return out


def table(summary: Dict[str, Dict], descriptions: Dict[str, str]) -> str:
  head = "| setting | what | seeds | kimg | " + " | ".join(t for _, t in COLUMNS) + " |"
  lines = [head, "|" + "---|" * (4 + len(COLUMNS))]
  for setting, s in summary.items():
    cells = []
    for key, _ in COLUMNS:
      if key in s:
        m, sp = s[key]
        cells.append(f"{m:.3g} ± {sp:.2g}" if sp else f"{m:.3g}")
      else:
        cells.append("-")
    lines.append(f"| `{setting}` | {descriptions.get(setting, '')} | {s['seeds']} | "
                 f"{s['kimg']:.0f} | " + " | ".join(cells) + " |")
  return "\n".join(lines)


def write_block(path: str, name: str, text: str) -> None:
  """Replaces the generated block ``name`` of a markdown file, keeping everything else.

  The block sits between ``<!-- name:begin -->`` and ``<!-- name:end -->``; a file
  or block that does not exist yet is created (the block appended).
  """
  begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
  block = f"{begin}\n{text.rstrip()}\n{end}"
  old = open(path).read() if os.path.isfile(path) else ""
  if begin in old and end in old:
    head, rest = old.split(begin, 1)
    new = head + block + rest.split(end, 1)[1]
  else:
    new = (old.rstrip() + "\n\n" if old else "") + block + "\n"
  with open(path, "w") as f:
    f.write(new)


def plot_curves(path: str, results: Dict[str, Dict[str, List[Dict[str, float]]]],
                keys=(("fid", "FD (feature CNN) against kimg, log scale"),
                      ("coverage/class_entropy", "normalised class entropy against kimg"),
                      ("coverage/knn_coverage", "kNN coverage against kimg"))) -> None:
  """One panel per metric; one line per (setting, seed)."""
  panels = []
  for key, title in keys:
    series = {}
    for setting, by_seed in results.items():
      for seed, curve in by_seed.items():
        pts = [(r["kimg"], r[key]) for r in curve if key in r]
        if pts:
          series[f"{setting} s{seed}"] = ([p[0] for p in pts], [p[1] for p in pts])
    panels.append((title, series))
  plotting.save_panels(path, panels, xlabel="kimg", logy=[k == "fid" for k, _ in keys],
                       markers=True)


def load_config(config_file: str, arg, overrides: Dict[str, object]):
  """``config_file`` (with its config argument, e.g. a Table 1 variant) and ``section.key``
  overrides applied; a key its section lacks is a ValueError naming the section's keys."""
  from inr_gan_jax import config_lib
  c = config_lib.load_config_file(config_file, arg)
  for key, value in overrides.items():
    section, name = key.split(".")
    if name not in c[section]:
      raise ValueError(f"unknown config key {key!r}; {section} has {sorted(c[section].keys())}")
    c[section][name] = value
  return c


def base_train(config_file: str) -> Dict[str, object]:
  """The base config's ``train`` section (batch size sets the steps for a kimg budget)."""
  from inr_gan_jax import config_lib
  return dict(config_lib.load_config_file(config_file).train)
