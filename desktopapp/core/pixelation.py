"""Pixelating the union of many overlapping areas once, each pixel at the coarsest block asked.

The analyser masks many boxes a frame that overlap a lot (a person's box from this frame and the
one before, its held track, the motion around it, the second look, its face). Pixelating each
in full covered the six-face bench frame about six times over. Here the covered area is cut into
disjoint rectangles, each taking the largest block of the areas covering it, and each rectangle
is pixelated once: no pixel is hidden under a finer block than any area covering it asked for.

The blocks lie on a grid fixed to the frame (cells of ``block`` px from its top-left corner, the
last cell of a row or column taking the remainder so that no cell is narrower than ``block``),
so the rectangles of one block size join without seams, and each pixel shows the mean of the
whole cell around it, parts outside the area included.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

log = logging.getLogger(__name__)

Area = tuple[int, int, int, int]
"""(left, top, right, bottom) in pixels, right and bottom exclusive."""


def coarsest_cover(
    areas: Sequence[Area], blocks: Sequence[int], overlapped: float = 1.0
) -> list[tuple[Area, int]]:
    """Disjoint rectangles whose union is that of ``areas`` (empty ones ignored), each with the
    largest of ``blocks`` among the areas covering it, times ``overlapped`` where two or more
    areas cover it."""
    kept = [(a, int(b)) for a, b in zip(areas, blocks, strict=True) if a[2] > a[0] and a[3] > a[1]]
    if not kept:
        return []
    xs = np.unique([v for (left, _t, right, _b), _ in kept for v in (left, right)])
    ys = np.unique([v for (_l, top, _r, bottom), _ in kept for v in (top, bottom)])
    # The cells between consecutive edges, each holding the largest block covering it.
    grid = np.zeros((len(ys) - 1, len(xs) - 1), dtype=np.int64)
    layers = np.zeros_like(grid)
    for (left, top, right, bottom), block in sorted(kept, key=lambda k: k[1]):
        x0, x1 = np.searchsorted(xs, (left, right))
        y0, y1 = np.searchsorted(ys, (top, bottom))
        grid[y0:y1, x0:x1] = block
        layers[y0:y1, x0:x1] += 1
    if overlapped != 1.0:
        grid = np.where(layers > 1, np.ceil(grid * overlapped).astype(np.int64), grid)
    columns = grid.shape[1]
    # Runs of equal cells along each row...
    starts_here = np.ones(grid.shape, dtype=bool)
    starts_here[:, 1:] = grid[:, 1:] != grid[:, :-1]
    starts = np.flatnonzero(starts_here)
    ends = np.append(starts[1:], grid.size)
    values = grid.ravel()[starts]
    covered = values > 0
    starts, ends, values = starts[covered], ends[covered], values[covered]
    rows = starts // columns
    first, last = starts - rows * columns, ends - rows * columns
    # ...then the same run in consecutive rows joined into one rectangle.
    order = np.lexsort((rows, values, last, first))
    first, last, values, rows = first[order], last[order], values[order], rows[order]
    new = np.ones(len(rows), dtype=bool)
    new[1:] = (
        (first[1:] != first[:-1])
        | (last[1:] != last[:-1])
        | (values[1:] != values[:-1])
        | (rows[1:] != rows[:-1] + 1)
    )
    heads = np.flatnonzero(new)
    tails = np.append(heads[1:], len(rows)) - 1
    return [
        (
            (int(xs[first[h]]), int(ys[rows[h]]), int(xs[last[h]]), int(ys[rows[t] + 1])),
            int(values[h]),
        )
        for h, t in zip(heads, tails, strict=True)
    ]


def _spans(low: int, high: int, length: int, block: int) -> list[tuple[int, int, int]]:
    """The grid cells (of ``block`` px along an axis of ``length``, the last one taking the
    remainder) that [low, high) touches, as (start, end, cells) runs of equal-sized cells."""
    regular = max(1, length // block)  # cells; the last spans up to the axis end
    last_start = (regular - 1) * block
    first_cell = min(low // block, regular - 1)
    end_cell = min((high - 1) // block, regular - 1) + 1
    spans = []
    if first_cell < regular - 1:
        stop = min(end_cell, regular - 1)
        spans.append((first_cell * block, stop * block, stop - first_cell))
    if end_cell == regular:
        spans.append((last_start, length, 1))
    return spans


def pixelate_once(
    source: NDArray[np.uint8], target: NDArray[np.uint8], area: Area, block: int
) -> None:
    """Write into ``target`` over ``area`` each pixel's mean over its ``block`` cell of
    ``source`` (the frame-fixed grid of the module docstring)."""
    height, width = source.shape[:2]
    left, top, right, bottom = area
    for y0, y1, rows in _spans(top, bottom, height, block):
        for x0, x1, columns in _spans(left, right, width, block):
            # Whole cells: INTER_AREA at an integer ratio is their exact mean, and
            # INTER_NEAREST at an integer ratio repeats each sample over its cell.
            small = cv2.resize(source[y0:y1, x0:x1], (columns, rows), interpolation=cv2.INTER_AREA)
            cells = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
            a, b = max(left, x0), min(right, x1)
            c, d = max(top, y0), min(bottom, y1)
            target[c:d, a:b] = cells[c - y0 : d - y0, a - x0 : b - x0]


def pixelate_union(
    source: NDArray[np.uint8],
    target: NDArray[np.uint8],
    areas: Sequence[Area],
    blocks: Sequence[int],
    overlapped: float = 1.0,
) -> None:
    """Pixelate into ``target`` every pixel of the union of ``areas`` once, from ``source``,
    at the largest of ``blocks`` among the areas covering it (times ``overlapped`` where two or
    more cover it)."""
    for area, block in coarsest_cover(areas, blocks, overlapped):
        pixelate_once(source, target, area, block)
