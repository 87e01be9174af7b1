import numpy as np
import pytest

from zoo.data import shakespeare


def test_stream_batches_continue_each_stream_across_batches():
    ids = np.arange(1, 26)  # 25 ids -> 2 streams of 12 (+1 for the shifted targets)
    inputs, targets = shakespeare.stream_batches(ids, batch_size=2, seq_len=5)
    np.testing.assert_array_equal(inputs, [[[1, 2, 3, 4, 5], [13, 14, 15, 16, 17]], [[6, 7, 8, 9, 10], [18, 19, 20, 21, 22]]])
    np.testing.assert_array_equal(targets, inputs + 1)


def test_stream_batches_rejects_text_too_short():
    with pytest.raises(ValueError, match="too few"):
        shakespeare.stream_batches(np.arange(10), batch_size=4, seq_len=5)


def test_vocabulary_reserves_zero_and_round_trips():
    vocab = shakespeare.CharVocabulary.from_text("hello\n")
    assert len(vocab) == 6 and vocab.chars == ["\n", "e", "h", "l", "o"]
    ids = vocab.encode("hello?")
    assert ids.tolist() == [3, 2, 4, 4, 5, 0]  # unknown '?' -> 0
    assert vocab.decode(ids) == "hello"


def test_speeches_pairs_speaker_with_text():
    text = "First Citizen:\nBefore we proceed.\nHear me.\n\nAll:\nSpeak, speak.\n\nFIRST CITIZEN:\nYou are.\n"
    assert shakespeare.speeches(text) == [
        ("First Citizen", "Before we proceed.\nHear me.\n"),
        ("All", "Speak, speak.\n"),
        ("FIRST CITIZEN", "You are.\n"),
    ]


def test_missing_file_names_the_paths_tried(tmp_path):
    with pytest.raises(FileNotFoundError, match="tinyshakespeare/input.txt"):
        shakespeare.find_input(tmp_path)


def test_finds_file_folder_and_nested_layouts(tmp_path):
    nested = tmp_path / "tinyshakespeare" / "input.txt"
    nested.parent.mkdir()
    nested.write_text("x")
    assert shakespeare.find_input(tmp_path) == nested
    assert shakespeare.find_input(nested.parent) == nested
    assert shakespeare.find_input(nested) == nested


def test_a_file_that_is_not_tiny_shakespeare_is_a_clear_error(tmp_path):
    (tmp_path / "input.txt").write_text("not shakespeare\n" * 10)
    with pytest.raises(ValueError, match="is not the Tiny Shakespeare input.txt"):
        shakespeare.load(tmp_path, tfds_dir=tmp_path / "tfds")
