"""Figures with matplotlib (headless Agg backend): line panels and bar charts.

Used for loss curves (``experiments/plot_losses.py``), the fitting reports
(PSNR against steps or seconds), the study curves, the cost-vs-resolution
curve (Fig. 9) and the UpsampledFID bars (Fig. 10). A line figure is a column
of panels; a panel maps series names to ``(x [T], y [T])`` arrays.
Non-finite points are dropped, so a diverged run or a missing evaluation
leaves a gap instead of breaking the axes.
"""
import os
from typing import Dict, Optional, Sequence, Tuple, Union

import matplotlib
matplotlib.use("Agg")  # files only: no display on training machines
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib import ticker  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

Series = Dict[str, Tuple[Sequence[float], Sequence[float]]]
# matplotlib's tab10, as 0-255 RGB (the order series are drawn in).
COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))
_DPI = 100


def _finite(x, y) -> Tuple[np.ndarray, np.ndarray]:
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  ok = np.isfinite(x) & np.isfinite(y)
  return x[ok], y[ok]


def line_figure(panels: Sequence[Tuple[str, Series]], xlabel: Union[str, Sequence[str]] = "step",
                ylabels: Optional[Sequence[str]] = None, width: int = 900, panel_h: int = 260,
                logy: Sequence[bool] = (), markers: bool = False) -> "plt.Figure":
  """A column of line panels, one ``(title, series)`` each, with ticks, grid and legend.

  Args:
    xlabel: the x-axis label of every panel, or one per panel.
    ylabels: per-panel y-axis labels (default: none; the title says what is plotted).
    logy: per-panel log-scale flags (missing entries: linear).
    markers: also mark each point (sparse curves such as evaluations every N steps).
  """
  n = max(len(panels), 1)
  fig, axes = plt.subplots(n, 1, figsize=(width / _DPI, panel_h * n / _DPI), dpi=_DPI,
                           squeeze=False)
  for i, (title, series) in enumerate(panels):
    ax = axes[i, 0]
    ax.set_title(title, fontsize=9, loc="left")
    drawn = 0
    for j, (name, (x, y)) in enumerate(series.items()):
      x, y = _finite(x, y)
      if not len(x):
        continue
      colour = np.asarray(COLOURS[j % len(COLOURS)]) / 255.0
      ax.plot(x, y, color=colour, label=name, linewidth=1.5,
              marker="o" if markers or len(x) == 1 else None, markersize=3)
      drawn += 1
    if i < len(logy) and logy[i] and drawn:
      ax.set_yscale("log")
      plain = ticker.FuncFormatter(lambda v, _: f"{v:g}")  # 40, not 4 x 10^1
      ax.yaxis.set_major_formatter(plain)
      ax.yaxis.set_minor_formatter(plain)
    ax.grid(True, alpha=0.3)
    ax.set_xlabel(xlabel if isinstance(xlabel, str) else xlabel[i], fontsize=8)
    if ylabels and i < len(ylabels):
      ax.set_ylabel(ylabels[i], fontsize=8)
    ax.tick_params(labelsize=8)
    if drawn:
      ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
  fig.tight_layout()
  return fig


def bar_figure(groups: Sequence[str], bars: Dict[str, Sequence[float]], title: str,
               ylabel: str, width: int = 700, height: int = 320) -> "plt.Figure":
  """Grouped bars: one group per entry of ``groups``, one bar per key of ``bars``."""
  fig, ax = plt.subplots(figsize=(width / _DPI, height / _DPI), dpi=_DPI)
  k = max(len(bars), 1)
  step = 0.8 / k
  xs = np.arange(len(groups), dtype=np.float64)
  for j, (name, values) in enumerate(bars.items()):
    colour = np.asarray(COLOURS[j % len(COLOURS)]) / 255.0
    ax.bar(xs - 0.4 + step * (j + 0.5), np.asarray(values, np.float64), step, label=name,
           color=colour)
  ax.set_xticks(xs, list(groups), fontsize=8)
  ax.set_ylabel(ylabel, fontsize=8)
  ax.set_title(title, fontsize=9, loc="left")
  ax.grid(True, axis="y", alpha=0.3)
  ax.tick_params(labelsize=8)
  ax.legend(fontsize=7, frameon=False)
  fig.tight_layout()
  return fig


def to_image(fig: "plt.Figure") -> Image.Image:
  """Renders and closes ``fig``: an RGB PIL image (for TensorBoard or composition)."""
  fig.canvas.draw()
  img = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
  plt.close(fig)
  return img


def save(path: str, fig: "plt.Figure") -> None:
  """Writes ``fig`` as a PNG (parent folders created) and closes it."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path)
  plt.close(fig)


def draw_panels(panels: Sequence[Tuple[str, Series]], xlabel: Union[str, Sequence[str]] = "step", **kw) -> Image.Image:
  """:func:`line_figure` rendered to an RGB PIL image."""
  return to_image(line_figure(panels, xlabel=xlabel, **kw))


def save_panels(path: str, panels: Sequence[Tuple[str, Series]],
                xlabel: Union[str, Sequence[str]] = "step",
                **kw) -> None:
  """:func:`line_figure` written to ``path``."""
  save(path, line_figure(panels, xlabel=xlabel, **kw))
