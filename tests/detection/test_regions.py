"""Regions: square crops around what moved, merged while they stay detailed, or the whole frame."""

from events.detection.regions import REGION, regions, square

FRAME = (720, 1280)  # height, width


def inside(box, region) -> bool:
    return region[0] <= box[0] and region[1] <= box[1] and box[2] <= region[2] and box[3] <= region[3]


def test_a_small_motion_gets_one_region_of_the_least_side_around_it_inside_the_frame():
    [region] = regions(FRAME, [(600, 300, 640, 380)], [])
    assert region[2] - region[0] == region[3] - region[1] == REGION
    assert inside((600, 300, 640, 380), region)
    [corner] = regions(FRAME, [(1250, 700, 1280, 720)], [])  # moved in from beyond the edge
    assert corner == (1280 - REGION, 720 - REGION, 1280, 720)


def test_a_region_leaves_a_margin_around_a_large_motion():
    box = (100, 100, 400, 500)  # 400 tall
    [region] = regions(FRAME, [box], [])
    assert inside(box, region) and region[2] - region[0] == 540  # 1.35 x its longest side


def test_near_motions_share_a_region_far_ones_get_their_own():
    near = [(100, 100, 140, 180), (260, 120, 300, 200)]
    assert len(regions(FRAME, near, [])) == 1
    far = [(100, 100, 140, 180), (1000, 500, 1040, 580)]
    covers = regions(FRAME, far, [])
    assert len(covers) == 2 and all(any(inside(b, r) for r in covers) for b in far)


def test_more_clusters_than_two_are_merged_closest_first_within_the_frame_height():
    corners = [(0, 0, 40, 40), (1240, 0, 1280, 40), (0, 680, 40, 720), (1240, 680, 1280, 720)]
    covers = regions(FRAME, corners, [])
    # The left pair and the right pair: two regions as tall as the frame (its detail, half its cost).
    assert sorted(covers) == [(0, 0, 720, 720), (560, 0, 1280, 720)]
    three = [(0, 300, 40, 340), (500, 300, 540, 340), (1240, 300, 1280, 340)]
    covers = regions(FRAME, three, [])
    assert len(covers) == 2 and all(any(inside(b, r) for r in covers) for b in three)


def test_tracked_objects_are_covered_whole_the_one_that_moved_and_the_one_that_stopped():
    legs = (500, 400, 560, 460)
    person = (490, 200, 570, 470)
    parked = (1000, 300, 1200, 450)
    covers = regions(FRAME, [legs], [person, parked])
    assert len(covers) == 2
    assert any(inside(person, r) for r in covers) and any(inside(parked, r) for r in covers)


def test_an_object_wider_than_the_frame_is_tall_means_the_whole_frame():
    bus = (100, 200, 950, 600)
    assert regions(FRAME, [(500, 300, 560, 360)], [bus]) is None
    assert regions(FRAME, [(500, 0, 700, 720)], []) == [(240, 0, 960, 720)]


def test_a_substream_frame_smaller_than_a_region_is_one_region():
    small = (240, 320)
    assert square(small, (10, 10, 20, 20), REGION) == (0, 0, 240, 240)
    assert regions(small, [(10, 10, 20, 20)], []) == [(0, 0, 240, 240)]
