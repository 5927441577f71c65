"""Helpers shared by the benchmarks (no flags here: each benchmark defines its own)."""
import time

import jax


def dominant_layer(gen) -> dict:
  """Shape ``(N, K, O)`` of the INR layer with the most MACs at training resolution."""
  layout = gen.layout
  best = None
  for blk in layout.blocks:
    n = blk.resolution ** 2
    for lyr in blk.layers:
      cand = (n * lyr.fan_in * lyr.out_dim, n, lyr.fan_in, lyr.out_dim, f"{blk.name}/{lyr.name}")
      best = max(best, cand) if best else cand
  _, n, k, o, name = best
  return {"layer": name, "N": n, "K": k, "O": o}


def time_once(fn, calls: int = 1) -> float:
  """Mean wall time of ``calls`` back-to-back calls, each waited for."""
  start = time.perf_counter()
  for _ in range(calls):
    jax.block_until_ready(fn())
  return (time.perf_counter() - start) / calls
