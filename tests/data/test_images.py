import numpy as np
import pytest

from zoo.data import DataError, ImagePairs
from conftest import synthetic_digits, write_idx_set, write_png
from zoo.data.idx import read_idx, write_idx
from zoo.data.images import sample_pairs


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(tmp_path, gz):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = str(tmp_path / ("x.idx" + (".gz" if gz else "")))
    write_idx(path, images)
    got = read_idx(path)
    assert got.dtype == np.uint8 and np.array_equal(got, images)


def test_idx_bad_magic_and_truncation(tmp_path):
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(DataError, match="bad.idx is not an idx file: wrong magic"):
        read_idx(str(bad))
    short = tmp_path / "short.idx"
    short.write_bytes(b"\x00\x00\x08\x02\x00\x00\x00\x03\x00\x00\x00\x04" + b"\x00" * 5)
    with pytest.raises(DataError, match="short.idx: the header promises 3x4 values"):
        read_idx(str(short))


def test_sample_pairs_share_and_labels():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), [10, 20, 30, 5, 35])
    a, b, same = sample_pairs(labels, 20000, 0.3, rng)
    assert abs(same.mean() - 0.3) < 0.015
    assert np.array_equal(labels[a] == labels[b], same.astype(bool))
    assert not np.any(a == b)
    assert set(np.unique(b)) == set(range(100))  # every image can be a partner


def test_idx_source_and_batches(tmp_path):
    root = write_idx_set(tmp_path / "digits", gz=False)
    ds = ImagePairs(root=root, valid_ratio=0.2)
    assert ds.num_examples("train") == 240 and len(ds.splits["test"]) == 120
    images, left, right, target = next(iter(ds.batches("train", 16)))
    assert images.shape == (32, 1, 8, 8) and images.dtype == np.float32 and images.max() <= 1
    assert left.tolist() == list(range(16)) and right.tolist() == list(range(16, 32)) and left.dtype == np.int32
    assert set(np.unique(target)) <= {0.0, 1.0} and target.shape == (16,)


def test_class_split_trains_on_some_classes_and_tests_on_others(tmp_path):
    """The unseen-class protocol: train and valid hold only the training classes, test only the test classes,
    or valid the training part's images of held-out classes; batches of images and their class numbers (from 0);
    folder sources name classes by folder; unknown classes are refused by key."""
    root = write_idx_set(tmp_path / "digits", gz=False)
    ds = ImagePairs(root=root, valid_ratio=0.2, train_classes=[0, 1], test_classes=[2])
    whole = ImagePairs(root=root, valid_ratio=0.2)
    for split, classes in (("train", {0, 1}), ("valid", {0, 1}), ("test", {2})):
        assert set(ds.labels[ds.splits[split]].tolist()) == classes, split
    assert len(ds.splits["test"]) == int((whole.labels[whole.splits["test"]] == 2).sum())
    assert len(ds.splits["train"]) + len(ds.splits["valid"]) == int(
        np.isin(whole.labels[np.concatenate([whole.splits["train"], whole.splits["valid"]])], [0, 1]).sum())
    _, left, right, same = next(iter(ds.batches("train", 64)))
    assert same.any() and not same.all()
    held = ImagePairs(root=root, train_classes=[0, 1], valid_classes=[1], valid_ratio=0.5, targets="classes")
    assert set(held.labels[held.splits["train"]].tolist()) == {0} and held.meta["num_classes"] == 1  # 1 held out
    ones = int((whole.labels[np.concatenate([whole.splits["train"], whole.splits["valid"]])] == 1).sum())
    assert set(held.labels[held.splits["valid"]].tolist()) == {1} and len(held.splits["valid"]) == round(ones / 2)
    images, classes = next(iter(held.batches("train", 16)))
    assert images.shape == (16, 1, 8, 8) and classes.dtype == np.int32 and set(classes.tolist()) == {0}
    upper = ImagePairs(root=root, train_classes=[1, 2], targets="classes")                    # numbered from 0
    _, classes = next(iter(upper.batches("train", 200)))
    assert set(classes.tolist()) == {0, 1} and upper.meta["num_classes"] == 2
    each = ImagePairs(root=root, train_classes=[1, 2], targets="instances", shift=0)   # an image a class
    images, numbers = next(iter(each.batches("train", 500, shuffle=False)))
    assert each.meta["num_classes"] == len(each.splits["train"]) and numbers.tolist() == list(range(len(numbers)))
    np.testing.assert_array_equal(images, each.pixels(each.splits["train"]))
    with pytest.raises(DataError, match=r"data.test_classes: no class 7 among the images \(their classes: 0, 1, 2\)"):
        ImagePairs(root=root, test_classes=[7])
    images, labels = synthetic_digits(30)
    for i, (img, label) in enumerate(zip(images, labels)):
        folder = tmp_path / "classes" / ("c%d" % label)
        folder.mkdir(parents=True, exist_ok=True)
        write_png(str(folder / ("%d.png" % i)), img)
    ds = ImagePairs(source="folder", root=str(tmp_path / "classes"), test_ratio=0.5, valid_ratio=0,
                    train_classes=["c0", "c1"], test_classes=["c2"])
    assert set(ds.labels[ds.splits["test"]].tolist()) == {2} and set(ds.labels[ds.splits["train"]].tolist()) == {0, 1}
    with pytest.raises(DataError, match="data.train_classes: no class 'c9'"):
        ImagePairs(source="folder", root=str(tmp_path / "classes"), train_classes=["c9"])


@pytest.mark.parametrize("channels", [1, 3])
def test_folder_images_of_mixed_sizes_and_channels(tmp_path, channels):
    """Grey and colour PNGs of four sizes read as one (C, 12, 12) array with data.image_size: colour made
    grey or grey repeated to colour as data.channels asks; without image_size, an error naming the key."""
    from zoo.data.images import write_png as write_any_png
    rng = np.random.default_rng(0)
    for i, (h, w, c) in enumerate([(8, 8, 1), (20, 14, 3), (12, 12, 3), (30, 30, 1)] * 2):
        folder = tmp_path / "classes" / ("c%d" % (i % 2))
        folder.mkdir(parents=True, exist_ok=True)
        write_any_png(str(folder / ("%d.png" % i)), rng.integers(0, 256, (c, h, w)))
    ds = ImagePairs(source="folder", root=str(tmp_path / "classes"), channels=channels, image_size=12,
                    test_ratio=0.25, valid_ratio=0)
    assert ds.images.shape == (8, channels, 12, 12) and ds.images.dtype == np.uint8
    assert ds.meta["image_shape"] == [channels, 12, 12] and sorted(set(ds.labels.tolist())) == [0, 1]
    grey = tmp_path / "classes" / "c0" / "0.png"        # an 8 x 8 grey image, then as colour: three equal planes
    if channels == 3:
        from zoo.data.images import read_image
        planes = read_image(str(grey), 3, (12, 12))
        assert (planes[0] == planes[1]).all() and (planes[1] == planes[2]).all()
    with pytest.raises(DataError, match="images of different sizes .*data.image_size"):
        ImagePairs(source="folder", root=str(tmp_path / "classes"), channels=channels)


def test_missing_files_name_the_folder(tmp_path):
    with pytest.raises(DataError, match="has no download"):
        ImagePairs(root=str(tmp_path), variant="cifar")


def test_folder_and_pairs_sources(tmp_path):
    images, labels = synthetic_digits(30)
    for i, (img, label) in enumerate(zip(images, labels)):
        folder = tmp_path / "classes" / ("c%d" % label)
        folder.mkdir(parents=True, exist_ok=True)
        write_png(str(folder / ("%d.png" % i)), img)
    ds = ImagePairs(source="folder", root=str(tmp_path / "classes"), image_size=16, test_ratio=0.2, valid_ratio=0)
    assert ds.images.shape == (30, 1, 16, 16) and len(ds.splits["test"]) == 6
    with open(tmp_path / "classes" / "pairs.csv", "w") as f:
        f.write("path_a,path_b,similarity\n")
        for i in range(20):
            same = float(labels[i] == labels[i + 1])
            f.write("c%d/%d.png,c%d/%d.png,%s\n" % (labels[i], i, labels[i + 1], i + 1, same))
    ds = ImagePairs(source="pairs", root=str(tmp_path / "classes"), test_ratio=0.25, valid_ratio=0)
    images, left, right, score = next(iter(ds.batches("train", 100)))
    assert len(score) == len(left) == 15 and images.shape == (30, 1, 8, 8)


def test_evaluate_on_a_pairs_source(tmp_path):
    from zoo.config import from_raw
    from zoo.pipeline import build_model, evaluate
    import mxnet as mx
    images, labels = synthetic_digits(12)
    for i, img in enumerate(images):
        write_png(str(tmp_path / ("%d.png" % i)), img)
    with open(tmp_path / "pairs.csv", "w") as f:
        for i in range(11):
            f.write("%d.png,%d.png,%s\n" % (i, i + 1, float(labels[i] == labels[i + 1])))
    cfg = from_raw({"model": {"name": "siamese_cnn", "dim": 4, "channels": [4]},
                    "data": {"name": "images", "source": "pairs", "root": str(tmp_path), "test_ratio": 0.5,
                             "valid_ratio": 0}})
    ds = ImagePairs(source="pairs", root=str(tmp_path), test_ratio=0.5, valid_ratio=0)
    model = build_model(cfg, ds.meta)
    model.initialize()
    metrics = evaluate(model, ds, ["test"], mx.cpu(), 64)["test"]
    assert set(metrics) == {"rmse", "mae", "n", "pair_auc"} and metrics["n"] == 6


def test_shift_augmentation_moves_images_within_bounds(tmp_path):
    root = write_idx_set(tmp_path / "digits", n_train=50, n_test=10)
    ds = ImagePairs(root=root, valid_ratio=0, shift=2)
    plain = ds.pixels(np.arange(50))
    moved = ds.pixels(np.arange(50), 2, np.random.default_rng(0))
    assert moved.shape == plain.shape and not np.array_equal(moved, plain)
    # each moved image equals the original shifted by some (dy, dx) within 2 pixels
    for i in range(5):
        padded = np.pad(plain[i, 0], 2)
        assert any(np.array_equal(moved[i, 0], padded[y:y + 8, x:x + 8]) for y in range(5) for x in range(5))


def test_in_batch_pairs(tmp_path):
    root = write_idx_set(tmp_path / "digits", n_train=100, n_test=20)
    ds = ImagePairs(root=root, valid_ratio=0, pairs_per_image=3, positive_share=0.5)
    batches = list(ds.batches("train", 32, seed=1))
    assert sum(len(b[0]) for b in batches) == 100
    images, left, right, same = batches[0]
    assert images.shape == (32, 1, 8, 8) and left.shape == right.shape == same.shape == (96,)
    labels = ds.labels[ds.splits["train"]]
    # the pairs' targets agree with the labels of the images they point at
    first = np.random.default_rng(1).permutation(ds.splits["train"])[:32]
    assert np.array_equal(ds.labels[first][left] == ds.labels[first][right], same.astype(bool))
    assert len(labels) == 100


@pytest.mark.parametrize("pairs_per_image", [0, 3])
def test_split_batch_gives_self_contained_parts(tmp_path, pairs_per_image):
    """Each device's part holds the images its pairs use, renumbered: the pairs are the batch's pairs."""
    root = write_idx_set(tmp_path / "digits", n_train=100, n_test=20)
    ds = ImagePairs(root=root, valid_ratio=0, pairs_per_image=pairs_per_image)
    images, left, right, target = next(iter(ds.batches("train", 20, seed=2)))
    parts = ds.split_batch((images, left, right, target), 3)
    assert len(parts) == 3 and sum(len(p[3]) for p in parts) == len(target)
    got = [(p[0][p[1]], p[0][p[2]], p[3]) for p in parts]
    want_left, want_right = images[left], images[right]
    np.testing.assert_array_equal(np.concatenate([g[0] for g in got]), want_left)
    np.testing.assert_array_equal(np.concatenate([g[1] for g in got]), want_right)
    np.testing.assert_array_equal(np.concatenate([g[2] for g in got]), target)
    for part_images, part_left, part_right, _ in parts:  # no image a part does not use
        assert set(np.concatenate([part_left, part_right])) == set(range(len(part_images)))


def test_rotation_turns_images_about_their_centre():
    from zoo.data.augment import rotate, rotate_by
    rng = np.random.default_rng(0)
    x = rng.random((3, 2, 7, 7)).astype(np.float32)
    np.testing.assert_allclose(rotate_by(x, [0, 0, 0]), x, atol=1e-6)
    np.testing.assert_allclose(rotate_by(x, [90, 90, 90]), np.rot90(x, 1, axes=(2, 3)), atol=1e-5)
    np.testing.assert_allclose(rotate_by(x, [-90, 180, 90])[1], np.rot90(x[1], 2, axes=(1, 2)), atol=1e-5)
    half = rotate_by(x, [45, 45, 45])
    assert half[:, :, 0, 0].max() == 0 and np.abs(half[:, :, 3, 3] - x[:, :, 3, 3]).max() < 1e-6  # corners empty
    turned = rotate(x, 20, rng)
    assert turned.shape == x.shape and turned.dtype == np.float32 and not np.allclose(turned, x)


@pytest.mark.parametrize("views, same_class", [(1, "positive"), (2, "ignore"), (3, "negative"), (2, 0.25)])
def test_relation_batches_pair_every_image_with_every_other(tmp_path, views, same_class):
    """``targets: relations``: ``batch_size`` images in ``views`` copies each, anchors ``arange(n)``, and
    relations that say positive for two views of one image, ``same_class`` for two images of a class, negative
    for two classes and nothing for an image with itself; split over devices, every part has every image and a
    slice of the anchors with their rows of relations. (A number: positives of that weight.)"""
    root = write_idx_set(tmp_path / "digits", n_train=100, n_test=20)
    weight = same_class if isinstance(same_class, float) else 1.0
    same_class = "positive" if isinstance(same_class, float) else same_class
    ds = ImagePairs(root=root, valid_ratio=0, targets="relations", views=views, same_class=same_class, shift=1,
                    same_class_weight=weight)
    batches = list(ds.batches("train", 16, seed=1))
    assert sum(len(b[1]) for b in batches) == views * 100 and all(len(b[0]) == len(b[1]) for b in batches)
    images, anchors, relations = batches[0]
    n = len(images)
    assert n == views * 16 and anchors.dtype == np.int32 and np.array_equal(anchors, np.arange(n))
    first = np.random.default_rng(1).permutation(ds.splits["train"])[:16]   # the epoch's first images, as drawn
    labels, image = ds.labels[np.tile(first, views)], np.tile(np.arange(16), views)
    same_value = {"positive": weight, "negative": 0, "ignore": -1}[same_class]
    for i in range(n):
        for k in range(n):
            want = (-1 if i == k else 1 if image[i] == image[k] else
                    same_value if labels[i] == labels[k] else 0)
            assert relations[i, k] == want, (i, k)
    assert 0 < (relations == 0).sum() and (views == 1 or (relations == 1).sum() >= n * (views - 1))
    parts = ds.split_batch(batches[0], 2)
    assert len(parts) == 2 and all(p[0] is images for p in parts)
    np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), anchors)
    np.testing.assert_array_equal(np.concatenate([p[2] for p in parts]), relations)
