"""Dataset loaders and tf.data pipelines."""

import os
from pathlib import Path


def resolve_data_dir(data_dir=None):
    """`data_dir`, else $ZOO_DATA_DIR, else None (meaning: download from the official source)."""
    value = data_dir if data_dir is not None else os.environ.get("ZOO_DATA_DIR")
    return Path(value).expanduser() if value else None
