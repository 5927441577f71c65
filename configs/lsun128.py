r"""INR-GAN on LSUN bedroom 128x128.

Run (accelerators) on LSUN as distributed, the LMDB directory of the official download:
  python -m inr_gan_jax.main --config=configs/lsun128.py --workdir=runs/lsun128 \
      --config.data.path=/path/to/bedroom_train_lmdb
Faster start: convert once (centre crop + resize, progress bar) and train from the zip:
  inr-gan-dataset --source=/path/to/bedroom_train_lmdb --resolution=128 --out=bedroom128.zip
  ... --config.data.source=folder --config.data.path=bedroom128.zip
Or from a prepared TFDS array_record dataset:
  ... --config.data.source=tfds --config.data.data_dir=/path/to/tensorflow_datasets

INR layout: the lsun256 layout one octave down (blocks at 64 and 128 with
8 x 512 and 4 x 64 FMM layers, 32 Fourier frequencies, rank 10). The paper
reports no complexity for 128, so we keep the 256 model's per-block design;
this gives the same 107.6M parameters (the connector does not depend on
resolution) at a quarter of the MACs (~9.7 GMACs per image).

Expected cost: ~9.7 GMACs per generated image; accelerator training.
"""
from inr_gan_jax import config_lib


def get_config(arg=None):
  c = config_lib.derive(__file__, "lsun256.py")   # the paper's recipe and layout, one octave down
  c.model.resolution = 128
  c.model.block_resolutions = (64, 128)
  return config_lib.finalize(c, arg)
