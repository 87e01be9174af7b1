import pytest

from zoo.plots import plot_runs


def write_log(run_dir, rows):
    run_dir.mkdir()
    lines = ["epoch,epoch_seconds,val_loss"] + [f"{e},{s},{v}" for e, (s, v) in enumerate(rows)]
    (run_dir / "log.csv").write_text("\n".join(lines) + "\n")


def test_plots_every_run_to_a_png(tmp_path):
    write_log(tmp_path / "a", [(60, 2.0), (60, 1.5)])
    write_log(tmp_path / "b", [(30, 2.2), (30, 1.9), (30, 1.7)])
    for x in ("time", "epoch"):
        out = plot_runs({"a": tmp_path / "a", "b": tmp_path / "b"}, tmp_path / f"{x}.png", x=x)
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000


def test_missing_metric_names_the_columns(tmp_path):
    write_log(tmp_path / "a", [(60, 2.0)])
    with pytest.raises(ValueError, match="no column 'val_accuracy'"):
        plot_runs({"a": tmp_path / "a"}, tmp_path / "x.png", metric="val_accuracy")
