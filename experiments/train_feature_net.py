r"""Trains the small CNN classifier whose penultimate features give an offline FD / KID.

  python -m experiments.train_feature_net --out=runs/feature_net/mnist_cnn.msgpack
  python -m experiments.train_feature_net --instance --resolution=64 --steps=800 \
      --data=../shared/data/celebahq_200/celebahq200_64x64.npz \
      --out=runs/feature_net/celebahq200_instance.msgpack

``--instance`` (for unlabelled sets such as the 200 CelebA-HQ faces): every
image is its own class and the network learns to tell augmented copies apart
(random shifts of up to 1/8 of the side, flips, brightness/contrast jitter), a
self-supervised embedding of faces. Its classifier head then assigns each
generated face to its nearest training identity, so the class-histogram
coverage metric reads as "how many of the training faces does the generator
come near" (1 = all equally often, 0 = a single face). Accuracy is measured on
freshly augmented copies of every image (there is no held-out split).

Data: MNIST from ``../shared/data`` (the 10k test split, the only MNIST on the
development machines), converted exactly as the training pipeline converts it
(28 -> 32 antialiased, grey replicated to RGB). Images ``[0, num_train)`` train
the classifier; ``[num_train, N)`` are held out and give the reported accuracy.
``--data=shapes``: the embedded shapes dataset (``inr_gan_jax/data/shapes.py``, dataset seed
0 as the quickstart uses it), images [0, 10000) at ``--resolution``, labelled by shape kind
(disc, square, triangle): the feature net that scores the quickstart. Its features see the
shape's kind, position, size and colours, so FD, KID and k-NN coverage cover those; the class
histogram says how evenly the three kinds are drawn.

The saved file records the split, accuracy and config; use it with
``python -m inr_gan_jax.evaluate --feature_net=PATH``.
"""
import time

from absl import app
from absl import flags
from absl import logging
import jax
import jax.numpy as jnp
import numpy as np
import optax

from inr_gan_jax.utils import image_utils
from inr_gan_jax.data import npz as npz_data
from inr_gan_jax.data import shapes as shapes_data
from inr_gan_jax.metrics import feature_nets

_DATA = flags.DEFINE_string("data", "../shared/data/mnist_test_10k_28x28.npz",
                            "Labelled .npz with 'images' and 'labels', or 'shapes' (the "
                            "embedded dataset, labelled by shape kind).")
_OUT = flags.DEFINE_string("out", "runs/feature_net/mnist_cnn.msgpack", "Output file.")
_RESOLUTION = flags.DEFINE_integer("resolution", 32, "Input size (the generator's resolution).")
_NUM_TRAIN = flags.DEFINE_integer("num_train", 8000, "Images used for training; rest held out.")
_STEPS = flags.DEFINE_integer("steps", 600, "Optimisation steps.")
_BATCH = flags.DEFINE_integer("batch_size", 128, "Batch size.")
_LR = flags.DEFINE_float("lr", 2e-3, "Adam learning rate.")
_SEED = flags.DEFINE_integer("seed", 0, "Random seed.")
_INSTANCE = flags.DEFINE_bool("instance", False, "Unlabelled data: one class per image, "
                              "trained on augmented copies (see the module doc).")


def load_labelled(path: str, resolution: int):
  """-> (uint8 images [N, R, R, 3], int labels [N])."""
  with np.load(path) as f:
    if "images" not in f.files or "labels" not in f.files:
      raise KeyError(f"{path!r} needs arrays 'images' and 'labels'; it has {f.files}")
    images, labels = f["images"], f["labels"].astype(np.int32)
  return npz_data.convert_images(images, resolution), labels


def load_instances(path: str, resolution: int):
  """-> (uint8 images [N, R, R, 3], labels arange(N)): every image is its own class."""
  with np.load(path) as f:
    if "images" not in f.files:
      raise KeyError(f"{path!r} needs an array 'images'; it has {f.files}")
    images = f["images"]
  return npz_data.convert_images(images, resolution), np.arange(len(images), dtype=np.int32)


def jitter(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
  """Random flips, shifts (edge-padded, up to 1/8 of the side) and brightness/contrast."""
  b, h, w, _ = x.shape
  pad = max(1, h // 8)
  padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="edge")
  out = np.empty_like(x)
  for i in range(b):
    dy, dx = rng.integers(0, 2 * pad + 1, 2)
    img = padded[i, dy:dy + h, dx:dx + w]
    out[i] = img[:, ::-1] if rng.random() < 0.5 else img
  f = out.astype(np.float32)
  mean = f.mean(axis=(1, 2, 3), keepdims=True)
  f = (f - mean) * rng.uniform(0.8, 1.2, (b, 1, 1, 1)) + mean + rng.uniform(-20, 20, (b, 1, 1, 1))
  return np.clip(f, 0, 255).astype(np.uint8)


def train(images, labels, num_train: int, steps: int, batch_size: int, lr: float, seed: int,
          cfg, instance: bool = False):
  """Trains on ``[0, num_train)``; returns (params, held-out accuracy).

  ``instance``: train on jittered copies of all images; accuracy on fresh copies.
  """
  if instance:
    num_train = len(images)
  elif not 0 < num_train < len(images):
    raise ValueError(f"num_train={num_train} must leave held-out images (have {len(images)})")
  model = feature_nets.build_cnn(cfg)
  key = jax.random.key(seed)
  params = jax.jit(model.init)(key, jnp.zeros((1,) + images.shape[1:]))["params"]
  opt = optax.adam(optax.cosine_decay_schedule(lr, steps))
  opt_state = opt.init(params)

  @jax.jit
  def step(params, opt_state, x, y):
    def loss_fn(p):
      _, logits = model.apply({"params": p}, image_utils.to_float_jnp(x))
      return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = opt.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  @jax.jit
  def predict(params, x):
    return jnp.argmax(model.apply({"params": params}, image_utils.to_float_jnp(x))[1], axis=-1)

  rng = np.random.default_rng(seed)
  t0 = time.time()
  for i in range(steps):
    idx = rng.integers(0, num_train, batch_size)
    x = jitter(rng, images[idx]) if instance else images[idx]
    params, opt_state, loss = step(params, opt_state, x, labels[idx])
    if (i + 1) % 100 == 0:
      logging.info("step %d loss %.4f (%.1f s)", i + 1, float(loss), time.time() - t0)
  held_x, held_y = images[num_train:], labels[num_train:]
  if instance:
    held_x, held_y = jitter(rng, images), labels
  preds = np.concatenate([np.asarray(predict(params, held_x[i:i + 500]))
                          for i in range(0, len(held_x), 500)])
  return params, float(np.mean(preds == held_y))


def main(argv):
  del argv
  if _INSTANCE.value:
    images, labels = load_instances(_DATA.value, _RESOLUTION.value)
  elif _DATA.value == "shapes":
    images, labels = shapes_data.labelled(0, 10_000, _RESOLUTION.value)
  else:
    images, labels = load_labelled(_DATA.value, _RESOLUTION.value)
  cfg = feature_nets.classifier_config(input_size=_RESOLUTION.value,
                                       num_classes=int(labels.max()) + 1)
  params, acc = train(images, labels, _NUM_TRAIN.value, _STEPS.value, _BATCH.value, _LR.value,
                      _SEED.value, cfg, instance=_INSTANCE.value)
  if _INSTANCE.value:
    info = {"dataset": _DATA.value, "mode": "instance", "classes": len(images),
            "jittered_accuracy": acc, "steps": _STEPS.value, "seed": _SEED.value}
    what = f"accuracy {acc:.4f} on jittered copies of all {len(images)} images"
  else:
    info = {"dataset": _DATA.value, "train_images": [0, _NUM_TRAIN.value],
            "held_out_images": [_NUM_TRAIN.value, len(images)], "held_out_accuracy": acc,
            "steps": _STEPS.value, "seed": _SEED.value}
    what = f"held-out accuracy {acc:.4f} on {len(images) - _NUM_TRAIN.value} images"
  feature_nets.save_classifier(_OUT.value, params, cfg, info)
  print(f"{what}; saved {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
