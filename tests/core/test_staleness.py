"""A stored answer is stale when a profile it read changed after it was made, and says which and when."""

from datetime import UTC, datetime, timedelta

from budsim.core.staleness import changed_since

MADE = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)


def test_only_profiles_updated_after_the_answer_was_made_are_named() -> None:
    profiles = [("before", MADE - timedelta(seconds=1)), ("same", MADE), ("after", MADE + timedelta(minutes=5))]
    assert changed_since(profiles, MADE, "it was made") == [
        "Hardware profile 'after' changed at 2026-12-07T12:05:00+00:00, after it was made at 2026-12-07T12:00:00+00:00."
    ]


def test_nothing_changed_is_not_stale() -> None:
    assert changed_since([], MADE, "it was made") == []
    assert changed_since([("p", MADE)], MADE, "it was made") == []
