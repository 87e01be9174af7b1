import numpy as np
import pytest
import tensorflow as tf

from zoo.data import Pairs, addition, text, translation

LINES = [
    "Go.\tVe.", "Go.\tVete.", "Hi.\tHola.", "Run!\t¡Corre!", "Where is it?\t¿Dónde está?",
    "I'm Tom.\tSoy Tom.\tCC-BY 2.0 (France) Attribution: tatoeba.org #1 (a) & #2 (b)", "Thanks.\tGracias.",
]


def write(tmp_path, lines):
    path = tmp_path / "spa.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def decode(tensor):
    return [t.decode("utf-8") for t in tensor.numpy()]


def test_reads_two_and_three_column_lines(tmp_path):
    english, spanish = translation.read_pairs(write(tmp_path, LINES))
    assert english[5] == "I'm Tom." and spanish[5] == "Soy Tom."
    assert len(english) == len(spanish) == 7


@pytest.mark.parametrize("bad, message", [(["Go."], "spa.txt:1"), (["Go.\tVe.", "\tVe."], "spa.txt:2"), ([], "no sentence")])
def test_malformed_files_name_the_line(tmp_path, bad, message):
    with pytest.raises(ValueError, match=message):
        translation.read_pairs(write(tmp_path, bad))


def test_missing_data_names_the_paths_tried(tmp_path):
    with pytest.raises(FileNotFoundError, match="spa-eng/spa.txt"):
        translation.find_source(tmp_path)


def test_finds_spa_txt_in_a_spa_eng_folder(tmp_path):
    (tmp_path / "spa-eng").mkdir()
    (tmp_path / "spa-eng" / "spa.txt").write_text("Go.\tVe.\n")
    assert translation.find_source(tmp_path) == tmp_path / "spa-eng" / "spa.txt"


def test_split_keeps_every_translation_of_a_sentence_together():
    english = [f"sentence {i % 50}" for i in range(200)]
    spanish = [f"frase {i}" for i in range(200)]
    splits = translation.split_by_source(english, spanish, validation=0.2, test=0.2, seed=3)
    seen = {name: set(pairs.source) for name, pairs in splits.items()}
    assert not (seen["train"] & seen["test"]) and not (seen["train"] & seen["validation"])
    assert not (seen["validation"] & seen["test"])
    assert len(seen["test"]) == len(seen["validation"]) == 10
    assert sum(len(p) for p in splits.values()) == 200
    again = translation.split_by_source(english, spanish, validation=0.2, test=0.2, seed=3)
    assert again["test"].source == splits["test"].source


def test_split_fractions_are_checked():
    with pytest.raises(ValueError, match="leave some training"):
        translation.split_by_source(["a"], ["b"], validation=0.5, test=0.5)


def test_references_group_all_targets_of_a_source():
    sources, references = Pairs(["Go.", "Hi.", "Go."], ["Ve.", "Hola.", "Vete."]).references()
    assert sources == ["Go.", "Hi."] and references == [["Ve.", "Vete."], ["Hola."]]


def test_standardization_splits_punctuation_and_keeps_target_case():
    src = decode(translation.standardize_source(tf.constant(["Where's Tom?", "I’m OK, thanks!"])))
    assert src == ["where's tom ?", "i'm ok , thanks !"]
    tgt = decode(translation.standardize_target(tf.constant(["¿Dónde está Tom?"])))
    assert tgt == ["¿ Dónde está Tom ?"]
    assert decode(translation.standardize_source(tf.constant([b"caf\xe9"]))) == ["caf \ufffd"]  # invalid UTF-8 -> U+FFFD, a symbol token


def test_detokenize_undoes_the_punctuation_split():
    out = decode(translation.detokenize(tf.constant(["¿ Dónde está Tom ?", "Hola , Tom .", "¡ Corre !"])))
    assert out == ["¿Dónde está Tom?", "Hola, Tom.", "¡Corre!"]


def test_sequence_vectorizer_reserves_start_and_end():
    vectorizer = text.make_sequence_vectorizer(["b a a", "a c"], 10, None)
    vocabulary = vectorizer.get_vocabulary()
    assert vocabulary[:5] == ["", "[UNK]", "[start]", "[end]", "a"]
    assert vocabulary[text.START_ID] == "[start]" and vocabulary[text.END_ID] == "[end]"
    ids = text.encode_targets(vectorizer, ["a b", "c c c c"], 3)
    b, c = vocabulary.index("b"), vocabulary.index("c")
    np.testing.assert_array_equal(ids, [[2, 4, b, 3, 0], [2, c, c, c, 3]])
    with pytest.raises(ValueError, match="vocab_size"):
        text.make_sequence_vectorizer(["a"], 4, None)


def test_pairs_dataset_shifts_targets_and_cuts_each_batch():
    source = np.array([[5, 6, 0, 0], [7, 0, 0, 0], [5, 5, 5, 5]])
    target = np.array([[2, 4, 3, 0, 0], [2, 4, 4, 3, 0], [2, 3, 0, 0, 0]])
    batches = list(text.pairs_dataset(source, target, batch_size=2))
    assert len(batches) == 2
    inputs, target_out = batches[0]
    np.testing.assert_array_equal(inputs["source"], [[5, 6], [7, 0]])
    np.testing.assert_array_equal(inputs["target_in"], [[2, 4, 3], [2, 4, 4]])
    np.testing.assert_array_equal(target_out, [[4, 3, 0], [4, 4, 3]])
    inputs, target_out = batches[1]
    np.testing.assert_array_equal(inputs["source"], [[5, 5, 5, 5]])
    np.testing.assert_array_equal(target_out, [[3]])


def test_addition_problems_are_right_disjoint_and_seeded():
    splits = addition.problems(train=300, validation=50, test=100, max_value=30, seed=1)
    for pairs in splits.values():
        for src, tgt in zip(pairs.source, pairs.target):
            a, b = map(int, src.split("+"))
            assert int(tgt) == a + b and 0 <= a < 30 and 0 <= b < 30
    assert not set(splits["test"].source) & set(splits["train"].source)
    assert not set(splits["validation"].source) & set(splits["train"].source)
    assert (len(splits["train"]), len(splits["validation"]), len(splits["test"])) == (300, 50, 100)
    assert addition.problems(train=300, validation=50, test=100, max_value=30, seed=1)["test"] == splits["test"]
    with pytest.raises(ValueError, match="only 900 exist"):
        addition.problems(train=900, validation=1, test=1, max_value=30)
