"""Word-vector quality: similarity correlation (Spearman) and analogies (3CosAdd)."""
import mxnet as mx
import numpy as np
from gluonnlp.embedding.evaluation import WordEmbeddingSimilarity

from .metrics import spearman


def similarity_score(vectors, index, pairs):
    """``{"spearman", "covered", "n"}`` for ``pairs`` of ``(word1, word2, human score)``; cosine similarity by
    gluonnlp's ``WordEmbeddingSimilarity``, over the pairs whose words are both in ``index`` (word -> row)."""
    known = [(index[a], index[b], s) for a, b, s in pairs if a in index and b in index]
    if len(known) < 2:
        return {"spearman": float("nan"), "covered": len(known) / max(len(pairs), 1), "n": len(known)}
    rows1, rows2, human = (np.array(col) for col in zip(*known))
    block = WordEmbeddingSimilarity(mx.nd.array(vectors))
    block.initialize()
    predicted = block(mx.nd.array(rows1), mx.nd.array(rows2)).asnumpy()
    return {"spearman": spearman(predicted, human), "covered": len(known) / len(pairs), "n": len(known)}


def analogy_score(vectors, index, questions, batch_size=1024, per_section=False):
    """``{"accuracy", "covered", "n"}`` on ``(section, a, b, c, d)`` questions (a is to b as c is to d): the
    answer is the word nearest to ``b - a + c`` by cosine, other than a, b and c (3CosAdd, as gensim and the C
    tool score it). Accuracy is over the covered questions (all four words in ``index``). ``per_section`` adds
    ``"sections"``: ``[{"section", "accuracy", "correct", "n"}]`` in the file's order, over covered questions.

    Not gluonnlp's ``ThreeCosAdd``: it excludes question words by multiplying their score by zero, which still
    lets them win when every other score is negative.
    """
    covered = [q for q in questions if all(w in index for w in q[1:])]
    known = np.array([[index[w] for w in q[1:]] for q in covered], dtype=np.int64).reshape(-1, 4)
    if not len(known):
        out = {"accuracy": float("nan"), "covered": 0.0, "n": 0}
        return dict(out, sections=[]) if per_section else out
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-10)
    weight = mx.nd.array(unit)
    right = np.zeros(len(known), bool)
    for start in range(0, len(known), batch_size):
        a, b, c, d = known[start:start + batch_size].T
        query = mx.nd.array(unit[b] - unit[a] + unit[c])
        scores = mx.nd.FullyConnected(query, weight, num_hidden=len(unit), no_bias=True).asnumpy()  # (q, V)
        rows = np.arange(len(a))
        for excluded in (a, b, c):
            scores[rows, excluded] = -np.inf
        right[start:start + len(a)] = scores.argmax(axis=1) == d
    out = {"accuracy": float(right.mean()), "covered": len(known) / len(questions), "n": int(len(known))}
    if per_section:
        names = [q[0] for q in covered]
        out["sections"] = []
        for name in dict.fromkeys(names):  # the file's order
            mine = right[[i for i, n in enumerate(names) if n == name]]
            out["sections"].append({"section": name, "accuracy": float(mine.mean()), "correct": int(mine.sum()),
                                    "n": int(len(mine))})
    return out


def nearest(vectors, query, k=10, exclude=()):
    """``[(row, cosine)]`` of the ``k`` rows of ``vectors`` nearest to the vector ``query``, best first."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-10)
    scores = unit @ (query / max(np.linalg.norm(query), 1e-10))
    scores[list(exclude)] = -np.inf
    top = np.argsort(-scores, kind="stable")[:k]
    return [(int(i), float(scores[i])) for i in top]


def unit_rows(vectors, rows):
    """Rows of ``vectors`` scaled to length 1."""
    picked = vectors[rows]
    return picked / np.maximum(np.linalg.norm(picked, axis=-1, keepdims=True), 1e-10)
