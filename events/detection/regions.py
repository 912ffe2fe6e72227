"""Where in a frame the model looks: square regions around what moved, or the whole frame.

As Frigate does: the motion gate's boxes and the boxes of the objects being tracked (so a region holds the
whole person whose legs moved, and an object that stopped is still seen as the whole frame would see it) are
gathered into clusters, each covered by a square region a little larger
than its boxes, at least REGION pixels a side and at most the frame's shorter side. The model sees a region in
a quarter of its input (320x320) and the whole frame in a half (letterboxed into 640x320), so a region as tall as
the frame is seen at the whole frame's detail for half its cost, and a small one at full detail. Clusters are
merged, closest first, while their regions overlap or while there are more than MAX_REGIONS; when they cannot be
(a merged region would not fit in the frame), the model looks at the whole frame instead.
"""

from .model import QUARTER, Box

REGION = QUARTER  # pixels: a region's least side, seen 1:1 by the model
MARGIN = 1.35  # a region's side over its cluster's longest side: context around the moving parts
MAX_REGIONS = 2  # two quarters cost what the whole frame costs


def square(frame: tuple[int, int], box: Box, least: int) -> Box:
    """The square of side max(least, MARGIN x the box's longest side) centred on `box`, moved inside the frame;
    its side is at most the frame's shorter one."""
    height, width = frame
    x1, y1, x2, y2 = box
    side = min(max(least, round(max(x2 - x1, y2 - y1) * MARGIN)), height, width)
    left = min(max(0, (x1 + x2 - side) // 2), width - side)
    top = min(max(0, (y1 + y2 - side) // 2), height - side)
    return left, top, left + side, top + side


def union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def fits(frame: tuple[int, int], box: Box) -> bool:
    """Whether a square region within the frame covers `box` (its margin cut where the frame is too small)."""
    return max(box[2] - box[0], box[3] - box[1]) <= min(frame)


def regions(frame: tuple[int, int], motion: list[Box], tracked: list[Box]) -> list[Box] | None:
    """Square regions covering `motion` and the `tracked` boxes; None: look at the whole frame."""
    least = min(REGION, *frame)
    clusters = motion + tracked
    if not all(fits(frame, cluster) for cluster in clusters):
        return None
    while len(clusters) > 1:
        # The pair whose union is smallest: (its longest side, i, j).
        _, i, j = min(
            (max(joined[2] - joined[0], joined[3] - joined[1]), i, j)
            for i, a in enumerate(clusters)
            for j, b in enumerate(clusters[i + 1 :], i + 1)
            for joined in (union(a, b),)
        )
        joined = union(clusters[i], clusters[j])
        too_many = len(clusters) > MAX_REGIONS
        if not fits(frame, joined) or not (
            too_many or overlap(square(frame, clusters[i], least), square(frame, clusters[j], least))
        ):
            if too_many:
                return None
            break
        clusters[i] = joined
        del clusters[j]
    return [square(frame, cluster, least) for cluster in clusters]
