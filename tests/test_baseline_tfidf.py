import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("sklearn")
ROOT = Path(__file__).resolve().parents[1]


def load_script():
    spec = importlib.util.spec_from_file_location("baseline_tfidf", ROOT / "scripts" / "baseline_tfidf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_baseline_scores_the_split_zoo_reads(tmp_path):
    rows = "".join(f"{'good great fine' if i % 2 else 'bad awful poor'} item {i},{'pos' if i % 2 else 'neg'}\n"
                   for i in range(60))
    data = tmp_path / "d.csv"
    data.write_text("text,label\n" + rows, encoding="utf-8")
    result = load_script().main(["--data", str(data), "--json", str(tmp_path / "r.json")])
    assert result["test_accuracy"] == 1.0 and result["data"]["rows"] == {"train": 48, "validation": 6, "test": 6}
    assert json.loads((tmp_path / "r.json").read_text())["command"].startswith("python scripts/baseline_tfidf.py --data")
