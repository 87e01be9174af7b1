"""The shipped recipes compute what they computed when their models were trained (issue 22).

Each recipe of ``tests/reference_runs.py`` (a shipped model's command, sizes cut) is run again and its
best checkpoint compared with the weights recorded before the tasks were refactored. On the machine
that recorded them the weights are bitwise equal; the tolerance only allows for another CPU's
round-off (a changed seed, data order or code path moves them by orders of magnitude more). About two
minutes on 2 busy cores: marked slow (``pytest -m slow tests/test_reference_runs.py``).
"""

import numpy as np
import pytest

from tests import reference_runs


@pytest.mark.slow
@pytest.mark.parametrize("recipe", list(reference_runs.RECIPES))
def test_recipe_gives_the_recorded_weights(recipe, tmp_path):
    weights = reference_runs.run(recipe, tmp_path)
    recorded = reference_runs.recorded(recipe)
    assert sorted(weights) == sorted(recorded)
    for name, array in recorded.items():
        np.testing.assert_allclose(weights[name], array, rtol=1e-5, atol=1e-6, err_msg=name)
