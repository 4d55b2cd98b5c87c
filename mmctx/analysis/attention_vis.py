"""Render captured attention maps over the image they were computed on.

Every :class:`~mmctx.models.attention.observer.AttentionMap` becomes one or
more panels, whatever block reported it:

- ``'spatial'`` with one query row (GC, SNL, attention pooling): the global
  map over the key grid, one panel per head;
- ``'spatial'`` with a row per learned token (``query_hw`` is ``None``:
  multi-class-token attention pooling): each chosen token's map, one panel
  per (token, head);
- ``'spatial'`` with a row per query position (NL, MHSA, AA): the row of
  each chosen query point, one panel per (query, head);
- ``'local'`` (CoT): one summary panel, the standard deviation of each
  position's k*k window weights, averaged over weight groups. CoT weights
  have no softmax, so the spread says how selectively a position mixes its
  neighbours: 0 is a plain window average;
- ``'channel'`` (SE): a bar chart of the per-channel gates.

Maps live on a block's grid over the network input, which holds the
resized image in its top-left corner followed by padding (mmdet and mmseg
pad at the bottom and right). :class:`InputGeometry` maps grid cells to
original image pixels and back.
"""
import os.path as osp
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from ..models.attention.observer import AttentionMap

#: Longer side, in pixels, of the image drawn in a heat-map figure.
PANEL_SIDE = 512
#: Height of the title band and width of the colour-bar band, in pixels.
TITLE_HEIGHT = 40
COLORBAR_WIDTH = 110
#: Size (width, height) of a channel bar chart, in pixels.
CHANNEL_FIGURE = (800, 360)
DPI = 100


@dataclass
class InputGeometry:
    """Where the original image lies in the network input.

    Args:
        ori_hw: Original image size.
        img_hw: Size of the resized image inside the input.
        input_hw: Size of the (padded) network input.
    """

    ori_hw: Tuple[int, int]
    img_hw: Tuple[int, int]
    input_hw: Tuple[int, int]

    @classmethod
    def from_sample(cls, data_sample, input_hw: Sequence[int]
                    ) -> 'InputGeometry':
        """Read the sizes from an mmdet/mmseg data sample's metainfo."""
        meta = data_sample.metainfo
        return cls(
            tuple(meta['ori_shape'][:2]), tuple(meta['img_shape'][:2]),
            tuple(input_hw))

    def grid_index(self, point_xy: Tuple[float, float],
                   grid_hw: Tuple[int, int]) -> int:
        """Row-major index of the grid cell holding an image point.

        Args:
            point_xy: (x, y) in original image pixels.
            grid_hw: A block's grid, spanning the whole network input.

        Returns:
            ``row * grid_w + col``.
        """
        x, y = point_xy
        cells = []
        for value, ori, img, full, size in zip(
            (y, x), self.ori_hw, self.img_hw, self.input_hw, grid_hw):
            cell = int(value * img / ori * size / full)
            cells.append(min(max(cell, 0), size - 1))
        return cells[0] * grid_hw[1] + cells[1]

    def to_image(self, grid_map: torch.Tensor) -> np.ndarray:
        """Resample a map over the network input to the original image.

        Args:
            grid_map: (h, w) map over a block's grid.

        Returns:
            (ori_h, ori_w) float array.
        """
        full = F.interpolate(
            grid_map[None, None].float(), size=self.input_hw,
            mode='bilinear', align_corners=False)
        image = full[..., :self.img_hw[0], :self.img_hw[1]]
        return F.interpolate(
            image, size=self.ori_hw, mode='bilinear',
            align_corners=False)[0, 0].numpy()


@dataclass
class Panel:
    """One figure to draw.

    Args:
        suffix: File-name suffix after the layer name.
        caption: Text after the layer name in the title.
        values: (h, w) map over a block grid, or (C,) channel gates.
        query_xy: Query point to mark, in original image pixels.
    """

    suffix: str
    caption: str
    values: torch.Tensor
    query_xy: Optional[Tuple[float, float]] = None


def _spatial_panels(attention: AttentionMap, geometry: InputGeometry,
                    queries: Sequence[Tuple[float, float]], sample: int,
                    tokens: Optional[Sequence[int]]) -> List[Panel]:
    weights = attention.weights[sample].float()
    heads, num_queries = weights.shape[:2]
    key_hw = tuple(attention.key_hw)
    panels = []
    if attention.query_hw is None:  # one row per learned token
        for token in range(num_queries) if tokens is None else tokens:
            if not 0 <= token < num_queries:
                raise ValueError(f'token {token} does not exist: the map has '
                                 f'{num_queries} token rows')
            for head in range(heads):
                panels.append(
                    Panel(f'token{token}_head{head}',
                          f'class token {token}, head {head}',
                          weights[head, token].reshape(key_hw)))
        return panels
    if num_queries == 1:
        for head in range(heads):
            panels.append(
                Panel(f'head{head}', f'global map, head {head}',
                      weights[head, 0].reshape(key_hw)))
        return panels
    for x, y in queries:
        index = geometry.grid_index((x, y), tuple(attention.query_hw))
        for head in range(heads):
            panels.append(
                Panel(f'q{x:g}_{y:g}_head{head}',
                      f'query ({x:g}, {y:g}), head {head}',
                      weights[head, index].reshape(key_hw), (x, y)))
    return panels


def local_summary(weights: torch.Tensor) -> torch.Tensor:
    """Per-position spread of a local map.

    Args:
        weights: (groups, k*k, H, W) window weights of one image.

    Returns:
        (H, W): standard deviation over each window, mean over groups.
    """
    return weights.float().std(dim=1, unbiased=False).mean(0)


def panels_for(attention: AttentionMap, geometry: InputGeometry,
               queries: Sequence[Tuple[float, float]],
               sample: int = 0,
               tokens: Optional[Sequence[int]] = None) -> List[Panel]:
    """The panels that show one attention map.

    Args:
        attention: A captured map.
        geometry: Input geometry of image ``sample``.
        queries: Query points (x, y) in original image pixels, used by maps
            with a row per query position.
        sample: Index of the image in the batch.
        tokens: Token rows to draw from maps with a row per learned token
            (all when ``None``).

    Returns:
        Panels in drawing order.
    """
    if attention.kind == 'spatial':
        return _spatial_panels(attention, geometry, queries, sample, tokens)
    if attention.kind == 'local':
        return [
            Panel('summary', 'window weight spread (std over k*k, mean '
                  'over groups)', local_summary(attention.weights[sample]))
        ]
    if attention.kind == 'channel':
        return [
            Panel('channels', 'channel gates', attention.weights[sample])
        ]
    raise ValueError(f'unknown attention kind {attention.kind!r}')


def heatmap_figure_size(image_hw: Tuple[int, int]) -> Tuple[int, int]:
    """(width, height) in pixels of the heat-map PNG for an image size."""
    panel_h, panel_w = _panel_hw(image_hw)
    return panel_w + COLORBAR_WIDTH, panel_h + TITLE_HEIGHT


def _panel_hw(image_hw: Tuple[int, int]) -> Tuple[int, int]:
    scale = PANEL_SIDE / max(image_hw)
    return (max(1, round(image_hw[0] * scale)),
            max(1, round(image_hw[1] * scale)))


def _figure(width: int, height: int) -> Figure:
    return Figure(figsize=(width / DPI, height / DPI), dpi=DPI)


def draw_heatmap(image: np.ndarray, heat: np.ndarray, title: str,
                 path: str,
                 query_xy: Optional[Tuple[float, float]] = None) -> None:
    """Write the image with a heat map over it, a colour bar and a title.

    Args:
        image: (H, W, 3) RGB uint8 image.
        heat: (H, W) values over the image.
        title: Figure title.
        path: PNG file to write.
        query_xy: Query point to mark, in image pixels.
    """
    width, height = heatmap_figure_size(image.shape[:2])
    panel_h, panel_w = _panel_hw(image.shape[:2])
    fig = _figure(width, height)
    ax = fig.add_axes((0, 0, panel_w / width, panel_h / height))
    ax.imshow(image)
    overlay = ax.imshow(heat, cmap='jet', alpha=0.5)
    if query_xy is not None:
        ax.plot(*query_xy, marker='+', markersize=16, markeredgewidth=2.5,
                color='white')
    ax.set_axis_off()
    bar = fig.add_axes((panel_w / width + 12 / width, 0.05 * panel_h / height,
                        16 / width, 0.9 * panel_h / height))
    fig.colorbar(overlay, cax=bar)
    fig.text(0.01, 1 - 0.5 * TITLE_HEIGHT / height, title, va='center',
             fontsize=10)
    fig.savefig(path, dpi=DPI)


def draw_channels(gates: np.ndarray, title: str, path: str) -> None:
    """Write a bar chart of per-channel gates.

    Args:
        gates: (C,) values.
        title: Figure title.
        path: PNG file to write.
    """
    fig = _figure(*CHANNEL_FIGURE)
    ax = fig.add_axes((0.08, 0.14, 0.9, 0.72))
    ax.bar(np.arange(len(gates)), gates, width=1.0)
    ax.set_xlim(-0.5, len(gates) - 0.5)
    ax.set_xlabel('channel')
    ax.set_ylabel('gate')
    fig.text(0.01, 0.95, title, va='center', fontsize=10)
    fig.savefig(path, dpi=DPI)


def file_stem(layer: str, suffix: str) -> str:
    """A file name for a (layer, panel) pair, safe on every platform."""
    return re.sub(r'[^A-Za-z0-9._-]', '_', f'{layer}_{suffix}')


def render(layer: str, attention: AttentionMap, image: np.ndarray,
           geometry: InputGeometry, queries: Sequence[Tuple[float, float]],
           out_dir: str, sample: int = 0,
           tokens: Optional[Sequence[int]] = None) -> List[str]:
    """Write the PNGs of one block's map.

    Args:
        layer: Qualified block name, used in titles and file names.
        attention: Its captured map.
        image: (H, W, 3) RGB original image of sample ``sample``.
        geometry: Where that image lies in the network input.
        queries: Query points (x, y) in original image pixels.
        out_dir: Existing folder for the PNGs.
        sample: Index of the image in the batch.
        tokens: Token rows to draw from maps with a row per learned token
            (all when ``None``).

    Returns:
        The paths written.
    """
    paths = []
    for panel in panels_for(attention, geometry, queries, sample, tokens):
        path = osp.join(out_dir, file_stem(layer, panel.suffix) + '.png')
        title = f'{layer}: {panel.caption}'
        if attention.kind == 'channel':
            draw_channels(panel.values.float().numpy(), title, path)
        else:
            draw_heatmap(image, geometry.to_image(panel.values), title, path,
                         panel.query_xy)
        paths.append(path)
    return paths
