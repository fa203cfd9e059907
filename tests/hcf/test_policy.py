"""Policy space, edge/late policies, reference policies (spec/hcf-cascade.md), checked against a
brute-force enumeration of {0,1}^(s-d+1), the binomial count and the paper's own examples."""

from __future__ import annotations

from itertools import product
from math import comb

import pytest

from ref.core.errors import InputError
from ref.hcf.policy import (check_policy, edge_policy, late_policy, max_policy, min_policy, policy_entry,
                            policy_space, policy_space_size, transmission_levels, truncate_policy)


def brute_force(s, d, n_q):
    """Every vector of {0,1}^(s-d+1) with n_q ones and a last 1, descending lexicographic."""
    vs = [v for v in product((0, 1), repeat=s - d + 1) if sum(v) == n_q and v[-1] == 1]
    return sorted(vs, reverse=True)


@pytest.mark.eq("hcf.policy_space")
def test_policy_space_equals_brute_force_and_binomial():
    for s in range(1, 9):
        for d in range(1, s + 1):
            total = 0
            for n_q in range(1, s - d + 2):
                got = policy_space(s, d, n_q)
                assert got == brute_force(s, d, n_q), (s, d, n_q)
                assert len(got) == policy_space_size(s, d, n_q) == comb(s - d, n_q - 1)
                total += len(got)
            assert total == 2 ** (s - d)           # every vector with a last 1, exactly once


@pytest.mark.eq("hcf.policy_space")
def test_paper_examples():
    # Fig. 2a: a 4-level, 2-stage system has three placements
    assert policy_space(4, 1, 2) == [(1, 0, 0, 1), (0, 1, 0, 1), (0, 0, 1, 1)]
    assert policy_space(6, 2, 2) == [(1, 0, 0, 0, 1), (0, 1, 0, 0, 1), (0, 0, 1, 0, 1), (0, 0, 0, 1, 1)]
    assert policy_space(6, 6, 1) == [(1,)]


@pytest.mark.eq("hcf.16", "hcf.C24")
def test_edge_and_late_policies_of_table_1():
    assert edge_policy(6, 2, 2) == (1, 0, 0, 0, 1)
    assert late_policy(6, 2, 2) == (0, 0, 0, 1, 1)
    assert edge_policy(6, 1, 4) == (1, 1, 1, 0, 0, 1)
    assert late_policy(6, 1, 4) == (0, 0, 1, 1, 1, 1)
    assert edge_policy(4, 1, 2) == (1, 0, 0, 1)          # Fig. 3's pi_edge
    for s in range(1, 8):
        for d in range(1, s + 1):
            for n_q in range(1, s - d + 2):
                sp = policy_space(s, d, n_q)
                e, late = edge_policy(s, d, n_q), late_policy(s, d, n_q)
                assert e == sp[0] and late == sp[-1]
                assert sum(e) == sum(late) == n_q and e[-1] == late[-1] == 1
                # eq. 16 read literally: n_q - 1 ones, s - d + 1 - n_q zeros, one 1
                assert list(e) == [1] * (n_q - 1) + [0] * (s - d + 1 - n_q) + [1]


@pytest.mark.eq("hcf.ref_policies", "hcf.16")
def test_reference_policies():
    assert min_policy(6, 2) == (0, 0, 0, 0, 1) and max_policy(6, 2) == (1, 1, 1, 1, 1)
    for s in range(1, 7):
        for d in range(1, s + 1):
            assert policy_space(s, d, 1) == [min_policy(s, d)]
            assert policy_space(s, d, s - d + 1) == [max_policy(s, d)]
            assert edge_policy(s, d, 1) == min_policy(s, d)
            assert edge_policy(s, d, s - d + 1) == max_policy(s, d)


@pytest.mark.eq("hcf.policy_space")
def test_truncate_entries_transmissions():
    pi = (1, 0, 1, 0, 1)                      # s = 6, d = 2
    assert truncate_policy(pi, 6, 2) == pi
    assert truncate_policy(pi, 6, 3) == (1, 0, 1, 1)
    assert truncate_policy(pi, 6, 4) == (1, 0, 1)
    assert truncate_policy(pi, 6, 5) == (1, 1)
    assert truncate_policy(pi, 6, 6) == (1,)
    assert truncate_policy(min_policy(6, 2), 6, 3) == min_policy(6, 3)
    assert [policy_entry(pi, 6, k) for k in (6, 5, 4, 3, 2)] == [1, 0, 1, 0, 1]
    assert transmission_levels(pi, 6) == (6, 4, 2)


@pytest.mark.eq("hcf.policy_space")
@pytest.mark.parametrize("call", [
    lambda: policy_space(2, 3, 1), lambda: policy_space(3, 0, 1), lambda: policy_space(6, 2, 0),
    lambda: policy_space(6, 2, 6), lambda: policy_space(6.0, 2, 1), lambda: edge_policy(True, 1, 1),
    lambda: check_policy((1, 0, 0), 3, 1), lambda: check_policy((1, 2, 1), 3, 1),
    lambda: check_policy((1, 1), 3, 1), lambda: check_policy(5, 3, 1), lambda: truncate_policy((0, 1), 2, 0),
    lambda: policy_space_size(4, 1, 5),
])
def test_bad_input_is_input_error(call):
    with pytest.raises(InputError):
        call()
