"""zoo/export/tokenizer.py, the standalone tokenizer beside every ONNX export, against TextVectorization."""

import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from zoo.data import imdb, text  # noqa: E402
from zoo.export.tokenizer import Tokenizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
# The staged data: shared/data beside the checkout (as CI lays it) or in it, or $ZOO_DATA_DIR.
DATA = next((d for d in (ROOT.parent / "shared" / "data", ROOT / "shared" / "data", Path(os.environ.get("ZOO_DATA_DIR", "/nonexistent")))
             if (d / "imdb").is_dir()), None)
SAVED = ROOT / "saved_models" / "imdb_sentiment_fast"

# Hand-made text where lower-casing, Unicode classes or UTF-8 repair could differ: Greek final sigma,
# Turkish dotted I, title-case digraphs, ligatures, sharp s, marks, digits of other scripts, an HTML
# break with odd spacing, control characters, and invalid UTF-8 (lone, truncated, overlong, surrogate).
ODD = [
    "ΣΑΣ ΟΔΟΣ İstanbul ǅemal ﬁne Straße ΌΣ. café naïve résumé".encode(),
    "İİ Σ'Σ ς ᾼ ß ẞ ٣٤ ½ Ⅻ 漢字 한국어 e\u0301 \u200b\u00a0x\tab\u000bcd".encode(),
    "one<br/>two<br   />three<BR>four<br\t/>five<br\n>six".encode(),
    b"\xff\xfe caf\xc3 \xe9 \xed\xa0\x80 \xf0\x9f\x98 end \xc0\xaf\xe0\x80\xaf\xf4\x90\x80\x80 x \x80abc",
    b"",
    b"   ",
    "don't it's 'quoted' rock'n'roll 90's".encode(),
]


def test_reviews(count):
    """The first ``count`` IMDB test reviews as raw bytes (skips without the staged data)."""
    if DATA is None:
        pytest.skip("no staged IMDB data (shared/data beside the checkout, or ZOO_DATA_DIR)")
    records = imdb._records_from_archive(imdb.source(str(DATA)))
    reviews = (raw for groups, raw in records if len(groups) == 4 and groups[0] == "test")
    return list(itertools.islice(reviews, count))


test_reviews.__test__ = False  # a helper, not a test


def with_invalid_bytes(raws):
    """Each text with invalid UTF-8 spliced into its middle."""
    return [r[: len(r) // 2] + b" \xff\xfe caf\xc3 \xe9\xed\xa0\x80 " + r[len(r) // 2 :] for r in raws]


def assert_same_ids(vocabulary, texts):
    vectorizer = keras_vectorizer(vocabulary)
    tokenizer = Tokenizer({"kind": "words", "tokens": vocabulary, "max_length": 10**6})
    for start in range(0, len(texts), 512):
        chunk = texts[start : start + 512]
        ids = vectorizer(tf.constant(chunk)).numpy()
        for row, raw in zip(ids, chunk):
            assert tokenizer.encode(raw) == row[row > 0].tolist(), raw[:300]


def keras_vectorizer(vocabulary):
    import keras

    return keras.layers.TextVectorization(standardize=text.standardize_text, vocabulary=vocabulary[2:])


def test_standardization_and_ids_equal_text_vectorization_on_imdb_reviews_and_odd_text():
    raws = test_reviews(400)
    vocabulary = text.make_vectorizer([r.decode("utf-8", "replace") for r in raws], 3000).get_vocabulary()
    assert any(any(b > 127 for b in r) for r in raws)  # the sample holds non-ASCII reviews
    assert_same_ids(vocabulary, raws + with_invalid_bytes(raws[:100]) + ODD)


def test_python_word_characters_are_exactly_unicode_letters_and_digits():
    import re
    import unicodedata

    from zoo.export import tokenizer

    kept = {c for c in map(chr, range(sys.maxunicode + 1)) if unicodedata.category(c)[0] in "LN" or c in "' "}
    other = {c for c in map(chr, range(sys.maxunicode + 1)) if tokenizer._OTHER.fullmatch(c)}
    assert len(kept) + len(other) == sys.maxunicode + 1 and not kept & other
    assert re.fullmatch(r"\w", "_")  # why "_" is listed on its own


def test_batch_pads_on_the_right_and_truncates_to_max_length():
    tokenizer = Tokenizer({"kind": "words", "tokens": ["", "[UNK]", "good", "film"], "max_length": 3})
    ids, lengths = tokenizer.batch(["Good film, good FILM!", "", "zzz film"])
    assert ids.dtype == np.int64 and lengths.dtype == np.int64
    assert ids.tolist() == [[2, 3, 2], [0, 0, 0], [1, 3, 0]] and lengths.tolist() == [3, 0, 2]
    assert tokenizer.batch([""])[0].shape == (1, 1)  # time >= 1 even for an empty batch of one


def test_characters_drop_unknown_and_repair_invalid_utf8():
    tokenizer = Tokenizer({"kind": "characters", "characters": ["\n", " ", "a", "b", "\ufffd"]})
    assert tokenizer.encode(b"ab\xffz a\n") == [3, 4, 5, 2, 3, 1]
    assert tokenizer.decode([3, 0, 4]) == "ab"


def test_tokenizer_runs_without_tensorflow_or_zoo(tmp_path):
    shutil.copy(ROOT / "zoo" / "export" / "tokenizer.py", tmp_path / "tokenizer.py")
    script = ("import sys\nfrom tokenizer import Tokenizer\n"
              "t = Tokenizer({'kind': 'words', 'tokens': ['', '[UNK]', 'film'], 'max_length': 5})\n"
              "print(t.encode(b'Film \\xff<br />FILM zzz'))\n"
              "assert not {'tensorflow', 'zoo', 'keras', 'numpy'} & set(sys.modules)\n")
    (tmp_path / "use.py").write_text(script)
    run = subprocess.run([sys.executable, "-E", "-s", "use.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[2, 2, 1]"


@pytest.mark.slow  # 1-5 minutes: all 25,000 test reviews through TextVectorization
def test_every_imdb_test_review_tokenizes_as_the_shipped_savedmodel():
    from zoo.export.restore import _token_vocabulary

    if not (SAVED / "saved_model.pb").is_file():
        pytest.skip("no shipped imdb_sentiment_fast")
    vocabulary = _token_vocabulary(tf.saved_model.load(str(SAVED)))
    raws = test_reviews(25000)
    assert len(raws) == 25000
    assert_same_ids(vocabulary, raws + with_invalid_bytes(raws[:1000]) + ODD)
