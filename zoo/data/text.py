"""Text corpora for word2vec: files -> tokens -> vocabulary (gluonnlp) -> word-id chunks -> skip-gram batches.

The corpus is read line by line (a line is a sentence or a document; a long line in pieces) and encoded in chunks
of about ``chunk_tokens`` words, so a corpus larger than memory streams; a corpus that fits under
``cache_tokens`` is encoded once and kept. ``data.paths`` may name files (plain or gzip), folders of ``.txt`` /
``.gz`` files and glob patterns.
"""
import collections
import dataclasses
import glob
import hashlib
import logging
import os
import re
import typing

import gluonnlp
import numpy as np

from ..config import NON_NEGATIVE, POSITIVE, ConfigError, at_least, each, one_of
from ..registry import DATASETS
from .batches import split_rows
from .download import DataError, data_folder, download, extract_zip
from .parse import open_file
from .skipgram import (UnigramSampler, different_negatives, expected_pairs, keep_probabilities, skipgram_pairs,
                       subsample)
from .wordsets import SETS, locate, read_analogies, read_similarity

log = logging.getLogger(__name__)

TOKEN_PATTERN = r"[a-z0-9]+('[a-z]+)?"
# text8 (the first 10^8 bytes of cleaned Wikipedia) as Matt Mahoney publishes it; its content's SHA-1 is the one
# gluonnlp's Text8 checks.
TEXT8_URL = "http://mattmahoney.net/dc/text8.zip"
TEXT8_SHA1 = "0dc3edebc970dcc96137e7deda4d9995af9d93de"


def fetch_text8(root):
    """Path of ``text8`` in ``root``, downloaded and checked when missing."""
    path = os.path.join(root, "text8")
    if os.path.exists(path):
        return path
    archive = os.path.join(root, "text8.zip")
    try:
        download(TEXT8_URL, archive)
    except DataError as err:
        raise DataError("text8 not found in %s and the download failed (%s): put the file text8 there, or set "
                        "data.paths to local text files" % (root, err)) from None
    extract_zip(archive, root)
    os.remove(archive)
    sha1 = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha1.update(block)
    if sha1.hexdigest() != TEXT8_SHA1:
        os.remove(path)
        raise DataError("checksum mismatch for text8 from %s: the file was deleted; try again" % TEXT8_URL)
    return path


class Tokenizer:
    """Lower-cases (optionally) and returns the regular expression's matches in a line."""

    def __init__(self, pattern=TOKEN_PATTERN, lowercase=True):
        self.regex = re.compile(pattern)
        self.lowercase = lowercase

    def __call__(self, line):
        if self.lowercase:
            line = line.lower()
        return [m.group(0) for m in self.regex.finditer(line)]


PIECE_CHARS = 1 << 20  # a long line is read and tokenized in pieces of about this many characters
SAMPLE_WORDS = 10_000_000  # kept words that TextCorpus.num_examples reads to measure the pairs a word makes


def expand_paths(paths):
    """The files ``paths`` names, in order: a file itself, a directory's ``.txt`` and ``.gz`` files (sorted), a
    glob pattern's matches (sorted). A name that matches nothing is an error naming it."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(os.path.join(path, n) for n in os.listdir(path) if n.endswith((".txt", ".gz")))
        elif glob.has_magic(path):
            found = sorted(p for p in glob.glob(path) if os.path.isfile(p))
        else:
            found = [path] if os.path.isfile(path) else []
        if not found:
            raise DataError("corpus file %s not found (data.paths: a file, a folder of .txt/.gz files or a "
                            "pattern such as texts/*.txt)" % path)
        files += found
    return files


def pieces(f, limit=None):
    """``(text, line_ends)`` pieces of the lines of ``f``: whole lines, and a line longer than ``limit`` (default
    :data:`PIECE_CHARS`) in pieces cut after their last whitespace (a word is never split); ``line_ends`` marks a
    line's last piece."""
    limit = limit or PIECE_CHARS
    carry = ""
    while True:
        chunk = f.readline(limit)
        if not chunk:
            if carry:
                yield carry, True
            return
        if chunk.endswith("\n"):
            yield carry + chunk, True
            carry = ""
            continue
        text = carry + chunk
        cut = max(text.rfind(" "), text.rfind("\t"))
        if cut < 0:  # no space in the piece so far: keep reading (one word longer than limit is kept whole)
            carry = text
            continue
        yield text[:cut], False
        carry = text[cut + 1:]


class Corpus:
    """Lines of text files as chunks of word ids.

    Parameters
    ----------
    paths : list of str
    tokenizer : callable ``line -> list of tokens``
    min_count, max_vocab : vocabulary limits (``max_vocab`` 0 for none)
    chunk_tokens, cache_tokens : chunk size, and the largest corpus kept in memory once encoded
    """

    def __init__(self, paths, tokenizer, min_count=5, max_vocab=0, chunk_tokens=1_000_000,
                 cache_tokens=200_000_000):
        self.paths, self.tokenizer = expand_paths(paths), tokenizer
        self.chunk_tokens = chunk_tokens
        counter = collections.Counter()
        self.num_lines = 0
        for tokens, line_ends in self._token_lines():
            gluonnlp.data.count_tokens(tokens, to_lower=False, counter=counter)
            self.num_lines += line_ends
        if not counter:
            raise DataError("no tokens in %s (check data.token_pattern)" % ", ".join(self.paths))
        self.vocab = gluonnlp.Vocab(counter, max_size=max_vocab or None, min_freq=min_count, unknown_token=None,
                                    padding_token=None, bos_token=None, eos_token=None)
        if not len(self.vocab):
            raise DataError("no word of %s occurs data.min_count=%d times" % (", ".join(self.paths), min_count))
        self.counts = np.array([counter[w] for w in self.vocab.idx_to_token], dtype=np.int64)
        self.num_tokens = int(sum(counter.values()))
        # Encoded now, with the vocabulary, rather than in the first epoch, whose time it would add to training's
        # (gensim's build_vocab does the same work before its training clock starts).
        self._cache = list(self._encode()) if self.num_tokens <= cache_tokens else None

    def _token_lines(self):
        """``(tokens, line_ends)`` of each piece of text: a line, or a bounded piece of a long one (cut at a space;
        ``line_ends`` is False until its last piece), so that a file without newlines never sits in memory whole."""
        for path in self.paths:
            with open_file(path, text=True) as f:
                for piece, line_ends in pieces(f):
                    yield self.tokenizer(piece), line_ends

    def _encode(self):
        index = self.vocab.token_to_idx
        ids, sentences, line = [], [], 0
        for tokens, line_ends in self._token_lines():
            row = [index[t] for t in tokens if t in index]
            ids.extend(row)
            sentences.extend([line] * len(row))
            line += line_ends
            if len(ids) >= self.chunk_tokens:
                yield np.array(ids, np.int32), np.array(sentences, np.int32)
                ids, sentences = [], []
        if ids:
            yield np.array(ids, np.int32), np.array(sentences, np.int32)

    def chunks(self):
        """Iterate ``(ids, sentences)`` int32 chunks of the in-vocabulary words."""
        return iter(self._cache) if self._cache is not None else self._encode()


@DATASETS.register("text")
class TextCorpus:
    """Skip-gram training pairs from a text corpus, with word2vec's subsampling, dynamic window and unigram^0.75
    negatives; evaluation on word similarity and analogy sets.

    Batches are ``(center, context, negatives)``: int32 ``(batch,)``, ``(batch,)``, and ``(batch, K)`` or, with
    ``shared_negatives``, ``(K,)`` negatives shared by the whole batch (scored as one matrix product). Pairs come
    shuffled, or in the text's order, which word2vec's one-pair-at-a-time SGD wants (the training step decides:
    :func:`zoo.fastpath.select_step`).
    """

    task = "words"  # how the evaluation layer scores it: word similarity and analogies

    @dataclasses.dataclass
    class Config:
        PATHS = ("paths", "root")
        CHECKS = {"min_count": POSITIVE, "max_vocab": NON_NEGATIVE, "window": POSITIVE, "negatives": POSITIVE,
                  "sample": at_least(0.0), "chunk_tokens": POSITIVE, "cache_tokens": NON_NEGATIVE}
        name: str = "text"
        paths: typing.List[str] = dataclasses.field(default_factory=list)   # files, folders of .txt/.gz, globs
        corpus: str = ""              # a named corpus (text8), used when paths is empty
        root: str = ""                # where a named corpus is kept; empty: ~/.cache/zoo/CORPUS
        token_pattern: str = TOKEN_PATTERN
        lowercase: bool = True
        min_count: int = 5
        max_vocab: int = 0            # keep the most frequent words only; 0: no cap
        window: int = 5
        negatives: int = 5
        shared_negatives: bool = False
        sample: float = 1e-3
        chunk_tokens: int = 1_000_000
        cache_tokens: int = 200_000_000

        def validate(self, path):
            try:
                re.compile(self.token_pattern)
            except re.error as err:
                raise ConfigError("%s.token_pattern=%r is not a regular expression: %s" % (
                    path, self.token_pattern, err), key=path + ".token_pattern") from None

    @dataclasses.dataclass
    class EvalConfig:
        PATHS = ("root",)
        CHECKS = {"sets": each(one_of(*SETS))}
        root: str = ""                # folder of the evaluation files; empty: ~/.cache/zoo/word-eval
        sets: typing.List[str] = dataclasses.field(default_factory=lambda: ["wordsim353", "simlex999", "analogy"])
        download: bool = True

    def __init__(self, paths=(), corpus="", root="", token_pattern=TOKEN_PATTERN, lowercase=True, min_count=5,
                 max_vocab=0, window=5, negatives=5, shared_negatives=False, sample=1e-3, chunk_tokens=1_000_000,
                 cache_tokens=200_000_000, eval_root="", eval_sets=("wordsim353", "simlex999", "analogy"),
                 eval_download=True):
        paths = list(paths)
        if corpus and not paths:
            if corpus != "text8":
                raise DataError("unknown corpus %r (data.corpus); choose text8, or list files in data.paths" % corpus)
            paths.append(fetch_text8(data_folder(root, corpus)))
        if not paths:
            raise DataError("no corpus: set data.paths to text files or data.corpus to text8")
        self.corpus = Corpus(paths, Tokenizer(token_pattern, lowercase), min_count, max_vocab, chunk_tokens,
                             cache_tokens)
        self.vocab = self.corpus.vocab
        self.window, self.negatives, self.shared_negatives = window, negatives, shared_negatives
        self.keep_prob = keep_probabilities(self.corpus.counts, sample)
        self.sampler = UnigramSampler(self.corpus.counts)
        self.meta = {"vocab_size": len(self.vocab), "negatives": negatives, "shared_negatives": shared_negatives}
        self.words_seen = 0   # words left after subsampling in the last epoch (gensim's "effective words")
        self._pairs_per_word = None
        self._eval = self._load_eval_sets(data_folder(eval_root, "word-eval"),
                                          eval_sets, eval_download)

    @classmethod
    def from_config(cls, cfg, eval_cfg=None):
        kwargs = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "name"}
        if eval_cfg is not None:
            kwargs.update(eval_root=eval_cfg.root, eval_sets=eval_cfg.sets, eval_download=eval_cfg.download)
        return cls(**kwargs)

    def num_examples(self, split):
        """Expected pairs an epoch (``train``): the words subsampling keeps times the pairs a kept word makes,
        measured on the first chunks, up to :data:`SAMPLE_WORDS` kept words (sentences cut the windows short: in
        the three texts of the benchmarks a kept word makes 5.2 pairs, not ``window + 1`` = 6; the learning rate
        schedule counts on this number to reach its end)."""
        if split != "train":
            return 0
        if self._pairs_per_word is None:
            rng, words, pairs = np.random.default_rng(0), 0, 0.0
            for ids, sentences in self.corpus.chunks():
                ids, sentences = subsample(ids, sentences, self.keep_prob, rng)
                words, pairs = words + len(ids), pairs + expected_pairs(sentences, self.window)
                if words >= SAMPLE_WORDS:
                    break
            self._pairs_per_word = pairs / max(words, 1)
        kept = float((self.corpus.counts * self.keep_prob).sum())
        return int(round(kept * self._pairs_per_word))

    def batches(self, split, batch_size, shuffle=True, seed=0):
        """The training pairs in batches, subsampled and windowed anew each epoch (``seed``): in the text's order
        (:func:`~zoo.data.skipgram.pairs_within`), or with ``shuffle`` shuffled within each chunk of
        ``chunk_tokens`` words. Negatives never equal their pair's context word."""
        if split != "train":
            raise KeyError("a text corpus has only a train split, not %r" % split)
        from ..ops.arrays import permutation, take  # imports mxnet, which the data modules otherwise do without
        rng = np.random.default_rng(seed)
        self.words_seen = 0
        for ids, sentences in self.corpus.chunks():
            ids, sentences = subsample(ids, sentences, self.keep_prob, rng)
            self.words_seen += len(ids)
            centers, contexts = skipgram_pairs(ids, sentences, self.window, rng)
            if shuffle:
                order = permutation(len(centers), rng)
                centers, contexts = take(centers, order), take(contexts, order)
            for start in range(0, len(centers), batch_size):
                center = centers[start:start + batch_size]
                context = contexts[start:start + batch_size]
                if self.shared_negatives:
                    yield center, context, self.sampler((self.negatives,), rng)
                else:
                    negatives = self.sampler((len(center), self.negatives), rng)
                    yield center, context, different_negatives(negatives, context, self.sampler, rng)

    def epoch_stats(self):
        return {"train.words": self.words_seen}

    def _load_eval_sets(self, root, names, allow_download):
        sets = {}
        for name in names:
            if name not in SETS:
                raise DataError("unknown evaluation set %r (eval.sets); choose from: %s" % (name, ", ".join(SETS)))
            path = locate(name, root, allow_download)
            if path is not None:
                sets[name] = read_analogies(path) if SETS[name][3] == "analogy" else read_similarity(path)
        return sets

    def eval_sets(self, final=False):
        return list(self._eval)

    def evaluation_set(self, name):
        """``(kind, items)``: ``("similarity", [(word1, word2, score)])`` or ``("analogy", [(section, a, b, c,
        d)])``."""
        return SETS[name][3], self._eval[name]

    def split_batch(self, batch, parts):
        """A batch as ``parts`` self-contained sub-batches, one a device: pairs split evenly; negatives shared by
        the batch go whole to every part, so each pair meets the same negatives as on one device."""
        return split_rows(batch, parts, whole=(2,) if self.shared_negatives else ())

    def state(self):
        return {"vocab": np.array(self.vocab.idx_to_token), "counts": self.corpus.counts}
