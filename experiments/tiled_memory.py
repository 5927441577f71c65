r"""Peak memory and time of huge renders, with and without tiling (one subprocess each).

  python -m experiments.tiled_memory --checkpoint=runs/mnist --out=figs/memory
  python -m experiments.tiled_memory --config=configs/mnist.py --sizes=4096,8192 \
      --max_pixels=0,1048576 --limit_gb=14

Each measurement runs ``python -m experiments.tiled_memory --worker ...`` in a
fresh process that renders one ``size x size`` image (uint8 output, as the
sample CLI writes it) and reports its peak resident memory (``VmHWM`` from
``/proc/self/status``). The parent polls the child's resident memory and kills
it above ``--limit_gb`` (recorded as exceeded) so an untiled attempt cannot take
the machine down. Writes ``tiled_memory.json``.
"""
import json
import os
import subprocess
import sys
import time

from absl import app
from absl import flags

from experiments import source

_SIZES = flags.DEFINE_string("sizes", "4096,8192", "Square output sides.")
_MAX_PIXELS = flags.DEFINE_string("max_pixels", "0,1048576", "Tile caps (0 = untiled).")
_LIMIT_GB = flags.DEFINE_float("limit_gb", 14.0, "Kill a measurement above this RSS.")
_OUT = flags.DEFINE_string("out", "figures/tiled_memory", "Output directory.")
_WORKER = flags.DEFINE_bool("worker", False, "Internal: run one measurement.")
_SIZE = flags.DEFINE_integer("size", 0, "Internal: worker size.")
_CAP = flags.DEFINE_integer("cap", 0, "Internal: worker max_pixels_per_call.")


def _status_kb(pid: str, key: str) -> int:
  with open(f"/proc/{pid}/status") as f:
    for line in f:
      if line.startswith(key + ":"):
        return int(line.split()[1])
  return 0


def worker() -> None:
  import numpy as np  # pylint: disable=g-import-not-at-top
  src = source.load()
  sampler, info = src.sampler, src.info
  theta = src.theta_of_seeds([0])
  base_kb = _status_kb("self", "VmHWM")
  t = time.perf_counter()
  image = sampler.render(theta, _SIZE.value, _SIZE.value, max_pixels_per_call=_CAP.value,
                         progress=True, to_uint8=True)
  seconds = time.perf_counter() - t
  print("RESULT " + json.dumps({
      "size": _SIZE.value, "max_pixels_per_call": _CAP.value, "seconds": seconds,
      "peak_rss_gb": _status_kb("self", "VmHWM") / 2 ** 20,
      "peak_rss_before_render_gb": base_kb / 2 ** 20,
      "image_mb": image.nbytes / 2 ** 20, "mean": float(np.mean(image)), "source": info}))


def measure(size: int, cap: int) -> dict:
  cmd = [sys.executable, "-m", "experiments.tiled_memory", "--worker", f"--size={size}",
         f"--cap={cap}"]
  cmd += source.flag_args()
  proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
  peak_kb, killed = 0, False
  while proc.poll() is None:
    try:
      peak_kb = max(peak_kb, _status_kb(str(proc.pid), "VmRSS"))
    except (FileNotFoundError, ProcessLookupError):
      break
    if peak_kb > _LIMIT_GB.value * 2 ** 20:
      proc.kill()
      killed = True
      break
    time.sleep(0.05)
  out, _ = proc.communicate()
  for line in out.splitlines():
    if line.startswith("RESULT "):
      return json.loads(line[len("RESULT "):])
  return {"size": size, "max_pixels_per_call": cap, "exceeded_limit_gb": _LIMIT_GB.value if killed
          else None, "polled_peak_rss_gb": peak_kb / 2 ** 20, "returncode": proc.returncode}


def main(argv):
  del argv
  if _WORKER.value:
    worker()
    return
  results = []
  for size in (int(s) for s in _SIZES.value.split(",")):
    for cap in (int(c) for c in _MAX_PIXELS.value.split(",")):
      results.append(measure(size, cap))
      print(json.dumps(results[-1]), flush=True)
  os.makedirs(_OUT.value, exist_ok=True)
  with open(os.path.join(_OUT.value, "tiled_memory.json"), "w") as f:
    json.dump(results, f, indent=1)


if __name__ == "__main__":
  app.run(main)
