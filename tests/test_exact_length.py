import numpy as np
import pytest

from zoo.experiments import exact_length as xl


def test_exact_length_keeps_only_long_enough_and_cuts_from_the_start():
    ids, index = xl.exact_length([[5, 6, 7, 8], [9], [1, 2, 3], []], 3, side="start")
    np.testing.assert_array_equal(ids, [[5, 6, 7], [1, 2, 3]])
    np.testing.assert_array_equal(index, [0, 2])
    assert ids.dtype == np.int32


def test_exact_length_cuts_from_the_end():
    ids, index = xl.exact_length([[5, 6, 7, 8], [9], [1, 2, 3]], 3, side="end")
    np.testing.assert_array_equal(ids, [[6, 7, 8], [1, 2, 3]])
    np.testing.assert_array_equal(index, [0, 2])


def test_exact_length_does_not_pad_or_drop_zero_ids():
    # id 0 inside a sequence is kept as it is: nothing here is padding.
    ids, _ = xl.exact_length([np.array([0, 4, 0, 2])], 2, side="end")
    np.testing.assert_array_equal(ids, [[0, 2]])


def test_exact_length_with_nothing_long_enough_is_empty():
    ids, index = xl.exact_length([[1], [2, 3]], 5)
    assert ids.shape == (0, 5) and index.shape == (0,)


@pytest.mark.parametrize("bad", [{"length": 0}, {"length": 2.5}, {"side": "middle"}])
def test_exact_length_rejects_bad_arguments(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        xl.exact_length([[1, 2, 3]], **{"length": 2, **bad})


class _Prepared:
    tokens = {split: [np.arange(1, n + 1) for n in (2, 5, 8, 3, 9)] for split in ("train", "validation", "test")}
    labels = {split: np.array([0, 1, 0, 1, 1], np.float32) for split in ("train", "validation", "test")}


def test_strict_protocol_keeps_the_same_reviews_at_every_length():
    settings = xl.ExactLengthSettings(strict_min_tokens=8)
    for length in (2, 8):
        data = xl.protocol_data(_Prepared(), settings, "strict", length, "end")
        ids, labels = data["train"]
        np.testing.assert_array_equal(ids, [np.arange(9 - length, 9), np.arange(10 - length, 10)])
        np.testing.assert_array_equal(labels, [0, 1])


def test_per_length_protocol_keeps_every_review_long_enough():
    data = xl.protocol_data(_Prepared(), xl.ExactLengthSettings(), "per_length", 3, "start")
    ids, labels = data["test"]
    np.testing.assert_array_equal(ids, [[1, 2, 3]] * 4)
    np.testing.assert_array_equal(labels, [1, 0, 1, 1])


def test_review_caps_take_a_seeded_subsample():
    settings = xl.ExactLengthSettings(train_reviews=2)
    first = xl.protocol_data(_Prepared(), settings, "per_length", 3, "start")["train"]
    again = xl.protocol_data(_Prepared(), settings, "per_length", 3, "start")["train"]
    assert len(first[0]) == 2
    np.testing.assert_array_equal(first[1], again[1])


def test_strict_protocol_rejects_lengths_above_its_minimum():
    with pytest.raises(ValueError, match="strict"):
        xl.protocol_data(_Prepared(), xl.ExactLengthSettings(strict_min_tokens=5), "strict", 8, "end")


def test_the_classifier_makes_no_mask():
    model = xl.unmasked_classifier("elman", vocab_size=10, embedding_dim=3, units=2)
    ids = np.array([[0, 3, 4], [5, 6, 0]], np.int32)  # id 0 is an ordinary token here
    assert model.get_layer("embedding").compute_mask(ids) is None
    assert model(ids).shape == (2, 1)


def test_a_fixed_embedding_is_not_trained():
    matrix = np.arange(30, dtype=np.float32).reshape(10, 3)
    model = xl.unmasked_classifier("gru", vocab_size=10, embedding_dim=3, units=2, embedding=matrix)
    np.testing.assert_array_equal(model.get_layer("embedding").get_weights()[0], matrix)
    assert not model.get_layer("embedding").trainable_weights


def test_punctuation_marks_are_tokens():
    import tensorflow as tf

    from zoo.data.text import standardize_with_punctuation

    out = standardize_with_punctuation(tf.constant(["Great film!<br />Really... don't"])).numpy()[0].decode()
    assert out.split() == ["great", "film", "!", "really", ".", ".", ".", "don't"]


def _runs(cell, length, accuracies, test_reviews=1000):
    return [{"cell": cell, "length": length, "test_accuracy": a, "test_reviews": test_reviews} for a in accuracies]


def test_findings_name_the_lengths_where_the_simple_rnn_falls_behind():
    by_length = {
        10: {"elman": _runs("elman", 10, [0.70, 0.71, 0.69]), "gru": _runs("gru", 10, [0.70, 0.72, 0.70])},
        100: {"elman": _runs("elman", 100, [0.60, 0.61, 0.59]), "gru": _runs("gru", 100, [0.80, 0.81, 0.79])},
        1000: {"elman": _runs("elman", 1000, [0.55, 0.56, 0.54]), "gru": _runs("gru", 1000, [0.80, 0.82, 0.81])},
    }
    [text] = xl._gap_findings("Table", by_length)
    assert "at N = 100, 1000." in text and "holds here from N = 100 on" in text and "10: -0.7 points (gru)" in text


def test_findings_say_when_a_table_is_at_chance():
    by_length = {10: {"elman": _runs("elman", 10, [0.50, 0.52]), "gru": _runs("gru", 10, [0.51, 0.49])}}
    [text] = xl._gap_findings("Table", by_length)
    assert "at chance" in text and "holds" not in text


def test_findings_do_not_test_a_gap_with_one_seed():
    by_length = {10: {"elman": _runs("elman", 10, [0.6]), "gru": _runs("gru", 10, [0.9])}}
    [text] = xl._gap_findings("Table", by_length)
    assert "no gap is tested" in text and "Too few seeds" in text


def test_plateau_findings_count_points_at_chance_that_stopped_early():
    settings = xl.ExactLengthSettings(cells=("elman", "gru"), patience=2)
    results = [{"cell": "elman", "test_accuracy": 0.51, "test_reviews": 1000, "epochs": 3},
               {"cell": "elman", "test_accuracy": 0.52, "test_reviews": 1000, "epochs": 8},
               {"cell": "gru", "test_accuracy": 0.80, "test_reviews": 1000, "epochs": 10}]
    [text] = xl._plateau_findings(results, settings)
    assert text.startswith("2 of the 3 points ended at chance") and "elman 2/2, gru 0/1" in text
    assert "1 of those stopped after 3 epochs" in text


def test_an_untested_length_does_not_break_the_verdict():
    by_length = {
        10: {"elman": _runs("elman", 10, [0.70, 0.71]), "gru": _runs("gru", 10, [0.70, 0.72])},
        100: {"elman": _runs("elman", 100, [0.60, 0.61]), "gru": _runs("gru", 100, [0.80, 0.81])},
        500: {"elman": _runs("elman", 500, [0.60, 0.61]), "gru": _runs("gru", 500, [0.80])},
        1000: {"elman": _runs("elman", 1000, [0.55, 0.56]), "gru": _runs("gru", 1000, [0.80, 0.82])},
    }
    [text] = xl._gap_findings("Table", by_length)
    assert "holds here from N = 100 on (untested at N = 500)." in text
