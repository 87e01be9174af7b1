import tarfile

import numpy as np
import pytest

from zoo.data import imdb

REVIEWS = {
    ("train", "pos"): [("Great film!<br />Loved it.", 9), ("Wonderful", 7), ("Best ever", 10)],
    ("train", "neg"): [("Awful.", 1), ("Boring", 3), ("Bad acting", 4)],
    ("test", "pos"): [("Superb", 8)],
    ("test", "neg"): [("Terrible", 2)],
    ("train", "unsup"): [("no label here", 0)],
}


def make_tree(root):
    for (split, folder), rows in REVIEWS.items():
        d = root / "aclImdb" / split / folder
        d.mkdir(parents=True)
        for i, (text, rating) in enumerate(rows):
            (d / f"{i}_{rating}.txt").write_text(text, encoding="utf-8")
    (root / "aclImdb" / "README").write_text("tiny")
    return root / "aclImdb"


def make_archive(tmp_path):
    make_tree(tmp_path / "src")
    path = tmp_path / "data" / "aclImdb_tiny.tar.gz"
    path.parent.mkdir()
    with tarfile.open(path, "w:gz") as tar:
        tar.add(tmp_path / "src" / "aclImdb", arcname="aclImdb")
    return path


@pytest.mark.parametrize("layout", ["archive_file", "archive_dir", "extracted_parent", "extracted", "env"])
def test_loads_every_local_layout(tmp_path, monkeypatch, layout):
    if layout.startswith("archive"):
        archive = make_archive(tmp_path)
        data_dir = archive if layout == "archive_file" else archive.parent
    else:
        root = make_tree(tmp_path)
        data_dir = root if layout == "extracted" else tmp_path
    if layout == "env":
        monkeypatch.setenv("ZOO_DATA_DIR", str(data_dir))
        data_dir = None
    splits = imdb.load(data_dir, validation_split=1 / 3, seed=0)
    assert [len(splits[k]) for k in ("train", "validation", "test")] == [4, 2, 2]
    train_val = splits["train"].texts + splits["validation"].texts
    assert sorted(train_val) == sorted(t for k, rows in REVIEWS.items() if k[0] == "train" and k[1] != "unsup" for t, _ in rows)
    test = dict(zip(splits["test"].texts, zip(splits["test"].labels, splits["test"].ratings)))
    assert test == {"Superb": (1, 8), "Terrible": (0, 2)}
    for split in splits.values():
        assert np.all((split.ratings >= 7) == (split.labels == 1))


def test_validation_split_is_seeded_and_from_train(tmp_path):
    root = make_tree(tmp_path)
    a = imdb.load(root, validation_split=0.5, seed=1)
    b = imdb.load(root, validation_split=0.5, seed=1)
    assert a["validation"].texts == b["validation"].texts
    assert not set(a["validation"].texts) & set(a["test"].texts)


def test_unsup_only_on_request_and_unlabelled(tmp_path):
    root = make_tree(tmp_path)
    assert "unsup" not in imdb.load(root)
    unsup = imdb.load(root, unsup=True)["unsup"]
    assert unsup.texts == ["no label here"] and unsup.labels.tolist() == [-1]


def test_corrupt_archive_names_the_path(tmp_path):
    path = tmp_path / "aclImdb_v1.tar.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"not really gzip" * 10)
    with pytest.raises(ValueError, match=f"IMDB archive {path} is corrupt"):
        imdb.load(tmp_path)


def test_missing_data_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="No IMDB data under .*aclImdb"):
        imdb.load(tmp_path / "nowhere")


def test_archive_without_reviews_is_rejected(tmp_path):
    path = tmp_path / "aclImdb_empty.tar.gz"
    (tmp_path / "x.txt").write_text("hi")
    with tarfile.open(path, "w:gz") as tar:
        tar.add(tmp_path / "x.txt", arcname="x.txt")
    with pytest.raises(ValueError, match="holds no labelled reviews"):
        imdb.load(path)


def write_urls(root, movies_of):
    """urls_<folder>.txt: line i is the movie of review i (as in aclImdb)."""
    for (split, folder), rows in REVIEWS.items():
        lines = [f"http://www.imdb.com/title/{movies_of(split, folder, i)}/usercomments" for i in range(len(rows))]
        (root / split / f"urls_{folder}.txt").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("packed", [False, True])
def test_validation_holds_out_whole_movies(tmp_path, packed):
    root = make_tree(tmp_path / "src")
    # Three training movies of two reviews each: (pos 0, neg 0), (pos 1, neg 1), (pos 2, neg 2).
    write_urls(root, lambda split, folder, i: f"tt{split}{i}")
    data_dir = root
    if packed:
        data_dir = tmp_path / "aclImdb_urls.tar.gz"
        with tarfile.open(data_dir, "w:gz") as tar:
            tar.add(root, arcname="aclImdb")
    by_text = {t: i for (split, _), rows in REVIEWS.items() if split == "train" for i, (t, _) in enumerate(rows)}
    for seed in range(5):
        splits = imdb.load(data_dir, validation_split=1 / 3, seed=seed)
        val_movies = {by_text[t] for t in splits["validation"].texts}
        train_movies = {by_text[t] for t in splits["train"].texts}
        assert len(splits["validation"]) == 2 and len(val_movies) == 1 and not val_movies & train_movies


def test_split_by_review_when_asked(tmp_path):
    root = make_tree(tmp_path)
    write_urls(root, lambda split, folder, i: "tt1")  # one movie: no whole-movie split could exist
    assert len(imdb.load(root, validation_split=1 / 3, by_movie=False)["validation"]) == 2
    with pytest.raises(ValueError, match="leaves no training reviews"):
        imdb.load(root, validation_split=1 / 3)  # the only movie, whole, would leave nothing to train on
