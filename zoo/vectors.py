"""Word vectors with the queries gensim's ``KeyedVectors`` users reach for, on vectors from a zoo run or from any
file in the word2vec (text or binary), fastText ``.vec`` or GloVe format."""
import numpy as np

from .data.word2vec_format import read_vectors, write_word2vec
from .data.wordsets import read_analogies, read_similarity
from .eval.words import analogy_score, similarity_score


def _unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-10)


class Vectors:
    """``len(words)`` vectors, row ``i`` for ``words[i]`` (frequent words first, as in the files).

    ``v["king"]`` is a vector; ``"king" in v`` asks for a word. The evaluations match gensim's
    ``evaluate_word_pairs`` / ``evaluate_word_analogies``: words looked up case-insensitively (the first, most
    frequent, spelling wins) among the first ``restrict_vocab`` words, pairs or questions with an unknown word
    left out and counted in ``covered``.
    """

    def __init__(self, words, vectors):
        self.index_to_key = [str(w) for w in words]
        self.vectors = np.asarray(vectors, dtype=np.float32)
        if self.vectors.ndim != 2 or len(self.vectors) != len(self.index_to_key):
            raise ValueError("%d words and vectors of shape %s: one row a word" % (len(words), self.vectors.shape))
        self.key_to_index = {}
        for i, w in enumerate(self.index_to_key):
            self.key_to_index.setdefault(w, i)

    @classmethod
    def load(cls, path, format="auto"):
        """From a file: ``format`` ``auto``, ``word2vec``, ``word2vec-binary`` or ``glove`` (fastText's ``.vec``
        is the word2vec text format)."""
        return cls(*read_vectors(path, format))

    def save(self, path, binary=False):
        """In the word2vec format (what gensim's ``load_word2vec_format`` reads)."""
        write_word2vec(path, self.index_to_key, self.vectors, binary=binary)

    def __len__(self):
        return len(self.index_to_key)

    def __contains__(self, word):
        return word in self.key_to_index

    def __getitem__(self, word):
        return self.vectors[self._row(word)]

    def _row(self, word):
        try:
            return self.key_to_index[word]
        except KeyError:
            raise KeyError("unknown word %r: not among the %d words" % (word, len(self))) from None

    def similarity(self, a, b):
        """Cosine of the vectors of words ``a`` and ``b``."""
        return float(_unit(self[a]) @ _unit(self[b]))

    def most_similar(self, positive=(), negative=(), topn=10):
        """``[(word, cosine)]``: the ``topn`` words nearest to the mean of the unit vectors of ``positive`` minus
        those of ``negative`` (``most_similar(positive=["king", "woman"], negative=["man"])`` is the analogy),
        the query words left out."""
        if isinstance(positive, str):
            positive = [positive]
        if isinstance(negative, str):
            negative = [negative]
        if not positive and not negative:
            raise ValueError("most_similar needs at least one word")
        rows = [self._row(w) for w in list(positive) + list(negative)]
        weights = np.array([1.0] * len(positive) + [-1.0] * len(negative))[:, None]
        query = _unit((weights * _unit(self.vectors[rows])).mean(axis=0))
        scores = _unit(self.vectors) @ query
        scores[rows] = -np.inf
        top = np.argsort(-scores, kind="stable")[:topn]
        return [(self.index_to_key[i], float(scores[i])) for i in top]

    def doesnt_match(self, words):
        """The word of ``words`` farthest (by cosine) from the mean of their unit vectors."""
        words = list(words)
        if not words:
            raise ValueError("doesnt_match needs words")
        unit = _unit(self.vectors[[self._row(w) for w in words]])
        return words[int(np.argmin(unit @ _unit(unit.mean(axis=0))))]

    def _index(self, restrict_vocab, case_insensitive):
        """word -> row over the first ``restrict_vocab`` words, lowercased keys when ``case_insensitive``."""
        index = {}
        for i, w in enumerate(self.index_to_key[:restrict_vocab]):
            index.setdefault(w.lower() if case_insensitive else w, i)
        return index

    def evaluate_word_pairs(self, path, restrict_vocab=300000, case_insensitive=True):
        """``{"spearman", "pearson", "covered", "n"}`` on a file of ``word1<TAB>word2<TAB>score`` lines (``#``
        lines are comments): cosine similarity against the human scores."""
        pairs = read_similarity(path)
        index = self._index(restrict_vocab, case_insensitive)
        out = similarity_score(self.vectors[:restrict_vocab], index, pairs)
        known = [(index[a], index[b], s) for a, b, s in pairs if a in index and b in index]
        if len(known) >= 2:
            rows1, rows2, human = (np.array(c) for c in zip(*known))
            cos = (_unit(self.vectors[rows1]) * _unit(self.vectors[rows2])).sum(axis=1)
            out["pearson"] = float(np.corrcoef(cos, human)[0, 1])
        return out

    def evaluate_word_analogies(self, path, restrict_vocab=300000, case_insensitive=True):
        """``{"accuracy", "covered", "n", "sections"}`` on a file in the ``questions-words.txt`` format (3CosAdd;
        the question words are never answers); ``sections`` gives each section's accuracy, correct and count."""
        return analogy_score(self.vectors[:restrict_vocab], self._index(restrict_vocab, case_insensitive),
                             read_analogies(path), per_section=True)


def load_vectors(path, format="auto"):
    """:class:`Vectors` from a word-vector file (see :meth:`Vectors.load`)."""
    return Vectors.load(path, format)
