"""[ecf.C2]: paper defaults and one-line errors for impossible context-model configs."""

import pytest

from ref.core.errors import InputError
from ref.ecf.context_model import ContextConfig


@pytest.mark.eq("ecf.C2")
def test_defaults_are_the_papers():
    c = ContextConfig()
    M = c.n_cs * c.p_cs
    assert (M, c.n_cs, c.K, c.layers, c.heads) == (192, 4, 8, 8, 12)
    assert c.d_e == 8 * M // c.n_cs == 384 and c.mlp_ratio * c.d_e == 4 * 384
    assert c.d_e // c.heads == 32 and c.order == "sfo" and c.n_groups == 8


@pytest.mark.eq("ecf.C2")
@pytest.mark.parametrize("kw", [{"K": 6}, {"K": 2}, {"d_e": 100}, {"order": "xyz"}, {"n_cs": 0}])
def test_bad_configs_raise_input_error(kw):
    with pytest.raises(InputError):
        ContextConfig(**kw)
