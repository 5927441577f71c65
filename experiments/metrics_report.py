r"""The numbers of docs/metrics.md: FD noise floor, random and trained generators, per feature net.

  python -m experiments.metrics_report --feature_net=runs/feature_net/mnist_cnn.msgpack \
      --workdir=runs/mnist --num=5000
  python -m experiments.metrics_report --feature_net=random_inception --workdir=runs/mnist \
      --num=250

Real images: the MNIST copy in ../shared/data converted as training converts
it (32x32 RGB). The 10k images are split by a fixed random permutation
(seed 0) into two disjoint halves; A and B are the first ``num`` of each, and
the noise floor is FD(A, B). Generated sets (num images each) are compared
with A. A contiguous split would not do: MNIST's test images [0, 5000) and
[5000, 10000) come from different writer populations (the first half is the
cleaner one), which ``--writer_split_row`` measures separately.
"""
import json
import os
import time

from absl import app
from absl import flags
import jax
import numpy as np

from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.data import npz as npz_data
from inr_gan_jax.metrics import feature_nets
from inr_gan_jax.metrics import frechet
from inr_gan_jax.metrics import generated
from inr_gan_jax.metrics import stats as stats_lib

_DATA = flags.DEFINE_string("data", "../shared/data/mnist_test_10k_28x28.npz", "MNIST .npz.")
_FEATURE_NET = flags.DEFINE_string("feature_net", "", "As evaluate's --feature_net.")
_INCEPTION = flags.DEFINE_string("inception_weights", "", "As evaluate's --inception_weights.")
_WORKDIR = flags.DEFINE_string("workdir", "", "Trained mnist run ('' = skip that row).")
_CONFIG = flags.DEFINE_string("config", "configs/mnist.py", "Config of the random generator.")
_NUM = flags.DEFINE_integer("num", 1000, "Images per set (<= 5000).")
_BATCH = flags.DEFINE_integer("batch_size", 50, "Batch size.")
_WRITER_ROW = flags.DEFINE_bool("writer_split_row", False,
                                "Also report FD of images [0, num) vs [5000, 5000 + num).")
_RANDOM_ROW = flags.DEFINE_bool("random_generator", True,
                                "Report the randomly initialised generator (params seed 0).")
_CACHE = flags.DEFINE_string("cache_dir", "runs/metrics_report_cache",
                             "Keeps the real halves' features between runs.")


def main(argv):
  del argv
  n = _NUM.value
  if not 2 <= n <= 5000:
    raise ValueError(f"--num={n} must be in [2, 5000] (two disjoint halves of 10k images)")
  net = feature_nets.from_flags(_INCEPTION.value, _FEATURE_NET.value)
  ex = stats_lib.FeatureExtractor(net.apply_fn, net.params, batch_size=_BATCH.value)
  reals = npz_data.load_array_source(_DATA.value, 32).images  # [10000, 32, 32, 3]
  rows = {}

  def feats(batches):
    t0 = time.time()
    f = np.concatenate([ex(b) for b in batches])
    return f, time.time() - t0

  def row(name, fake, seconds):
    k = frechet.kid(half_a, fake, num_subsets=50, subset_size=min(1000, n // 2))
    rows[name] = {"fd": frechet.frechet_distance(half_a.mean(0), np.cov(half_a, rowvar=False),
                                                 fake.mean(0), np.cov(fake, rowvar=False)),
                  "kid": k.mean, "kid_std": k.std, "seconds": round(seconds, 1)}
    print(name, rows[name], flush=True)

  perm = np.random.default_rng(0).permutation(len(reals))

  def real_half(start, shuffled=True):
    tag = "perm" if shuffled else "contiguous"
    path = os.path.join(_CACHE.value, f"mnist32-{tag}{start}-{n}-{net.name}.npy")
    if os.path.isfile(path):
      return np.load(path), 0.0
    idx = perm[start:start + n] if shuffled else np.arange(start, start + n)
    f, t = feats(np.array_split(reals[np.sort(idx)], max(1, n // _BATCH.value)))
    os.makedirs(_CACHE.value, exist_ok=True)
    np.save(path, f)
    return f, t

  half_a, t_a = real_half(0)
  half_b, t_b = real_half(5000)
  row("real A vs real B (noise floor)", half_b, t_a + t_b)
  if _WRITER_ROW.value:
    first, t1 = real_half(0, shuffled=False)
    second, t2 = real_half(5000, shuffled=False)
    k = frechet.kid(first, second, num_subsets=50, subset_size=min(1000, n // 2))
    rows["real [0, n) vs [5000, 5000 + n) (writer shift)"] = {
        "fd": frechet.frechet_distance(first.mean(0), np.cov(first, rowvar=False),
                                       second.mean(0), np.cov(second, rowvar=False)),
        "kid": k.mean, "kid_std": k.std, "seconds": round(t1 + t2, 1)}
    print(rows, flush=True)

  if _WORKDIR.value:
    from inr_gan_jax.checkpoints import restore
    loaded = restore.load_generator(_WORKDIR.value)
    g, model_config = loaded.generator, loaded.config.model
    fake, t = feats(generated.sample_batches(g, loaded.params, n, _BATCH.value, 32, seed=1))
    row(f"trained generator (EMA, step {loaded.step})", fake, t)
  else:
    from inr_gan_jax import config_lib
    model_config = config_lib.load_config_file(_CONFIG.value).model
    g = generator_lib.Generator(model_config)
  if _RANDOM_ROW.value:
    params = jax.jit(g.init)(jax.random.key(0))
    fake, t = feats(generated.sample_batches(g, params, n, _BATCH.value, 32, seed=1))
    row("randomly initialised generator", fake, t)
  print(json.dumps({"feature_net": net.name, "num": n, "rows": rows}))


if __name__ == "__main__":
  app.run(main)
