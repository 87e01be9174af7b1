import importlib.util
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from zoo.data import Pairs
from zoo.data import files
from zoo.data.files import DataError


def write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def jsonl(path, rows):
    return write(path, "".join(json.dumps(row) + "\n" for row in rows))


# Formats


def test_csv_reads_quoted_fields_with_commas_quotes_and_newlines(tmp_path):
    path = write(tmp_path / "t.csv", 'text,label\n"Hello, ""world""\nsecond line",greet\nplain,bye\r\n')
    data = files.read_labelled(path)
    assert data.texts == ['Hello, "world"\nsecond line', "plain"]
    assert data.labels == ["greet", "bye"]
    assert data.origins == [f"{path}, line 2", f"{path}, line 4"]  # where each row starts


def test_csv_with_byte_order_mark_and_other_columns(tmp_path):
    path = write(tmp_path / "t.csv", "\ufeffid,review,stars\n1,good,5\n2,bad,1\n")
    data = files.read_labelled(path, text_column="review", label_column="stars")
    assert (data.texts, data.labels) == (["good", "bad"], ["5", "1"])


def test_tsv_with_header(tmp_path):
    path = write(tmp_path / "t.tsv", "label\ttext\nspam\tbuy now, cheap\nham\tsee you at 5\n")
    data = files.read_labelled(path)
    assert (data.texts, data.labels) == (["buy now, cheap", "see you at 5"], ["spam", "ham"])


def test_jsonl_keeps_integer_labels(tmp_path):
    path = jsonl(tmp_path / "t.jsonl", [{"text": "a", "label": 1}, {"text": "b", "label": 0, "extra": [1]}])
    data = files.read_labelled(path)
    assert (data.texts, data.labels) == (["a", "b"], [1, 0])


def test_unknown_suffix_is_told_apart_by_content(tmp_path):
    assert files.file_format(jsonl(tmp_path / "a.data", [{"text": "x", "label": "y"}])) == "jsonl"
    assert files.file_format(write(tmp_path / "b.data", "text\tlabel\nx\ty\n")) == "tsv"
    assert files.file_format(write(tmp_path / "c.data", "text,label\nx,y\n")) == "csv"
    assert files.file_format(tmp_path) == "folder"


def test_class_folders_give_folder_names_as_labels(tmp_path):
    write(tmp_path / "pos" / "1.txt", "great")
    write(tmp_path / "pos" / "sub" / "2.txt", "fine")
    write(tmp_path / "neg" / "3.txt", "awful")
    write(tmp_path / "neg" / "notes.md", "ignored: not .txt")
    write(tmp_path / ".hidden" / "4.txt", "ignored: hidden folder")
    write(tmp_path / "pos" / ".ipynb_checkpoints" / "1.txt", "ignored: hidden folder")
    write(tmp_path / "pos" / ".5.txt", "ignored: hidden file")
    data = files.read_labelled(tmp_path)
    assert (data.texts, data.labels) == (["awful", "great", "fine"], ["neg", "pos", "pos"])


def test_numeric_targets_for_regression(tmp_path):
    path = write(tmp_path / "t.csv", "text,label\na,1.5\nb,-2\nc, 3e1 \n")
    assert files.read_labelled(path, numeric=True).labels == [1.5, -2.0, 30.0]


def test_text_file_and_text_folder(tmp_path):
    assert files.read_text(write(tmp_path / "a.txt", "To be,\nor not.")) == "To be,\nor not."
    write(tmp_path / "book" / "2.txt", "second\n")
    write(tmp_path / "book" / "1.txt", "first")
    assert files.read_text(tmp_path / "book") == "first\nsecond\n"


def test_tab_pairs_ignore_extra_columns_and_keep_quotes(tmp_path):
    path = write(tmp_path / "p.tsv", 'Go.\tVe.\tCC-BY 2.0\n"Hi," he said.\t"Hola", dijo.\n\n')
    pairs = files.read_pairs(path)
    assert (pairs.source, pairs.target) == (["Go.", '"Hi," he said.'], ["Ve.", '"Hola", dijo.'])


def test_pairs_from_named_csv_and_jsonl_columns(tmp_path):
    path = write(tmp_path / "p.csv", 'date,iso\n"March 3, 1999",1999-03-03\n')
    assert files.read_pairs(path, "date", "iso") == Pairs(["March 3, 1999"], ["1999-03-03"])
    path = jsonl(tmp_path / "p.jsonl", [{"source": "abc", "target": "cba"}])
    assert files.read_pairs(path) == Pairs(["abc"], ["cba"])


# Splits


def test_split_sizes_are_the_rounded_fractions_and_keep_file_order():
    parts = files.split(list(range(100)), validation_split=0.1, test_split=0.2, seed=3)
    assert [len(parts[k]) for k in files.SPLITS] == [70, 10, 20]
    assert sorted(sum(parts.values(), [])) == list(range(100))
    assert all(part == sorted(part) for part in parts.values())


def test_split_is_deterministic_per_seed():
    a, b, c = (files.split(list(range(50)), seed=s) for s in (1, 1, 2))
    assert a == b and a != c


def test_split_text_is_cut_in_order():
    assert files.split("abcdefghij", validation_split=0.2, test_split=0.1) == {
        "train": "abcdefg", "validation": "hi", "test": "j"}


def test_split_stratified_keeps_class_shares_and_a_rare_class_in_training():
    labels = ["a"] * 80 + ["b"] * 18 + ["c"] * 2
    parts = files.split(labels, 0.1, 0.1, seed=0, stratify=labels)
    assert [len(parts[k]) for k in files.SPLITS] == [80, 10, 10]
    assert parts["validation"].count("a") == 8 and parts["test"].count("a") == 8
    assert parts["train"].count("c") == 2


@pytest.mark.parametrize("seed", range(20))
def test_split_stratified_trains_on_every_label_even_with_large_fractions(seed):
    labels = [str(i) for i in range(6)] + ["a", "a", "b", "b", "b"]  # six labels of one row each
    parts = files.split(labels, 0.45, 0.45, seed=seed, stratify=labels)
    assert set(parts["train"]) == set(labels) and sum(map(len, parts.values())) == len(labels)


def test_split_groups_keep_each_source_in_one_split():
    pairs = Pairs([f"s{i % 20}" for i in range(100)], [str(i) for i in range(100)])
    parts = files.split(pairs, 0.1, 0.1, seed=0, groups=pairs.source)
    seen = [set(parts[k].source) for k in files.SPLITS]
    assert [len(s) for s in seen] == [16, 2, 2] and not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    assert sum(len(parts[k]) for k in files.SPLITS) == 100


def test_split_rejects_fractions_leaving_no_training_data():
    with pytest.raises(ValueError, match=r"validation_split \+ test_split must leave data to train on; got 0.5 \+ 0.5"):
        files.split([1, 2, 3], 0.5, 0.5)


def test_load_draws_missing_splits_and_reads_given_files(tmp_path):
    rows = "".join(f"text {i},{'ab'[i % 2]}\n" for i in range(40))
    data = write(tmp_path / "d.csv", "text,label\n" + rows)
    test = write(tmp_path / "test.csv", "text,label\nx,a\ny,b\nz,b\n")
    loaded = files.load(files.read_labelled, data, test=test, validation_split=0.25, seed=0)
    assert [len(loaded[k]) for k in files.SPLITS] == [30, 10, 3]
    assert loaded["test"].texts == ["x", "y", "z"]
    assert loaded.label_names() == ["a", "b"]
    record = loaded.describe()
    assert record["rows"] == {"train": 30, "validation": 10, "test": 3}
    assert record["labels"]["test"] == {"a": 1, "b": 2} and record["labels"]["train"] == {"a": 15, "b": 15}
    assert record["files"]["data"]["name"] == "d.csv" and record["files"]["data"]["format"] == "csv"
    assert record["files"]["test"]["sha256"] == files.sha256(test)
    assert record["drawn"] == {"from": str(data), "seed": 0, "validation_split": 0.25, "test_split": 0.0}
    json.dumps(record)  # goes into metrics.json as is


def test_load_text_and_pairs(tmp_path):
    text = files.load(files.read_text, write(tmp_path / "t.txt", "x" * 100), validation_split=0.1, test_split=0.05)
    assert text.describe()["characters"] == {"train": 85, "validation": 10, "test": 5}
    pairs = files.load(files.read_pairs, write(tmp_path / "p.tsv", "".join(f"{i}\t{i * 2}\n" for i in range(20))))
    assert [len(pairs[k]) for k in files.SPLITS] == [16, 2, 2] and "labels" not in pairs.describe()


def test_folder_digest_changes_with_any_file(tmp_path):
    write(tmp_path / "a" / "1.txt", "one")
    before = files.digest(tmp_path)
    write(tmp_path / "a" / "1.txt", "one!")
    assert files.digest(tmp_path) != before


def test_label_names_numeric_order_and_ids():
    assert files.label_names(["10", "2", "1", "2"]) == ["1", "2", "10"]
    assert files.label_names([3, 1, 2]) == ["1", "2", "3"]
    assert files.label_names(["b", "a", "10"]) == ["10", "a", "b"]
    assert files.label_ids([10, "2", 1], ["1", "2", "10"]).tolist() == [2, 1, 0]


def test_reading_does_not_import_tensorflow(tmp_path):
    path = write(tmp_path / "t.csv", "text,label\na,x\nb,y\n")
    code = f"import sys; from zoo.data import files; files.read_labelled({str(path)!r}); print('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


# Bad data: one line naming the file, the line, what is wrong and what is accepted.


def error(func, *args, **kwargs):
    with pytest.raises(DataError) as caught:
        func(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_missing_column_lists_the_columns(tmp_path):
    path = write(tmp_path / "t.csv", "review,stars\ngood,5\n")
    assert error(files.read_labelled, path) == (
        f"{path}: no column 'text' (choose another with --text-column); the columns are: 'review', 'stars'.")
    assert error(files.read_labelled, path, text_column="review") == (
        f"{path}: no column 'label' (choose another with --label-column); the columns are: 'review', 'stars'.")
    path = write(tmp_path / "p.csv", "a,b\nx,y\n")
    assert "no column 'source' (choose another with --source-column)" in error(files.read_pairs, path)


def test_missing_key_in_a_json_line(tmp_path):
    path = jsonl(tmp_path / "t.jsonl", [{"text": "a", "label": "x"}, {"text": "b"}])
    assert error(files.read_labelled, path) == (
        f"{path}, line 2: no 'label' key (the label, --label-column); this line has: 'text'.")


@pytest.mark.parametrize("content", ["", "  \n\n", "\ufeff"])
def test_empty_file(tmp_path, content):
    path = write(tmp_path / "t.csv", content)
    assert error(files.read_labelled, path) == f"{path}: the file is empty; expected UTF-8 text."
    assert error(files.read_text, path) == f"{path}: the file is empty; expected UTF-8 text."


def test_header_without_rows(tmp_path):
    path = write(tmp_path / "t.csv", "text,label\n")
    assert error(files.read_labelled, path) == (
        f"{path}: a header but no rows; expected a header row, then one row per example.")


def test_empty_text_and_label_cells_name_the_line(tmp_path):
    path = write(tmp_path / "t.csv", 'text,label\n"multi\nline",a\n  ,b\n')
    assert error(files.read_labelled, path) == (
        f"{path}, line 4: the text ('text') is empty; every row needs a non-empty text.")
    path = write(tmp_path / "u.csv", "text,label\nfine,a\nalso fine,\n")
    assert error(files.read_labelled, path) == (
        f"{path}, line 3: the label ('label') is empty; every row needs a non-empty label.")
    path = write(tmp_path / "p.tsv", "a\tb\n\tc\n")
    assert error(files.read_pairs, path) == (
        f"{path}, line 2: the source (column 1) is empty; each line needs a non-empty source and target.")


def test_row_with_extra_fields_hints_at_quoting(tmp_path):
    path = write(tmp_path / "t.csv", "text,label\nhello, world,a\n")
    assert error(files.read_labelled, path) == (
        f'{path}, line 2: 3 field(s) but the header has 2; quote fields that hold a comma or a newline ("...", '
        "inner quotes doubled).")


def test_unclosed_quote(tmp_path):
    path = write(tmp_path / "t.csv", 'text,label\n"open,a\nb,c\n')
    assert error(files.read_labelled, path).startswith(f"{path}, line 3: not valid CSV (unexpected end of data)")


def test_invalid_json_line(tmp_path):
    path = write(tmp_path / "t.jsonl", '{"text": "a", "label": "x"}\n{"text": oops}\n')
    assert error(files.read_labelled, path) == (
        f"{path}, line 2: not valid JSON (Expecting value, column 10); JSON Lines holds one JSON object per line.")


def test_label_of_the_wrong_type(tmp_path):
    path = jsonl(tmp_path / "t.jsonl", [{"text": "a", "label": 1.5}])
    assert error(files.read_labelled, path) == (
        f"{path}, line 1: the label 1.5 is a float; labels are strings or integers (or numbers with --head regression).")
    path = write(tmp_path / "r.csv", "text,label\na,1\nb,lots\n")
    assert error(files.read_labelled, path, numeric=True) == (
        f"{path}, line 3: the target 'lots' is not a finite number; a regression head takes a number in every label "
        "cell.")


def test_invalid_utf8_names_file_line_and_byte(tmp_path):
    path = write(tmp_path / "t.csv", b"text,label\nok,a\ncaf\xe9,b\n")
    assert error(files.read_labelled, path) == (
        f"{path}, line 3: not valid UTF-8 (byte 0xe9 at column 4); save the file as UTF-8.")
    write(tmp_path / "book" / "a.txt", "fine\n")
    bad = write(tmp_path / "book" / "b.txt", b"\n\n\xff")
    assert error(files.read_text, tmp_path / "book") == (
        f"{bad}, line 3: not valid UTF-8 (byte 0xff at column 1); save the file as UTF-8.")


def test_single_class(tmp_path):
    path = write(tmp_path / "t.csv", "text,label\na,x\nb,x\nc,x\n")
    assert error(files.load, files.read_labelled, path, validation_split=0, test_split=0) == (
        f"{path}: every training row has the label 'x'; a classifier needs two labels or more (or --head regression "
        "for a numeric target).")


def test_validation_or_test_label_never_seen_in_training(tmp_path):
    data = write(tmp_path / "t.csv", "text,label\na,x\nb,y\n")
    test = write(tmp_path / "test.csv", "text,label\nc,x\nd,z\n")
    assert error(files.load, files.read_labelled, data, test=test, validation_split=0) == (
        f"{test}, line 3: the test label 'z' never occurs in training (labels: 'x', 'y'); every test label must be "
        "one the model was trained on.")


def test_too_little_data_for_a_split(tmp_path):
    path = write(tmp_path / "t.csv", "text,label\na,x\nb,y\nc,x\n")
    assert error(files.load, files.read_labelled, path, validation_split=0.1, test_split=0) == (
        f"{path}: 3 rows are too few for --validation-split 0.1 (it draws none); add data, raise the fraction or "
        "pass --validation FILE.")


def test_nonexistent_and_unreadable_paths(tmp_path):
    missing = tmp_path / "nope.csv"
    assert error(files.read_labelled, missing) == (
        f"{missing}: no such file or folder; --data, --validation and --test take a data file or folder zoo can read.")
    locked = write(tmp_path / "locked.txt", "secret")
    locked.chmod(0)
    try:
        if locked.open("rb"):  # running as root: permissions do not apply
            pytest.skip("file permissions do not apply to this user")
    except PermissionError:
        assert error(files.read_text, locked) == (
            f"{locked}: cannot read it (permission denied); expected a data file zoo can read.")
    finally:
        locked.chmod(0o644)


def test_folder_problems(tmp_path):
    assert "a folder without class subfolders" in error(files.read_labelled, tmp_path)
    write(tmp_path / "pos" / "1.txt", "good")
    (tmp_path / "neg").mkdir()
    assert error(files.read_labelled, tmp_path) == (
        f"{tmp_path / 'neg'}: a class folder without .txt files; each subfolder of {tmp_path} is a class and holds "
        "one .txt file per example.")
    write(tmp_path / "neg" / "2.txt", " \n")
    assert error(files.read_labelled, tmp_path) == (
        f"{tmp_path / 'neg' / '2.txt'}: the file is empty; every .txt file in a class folder is one non-empty example.")
    assert error(files.read_pairs, tmp_path).startswith(f"{tmp_path}: a folder; expected a file: a TSV file whose")


def test_pair_line_without_tab(tmp_path):
    path = write(tmp_path / "p.tsv", "a\tb\nno tab here\n")
    assert error(files.read_pairs, path) == (
        f"{path}, line 2: no tab; each line is source<TAB>target (further columns ignored), e.g. "
        "'March 3, 1999<TAB>1999-03-03'.")


# The example files of docs/own_data.md


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_example_files_read_and_split():
    tickets = files.load(files.read_labelled, EXAMPLES / "tickets.csv")
    assert tickets.label_names() == ["billing", "bug", "login", "shipping"]
    assert tickets.describe()["rows"] == {"train": 320, "validation": 40, "test": 40}
    dates = files.load(files.read_pairs, EXAMPLES / "dates.tsv")
    assert dates["train"].target[0].count("-") == 2 and not set(dates["train"].source) & set(dates["test"].source)
    tempest = files.load(files.read_text, EXAMPLES / "tempest.txt")
    assert tempest["train"].startswith("Master:\nBoatswain!") and tempest.describe()["files"]["data"]["format"] == "text"


def test_example_files_are_what_make_examples_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    rng = random.Random(make.SEED)
    make.write_tickets(tmp_path / "tickets.csv", rng)
    make.write_dates(tmp_path / "dates.tsv", rng)
    for name in ("tickets.csv", "dates.tsv"):
        assert (tmp_path / name).read_bytes() == (EXAMPLES / name).read_bytes(), name


def test_summary_has_one_line_per_split(tmp_path):
    data = write(tmp_path / "d.csv", "text,label\n" + "".join(f"t{i},{'ab'[i % 2]}\n" for i in range(20)))
    test = write(tmp_path / "test.csv", "text,label\nx,a\n")
    assert files.load(files.read_labelled, data, test=test, validation_split=0.2).summary() == [
        "train: 16 rows from d.csv (a 8, b 8)", "validation: 4 rows from d.csv (a 2, b 2)",
        "test: 1 row from test.csv (a 1, b 0)"]
    text = files.load(files.read_text, write(tmp_path / "t.txt", "x" * 2000), test_split=0)
    assert text.summary()[0] == "train: 1,800 characters from t.txt"
