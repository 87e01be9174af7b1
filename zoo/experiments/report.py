"""Helpers of the report sections: numbers as text, results grouped, gradient decays."""

import numpy as np


def mean_std(values):
    """``(mean, sample standard deviation or None for one value)``."""
    values = np.asarray(values, np.float64)
    return float(values.mean()), (float(values.std(ddof=1)) if len(values) > 1 else None)



def fmt(values, digits=3):
    mean, std = mean_std(values)
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")



def group(results, *keys):
    groups = {}
    for r in results:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    return groups



def sci(value):
    return f"{value:.1e}" if np.isfinite(value) else str(value)



def seeds_word(n):
    return f"{n} seed{'s' if n != 1 else ''}"



def decades(norms):
    """log10(first step's norm / last step's); -inf when the first underflowed to 0 (float32 stops near 1e-45)."""
    norms = np.asarray(norms)
    if not norms[0] > 0:
        return float("nan")
    return float(np.log10(norms[-1] / norms[0])) if norms[-1] > 0 else -np.inf



def fmt_decades(value):
    return "-inf (underflow)" if value == -np.inf else f"{value:+.1f}"



def change(norms):
    value = decades(norms)
    return "to 0 (a float32 underflow)" if value == -np.inf else f"by {value:+.1f} decades"



def known_mean(records, key):
    """The mean of ``record[key]`` over the records where it is not None (a test subset with no string); nan if none."""
    values = [r[key] for r in records if r[key] is not None]
    return float(np.mean(values)) if values else float("nan")



def findings(items):
    """The "Findings:" list of a section."""
    return ["Findings:", "", *[f"- {f}" for f in items], ""]
