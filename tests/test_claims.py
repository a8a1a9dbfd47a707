"""The verdict rules are fixed in code: these tests pin every threshold and how a verdict is reached."""
import pytest

from gilcore.publish import claims
from gilcore.publish.claims import CONFIRMED, INCONCLUSIVE, NO_DECISION, REFUTED


def test_thresholds_are_the_articles_words():
    assert claims.WORSE_BELOW == 1.0  # "worse performance": below x1.0, nothing looser
    assert claims.FASTER_ABOVE == 1.0
    assert claims.PARALLEL_ABOVE == 1.5  # more than half of the second core
    assert claims.DRASTIC_BELOW == 0.8  # "drastically longer": at least 25 % more time
    assert claims.CLAIMS[0].rule is claims.WORSE


@pytest.mark.parametrize("rule, estimate, interval, mark", [
    (claims.WORSE, 0.95, (0.93, 0.97), CONFIRMED),
    (claims.WORSE, 1.01, (0.98, 1.03), INCONCLUSIVE),  # no gain is not "worse"
    (claims.WORSE, 1.04, (1.02, 1.06), REFUTED),
    (claims.FASTER, 1.9, (1.85, 1.95), CONFIRMED),
    (claims.PARALLEL, 1.97, (1.9, 2.0), CONFIRMED),
    (claims.PARALLEL, 1.45, (1.3, 1.6), INCONCLUSIVE),
    (claims.PARALLEL, 1.1, (1.0, 1.2), REFUTED),
    (claims.SERIAL, 1.97, (1.9, 2.0), REFUTED),
    (claims.DRASTIC, 0.6, (0.55, 0.65), CONFIRMED),
    (claims.DRASTIC, 0.85, (0.82, 0.88), REFUTED),
])
def test_judge(rule, estimate, interval, mark):
    assert claims.judge(rule, estimate, interval, decisive=True) == mark


def test_thin_or_noisy_cells_decide_nothing():
    assert claims.judge(claims.WORSE, 0.5, None, decisive=False) == NO_DECISION


@pytest.mark.parametrize("marks, verdict", [
    ([CONFIRMED, CONFIRMED], "confirmed"),
    ([REFUTED], "refuted"),
    ([CONFIRMED, REFUTED, INCONCLUSIVE], "depends on the Python"),
    ([INCONCLUSIVE, NO_DECISION], "inconclusive"),
    ([NO_DECISION], "undecided: too thin, noisy, over the limit or A/A out of bounds"),
    ([], "not measured here"),
])
def test_overall(marks, verdict):
    assert claims.overall(marks) == verdict
