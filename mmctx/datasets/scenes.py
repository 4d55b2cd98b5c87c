"""Procedural scenes: textured shapes on a textured backdrop, with occlusion.

Each scene is painted back to front; an object's visible mask is its full
silhouette minus everything painted over it, so masks stay exact when
objects overlap (a ring or a shape on top can leave holes that polygons
could not express). An object is placed so that most of its silhouette lies
inside the frame, and objects left with too little visible area are
dropped: a star cut down to one point by the border, or hidden but for a
sliver by the shapes above it, cannot be told from a triangle, and such
labels would only teach a model noise.
"""
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw

#: Object classes, in category-id order (ids start at 1).
CLASSES = ('disc', 'box', 'triangle', 'star', 'ring')
#: Smallest fraction of its silhouette an object has inside the frame.
MIN_IN_FRAME = 0.8
#: Smallest fraction of its in-frame silhouette an object keeps visible
#: under the objects painted over it.
MIN_VISIBLE = 0.6
#: Placements tried before an object that keeps falling out of frame is
#: left out.
PLACEMENT_TRIES = 20


@dataclass
class SceneObject:
    """One visible object of a scene.

    Args:
        label: Index into :data:`CLASSES`.
        mask: (H, W) bool visible mask.
        full_area: Pixels of its whole silhouette, occluded and
            out-of-frame parts included.
    """

    label: int
    mask: np.ndarray
    full_area: int


def _polygon(rng: np.random.Generator, label: int, cx: float, cy: float,
             radius: float) -> List[Tuple[float, float]]:
    angle = rng.uniform(0, 2 * np.pi)
    if CLASSES[label] == 'box':
        aspect = rng.uniform(0.6, 1.0)
        corners = [(1, aspect), (-1, aspect), (-1, -aspect), (1, -aspect)]
        pts = [(x * radius / 1.2, y * radius / 1.2) for x, y in corners]
    elif CLASSES[label] == 'triangle':
        pts = [(radius * np.cos(t), radius * np.sin(t))
               for t in np.arange(3) * 2 * np.pi / 3]
    else:  # star
        pts = [((radius if k % 2 == 0 else radius * 0.45) * np.cos(t),
                (radius if k % 2 == 0 else radius * 0.45) * np.sin(t))
               for k, t in enumerate(np.arange(10) * np.pi / 5)]
    cos, sin = np.cos(angle), np.sin(angle)
    return [(cx + x * cos - y * sin, cy + x * sin + y * cos) for x, y in pts]


def _silhouette(rng: np.random.Generator, label: int,
                size: Tuple[int, int],
                radius: float) -> Optional[Tuple[np.ndarray, int]]:
    """Place one shape so that :data:`MIN_IN_FRAME` of it is in the frame.

    Returns:
        ``(in_frame, full_area)``: its (H, W) bool silhouette cropped to the
        frame and its whole area in pixels, or None when no placement in
        :data:`PLACEMENT_TRIES` kept enough of it inside.
    """
    height, width = size
    pad = int(np.ceil(radius)) + 1
    name = CLASSES[label]
    for _ in range(PLACEMENT_TRIES):
        cx = rng.uniform(0, width) + pad
        cy = rng.uniform(0, height) + pad
        canvas = Image.new('L', (width + 2 * pad, height + 2 * pad), 0)
        draw = ImageDraw.Draw(canvas)
        if name in ('disc', 'ring'):
            rx, ry = radius, radius * rng.uniform(0.75, 1.0)
            draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=1)
            if name == 'ring':
                ix, iy = rx * 0.55, ry * 0.55
                draw.ellipse([cx - ix, cy - iy, cx + ix, cy + iy], fill=0)
        else:
            draw.polygon(_polygon(rng, label, cx, cy, radius), fill=1)
        full = np.asarray(canvas, dtype=bool)
        in_frame = full[pad:pad + height, pad:pad + width]
        full_area = int(full.sum())
        if in_frame.sum() >= MIN_IN_FRAME * full_area:
            return in_frame, full_area
    return None


def _texture(rng: np.random.Generator, size: Tuple[int, int],
             base: np.ndarray) -> np.ndarray:
    """A (H, W, 3) float image: solid, stripes, checker or speckle."""
    height, width = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    other = np.clip(base + rng.uniform(-90, 90, 3), 0, 255)
    kind = rng.integers(4)
    if kind == 0:
        pattern = np.zeros((height, width), np.float32)
    elif kind == 1:
        theta = rng.uniform(0, np.pi)
        period = rng.uniform(5, 12)
        pattern = (np.sin((xx * np.cos(theta) + yy * np.sin(theta)) *
                          2 * np.pi / period) > 0).astype(np.float32)
    elif kind == 2:
        cell = int(rng.integers(4, 10))
        pattern = ((xx // cell + yy // cell) % 2).astype(np.float32)
    else:
        pattern = (rng.random((height, width)) < 0.3).astype(np.float32)
    return (base * (1 - pattern[..., None]) + other * pattern[..., None])


def _backdrop(rng: np.random.Generator, size: Tuple[int, int],
              textured: bool = True) -> np.ndarray:
    """A (H, W, 3) float backdrop: a colour (with a faint texture) over a
    vertical gradient."""
    backdrop = rng.uniform(60, 200, 3)
    if textured:
        image = _texture(rng, size, backdrop) * 0.35 + backdrop * 0.65
    else:
        image = np.broadcast_to(backdrop, (*size, 3)).astype(np.float32)
    image += np.linspace(-25, 25, size[0], dtype=np.float32)[:, None, None]
    return image


def _visible(silhouettes: List[np.ndarray]) -> List[np.ndarray]:
    """Visible part of each silhouette when painted in list order."""
    visible, above = [], np.zeros_like(silhouettes[0])
    for full in reversed(silhouettes):
        visible.append(full & ~above)
        above = above | full
    return visible[::-1]


def render_scene(rng: np.random.Generator, size: Tuple[int, int],
                 max_objects: int = 5) -> Tuple[np.ndarray,
                                                 List[SceneObject]]:
    """Render one scene.

    Each object is placed with at least :data:`MIN_IN_FRAME` of its
    silhouette inside the frame. Objects that would keep less than
    :data:`MIN_VISIBLE` of that visible are removed before painting
    (removing one only uncovers others), so every object in the image is
    annotated.

    Args:
        rng: Source of randomness (the scene is a function of its state).
        size: ``(height, width)`` in pixels.
        max_objects: Most objects drawn (at least one is).

    Returns:
        ``(image, objects)``: a (H, W, 3) uint8 RGB image and its objects in
        painting order (back to front).
    """
    height, width = size
    image = _backdrop(rng, size)
    placed = []  # (label, in-frame silhouette, full area), back to front
    for _ in range(int(rng.integers(1, max_objects + 1))):
        label = int(rng.integers(len(CLASSES)))
        radius = rng.uniform(0.12, 0.3) * min(height, width)
        shape = _silhouette(rng, label, size, radius)
        if shape is not None and shape[0].sum() >= 64:
            placed.append((label, *shape))
    visible = []
    while placed:
        visible = _visible([silhouette for _, silhouette, _ in placed])
        keep = [v.sum() >= MIN_VISIBLE * silhouette.sum()
                for v, (_, silhouette, _) in zip(visible, placed)]
        if all(keep):
            break
        placed = [p for p, k in zip(placed, keep) if k]
    for _, silhouette, _ in placed:
        image[silhouette] = _texture(rng, size,
                                     rng.uniform(0, 255, 3))[silhouette]
    objects = [
        SceneObject(label, mask, area)
        for (label, _, area), mask in zip(placed, visible)
    ]
    return np.clip(image, 0, 255).astype(np.uint8), objects


def render_object(rng: np.random.Generator, size: Tuple[int, int],
                  label: int,
                  scale: Tuple[float, float] = (0.2, 0.35),
                  textured: bool = True) -> Tuple[np.ndarray, SceneObject]:
    """Render one object of a given class on a backdrop.

    The backdrop and object are drawn as in :func:`render_scene`, or in
    plain colours; the object is placed with at least
    :data:`MIN_IN_FRAME` of its silhouette inside the frame (a new radius
    and placement are drawn until it fits).

    Args:
        rng: Source of randomness (the image is a function of its state).
        size: ``(height, width)`` in pixels.
        label: Index into :data:`CLASSES`.
        scale: Range of the object's radius as a fraction of
            ``min(height, width)``.
        textured: Whether backdrop and object are textured as in
            :func:`render_scene`; else each has one colour (the backdrop
            over the same vertical gradient).

    Returns:
        ``(image, object)``: a (H, W, 3) uint8 RGB image and its object.

    Raises:
        ValueError: For a label outside :data:`CLASSES`, a scale outside
            ``0 < low <= high <= 0.5`` or a frame where no placement fits.
    """
    if not 0 <= label < len(CLASSES):
        raise ValueError(f'label must index CLASSES (0..{len(CLASSES) - 1})'
                         f', got {label}')
    if not 0 < scale[0] <= scale[1] <= 0.5:
        raise ValueError(f'scale must be (low, high) with 0 < low <= high '
                         f'<= 0.5, got {scale}')
    image = _backdrop(rng, size, textured)
    for _ in range(PLACEMENT_TRIES):
        radius = rng.uniform(*scale) * min(size)
        shape = _silhouette(rng, label, size, radius)
        if shape is not None and shape[0].sum() >= 64:
            break
    else:
        raise ValueError(f'no placement of a {CLASSES[label]} with scale '
                         f'{scale} fits a {size} frame')
    silhouette, full_area = shape
    colour = rng.uniform(0, 255, 3)
    image[silhouette] = (_texture(rng, size, colour)[silhouette]
                         if textured else colour)
    return (np.clip(image, 0, 255).astype(np.uint8),
            SceneObject(label, silhouette, full_area))
