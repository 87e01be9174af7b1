import numpy as np

from zoo.embeddings import tokenize, word2vec_matrix

TEXTS = ["A good film.<br />A great film!", "a bad film, an awful film", "good great good great"] * 20
VOCAB = ["", "[UNK]", "film", "good", "great", "a", "bad", "awful", "an", "unseen"]


def test_tokens_match_the_vectorizer_standardization():
    assert tokenize(["A good film.<br />Don't!"]) == [["a", "good", "film", "don't"]]


def test_word2vec_matrix_shape_padding_and_reproducibility():
    matrix, found = word2vec_matrix(TEXTS, VOCAB, dim=8, epochs=3, min_count=1, seed=0)
    assert matrix.shape == (10, 8) and matrix.dtype == np.float32
    assert found == 7  # every real word but "unseen"
    assert not matrix[0].any() and np.isfinite(matrix).all()
    again, _ = word2vec_matrix(TEXTS, VOCAB, dim=8, epochs=3, min_count=1, seed=0)
    np.testing.assert_array_equal(matrix, again)
    other, _ = word2vec_matrix(TEXTS, VOCAB, dim=8, epochs=3, min_count=1, seed=1)
    assert not np.array_equal(matrix, other)
