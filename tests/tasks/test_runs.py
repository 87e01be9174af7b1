import json

import pytest

from zoo.tasks import runs


def test_member_folders_need_two_distinct_folders(tmp_path):
    assert runs.member_folders([tmp_path / "a", str(tmp_path / "b")]) == [tmp_path / "a", tmp_path / "b"]
    with pytest.raises(ValueError, match="at least 2"):
        runs.member_folders([tmp_path])
    with pytest.raises(ValueError, match="appear once"):
        runs.member_folders([tmp_path, tmp_path])


def test_read_finished_names_what_is_missing_and_the_command_to_finish(tmp_path):
    with pytest.raises(ValueError, match="no config.json"):
        runs.read_finished(tmp_path, "generator")
    (tmp_path / "config.json").write_text(json.dumps({"sentiment": {}, "command": "zoo train sentiment --x"}))
    with pytest.raises(ValueError, match="not a generator run"):
        runs.read_finished(tmp_path, "generator")
    with pytest.raises(ValueError, match="no best.weights.h5.*zoo train sentiment --x"):
        runs.read_finished(tmp_path, "sentiment")
    for name in ("best.weights.h5", "metrics.json"):
        (tmp_path / name).write_text("")
    assert runs.read_finished(tmp_path, "sentiment")["command"] == "zoo train sentiment --x"


def test_members_trained_on_other_data_are_refused_naming_both_files():
    here = {"path": "/data/input.txt", "sha256": "aaa"}
    runs.check_same_data(["r1"], [{"data": here}], here)
    with pytest.raises(ValueError, match="r2 was trained on /old/input.txt .*bbb.*not on /data/input.txt"):
        runs.check_same_data(["r1", "r2"], [{"data": here}, {"data": {"path": "/old/input.txt", "sha256": "bbb"}}], here)
