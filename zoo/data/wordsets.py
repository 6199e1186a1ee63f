"""Word-embedding evaluation sets: WordSim-353, SimLex-999 (similarity, ``word1<TAB>word2<TAB>score`` after
``#`` comment lines) and the Google analogy questions (``: section`` lines, then four words a line)."""
import logging
import os

from .download import DataError, download, extract_zip

log = logging.getLogger(__name__)

_GENSIM_DATA = "https://raw.githubusercontent.com/RaRe-Technologies/gensim/develop/gensim/test/test_data/"
# name -> (file, url, sha256 of the file, kind)
SETS = {
    "wordsim353": ("wordsim353.tsv", _GENSIM_DATA + "wordsim353.tsv",
                   "f92a022fc2537793a15bc3a8c162ebcd74990e033a228bb6388cb71e4c0b1e1d", "similarity"),
    "simlex999": ("simlex999.txt", "https://www.cl.cam.ac.uk/~fh295/SimLex-999.zip", None, "similarity"),
    "analogy": ("questions-words.txt", _GENSIM_DATA + "questions-words.txt",
                "8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36", "analogy"),
}
_SIMLEX_ZIP_SHA1 = "0d3afe35b89d60acf11c28324ac7be10253fda39"  # the official zip, as gluonnlp checks it


def _lines(path):
    """``(line number, text)`` of a UTF-8 file; bytes that are not UTF-8 are an error naming the line."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                yield lineno, raw.decode("utf-8")
            except UnicodeDecodeError:
                raise DataError("%s:%d: not UTF-8 text" % (path, lineno)) from None


def read_similarity(path):
    """``[(word1, word2, score)]`` from a similarity file; ``#`` lines are comments."""
    pairs = []
    for lineno, line in _lines(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        try:
            pairs.append((fields[0].lower(), fields[1].lower(), float(fields[2])))
        except (IndexError, ValueError):
            raise DataError("%s:%d: expected word1<TAB>word2<TAB>score" % (path, lineno)) from None
    return pairs


def read_analogies(path):
    """``[(section, a, b, c, d)]`` from ``questions-words.txt`` (a is to b as c is to d)."""
    questions, section = [], ""
    for lineno, line in _lines(path):
        line = line.strip()
        if not line:
            continue
        if line.startswith(":"):
            section = line[1:].strip()
            continue
        words = line.lower().split()
        if len(words) != 4:
            raise DataError("%s:%d: expected four words" % (path, lineno))
        questions.append((section, *words))
    return questions


def locate(name, root, allow_download=True):
    """Path of evaluation set ``name`` in ``root``, downloaded (and checked) when absent; None when it can be
    neither read nor downloaded (one warning line says why)."""
    filename, url, sha256, _ = SETS[name]
    path = os.path.join(root, filename)
    if os.path.exists(path):
        return path
    if not allow_download:
        log.warning("evaluation set %s skipped: %s not found (eval.download is off)", name, path)
        return None
    try:
        if name == "simlex999":
            _fetch_simlex(url, root, path)
        else:
            download(url, path, sha256, algorithm="sha256", progress=False)
    except (DataError, OSError) as err:
        log.warning("evaluation set %s skipped: %s not found and not downloadable (%s)", name, path, err)
        return None
    return path


def _fetch_simlex(url, root, path):
    """The official SimLex-999 zip, rewritten into the ``word1<TAB>word2<TAB>score`` format."""
    archive = download(url, os.path.join(root, "SimLex-999.zip"), _SIMLEX_ZIP_SHA1, algorithm="sha1",
                       progress=False)
    folder = extract_zip(archive, os.path.join(root, ".simlex"), subdir="SimLex-999")
    rows = []
    with open(os.path.join(folder, "SimLex-999.txt"), encoding="utf-8") as f:
        next(f)  # header: word1 word2 POS SimLex999 ...
        for line in f:
            fields = line.rstrip("\n").split("\t")
            rows.append("%s\t%s\t%s" % (fields[0], fields[1], fields[3]))
    with open(path + ".part", "w", encoding="utf-8") as f:
        f.write("# SimLex-999 (Hill et al., 2015), word1<TAB>word2<TAB>score\n" + "\n".join(rows) + "\n")
    os.replace(path + ".part", path)
