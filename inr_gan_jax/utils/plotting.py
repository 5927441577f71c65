"""Line plots as PNGs with PIL only (no plotting library is a dependency).

Used for loss curves (``experiments/plot_losses.py``) and the fitting reports
(PSNR against steps or seconds). A figure is a column of panels; a panel maps
series names to ``(x [T], y [T])`` arrays.
"""
import os
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

Series = Dict[str, Tuple[Sequence[float], Sequence[float]]]
COLOURS = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))


def _fmt(v: float) -> str:
  if float(v).is_integer() and abs(v) < 1e7:
    return str(int(v))
  return f"{v:.4g}"


def draw_panels(panels: Sequence[Tuple[str, Series]], xlabel: str = "step", width: int = 900,
                panel_h: int = 240, legend_w: int = 0) -> Image.Image:
  """Draws each ``(title, series)`` panel; non-finite points are skipped.

  Args:
    legend_w: width in pixels reserved for a legend column on the right (0: a
      legend row above the axes, fine for up to ~6 short names).
  """
  img = Image.new("RGB", (width, panel_h * max(len(panels), 1)), "white")
  d = ImageDraw.Draw(img)
  for p, (title, series) in enumerate(panels):
    top, left = p * panel_h + 36, 64
    right, bottom = width - 20 - legend_w, (p + 1) * panel_h - 30
    clean = {}
    for name, (x, y) in series.items():
      x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
      ok = np.isfinite(x) & np.isfinite(y)
      if ok.any():
        clean[name] = (x[ok], y[ok])
    d.text((left, p * panel_h + 4), title, fill="black")
    if not clean:
      continue
    xs = np.concatenate([v[0] for v in clean.values()])
    ys = np.concatenate([v[1] for v in clean.values()])
    x0, x1 = float(xs.min()), float(xs.max())
    y0, y1 = float(ys.min()), float(ys.max())
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)
    d.rectangle([left, top, right, bottom], outline=(120, 120, 120))
    d.text((4, top), _fmt(y1), fill="black")
    d.text((4, bottom - 10), _fmt(y0), fill="black")
    d.text((left, bottom + 6), f"{xlabel} {_fmt(x0)}", fill="black")
    d.text((right - 110, bottom + 6), f"{xlabel} {_fmt(x1)}", fill="black")
    for i, (name, (sx, sy)) in enumerate(clean.items()):
      colour = COLOURS[i % len(COLOURS)]
      if legend_w:
        d.text((right + 8, top + 14 * i), name, fill=colour)
      else:
        d.text((left + 8 + 140 * i, top - 16), name, fill=colour)
      px = left + (sx - x0) / (x1 - x0) * (right - left)
      py = bottom - (sy - y0) / (y1 - y0) * (bottom - top)
      if len(px) == 1:
        d.ellipse([px[0] - 2, py[0] - 2, px[0] + 2, py[0] + 2], fill=colour)
      else:
        d.line(list(zip(px.tolist(), py.tolist())), fill=colour, width=2)
  return img


def save_panels(path: str, panels: Sequence[Tuple[str, Series]], xlabel: str = "step",
                legend_w: Optional[int] = None, **kw) -> None:
  """:func:`draw_panels` to ``path``; the legend moves to a side column past 6 series."""
  if legend_w is None:
    most = max((len(s) for _, s in panels), default=0)
    legend_w = 180 if most > 6 else 0
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  draw_panels(panels, xlabel=xlabel, legend_w=legend_w, **kw).save(path)
