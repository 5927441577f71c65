r"""INR-GAN on MNIST at 32x32.

Run with the copy shipped on the development machines:
  python -m inr_gan_jax.main --config=configs/mnist.py --workdir=runs/mnist
or from TFDS (prepared array_record data):
  python -m inr_gan_jax.main --config=configs/mnist.py --workdir=runs/mnist \
      --config.data.source=tfds --config.data.data_dir=/path/to/tensorflow_datasets

Digits are resized 28 -> 32 (antialiased) and replicated to RGB. The recipe is
configs/quickstart.py's (hypernetwork lr 3e-4, shared INR 2e-3, D 1e-3, R1 gamma 1 every
4 steps, batch 16, EMA half-life 2 kimg; docs/recipe_study_mnist.md compares others) plus a
diversity-sensitive G loss of weight 4 that fades to 0 at 64 kimg.
Expected cost: 12000 steps (192 kimg) in ~39 minutes on a 2-core AMD EPYC with AVX-512
(55-70 img/s up to 64 kimg, ~100 after; machines without AVX-512 are up
to 2x slower). At the end, over seeds 0 and 1: FD 3.07 / 3.38, class entropy 0.992 / 0.985,
all ten digits, k-NN coverage 0.74 / 0.76 on the MNIST feature CNN (docs/training.md).
At 1000 steps (16 kimg, 4 min): FD 95, class entropy 0.88 (issue 10's target 0.95 is unmet).
"""
from inr_gan_jax import config_lib


def get_config(arg=None):
  # The CPU recipe of configs/quickstart.py (model, D, learning rates, R1 1 every 4 steps,
  # batch 16, EMA half-life 2 kimg); only the data and the length differ.
  c = config_lib.derive(__file__, "quickstart.py")
  c.data.source = "npz"
  c.data.name = "mnist"
  c.data.path = "../shared/data/mnist_test_10k_28x28.npz"
  # The D of every documented MNIST run (32-64 channels), wider than the quickstart's.
  c.discriminator.channel_base = 1024
  c.discriminator.channel_max = 64
  t = c.train
  t.num_steps = 12000   # 128 kimg left 6s rare; 192 kimg covers all ten digits
  t.random_flip = False   # digits are not mirror-symmetric
  # Diversity-sensitive G loss, faded out by 64 kimg: over two seeds FD 3.23 +- 0.16 against
  # 3.43 +- 0.26 without it at 192 kimg, and all ten digits in both seeds against one of two
  # (docs/training.md, "Faded out by 64 kimg"). Left on, it holds FD at ~20.
  t.diversity_weight = 4.0
  t.diversity_fade_kimg = 64.0
  t.log_every = 100
  return config_lib.finalize(c, arg)
