"""The interval arithmetic against reference values (SciPy 1.17, PRODUCT.md §2)."""

from __future__ import annotations

import pytest

from storage.stats import (
    mean_interval,
    newcombe_interval,
    percentile,
    t_quantile,
    wilson_interval,
)

# scipy.stats.binomtest(k, n).proportion_ci(method="wilson")
WILSON = [
    (8, 10, 0.4901624715366418, 0.9433178485456248),
    (18, 20, 0.6989663547715128, 0.9721335187862319),
    (40, 50, 0.6696289406777458, 0.8875624998422389),
    (85, 100, 0.7671644040916763, 0.9069401471634337),
    (170, 200, 0.7939442071583334, 0.89286406437758),
    (5, 5, 0.5655175352168251, 1.0),
    (0, 7, 0.0, 0.35433043506668743),
    (1, 1, 0.20654931437723745, 1.0),
]

# scipy.stats.t.ppf(0.975, df)
T975 = [
    (1, 12.706204736174694),
    (2, 4.302652729749462),
    (9, 2.262157162798205),
    (29, 2.045229642132703),
    (100, 1.9839715185235518),
    (1000, 1.9623390808264083),
]


@pytest.mark.parametrize(("k", "n", "low", "high"), WILSON)
def test_wilson_matches_scipy(k: int, n: int, low: float, high: float) -> None:
    assert wilson_interval(k, n) == pytest.approx((low, high), abs=1e-12)


def test_wilson_without_data_is_uninformative() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(("df", "expected"), T975)
def test_t_quantile_matches_scipy(df: int, expected: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-9)
    assert t_quantile(0.025, df) == pytest.approx(-expected, abs=1e-9)


def test_newcombe_matches_product_examples() -> None:
    # PRODUCT.md §2: 18/20 vs 15/20 → +15 pts, CI −9..+38 (no clear change);
    # 170/200 vs 150/200 → +10 pts, CI +2..+18 (real).
    low, high = newcombe_interval(18, 20, 15, 20)
    assert (round(low * 100), round(high * 100)) == (-9, 38)
    low, high = newcombe_interval(170, 200, 150, 200)
    assert (round(low * 100), round(high * 100)) == (2, 18)


def test_newcombe_matches_reference_computation() -> None:
    """Newcombe (1998) method 10, written out from the paper with SciPy's Wilson limits."""
    stats = pytest.importorskip("scipy.stats")
    for k1, n1, k2, n2 in [(18, 20, 15, 20), (170, 200, 150, 200), (0, 10, 10, 10), (3, 7, 1, 9)]:
        a = stats.binomtest(k1, n1).proportion_ci(method="wilson")
        b = stats.binomtest(k2, n2).proportion_ci(method="wilson")
        p1, p2 = k1 / n1, k2 / n2
        low = p1 - p2 - ((p1 - a.low) ** 2 + (b.high - p2) ** 2) ** 0.5
        high = p1 - p2 + ((a.high - p1) ** 2 + (p2 - b.low) ** 2) ** 0.5
        assert newcombe_interval(k1, n1, k2, n2) == pytest.approx((low, high), abs=1e-12)


def test_mean_interval_matches_scipy() -> None:
    scores = [5, 4, 4, 3, 5, 1, 5, 4]
    stats = pytest.importorskip("scipy.stats")
    import statistics

    expected = stats.t.interval(
        0.95,
        len(scores) - 1,
        loc=statistics.mean(scores),
        scale=statistics.stdev(scores) / len(scores) ** 0.5,
    )
    got = mean_interval(len(scores), sum(scores), sum(s * s for s in scores))
    assert got == pytest.approx(expected, abs=1e-9)
    assert mean_interval(1, 5, 25) is None
    assert mean_interval(3, 15, 75) == (5.0, 5.0)


def test_percentile_is_numpy_linear() -> None:
    values = [3, 1, 4, 1, 5, 9, 2, 6]
    assert percentile(values, 0.5) == pytest.approx(3.5)  # numpy.percentile(values, 50)
    assert percentile(values, 0.9) == pytest.approx(6.9)  # numpy.percentile(values, 90)
    assert percentile([7], 0.9) == 7
    assert percentile([], 0.5) is None
