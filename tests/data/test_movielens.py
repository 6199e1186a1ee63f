import hashlib
import os
import zipfile

import numpy as np
import pytest

from conftest import low_rank_ratings, write_ratings_csv
from zoo.data import DataError, MovieLens
from zoo.data import movielens
from zoo.data.idmap import IdMap
from zoo.data.splits import random_split, temporal_split

ROWS = [(1, 10, 5, 881250949), (1, 20, 3, 881250950), (2, 10, 4, 881250951), (3, 30, 1, 881250952),
        (2, 30, 2, 881250953), (3, 20, 4, 881250954), (1, 30, 2, 881250955), (2, 20, 5, 881250956)]


def write_lines(path, lines, encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as f:
        f.write("".join(line + "\n" for line in lines))


def check_rows(ds, rows):
    got = sorted(zip(ds.user_map.ids[ds.users].tolist(), ds.item_map.ids[ds.items].tolist(), ds.ratings.tolist()))
    assert got == sorted((u, i, float(r)) for u, i, r, _ in rows)


def test_ml100k_tab_format_and_latin1_titles(tmp_path):
    write_lines(tmp_path / "u.data", ["%d\t%d\t%d\t%d" % row for row in ROWS])
    write_lines(tmp_path / "u.item", ["10|Caf\xe9 Society (1995)|01-Jan-1995||http://x|0|1",
                                      "20|Toy Story (1995)|01-Jan-1995||http://x|0|1"], encoding="latin-1")
    ds = MovieLens("ml-100k", str(tmp_path), test_ratio=0.25, valid_ratio=0.0)
    check_rows(ds, ROWS)
    assert ds.titles == {10: "Caf\xe9 Society (1995)", 20: "Toy Story (1995)"}
    assert ds.rating_range == (1.0, 5.0)


@pytest.mark.parametrize("variant", ["ml-1m", "ml-10m"])
def test_dat_format(tmp_path, variant):
    write_lines(tmp_path / "ratings.dat", ["%d::%d::%d::%d" % row for row in ROWS])
    write_lines(tmp_path / "movies.dat", ["10::Heat (1995)::Action|Crime"], encoding="latin-1")
    ds = MovieLens(variant, str(tmp_path), test_ratio=0.25, valid_ratio=0.0)
    check_rows(ds, ROWS)
    assert ds.titles == {10: "Heat (1995)"}


@pytest.mark.parametrize("variant", ["ml-20m", "ml-25m", "ml-latest-small"])
def test_csv_format_with_header_and_quoted_titles(tmp_path, variant):
    write_lines(tmp_path / "ratings.csv", ["userId,movieId,rating,timestamp"] +
                ["%d,%d,%s,%d" % (u, i, r - 0.5, t) for u, i, r, t in ROWS])
    write_lines(tmp_path / "movies.csv", ["movieId,title,genres", '10,"American President, The (1995)",Comedy'])
    ds = MovieLens(variant, str(tmp_path), test_ratio=0.25, valid_ratio=0.0)
    check_rows(ds, [(u, i, r - 0.5, t) for u, i, r, t in ROWS])
    assert ds.titles == {10: "American President, The (1995)"}


def test_ml100k_canonical_fold(tmp_path):
    write_lines(tmp_path / "u.data", ["%d\t%d\t%d\t%d" % row for row in ROWS])
    write_lines(tmp_path / "u1.base", ["%d\t%d\t%d\t%d" % row for row in ROWS[:6]])
    write_lines(tmp_path / "u1.test", ["%d\t%d\t%d\t%d" % row for row in ROWS[6:]])
    ds = MovieLens("ml-100k", str(tmp_path), split="u1", valid_ratio=0.0)
    test = set(zip(*(a.tolist() for a in (ds.user_map.ids[ds.arrays("test")[0]],
                                          ds.item_map.ids[ds.arrays("test")[1]]))))
    assert test == {(1, 30), (2, 20)}
    assert ds.num_examples("train") == 6
    with pytest.raises(DataError, match="only for data.variant=ml-100k"):
        MovieLens("ml-1m", str(tmp_path), split="u1")


def test_random_split_sizes_disjoint_and_seeded(ratings_dir):
    ds = MovieLens("ml-latest-small", ratings_dir, split="random", test_ratio=0.1, valid_ratio=0.05, seed=3)
    n = len(ds.ratings)
    parts = [ds.splits[k] for k in ("train", "valid", "test")]
    assert sum(len(p) for p in parts) == n
    assert len(np.unique(np.concatenate(parts))) == n
    assert len(ds.splits["test"]) == round(0.1 * n)
    assert len(ds.splits["valid"]) == round(0.05 * (n - round(0.1 * n)))
    again = MovieLens("ml-latest-small", ratings_dir, split="random", test_ratio=0.1, seed=3)
    other = MovieLens("ml-latest-small", ratings_dir, split="random", test_ratio=0.1, seed=4)
    assert np.array_equal(again.splits["test"], ds.splits["test"])
    assert not np.array_equal(other.splits["test"], ds.splits["test"])


def test_temporal_split_holds_out_each_users_latest():
    users = np.array([1, 1, 1, 1, 2, 2, 3])
    times = np.array([40, 10, 30, 20, 5, 6, 1])
    train, test = temporal_split(users, times, 0.5)
    assert sorted(test.tolist()) == [0, 2, 5]   # user 1: times 40 and 30; user 2: time 6; user 3 keeps its one
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(7))


@pytest.mark.parametrize("n,ratio", [(1000, 0.1), (7, 0.5), (5, 0.0), (6, 1.0), (1, 0.5)])
def test_random_split_is_the_sorted_parts_of_a_shuffle(n, ratio):
    """Held out: the first round(n * ratio) values of rng.permutation(index), the rest kept, each sorted; for a
    sorted index, an unsorted one and none (arange)."""
    sorted_index = np.sort(np.random.default_rng(9).choice(10 ** 6, n, replace=False))
    for index in (None, sorted_index, sorted_index[::-1].copy()):
        shuffled = np.random.default_rng(3).permutation(np.arange(n) if index is None else index)
        n_out = int(round(n * ratio))
        kept, held = random_split(n, ratio, np.random.default_rng(3), index)
        assert np.array_equal(kept, np.sort(shuffled[n_out:])) and np.array_equal(held, np.sort(shuffled[:n_out]))


def test_random_split_of_an_index():
    train, held = random_split(4, 0.5, np.random.default_rng(0), np.array([10, 11, 12, 13]))
    assert sorted(np.concatenate([train, held]).tolist()) == [10, 11, 12, 13] and len(held) == 2


def test_id_map():
    fitted, index = IdMap.fit([30, 10, 20, 10])
    assert fitted.ids.tolist() == [10, 20, 30] and index.tolist() == [2, 0, 1, 0] and index.dtype == np.int32
    rng = np.random.default_rng(0)
    # counted (small ids), sorted (ids far above their count, negative ids, floats): the same map
    for raw in (rng.integers(0, 500, 2000), rng.integers(0, 10 ** 12, 2000), rng.integers(-50, 50, 300),
                rng.integers(0, 9, 40).astype(np.float64)):
        fitted, index = IdMap.fit(raw)
        ids, inverse = np.unique(raw, return_inverse=True)
        assert fitted.ids.dtype == raw.dtype and np.array_equal(fitted.ids, ids)
        assert index.dtype == np.int32 and np.array_equal(index, inverse)
    m = IdMap([30, 10, 20, 10])
    assert m.index([10, 20, 30]).tolist() == [0, 1, 2] and 20 in m and 25 not in m
    with pytest.raises(KeyError, match="25"):
        m.index([10, 25])


@pytest.mark.parametrize("order", ["shuffle", "blocks"])
def test_batches_cover_the_split_once(ratings_dir, order):
    ds = MovieLens("ml-latest-small", ratings_dir, order=order, blocks=3)
    batches = list(ds.batches("train", 64, shuffle=True, seed=[0, 1]))
    users = np.concatenate([b[0] for b in batches])
    assert len(users) == ds.num_examples("train") and all(len(b[0]) <= 64 for b in batches)
    assert [b[0].dtype for b in batches[:1]] == [np.int32] and batches[0][2].dtype == np.float32
    triples = sorted(zip(*(np.concatenate(column).tolist() for column in zip(*batches))))
    assert triples == sorted(zip(*(a.tolist() for a in ds.arrays("train"))))  # each rating once, columns together
    again = list(ds.batches("train", 64, shuffle=True, seed=[0, 2]))
    assert not np.array_equal(np.concatenate([b[0] for b in again]), users)  # another epoch, another order
    evaluation = np.concatenate([b[0] for b in ds.batches("test", 64)])
    np.testing.assert_array_equal(evaluation, ds.arrays("test")[0])          # evaluation keeps the split's order


def test_an_unknown_order_names_its_key(ratings_dir):
    with pytest.raises(DataError, match="data.order"):
        MovieLens("ml-latest-small", ratings_dir, order="tiles")


def test_bad_line_names_file_and_line(tmp_path):
    write_lines(tmp_path / "ratings.csv", ["userId,movieId,rating,timestamp", "1,2,3.5,100", "1,3,x,101",
                                           "2,2,4,102"])
    with pytest.raises(DataError, match=r"ratings\.csv:3: a field is not a number"):
        MovieLens("ml-latest-small", str(tmp_path))
    write_lines(tmp_path / "ratings.csv", ["userId,movieId,rating,timestamp", "1,2,3.5,100", "1,3,9,101"])
    with pytest.raises(DataError, match=r"ratings\.csv:3: .*outside the rating range"):
        MovieLens("ml-latest-small", str(tmp_path))
    write_lines(tmp_path / "ratings.csv", ["userId,movieId,rating,timestamp", "1,2,3.5", "1,3,4,101"])
    with pytest.raises(DataError, match=r"ratings\.csv:2: expected 4 fields"):
        MovieLens("ml-latest-small", str(tmp_path))
    (tmp_path / "ratings.csv").write_bytes(b"userId,movieId,rating,timestamp\n1,2,3.5,100\n1,\xff3,4,101\n")
    with pytest.raises(DataError, match=r"ratings\.csv:3: bytes that are not ASCII text"):
        MovieLens("ml-latest-small", str(tmp_path))


def make_zip(folder, inner, files):
    path = os.path.join(folder, "release.zip")
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr("%s/%s" % (inner, name), text)
    with open(path, "rb") as f:
        return path, hashlib.md5(f.read()).hexdigest()


def test_download_verifies_checksum_and_extracts(tmp_path, monkeypatch):
    archive, md5 = make_zip(str(tmp_path), "ml-100k", {"u.data": "".join("%d\t%d\t%d\t%d\n" % r for r in ROWS)})
    monkeypatch.setattr(movielens, "URL", "file://" + archive + "#%s")
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))  # no data.root: the download goes to the cache
    root = str(tmp_path / "cache" / "movielens" / "ml-100k")
    monkeypatch.setitem(movielens.VARIANTS, "ml-100k", movielens.VARIANTS["ml-100k"]._replace(md5="0" * 32))
    with pytest.raises(DataError, match="checksum mismatch.*deleted"):
        MovieLens("ml-100k")
    assert not os.path.exists(os.path.join(root, "ml-100k.zip"))
    assert not [f for f in os.listdir(root) if f.endswith(".part")]
    monkeypatch.setitem(movielens.VARIANTS, "ml-100k", movielens.VARIANTS["ml-100k"]._replace(md5=md5))
    ds = MovieLens("ml-100k", test_ratio=0.25)
    check_rows(ds, ROWS)
    assert sorted(os.listdir(root)) == ["u.data"]


def test_no_network_says_where_to_put_files(tmp_path, monkeypatch):
    monkeypatch.setattr(movielens, "URL", "file://" + str(tmp_path / "nowhere") + "/%s.zip")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"Put the files of ml-1m .* into .*empty"):
        MovieLens("ml-1m", str(tmp_path / "empty"))


def test_a_missing_data_root_is_named_and_not_created(tmp_path):
    with pytest.raises(DataError, match=r"data.root .*nowhere/ml is not a folder"):
        MovieLens("ml-latest-small", str(tmp_path / "nowhere" / "ml"))
    assert os.listdir(tmp_path) == []


def test_synthetic_fixture_is_in_range():
    users, items, ratings = low_rank_ratings()
    assert ratings.min() >= 0.5 and ratings.max() <= 5 and len(np.unique(users)) == 60



def test_ids_beyond_2_to_the_53_stay_distinct(tmp_path):
    """float64 holds every integer only below 2^53: ids above it are read exactly, and distinct users stay so."""
    base = 2 ** 53
    users = [base + 1, base + 2, base + 3, base + 4, 5, 6] * 3
    items = [1, 2, 3] * 6
    write_ratings_csv(str(tmp_path), users, items, [4.0] * 18, titles=False)
    ds = MovieLens("ml-latest-small", str(tmp_path), test_ratio=0.2, valid_ratio=0.0)
    assert ds.meta["num_users"] == 6 and sorted(ds.user_map.ids.tolist())[-4:] == [base + k for k in (1, 2, 3, 4)]
    with open(tmp_path / "ratings.csv", "a") as f:
        f.write("%d,1,4.0,964982703\n" % 2 ** 64)
    with pytest.raises(DataError, match=r"ratings.csv:20: field 1 \(18446744073709551616\) does not fit a 64-bit"):
        MovieLens("ml-latest-small", str(tmp_path))


def test_a_gzip_named_csv_and_a_missing_header_line(tmp_path):
    import gzip
    users, items, ratings = low_rank_ratings(num_users=20, num_items=30)
    write_ratings_csv(str(tmp_path / "plain"), users, items, ratings, titles=False)
    with open(tmp_path / "plain" / "ratings.csv", "rb") as f:
        text = f.read()
    (tmp_path / "gz").mkdir()
    with open(tmp_path / "gz" / "ratings.csv", "wb") as f:
        f.write(gzip.compress(text))  # compressed, under the plain name
    (tmp_path / "headless").mkdir()
    with open(tmp_path / "headless" / "ratings.csv", "wb") as f:
        f.write(text[text.index(b"\n") + 1:])  # the header line is missing: the first rating must not be lost
    counts = [len(MovieLens("ml-latest-small", str(tmp_path / d), valid_ratio=0.0).ratings)
              for d in ("plain", "gz", "headless")]
    assert counts == [len(ratings)] * 3


def test_a_bad_line_is_numbered_in_the_file(tmp_path):
    write_ratings_csv(str(tmp_path), [1, 2, 3], [1, 2, 3], [4.0, 3.0, 5.0], titles=False)
    with open(tmp_path / "ratings.csv", "a") as f:
        f.write("4,4,x,1\n")
    with pytest.raises(DataError, match=r"ratings.csv:5: "):  # the header is line 1
        MovieLens("ml-latest-small", str(tmp_path))


def test_implicit_rows_are_each_users_training_items_weighted(ratings_dir):
    """SVD++'s input: a CSR row a rating holding its user's training items, each 1 / sqrt(count), as a dense
    matrix of the training part gives them, each distinct user's row once; the kfold split holds out one part of
    the shuffled ratings."""
    from zoo.rows import SharedRows
    ds = MovieLens(root=ratings_dir, implicit=True)
    users, items, rated, _ = next(ds.batches("train", 50))
    assert isinstance(rated, SharedRows) and rated.shape == (50, ds.meta["num_items"])
    assert len(rated.unique) == len(set(users.tolist())) < 50      # a user's row once, however many ratings
    train = ds.splits["train"]
    dense = np.zeros((ds.meta["num_users"], ds.meta["num_items"]), np.float32)
    dense[ds.users[train], ds.items[train]] = 1
    dense /= np.sqrt(np.maximum(dense.sum(1, keepdims=True), 1))
    np.testing.assert_allclose(rated.toarray(), dense[users], rtol=1e-6)
    folds = [MovieLens(root=ratings_dir, split="kfold", folds=3, fold=f).splits["test"] for f in (1, 2, 3)]
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(ds.ratings)))
    with pytest.raises(DataError, match="data.fold=4: choose a fold from 1 to data.folds=3"):
        MovieLens(root=ratings_dir, split="kfold", folds=3, fold=4)


def test_weighted_selection_is_the_weighted_rows_of_the_selected_entries():
    """The batch rows of SVD++ in one function: the same CSR as ``weighted_rows(entries(...))``, for rows in any
    order, repeated, empty (a user without training items) or none."""
    from zoo.data.positives import entries, positives, weighted_rows, weighted_selection
    rng = np.random.default_rng(0)
    csr = positives(rng.integers(0, 50, 2000), rng.integers(0, 300, 2000), 60)  # users 50-59 rated nothing
    for rows in ([3, 7, 3, 55, 0], [], [59, 58], [49]):
        rows = np.array(rows, np.int64)
        a, b = weighted_rows(len(rows), *entries(csr, rows), 300), weighted_selection(csr, rows, 300)
        for field in ("indptr", "indices", "values"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
        assert b.shape == (len(rows), 300) and b.values.dtype == np.float32


def test_a_large_ratings_file_is_parsed_once_then_read_from_the_cache(tmp_path, monkeypatch):
    """Files of at least MIN_BYTES are kept in $ZOO_CACHE/parsed by content: the second read gives the same
    columns without parsing, a changed file is parsed anew, and a cache that cannot be written is passed over."""
    from zoo.data import parsed
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(parsed, "MIN_BYTES", 1)
    folder = tmp_path / "ml"
    folder.mkdir()
    root = write_ratings_csv(str(folder), *low_rank_ratings(num_users=30, num_items=20, density=0.5, seed=1))
    path = os.path.join(root, "ratings.csv")
    calls = []
    real = movielens.read_columns
    monkeypatch.setattr(movielens, "read_columns", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = movielens.read_ratings(path, "ml-latest-small")
    again = movielens.read_ratings(path, "ml-latest-small")
    assert len(calls) == 1 and len(os.listdir(tmp_path / "cache" / "parsed")) == 1
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
        assert np.asarray(a).dtype == np.asarray(b).dtype
    assert isinstance(again[4], int)
    entry = os.path.join(tmp_path / "cache" / "parsed", os.listdir(tmp_path / "cache" / "parsed")[0])
    with open(entry, "r+b") as f:  # an entry cut short (a full disk, a crash) is parsed anew, never half read
        f.truncate(os.path.getsize(entry) // 2)
    for a, b in zip(first, movielens.read_ratings(path, "ml-latest-small")):
        np.testing.assert_array_equal(a, b)
    assert len(calls) == 2
    with open(path, "a") as f:
        f.write("1,1,4.0,5\n")
    assert len(movielens.read_ratings(path, "ml-latest-small")[0]) == len(first[0]) + 1 and len(calls) == 3
    (tmp_path / "blocked").write_text("a file where the cache folder should be")
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "blocked"))
    assert len(movielens.read_ratings(path, "ml-latest-small")[0]) == len(first[0]) + 1 and len(calls) == 4
