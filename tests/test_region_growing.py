"""Tests of segcore.methods.region_growing against a plain breadth-first search."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import segcore
from segcore.errors import InvalidParameterError
from segcore.methods import region_growing as rg_module
from segcore.methods.region_growing import MAX_STEPS, region_growing

NEIGHBOURS_4 = [(-1, 0), (1, 0), (0, -1), (0, 1)]
NEIGHBOURS_8 = NEIGHBOURS_4 + [(-1, -1), (-1, 1), (1, -1), (1, 1)]


def reference_growing(values, seeds, tolerance, connectivity, criterion):
    """The documented definition, pixel by pixel: sequential seeds, synchronous waves.

    ``values`` is (H, W) or (H, W, C); a pixel passes when every channel is
    within ``tolerance`` of the reference. ``tolerance`` is one number, or a
    list with a pair ``(below, above)`` per seed (numbers or one per channel):
    how far below and above the reference a value may be. Returns the label
    image.
    """
    if isinstance(tolerance, list):
        bounds = tolerance
    else:
        bounds = [(tolerance, tolerance)] * len(seeds)
    values = values.astype(np.float64).reshape(values.shape[0], values.shape[1], -1)
    height, width = values.shape[:2]
    steps = NEIGHBOURS_4 if connectivity == 4 else NEIGHBOURS_8
    labels = np.zeros((height, width), dtype=np.int64)
    for label, (row, col) in enumerate(seeds, start=1):
        if labels[row, col]:
            continue
        labels[row, col] = label
        members = [(row, col)]
        wave = [(row, col)]
        while wave:
            mean = np.mean([values[p] for p in members], axis=0)
            # "mean" tests every pixel adjacent to the region, others only the last wave's.
            sources = members if criterion == "mean" else wave
            joining = set()
            for r, c in sources:
                for dr, dc in steps:
                    q = (r + dr, c + dc)
                    if not (0 <= q[0] < height and 0 <= q[1] < width) or labels[q]:
                        continue
                    reference = {"neighbor": values[r, c], "seed": values[row, col], "mean": mean}
                    difference = values[q] - reference[criterion]
                    below, above = bounds[label - 1]
                    if np.all((difference >= -np.asarray(below)) & (difference <= above)):
                        joining.add(q)
            for q in joining:
                labels[q] = label
            members += sorted(joining)
            wave = sorted(joining)
    return labels


# --- the cheatsheet's example -------------------------------------------------


def test_seed_document_example(seed_grid):
    result = region_growing(
        seed_grid, seeds=[(1, 1)], tolerance=2, connectivity=4, criterion="neighbor"
    )
    expected = np.zeros((4, 4), dtype=np.uint8)
    expected[:, :2] = 1
    np.testing.assert_array_equal(result.labels, expected)
    assert result.labels.dtype == np.uint8
    np.testing.assert_array_equal(result.mask, expected == 1)
    assert result.info["seeds"] == [(1, 1)]
    assert result.info["seed_values"] == [13]
    assert result.info["region_sizes"] == [8]
    assert result.info["merged_seeds"] == []


def test_seed_document_example_via_segment(seed_grid):
    params = dict(seeds=[(1, 1)], tolerance=2, connectivity=4, criterion="neighbor")
    result = segcore.segment(seed_grid, "region_growing", **params)
    assert result.method == "region_growing"
    np.testing.assert_array_equal(result.labels[:, :2], 1)
    np.testing.assert_array_equal(result.labels[:, 2:], 0)
    assert result.params["seeds"] == [(1, 1)]
    assert result.params["criterion"] == "neighbor"
    assert result.seconds > 0


def test_seed_document_steps(seed_grid):
    result = region_growing(
        seed_grid, seeds=[(1, 1)], tolerance=2, criterion="neighbor", return_steps=True
    )
    steps = result.info["steps"]
    assert [int(np.count_nonzero(step)) for step in steps] == [1, 4, 7, 8]
    assert result.info["step_waves"] == [0, 1, 2, 3]
    assert steps[0][1, 1] == 1 and np.count_nonzero(steps[0]) == 1
    np.testing.assert_array_equal(steps[-1], result.labels)
    assert all(step.dtype == result.labels.dtype for step in steps)


# --- fast path, waves and definition agree -----------------------------------------


@pytest.mark.parametrize("criterion", ["neighbor", "seed", "mean"])
@pytest.mark.parametrize("connectivity", [4, 8])
def test_matches_definition_on_random_images(rng, criterion, connectivity):
    for trial in range(40):
        height, width = (int(n) for n in rng.integers(1, 11, 2))
        color = trial % 4 == 0
        levels = int(rng.choice([4, 12, 256]))
        shape = (height, width, 3) if color else (height, width)
        image = rng.integers(0, levels, shape).astype(np.uint8)
        n_seeds = int(rng.integers(1, 4))
        seeds = [(int(rng.integers(height)), int(rng.integers(width))) for _ in range(n_seeds)]
        tolerance = float(rng.choice([0, 1, 2.5, 3, 40]))
        params = dict(
            seeds=seeds, tolerance=tolerance, connectivity=connectivity, criterion=criterion
        )
        compared = image if color else segcore.to_gray(image)
        expected = reference_growing(compared, seeds, tolerance, connectivity, criterion)
        fast = region_growing(image, features="rgb" if color else "gray", **params)
        stepped = region_growing(image, features="rgb" if color else "gray", return_steps=True, **params)
        np.testing.assert_array_equal(fast.labels, expected)
        np.testing.assert_array_equal(stepped.labels, expected)
        np.testing.assert_array_equal(stepped.info["steps"][-1], expected)
        assert fast.info["region_sizes"] == stepped.info["region_sizes"]
        sizes = [int(np.sum(expected == label)) for label in range(1, n_seeds + 1)]
        assert fast.info["region_sizes"] == sizes


def test_flood_fill_paths_on_smooth_image(rng):
    # A larger smooth image, where regions are big and have long boundaries.
    image = cv2.GaussianBlur(rng.integers(0, 256, (60, 70), dtype=np.uint8), (0, 0), 3)
    seeds = [(30, 35), (5, 5), (50, 60)]
    for criterion, tolerance in [("neighbor", 1), ("seed", 8), ("mean", 6)]:
        expected = reference_growing(image, seeds, tolerance, 4, criterion)
        result = region_growing(image, seeds=seeds, tolerance=tolerance, criterion=criterion)
        np.testing.assert_array_equal(result.labels, expected)
        assert 50 < np.count_nonzero(expected) < image.size


def test_steps_are_breadth_first_layers(rng):
    image = cv2.GaussianBlur(rng.integers(0, 256, (30, 30), dtype=np.uint8), (0, 0), 2)
    result = region_growing(
        image, seeds=[(15, 15)], tolerance=3, criterion="neighbor", return_steps=True
    )
    steps = result.info["steps"]
    kernel = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=np.uint8)
    for before, after in zip(steps, steps[1:]):
        assert np.all(after[before > 0] == before[before > 0])  # cumulative
        added = (after > 0) & (before == 0)
        assert added.any()
        # Every new pixel touches the region as it stood before the wave.
        touching = cv2.dilate((before > 0).astype(np.uint8), kernel) > 0
        assert np.all(touching[added])


def test_many_waves_are_sampled():
    row = np.full((1, 300), 50, dtype=np.uint8)
    result = region_growing(
        row, seeds=[(0, 0)], tolerance=0, criterion="neighbor", return_steps=True
    )
    waves = result.info["step_waves"]
    assert len(result.info["steps"]) == len(waves) == MAX_STEPS
    assert waves[0] == 0 and waves[-1] == 299
    assert waves == sorted(set(waves))
    for wave, step in zip(waves, result.info["steps"]):
        assert np.count_nonzero(step) == wave + 1
    np.testing.assert_array_equal(result.info["steps"][-1], result.labels)


# --- connectivity, colour, several seeds ---------------------------------------------


def test_eight_connectivity_reaches_a_diagonal_neighbour():
    image = np.array([[100, 0, 0], [0, 100, 0], [0, 0, 0]], dtype=np.uint8)
    four = region_growing(image, seeds=[(0, 0)], tolerance=5, connectivity=4, criterion="neighbor")
    eight = region_growing(image, seeds=[(0, 0)], tolerance=5, connectivity=8, criterion="neighbor")
    assert four.info["region_sizes"] == [1]
    np.testing.assert_array_equal(eight.mask, image == 100)


def test_colour_compares_every_channel():
    # Gray levels 60 and 23 are within the tolerance; the channels are not.
    red, blue = (200, 0, 0), (0, 0, 200)
    image = np.array([[red, red, blue, blue]], dtype=np.uint8)
    gray = segcore.to_gray(image)
    assert abs(int(gray[0, 1]) - int(gray[0, 2])) <= 40  # gray hides the colour edge
    by_gray = region_growing(image, seeds=[(0, 0)], tolerance=40, criterion="neighbor")
    by_colour = region_growing(
        image, seeds=[(0, 0)], tolerance=40, criterion="neighbor", features="rgb"
    )
    assert by_gray.info["region_sizes"] == [4]
    np.testing.assert_array_equal(by_colour.labels, [[1, 1, 0, 0]])
    assert by_colour.info["seed_values"] == [red]
    assert by_gray.info["seed_values"] == [int(gray[0, 0])]


def test_colour_on_gray_image_uses_gray(seed_grid):
    plain = region_growing(seed_grid, seeds=[(1, 1)], tolerance=2, criterion="neighbor")
    coloured = region_growing(
        seed_grid, seeds=[(1, 1)], tolerance=2, criterion="neighbor", features="rgb"
    )
    np.testing.assert_array_equal(plain.labels, coloured.labels)


def test_colour_matches_opencv_floodfill(rng):
    image = cv2.GaussianBlur(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8), (0, 0), 2)
    for criterion, flags in [("neighbor", 0), ("seed", cv2.FLOODFILL_FIXED_RANGE)]:
        fill_mask = np.zeros((42, 52), dtype=np.uint8)
        cv2.floodFill(
            image.copy(), fill_mask, (25, 20), 0, (4,) * 3, (4,) * 3,
            4 | cv2.FLOODFILL_MASK_ONLY | flags | (1 << 8),
        )
        result = region_growing(
            image, seeds=[(20, 25)], tolerance=4, criterion=criterion, features="rgb"
        )
        np.testing.assert_array_equal(result.labels, fill_mask[1:-1, 1:-1])


def test_earlier_seeds_take_precedence():
    # Seed criterion: both seeds accept the middle band, the first one keeps it.
    image = np.array([[10, 20, 30, 40, 50]], dtype=np.uint8)
    result = region_growing(image, seeds=[(0, 0), (0, 4)], tolerance=25, criterion="seed")
    np.testing.assert_array_equal(result.labels, [[1, 1, 1, 2, 2]])
    assert result.info["region_sizes"] == [3, 2]
    # In the other order the second seed's region stops at the first region.
    swapped = region_growing(image, seeds=[(0, 4), (0, 0)], tolerance=25, criterion="seed")
    np.testing.assert_array_equal(swapped.labels, [[2, 2, 1, 1, 1]])


def test_earlier_region_is_a_wall():
    # Seed 2 (45) accepts 30..60 and could reach the other 45 through the 32, 33, 32
    # of the top row, but seed 1 (20, accepting 5..35) took them first.
    image = np.array([[45, 32, 33, 32, 45], [0, 0, 20, 0, 0]], dtype=np.uint8)
    result = region_growing(image, seeds=[(1, 2), (0, 0)], tolerance=15, criterion="seed")
    np.testing.assert_array_equal(result.labels, [[2, 1, 1, 1, 0], [0, 0, 1, 0, 0]])
    alone = region_growing(image, seeds=[(0, 0)], tolerance=15, criterion="seed")
    np.testing.assert_array_equal(alone.labels, [[1, 1, 1, 1, 1], [0, 0, 0, 0, 0]])


def test_seed_inside_earlier_region_is_merged(seed_grid):
    seeds = [(1, 1), (3, 0), (0, 3), (1, 1)]
    result = region_growing(seed_grid, seeds=seeds, tolerance=2, criterion="neighbor")
    assert result.info["merged_seeds"] == [(2, 1), (4, 1)]
    assert result.info["region_sizes"][1] == 0 and result.info["region_sizes"][3] == 0
    assert result.labels[0, 3] == 3
    assert set(np.unique(result.labels)) == {0, 1, 3}
    assert result.params["seeds"] == seeds


def test_more_seeds_than_a_byte(rng):
    # 300 separate one-pixel regions: labels need uint16 and several flood-fill batches.
    image = np.zeros((20, 30), dtype=np.uint8)
    image[::2, ::2] = 200
    image[1::2, 1::2] = 100
    seeds = [(int(r), int(c)) for r, c in np.argwhere(image >= 0)][:300]
    result = region_growing(image, seeds=seeds, tolerance=0, criterion="seed")
    expected = reference_growing(image, seeds, 0, 4, "seed")
    assert result.labels.dtype == np.uint16
    np.testing.assert_array_equal(result.labels, expected)
    stepped = region_growing(image, seeds=seeds, tolerance=0, criterion="seed", return_steps=True)
    np.testing.assert_array_equal(stepped.labels, expected)


def test_read_only_image(seed_grid):
    seed_grid.setflags(write=False)
    result = region_growing(seed_grid, seeds=[(1, 1)], tolerance=2, criterion="neighbor")
    assert result.info["region_sizes"] == [8]


def test_numpy_seed_array(seed_grid):
    result = region_growing(seed_grid, seeds=np.array([[1, 1]]), tolerance=2, criterion="neighbor")
    assert result.info["seeds"] == [(1, 1)]
    assert type(result.info["seeds"][0][0]) is int


# --- automatic seeds -------------------------------------------------------------------


def two_discs(rng):
    image = rng.integers(0, 30, (80, 100)).astype(np.uint8)
    cv2.circle(image, (25, 30), 12, 200, -1)
    cv2.circle(image, (70, 50), 18, 180, -1)
    return image


def test_auto_seeds_find_each_disc(rng):
    image = two_discs(rng)
    discs = image >= 180
    result = segcore.segment(image, "region_growing", seeds="auto")
    seeds = result.params["seeds"]
    assert len(seeds) == 2
    assert all(type(v) is int for seed in seeds for v in seed)
    # Largest first, at its centre.
    assert seeds[0] == (50, 70) and seeds[1] == (30, 25)
    np.testing.assert_array_equal(result.mask, discs)
    assert result.labels[50, 70] == 1 and result.labels[30, 25] == 2
    assert result.info["region_sizes"] == [int(np.sum(result.labels == n)) for n in (1, 2)]


def test_auto_seed_is_first_most_interior_pixel_on_ties():
    # The rectangle's distance to the background peaks (3) along row 4, columns 4..10.
    image = np.zeros((9, 15), dtype=np.uint8)
    image[2:7, 2:13] = 200
    assert region_growing(image).params["seeds"] == [(4, 4)]


@pytest.mark.parametrize("connectivity", [4, 8])
def test_auto_seeds_match_definition(rng, connectivity):
    for _ in range(20):
        noise = rng.random((int(rng.integers(8, 40)), int(rng.integers(8, 40)))).astype(np.float32)
        image = (cv2.GaussianBlur(noise, (0, 0), float(rng.uniform(0.5, 2))) * 255).astype(np.uint8)
        objects = segcore.segment(image, "threshold", polarity="auto").labels
        _, components, stats, _ = cv2.connectedComponentsWithStats(
            objects, connectivity=connectivity
        )
        distance = cv2.distanceTransform(objects, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        largest_first = np.argsort(-stats[1:, cv2.CC_STAT_AREA], kind="stable")[:5] + 1
        expected = []
        for label in largest_first:
            inside = components == label
            top = np.argwhere(inside & (distance == distance[inside].max()))[0]
            expected.append((int(top[0]), int(top[1])))
        result = region_growing(image, connectivity=connectivity, max_seeds=5)
        assert result.params["seeds"] == expected


def test_auto_seeds_dark_objects_and_max_seeds(rng):
    image = 255 - two_discs(rng)
    result = region_growing(image, seeds="auto", max_seeds=1)
    assert result.params["seeds"] == [(50, 70)]
    assert result.n_labels == 1


def test_auto_seeds_on_flat_image_find_nothing():
    result = region_growing(np.full((10, 10), 7, dtype=np.uint8), return_steps=True)
    assert result.params["seeds"] == []
    assert not result.mask.any()
    assert result.info["steps"] == []


def test_auto_seeds_and_numeric_tolerance(rng):
    image = two_discs(rng)
    result = region_growing(image, tolerance=25)
    assert result.info["tolerances"] == [25.0, 25.0]
    seeds = result.params["seeds"]
    expected = reference_growing(image, seeds, 25, 4, "seed")
    np.testing.assert_array_equal(result.labels, expected)


def test_auto_seeds_on_colour_image(rng):
    image = np.repeat(two_discs(rng)[:, :, None], 3, axis=2)
    image[..., 0] //= 2
    result = region_growing(image, features="rgb")
    assert len(result.params["seeds"]) == 2
    assert all(isinstance(value, tuple) and len(value) == 3 for value in result.info["seed_values"])


# --- automatic tolerance -----------------------------------------------------------------


def two_contrasts(rng):
    """A bright disc and a dim one (gray 220 and 110) on a noisy background of 30."""
    image = np.full((80, 100), 30.0)
    bright = np.zeros((80, 100), dtype=np.uint8)
    dim = np.zeros((80, 100), dtype=np.uint8)
    cv2.circle(bright, (25, 28), 12, 1, -1)
    cv2.circle(dim, (68, 48), 16, 1, -1)
    image[bright > 0] = 220
    image[dim > 0] = 110
    image = cv2.GaussianBlur(image, (0, 0), 1.0) + rng.normal(0, 6, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), bright > 0, dim > 0


def iou(a, b):
    return np.count_nonzero(a & b) / np.count_nonzero(a | b)


def test_auto_tolerance_finds_bright_and_dim_objects(rng):
    image, bright, dim = two_contrasts(rng)
    result = segcore.segment(image, "region_growing")
    assert result.params["tolerance"] == "auto" and result.params["seeds"] == [(48, 68), (28, 25)]
    assert iou(result.labels == 1, dim) > 0.9
    assert iou(result.labels == 2, bright) > 0.9
    # One tolerance per seed, each 2/3 of the way from its seed to the background mean.
    objects = image > segcore.segment(image, "threshold").info["threshold"]
    background = image[~objects].mean()
    expected = [2 / 3 * (value - background) for value in result.info["seed_values"]]
    assert result.info["tolerances"] == pytest.approx(expected)
    assert result.info["tolerances"][1] > 2 * result.info["tolerances"][0]


def test_auto_tolerance_params_and_info(rng):
    image, _, _ = two_contrasts(rng)
    result = segcore.segment(image, "region_growing", criterion="mean", max_seeds=1)
    assert result.params["tolerance"] == "auto"
    assert result.params["criterion"] == "mean"
    assert result.params["max_seeds"] == 1 and result.params["seeds"] == [(48, 68)]
    assert set(result.info) == {
        "seeds", "seed_values", "tolerances", "region_sizes", "merged_seeds"
    }
    (tolerance,) = result.info["tolerances"]
    assert type(tolerance) is float
    objects = image > segcore.segment(image, "threshold").info["threshold"]
    gap = result.info["seed_values"][0] - image[~objects].mean()
    assert tolerance == pytest.approx(rg_module.AUTO_TOLERANCE_FRACTIONS["mean"] * gap)
    assert rg_module.AUTO_TOLERANCE_FRACTIONS == {"seed": 2 / 3, "mean": 1 / 4, "neighbor": 1 / 12}


def auto_bounds(values, seeds, criterion):
    """The documented auto tolerance and (below, above) allowances, from the definition."""
    gray = segcore.to_gray(values)
    objects = segcore.segment(gray, "threshold", polarity="auto").mask
    values = values.astype(np.float64).reshape(gray.shape[0], gray.shape[1], -1)
    fraction = rg_module.AUTO_TOLERANCE_FRACTIONS[criterion]
    tolerances, bounds = [], []
    for row, col in seeds:
        other = objects != objects[row, col]
        if not other.any():
            tolerances.append(0.0)
            bounds.append((0.0, 0.0))
            continue
        gap = values[other].mean(axis=0) - values[row, col]
        tolerance = fraction * np.abs(gap).max()
        tolerances.append(tolerance)
        bounds.append((np.where(gap > 0, 255, tolerance), np.where(gap < 0, 255, tolerance)))
    return tolerances, bounds


@pytest.mark.parametrize("criterion", ["seed", "mean", "neighbor"])
def test_auto_tolerance_matches_definition(rng, criterion):
    for trial in range(25):
        height, width = (int(n) for n in rng.integers(4, 16, 2))
        image = rng.normal(40, 10, (height, width))
        for _ in range(int(rng.integers(1, 4))):
            row, col = int(rng.integers(height)), int(rng.integers(width))
            image[max(row - 2, 0) : row + 2, max(col - 2, 0) : col + 2] += rng.uniform(60, 180)
        image = np.clip(image, 0, 255).astype(np.uint8)
        if trial % 2:
            image = 255 - image  # dark objects
        seeds = [(int(rng.integers(height)), int(rng.integers(width))) for _ in range(3)]
        if trial % 3 == 0:
            seeds = region_growing(image, tolerance=0).params["seeds"]
        tolerances, bounds = auto_bounds(image, seeds, criterion)
        result = region_growing(image, seeds=seeds, tolerance="auto", criterion=criterion)
        assert result.info["tolerances"] == pytest.approx(tolerances)
        expected = reference_growing(image, seeds, bounds, 4, criterion)
        np.testing.assert_array_equal(result.labels, expected)
        stepped = region_growing(
            image, seeds=seeds, criterion=criterion, connectivity=8, return_steps=True
        )
        expected = reference_growing(image, seeds, bounds, 8, criterion)
        np.testing.assert_array_equal(stepped.labels, expected)


def test_auto_tolerance_limits_only_the_side_of_the_other_phase():
    image = np.array([[10, 10, 10, 10, 30, 60, 100, 160, 100, 10]], dtype=np.uint8)
    assert segcore.segment(image, "threshold").info["threshold"] == 60
    # Background (<= 60) mean 20; the seed on 100 gets 2/3 * 80 and accepts
    # everything from 46.7 up, the bright 160 included.
    result = region_growing(image, seeds=[(0, 6)])
    assert result.info["tolerances"] == pytest.approx([2 / 3 * 80])
    np.testing.assert_array_equal(result.labels, [[0, 0, 0, 0, 0, 1, 1, 1, 1, 0]])
    # The same tolerance as a number limits both sides: 160 stops the region.
    numeric = region_growing(image, seeds=[(0, 6)], tolerance=result.info["tolerances"][0])
    np.testing.assert_array_equal(numeric.labels, [[0, 0, 0, 0, 0, 1, 1, 0, 0, 0]])


def test_auto_tolerance_for_a_seed_in_the_background():
    # The other phase of a background seed is the objects (> 60, mean 205): the
    # region grows over the background up to 2/3 of the way to them, 136.7.
    image = np.array([[0, 20, 30, 60, 200, 210]], dtype=np.uint8)
    assert segcore.segment(image, "threshold").info["threshold"] == 60
    result = region_growing(image, seeds=[(0, 0)])
    assert result.info["tolerances"] == pytest.approx([2 / 3 * 205])
    np.testing.assert_array_equal(result.labels, [[1, 1, 1, 1, 0, 0]])


def test_auto_tolerance_on_colour(rng):
    image = np.repeat(two_discs(rng)[:, :, None], 3, axis=2)
    image[..., 2] = 90  # a channel that does not tell the phases apart
    result = region_growing(image, features="rgb")
    seeds = result.params["seeds"]
    tolerances, bounds = auto_bounds(image, seeds, "seed")
    assert result.info["tolerances"] == pytest.approx(tolerances)
    np.testing.assert_array_equal(result.labels, reference_growing(image, seeds, bounds, 4, "seed"))
    discs = two_discs(np.random.default_rng(12345)) >= 180
    np.testing.assert_array_equal(result.mask, discs)


def test_auto_tolerance_on_flat_image():
    flat = np.full((5, 6), 7, dtype=np.uint8)
    result = region_growing(flat, seeds=[(2, 3)])
    assert result.info["tolerances"] == [0.0]
    assert result.mask.all()


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"seeds": [(4, 0)]}, r"seed 1 at \(row 4, col 0\) is outside the image of 4 rows x 4"),
        ({"seeds": [(0, 0), (-1, 2)]}, r"seed 2 at \(row -1, col 2\) is outside"),
        ({"seeds": []}, "seeds is empty"),
        ({"seeds": (1, 2)}, r"list of \(row, col\) pairs; for one seed write \[\(1, 2\)\]"),
        ({"seeds": [(1, 2, 3)]}, r"seed 1 is \(1, 2, 3\); each seed must be a \(row, col\) pair"),
        ({"seeds": [(1.5, 2)]}, "row and column must be whole numbers"),
        ({"seeds": "center"}, "seeds must be 'auto' or a list"),
        ({"seeds": 3}, "seeds must be 'auto' or a list"),
        ({"criterion": "median"}, "unknown criterion 'median'; choose one of: neighbor, seed"),
        ({"connectivity": 6}, "connectivity must be 4 or 8, got 6"),
        ({"connectivity": 4.0}, "connectivity must be 4 or 8"),
        ({"tolerance": -1}, "tolerance must be a number of 0 or more, got -1"),
        ({"tolerance": float("nan")}, "tolerance must be a number"),
        ({"tolerance": "high"}, "tolerance must be a number of 0 or more or 'auto', got 'high'"),
        ({"max_seeds": 0}, "max_seeds must be an integer >= 1"),
    ],
)
def test_bad_parameters(seed_grid, params, message):
    with pytest.raises(InvalidParameterError, match=message):
        region_growing(seed_grid, **params)


def test_return_steps_size_limit(monkeypatch, seed_grid):
    monkeypatch.setattr(rg_module, "MAX_STEPS_PIXELS", 15)
    with pytest.raises(InvalidParameterError, match="limited to images of at most 15 pixels"):
        region_growing(seed_grid, seeds=[(0, 0)], return_steps=True)
    region_growing(seed_grid, seeds=[(0, 0)])  # without steps any size is fine
