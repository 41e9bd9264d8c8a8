"""The sorted lane occupancy behind IDM/MOBIL against brute force on random scenes."""

import numpy as np

from envs.driving.traffic import Occupancy


def _brute_leader(lane, s, w, qlane, qs, strict_self=None):
    n, v = lane.shape
    out = np.full(qs.shape, -1)
    for idx in np.ndindex(qs.shape):  # brute force reference (test only)
        wi = w[idx]
        cand = [(s[wi, j], wi * v + j) for j in range(v) if lane[wi, j] == qlane[idx] and lane[wi, j] >= 0 and s[wi, j] > qs[idx]]
        if cand:
            out[idx] = min(cand)[1]
    return out


def _brute_follower(lane, s, w, qlane, qs):
    n, v = lane.shape
    out = np.full(qs.shape, -1)
    for idx in np.ndindex(qs.shape):
        wi = w[idx]
        cand = [(s[wi, j], wi * v + j) for j in range(v) if lane[wi, j] == qlane[idx] and lane[wi, j] >= 0 and s[wi, j] < qs[idx]]
        if cand:
            out[idx] = max(cand)[1]
    return out


def test_queries_match_brute_force():
    rng = np.random.default_rng(0)
    n, v, nl = 3, 12, 4
    lane = rng.integers(-1, nl, (n, v))
    s = rng.uniform(0, 200, (n, v))
    occ = Occupancy(lane, s, nl, big=4000.0)
    w = np.broadcast_to(np.arange(n)[:, None], (n, v))
    # own lane
    np.testing.assert_array_equal(occ.own_leader, _brute_leader(lane, s, w, lane, s))
    np.testing.assert_array_equal(occ.own_follower, _brute_follower(lane, s, w, lane, s))
    # other lanes at arbitrary positions
    ql = rng.integers(-1, nl, (n, v))
    qs = rng.uniform(-10, 210, (n, v))
    np.testing.assert_array_equal(occ.leader(ql, qs), _brute_leader(lane, s, w, ql, qs))
    np.testing.assert_array_equal(occ.follower(ql, qs), _brute_follower(lane, s, w, ql, qs))
    lead, fol = occ.neighbours(ql, qs)
    np.testing.assert_array_equal(lead, _brute_leader(lane, s, w, ql, qs))
    np.testing.assert_array_equal(fol, _brute_follower(lane, s, w, ql, qs))
    # many queries take the sorted-search path: same answers
    big_q = np.repeat(qs, 30, axis=1)
    big_l = np.repeat(ql, 30, axis=1)
    np.testing.assert_array_equal(occ.leader(big_l, big_q, np.arange(n)[:, None]), np.repeat(occ.leader(ql, qs), 30, axis=1))
    # rearmost per lane and counts
    first = occ.first(np.broadcast_to(np.arange(nl), (n, nl)), np.arange(n)[:, None])
    for wi in range(n):
        for ln in range(nl):
            inl = np.nonzero(lane[wi] == ln)[0]
            assert first[wi, ln] == (wi * v + inl[np.argmin(s[wi, inl])] if len(inl) else -1)
    cnt = occ.count_between(np.array([[1]]), np.array([[50.0]]), np.array([[150.0]]), np.array([[0]]))
    assert cnt[0, 0] == np.sum((lane[0] == 1) & (s[0] > 50) & (s[0] < 150))
