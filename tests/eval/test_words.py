import numpy as np

from zoo.eval.metrics import spearman
from zoo.eval.words import analogy_score, nearest, similarity_score


def test_spearman_with_ties_by_hand():
    # ranks of x: 1, 2.5, 2.5, 4; of y: 1, 2, 3, 4 -> pearson of the ranks
    rx, ry = np.array([1, 2.5, 2.5, 4]), np.array([1, 2, 3, 4])
    want = np.corrcoef(rx, ry)[0, 1]
    assert np.isclose(spearman([0.1, 0.5, 0.5, 0.9], [10, 20, 30, 40]), want)
    assert np.isclose(spearman([1, 2, 3], [3, 2, 1]), -1)


def test_similarity_score_and_coverage():
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [-1, 0]], dtype=np.float32)
    index = {"a": 0, "b": 1, "c": 2, "d": 3}
    pairs = [("a", "b", 9.0), ("a", "c", 5.0), ("a", "d", 1.0), ("a", "zzz", 3.0)]
    result = similarity_score(vectors, index, pairs)
    assert result["covered"] == 0.75 and result["n"] == 3 and np.isclose(result["spearman"], 1.0)


def test_analogy_excludes_question_words():
    # man -> king as woman -> queen; "king" itself is closest to the query and must not count
    vectors = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0.05, 1, 1], [-1, -1, -1]], dtype=np.float32)
    index = {"man": 0, "king": 1, "woman": 2, "queen": 3, "other": 4}
    questions = [("s", "man", "king", "woman", "queen"), ("s", "man", "king", "woman", "other"),
                 ("s", "man", "king", "woman", "unknown")]
    result = analogy_score(vectors, index, questions)
    assert result == {"accuracy": 0.5, "covered": 2 / 3, "n": 2}


def test_nearest():
    vectors = np.array([[1, 0], [0.8, 0.2], [0, 1]], dtype=np.float32)
    assert [row for row, _ in nearest(vectors, np.array([1.0, 0.0]), k=2, exclude=[0])] == [1, 2]
