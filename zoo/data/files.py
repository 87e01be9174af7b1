"""A user's own data files: classifier rows, generator text, sequence-to-sequence pairs (issue 22 §2).

Readers, one per pattern, each returning what the pattern trains on:

- :func:`read_labelled` -> :class:`Labelled` (texts and labels): a CSV or TSV file with a header row
  (read by Python's :mod:`csv`, so quoted fields may hold commas, quotes and newlines), a JSON Lines
  file (one object per line, the same keys), or a folder with one subfolder per class holding ``.txt``
  files (the layout of ``keras.utils.text_dataset_from_directory``);
- :func:`read_text` -> str: a UTF-8 text file, or a folder of ``.txt`` files (joined in path order);
- :func:`read_pairs` -> :class:`zoo.data.Pairs`: a TSV whose first two columns are source and target
  (no header; further columns ignored, as in ``spa.txt``), or a CSV/TSV with a header or JSON Lines
  file with named columns.

:func:`load` reads a data file and optional separate validation/test files with one reader, draws the
missing splits with :func:`split` (seeded), runs the checks and returns a :class:`UserData` whose
:meth:`UserData.describe` is the record for ``metrics.json`` and model cards.

Every problem with the data raises :class:`DataError` (a ValueError, so the ``zoo`` command prints it as
one ``zoo: error:`` line with exit status 2) before anything is trained: the message names the file,
the line (or file, in a folder), what was wrong and what is accepted. Pure Python and NumPy, no
TensorFlow, so the command line stays quick.
"""

import csv
import hashlib
import io
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zoo.data import Pairs, sha256
from zoo.validation import rate

SPLITS = ("train", "validation", "test")
FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
ACCEPTED_LABELLED = ("a CSV or TSV file with a header row, a JSON Lines file, or a folder with one subfolder "
                     "of .txt files per class")
ACCEPTED_PAIRS = ("a TSV file whose first two columns are source and target (no header), or a CSV/TSV file "
                  "with a header or a JSON Lines file with --source-column and --target-column")


class DataError(ValueError):
    """A problem with a user's data, in one line: the file, the line or row, what is wrong, what is accepted."""


@dataclass(frozen=True)
class Labelled:
    """Classifier rows: ``texts`` and ``labels`` (as given: strings, or integers from JSON Lines; floats
    when read with ``numeric=True``), and ``origins``, where each row came from (for messages)."""

    texts: list
    labels: list
    origins: list = field(repr=False)

    def __len__(self):
        return len(self.texts)

    def take(self, index):
        return Labelled([self.texts[i] for i in index], [self.labels[i] for i in index],
                        [self.origins[i] for i in index])


def _where(path, line=None):
    return f"{path}, line {line}" if line is not None else f"{path}"


def _check_path(path):
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder; --data, --validation and --test take a data file or "
                        "folder zoo can read.")
    return path


def _read_bytes(path):
    try:
        return path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read it ({(err.strerror or type(err).__name__).lower()}); expected a data "
                        "file zoo can read.") from None


def _decode(path, raw):
    """``raw`` as text (a leading byte-order mark dropped); DataError naming the line of the first invalid byte."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        raise DataError(f"{_where(path, line)}: not valid UTF-8 (byte 0x{raw[err.start]:02x} at column {column}); "
                        "save the file as UTF-8.") from None
    return text[1:] if text.startswith("\ufeff") else text


def _read_text_file(path):
    text = _decode(path, _read_bytes(path))
    if not text.strip():
        raise DataError(f"{path}: the file is empty; expected UTF-8 text.")
    return text


def file_format(path):
    """``"csv"``, ``"tsv"``, ``"jsonl"`` or ``"folder"`` for ``path``: by the name's suffix, else by
    the content's first line (``{`` starts JSON Lines, a tab means TSV, anything else CSV)."""
    path = Path(path)
    if path.is_dir():
        return "folder"
    if path.suffix.lower() in FORMATS:
        return FORMATS[path.suffix.lower()]
    try:
        with open(path, "rb") as f:
            head = f.read(65536).decode("utf-8", errors="replace").lstrip("\ufeff \r\n")
    except OSError:
        return "csv"  # the reader that follows says what is wrong with the path
    if head.startswith("{"):
        return "jsonl"
    return "tsv" if "\t" in head.split("\n", 1)[0] else "csv"


def _rows(path, fmt):
    """``(columns, rows)`` of a table file with a header; each row ``(line, {column: value})``."""
    text = _read_text_file(path)
    if fmt == "jsonl":
        return _json_rows(path, text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if fmt == "tsv" else ",", strict=True)
    rows, columns = [], None
    try:
        for fields in reader:
            line = reader.line_num - sum(f.count("\n") for f in fields)  # where the row starts
            if not fields:
                continue  # a blank line
            if columns is None:
                columns = [c.strip() for c in fields]
                continue
            if len(fields) != len(columns):
                raise DataError(
                    f"{_where(path, line)}: {len(fields)} field(s) but the header has {len(columns)}; quote fields "
                    f"that hold a {'tab' if fmt == 'tsv' else 'comma'} or a newline (\"...\", inner quotes doubled)."
                )
            rows.append((line, dict(zip(columns, fields))))
    except csv.Error as err:
        raise DataError(f"{_where(path, reader.line_num)}: not valid {fmt.upper()} ({err}); quote fields that hold "
                        "quotes or newlines as a whole (\"...\"), with inner quotes doubled.") from None
    if not rows:
        raise DataError(f"{path}: a header but no rows; expected a header row, then one row per example.")
    return columns, rows


def _json_rows(path, text):
    rows, columns = [], {}
    for line, content in enumerate(text.split("\n"), 1):
        if not content.strip():
            continue
        try:
            row = json.loads(content)
        except json.JSONDecodeError as err:
            raise DataError(f"{_where(path, line)}: not valid JSON ({err.msg}, column {err.colno}); JSON Lines "
                            "holds one JSON object per line.") from None
        if not isinstance(row, dict):
            raise DataError(f"{_where(path, line)}: a JSON {type(row).__name__}, not an object; JSON Lines holds "
                            "one JSON object per line, e.g. {\"text\": \"...\", \"label\": \"...\"}.")
        columns.update(dict.fromkeys(row))
        rows.append((line, row))
    return list(columns), rows


def _require_columns(path, columns, wanted):
    for flag, name in wanted:
        if name not in columns:
            found = ", ".join(repr(c) for c in columns) or "none"
            raise DataError(f"{path}: no column {name!r} (choose another with {flag}); the columns are: {found}.")


def _cell(path, line, row, name, flag, what):
    """The value of ``row[name]``, a non-blank string (or number, from JSON); DataError otherwise."""
    if name not in row:
        found = ", ".join(repr(c) for c in row)
        raise DataError(f"{_where(path, line)}: no {name!r} key (the {what}, {flag}); this line has: {found}.")
    value = row[name]
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DataError(f"{_where(path, line)}: the {what} ({name!r}) is empty; every row needs a non-empty {what}.")
    return value


def _label(path, line, value, numeric):
    if numeric:
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise DataError(f"{_where(path, line)}: the target {value!r} is not a finite number; a regression head "
                            "takes a number in every label cell.")
        return number
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise DataError(f"{_where(path, line)}: the label {json.dumps(value)} is a {type(value).__name__}; labels are "
                    "strings or integers (or numbers with --head regression).")


def _text(path, line, value, what):
    if not isinstance(value, str):
        raise DataError(f"{_where(path, line)}: the {what} {json.dumps(value)[:40]} is not a string; expected text.")
    return value


def read_labelled(path, text_column="text", label_column="label", numeric=False):
    """Classifier rows from a CSV/TSV file with a header, a JSON Lines file or a folder of class folders.

    Args:
        path: the file or folder (see the module docstring for the formats).
        text_column: the column (or JSON key) holding the text.
        label_column: the column (or JSON key) holding the label.
        numeric: labels are numeric targets (a regression head): each must parse as a finite number.

    Returns:
        :class:`Labelled`. Labels from CSV/TSV cells are stripped strings, from JSON strings or integers,
        from a folder the subfolder names; with ``numeric`` all are floats.
    """
    path = _check_path(path)
    fmt = file_format(path)
    if fmt == "folder":
        return _read_class_folders(path, numeric)
    columns, rows = _rows(path, fmt)
    _require_columns(path, columns, [("--text-column", text_column), ("--label-column", label_column)])
    texts, labels, origins = [], [], []
    for line, row in rows:
        texts.append(_text(path, line, _cell(path, line, row, text_column, "--text-column", "text"), "text"))
        label = _cell(path, line, row, label_column, "--label-column", "label")
        labels.append(_label(path, line, label, numeric))
        origins.append(_where(path, line))
    return Labelled(texts, labels, origins)


def _read_class_folders(path, numeric):
    classes = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"{path}: a folder without class subfolders; expected one subfolder per class holding .txt "
                        f"files (or {ACCEPTED_LABELLED}).")
    texts, labels, origins = [], [], []
    for folder in classes:
        files = text_files(folder)
        if not files:
            raise DataError(f"{folder}: a class folder without .txt files; each subfolder of {path} is a class and "
                            "holds one .txt file per example.")
        label = _label(folder, None, folder.name, numeric)
        for file in files:
            text = _decode(file, _read_bytes(file))
            if not text.strip():
                raise DataError(f"{file}: the file is empty; every .txt file in a class folder is one non-empty "
                                "example.")
            texts.append(text)
            labels.append(label)
            origins.append(str(file))
    return Labelled(texts, labels, origins)


def text_files(folder):
    """The ``.txt`` files under ``folder`` (subfolders too), sorted by path; hidden files and folders (a name
    starting with ``.``, such as ``.ipynb_checkpoints``) are left out."""
    folder = Path(folder)
    return sorted(f for f in folder.rglob("*.txt")
                  if f.is_file() and not any(part.startswith(".") for part in f.relative_to(folder).parts))


def read_text(path):
    """A UTF-8 text file's text, or a folder's ``.txt`` files (in sorted path order, each ending in a newline)."""
    path = _check_path(path)
    if not path.is_dir():
        return _read_text_file(path)
    files = text_files(path)
    if not files:
        raise DataError(f"{path}: a folder without .txt files; expected a UTF-8 text file or a folder of .txt files.")
    parts = [_decode(f, _read_bytes(f)) for f in files]
    text = "".join(p if p.endswith("\n") or not p else p + "\n" for p in parts)
    if not text.strip():
        raise DataError(f"{path}: every .txt file in the folder is empty; expected some text.")
    return text


def read_pairs(path, source_column=None, target_column=None):
    """Sequence-to-sequence pairs as :class:`zoo.data.Pairs`.

    Without column names, a TSV (or any file that is not ``.csv``/``.jsonl``) is read as ``source<TAB>target``
    lines with no header (further columns ignored, no quoting: a quote is a character like any other); a
    CSV or JSON Lines file then uses the columns ``source`` and ``target``. With column names, the file
    (CSV, TSV or JSON Lines) has a header row (or keys) naming them. Blank lines are skipped.
    """
    path = _check_path(path)
    if path.is_dir():
        raise DataError(f"{path}: a folder; expected a file: {ACCEPTED_PAIRS}.")
    fmt = file_format(path)
    if source_column is None and target_column is None and fmt not in ("csv", "jsonl"):
        return _read_tab_pairs(path)
    source_column, target_column = source_column or "source", target_column or "target"
    columns, rows = _rows(path, fmt)
    _require_columns(path, columns, [("--source-column", source_column), ("--target-column", target_column)])
    sources, targets = [], []
    for line, row in rows:
        sources.append(_text(path, line, _cell(path, line, row, source_column, "--source-column", "source"), "source"))
        targets.append(_text(path, line, _cell(path, line, row, target_column, "--target-column", "target"), "target"))
    return Pairs(sources, targets)


def _read_tab_pairs(path):
    sources, targets = [], []
    for line, content in enumerate(_read_text_file(path).split("\n"), 1):
        content = content.rstrip("\r")
        if not content.strip():
            continue
        fields = content.split("\t")
        if len(fields) < 2:
            raise DataError(f"{_where(path, line)}: no tab; each line is source<TAB>target (further columns "
                            f"ignored), e.g. 'March 3, 1999<TAB>1999-03-03'.")
        for what, value in (("source", fields[0]), ("target", fields[1])):
            if not value.strip():
                raise DataError(f"{_where(path, line)}: the {what} (column {1 if what == 'source' else 2}) is empty; "
                                "each line needs a non-empty source and target.")
        sources.append(fields[0])
        targets.append(fields[1])
    return Pairs(sources, targets)


def label_names(labels):
    """The distinct labels as strings, in the order of their ids: numeric order when every label is an
    integer (or a string of one), else sorted as strings."""
    names = {str(label) for label in labels}
    if all(re.fullmatch(r"[+-]?\d+", name) for name in names):
        return sorted(names, key=lambda name: (int(name), name))
    return sorted(names)


def label_ids(labels, names):
    """``labels`` as int32 ids, the positions of their names in ``names`` (see :func:`label_names`)."""
    index = {name: i for i, name in enumerate(names)}
    unknown = sorted({str(label) for label in labels} - set(index))
    if unknown:
        raise DataError(f"labels {unknown[:5]} are not among the known labels {names[:20]}.")
    return np.array([index[str(label)] for label in labels], np.int32)


def split(items, validation_split=0.1, test_split=0.1, seed=0, stratify=None, groups=None):
    """``{"train", "validation", "test"}`` parts of ``items``.

    A string (a generator's text) is cut in order: the first part trains, the last ``test_split`` of the
    characters is the test split, the ``validation_split`` before it the validation split (as TFDS cuts
    Tiny Shakespeare); ``seed`` is unused. A sequence (a list, :class:`Labelled` or :class:`zoo.data.Pairs`)
    is shuffled with ``seed``: about ``test_split`` of it becomes the test split, ``validation_split`` the
    validation split, each keeping the file's order.

    Args:
        stratify: one key per item (e.g. the labels): each key is spread over the splits in proportion,
            and at least one item of each key is in the training split (even if the held-out splits
            then fall short of their fractions), so every class is trained on.
        groups: one key per item (e.g. the source sentences): items sharing a key land in the same split,
            so no test source was seen in training; the fractions count groups.
    """
    rate("validation_split", validation_split)
    rate("test_split", test_split)
    if validation_split + test_split >= 1.0:
        raise ValueError(f"validation_split + test_split must leave data to train on; got {validation_split} + "
                         f"{test_split}.")
    if isinstance(items, str):
        n = len(items)
        train_end = n - int(round((validation_split + test_split) * n))
        val_end = n - int(round(test_split * n))
        return {"train": items[:train_end], "validation": items[train_end:val_end], "test": items[val_end:]}
    if stratify is not None and groups is not None:
        raise ValueError("split takes stratify or groups, not both.")
    n = len(items)
    rng = np.random.default_rng(seed)
    if groups is not None:
        unique = {key: i for i, key in enumerate(dict.fromkeys(groups))}  # in order of first appearance
        group_rank = np.empty(len(unique), np.int64)
        group_rank[rng.permutation(len(unique))] = np.arange(len(unique))
        rank = group_rank[[unique[key] for key in groups]]
        units = len(unique)
    elif stratify is not None:
        # Within each key, rows at shuffled positions (r + 0.5) / count, the last one never held out; the lowest
        # positions over all keys are held out, so every key is held out in proportion and always trains.
        score = np.zeros(n)
        by_key = {}
        for i, key in enumerate(stratify):
            by_key.setdefault(key, []).append(i)
        for members in by_key.values():
            position = (np.arange(len(members)) + 0.5) / len(members)
            position[-1] = np.inf
            score[np.array(members)[rng.permutation(len(members))]] = position
        rank = np.empty(n, np.int64)
        rank[np.lexsort((rng.random(n), score))] = np.arange(n)
        units, kept = n, len(by_key)
    else:
        rank = np.empty(n, np.int64)
        rank[rng.permutation(n)] = np.arange(n)
        units = n
    n_test, n_val = int(round(test_split * units)), int(round(validation_split * units))
    if stratify is not None:  # each key's last row trains, even if that leaves the held-out splits short
        n_test = min(n_test, n - kept)
        n_val = min(n_val, n - kept - n_test)
    parts = {"test": rank < n_test, "validation": (rank >= n_test) & (rank < n_test + n_val),
             "train": rank >= n_test + n_val}
    out = {}
    for name in SPLITS:
        index = np.flatnonzero(parts[name])
        out[name] = items.take(index) if hasattr(items, "take") else [items[i] for i in index]
    return out


def digest(path):
    """The sha256 of a file; of a folder, the sha256 of its ``.txt`` files' ``<sha256>  <relative path>`` lines
    (sorted by path), so any change to a file, a name or the set of files changes it."""
    path = Path(path)
    if path.is_file():
        return sha256(path)
    lines = "".join(f"{sha256(f)}  {f.relative_to(path).as_posix()}\n"
                    for f in text_files(path))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class UserData:
    """A user's data, split: ``splits`` maps ``"train"``, ``"validation"``, ``"test"`` to :class:`Labelled`,
    :class:`zoo.data.Pairs` or text; ``files`` maps ``"data"`` (and ``"validation"``/``"test"`` when given
    separately) to their paths; ``drawn`` says which splits were drawn from ``"data"`` and how."""

    splits: dict
    files: dict
    drawn: dict
    kind: str = "labelled"  # what was read: "labelled", "text" or "pairs"

    def __getitem__(self, name):
        return self.splits[name]

    def label_names(self):
        """The training labels' names in id order (see :func:`label_names`)."""
        return label_names(self.splits["train"].labels)

    def describe(self):
        """The record of this data for ``metrics.json`` and model cards: each file's name, format and sha256,
        how splits were drawn, the rows (characters, for text) per split and, for classes, the label counts."""
        files = {role: {"name": Path(p).name, "path": str(p), "format": self._format(p), "sha256": digest(p)}
                 for role, p in self.files.items()}
        return {"files": files, "drawn": dict(self.drawn), **self._sizes()}

    def _sizes(self):
        train = self.splits["train"]
        unit = "characters" if isinstance(train, str) else "rows"
        sizes = {unit: {name: len(part) for name, part in self.splits.items()}}
        if isinstance(train, Labelled) and not _numeric(train):
            names = label_names(train.labels)
            sizes["labels"] = {name: {label: Counter(map(str, part.labels)).get(label, 0) for label in names}
                               for name, part in self.splits.items()}
        return sizes

    def summary(self):
        """One line per split for people: its size and, for classes, its label counts; e.g.
        ``train: 320 rows from tickets.csv (billing 80, bug 80, login 80, shipping 80)``."""
        sizes, lines = self._sizes(), []
        unit = "characters" if "characters" in sizes else "rows"
        for name in SPLITS:
            source = self.files.get(name, self.files["data"])
            count = sizes[unit][name]
            line = f"{name}: {count:,} {unit[:-1] if count == 1 else unit} from {Path(source).name}"
            if "labels" in sizes:
                line += " (" + ", ".join(f"{label} {n:,}" for label, n in sizes["labels"][name].items()) + ")"
            lines.append(line)
        return lines

    def _format(self, path):
        if Path(path).is_dir():
            return "folder"
        return "text" if self.kind == "text" else file_format(path)


def _numeric(labelled):
    return bool(labelled.labels) and all(isinstance(label, float) for label in labelled.labels)


def load(read, data, validation=None, test=None, validation_split=0.1, test_split=0.1, seed=0, named=(), **options):
    """Read ``data`` (and ``validation``/``test`` files, when given) with ``read`` and split it.

    Splits given as files are read with the same ``read`` and ``options``; the others are drawn from
    ``data`` with :func:`split` and ``seed`` (classes stratified, pairs grouped by source so no test
    source is trained on). Checks, each a :class:`DataError`: every split requested is non-empty; a
    classifier's training split has two labels or more, and every validation/test label occurs in it.

    Args:
        read: :func:`read_labelled`, :func:`read_text` or :func:`read_pairs`.
        data: the data file or folder.
        validation, test: separate files for those splits (their fraction is then not drawn).
        validation_split, test_split: fractions of ``data`` drawn for splits not given as files.
        named: the names of the task's named datasets (``zoo.data.registry``), which ``data`` is not: named
            in the error when ``data`` does not exist either.
        options: keyword arguments for ``read`` (e.g. ``text_column``).
    """
    if named and not Path(data).exists():
        raise DataError(f"{data}: no such file or folder, nor a named dataset ({', '.join(named)}); --data takes one "
                        "of those or a data file or folder zoo can read.")
    whole = read(data, **options)
    files = {"data": Path(data)}
    given = {}
    for name, path in (("validation", validation), ("test", test)):
        if path is not None:
            given[name] = read(path, **options)
            files[name] = Path(path)
    fractions = {"validation_split": 0.0 if validation is not None else validation_split,
                 "test_split": 0.0 if test is not None else test_split}
    keys = {}
    if isinstance(whole, Labelled) and not _numeric(whole):
        keys["stratify"] = [str(label) for label in whole.labels]
    elif isinstance(whole, Pairs):
        keys["groups"] = whole.source
    splits = split(whole, seed=seed, **fractions, **keys)
    splits.update(given)
    unit = "characters" if isinstance(whole, str) else "rows"
    if len(splits["train"]) == 0:
        raise DataError(f"{data}: {len(whole)} {unit} leave nothing to train on after the validation and test splits; "
                        "add data or lower --validation-split/--test-split.")
    for name in ("validation", "test"):
        if fractions[f"{name}_split"] > 0 and len(splits[name]) == 0:
            raise DataError(f"{data}: {len(whole)} {unit} are too few for --{name}-split {fractions[f'{name}_split']} "
                            f"(it draws none); add data, raise the fraction or pass --{name} FILE.")
    if isinstance(whole, Labelled) and not _numeric(whole):
        _check_labels(data, splits)
    drawn = {"from": str(data), "seed": seed, **fractions}
    kind = "text" if isinstance(whole, str) else "pairs" if isinstance(whole, Pairs) else "labelled"
    return UserData(splits, files, drawn, kind)


def _check_labels(data, splits):
    train = splits["train"]
    names = label_names(train.labels)
    if len(names) < 2:
        raise DataError(f"{data}: every training row has the label {names[0]!r}; a classifier needs two labels or "
                        "more (or --head regression for a numeric target).")
    known = set(names)
    for name in ("validation", "test"):
        part = splits[name]
        for label, origin in zip(part.labels, part.origins):
            if str(label) not in known:
                shown = ", ".join(repr(n) for n in names[:20]) + (", ..." if len(names) > 20 else "")
                raise DataError(f"{origin}: the {name} label {str(label)!r} never occurs in training (labels: "
                                f"{shown}); every {name} label must be one the model was trained on.")
