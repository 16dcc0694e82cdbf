"""What a report holds: exact counts from SQL, and the honest views built on them.

:class:`Counts` are sums straight from the database; being sums they add up exactly
(bot-only + handed-off = overall). Rates are :class:`Proportion` objects that carry
their own Wilson interval and small-sample rules (PRODUCT.md §2).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime

from storage.stats import mean_interval, newcombe_interval, wilson_interval

MIN_FOR_PERCENT = 10
LOW_SAMPLE = 30


@dataclass(frozen=True)
class Proportion:
    """``k`` of ``n`` with its interval, formatted honestly for its sample size."""

    k: int
    n: int

    @property
    def value(self) -> float | None:
        """k/n, or None when n is 0."""
        return self.k / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float]:
        """Wilson 95% interval."""
        return wilson_interval(self.k, self.n)

    @property
    def low_sample(self) -> bool:
        """Between 10 and 29 observations: shown with a "low sample" mark."""
        return MIN_FOR_PERCENT <= self.n < LOW_SAMPLE

    @property
    def counts_only(self) -> bool:
        """Under 10 observations: no percentage, no interval, no trend."""
        return self.n < MIN_FOR_PERCENT

    def describe(self, noun: str = "") -> str:
        """``"85% (85/100, 95% CI 77–91%)"``, or ``"4 of 5"`` when n < 10."""
        if self.n == 0:
            return "no data"
        if self.n < MIN_FOR_PERCENT:
            return f"{self.k} of {self.n}{(' ' + noun) if noun else ''}"
        low, high = self.interval
        text = f"{self.value:.0%} ({self.k}/{self.n}, 95% CI {low:.0%}–{high:.0%})"
        return text + (" · low sample" if self.low_sample else "")

    def short(self) -> str:
        """A table cell: ``"85% (77–91)"``, ``"85%* (…)"`` when low sample, ``"4/5"`` under 10."""
        if self.n == 0:
            return "–"
        if self.n < MIN_FOR_PERCENT:
            return f"{self.k}/{self.n}"
        low, high = self.interval
        mark = "*" if self.low_sample else ""
        return f"{self.value:.0%}{mark} ({low * 100:.0f}–{high * 100:.0f})"


@dataclass(frozen=True)
class Counts:
    """Exact sums over a set of conversations (and their surveys and handoffs)."""

    conversations: int = 0
    handed: int = 0
    bot_confirmed: int = 0
    bot_assumed: int = 0
    abandoned: int = 0
    resolved: int = 0
    reopened: int = 0
    repeat: int = 0
    sent: int = 0
    answered: int = 0
    satisfied: int = 0
    score_sum: int = 0
    score_squares: int = 0
    s1: int = 0
    s2: int = 0
    s3: int = 0
    s4: int = 0
    s5: int = 0
    handoffs: int = 0
    handoffs_answered: int = 0
    sla_met: int = 0
    sla_breached: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    @classmethod
    def from_mapping(cls, row: dict[str, object]) -> Counts:
        """Build from a SQL row; NULL sums (no rows) become 0."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: int(v or 0) for k, v in row.items() if k in names})  # type: ignore[call-overload]

    @property
    def distribution(self) -> tuple[int, int, int, int, int]:
        """How many answered 1, 2, 3, 4 and 5."""
        return (self.s1, self.s2, self.s3, self.s4, self.s5)

    @property
    def csat(self) -> Proportion:
        """Ratings of 4–5 of all ratings received (unanswered surveys are not counted)."""
        return Proportion(self.satisfied, self.answered)

    @property
    def response_rate(self) -> Proportion:
        """Answered of surveys that reached the customer."""
        return Proportion(self.answered, self.sent)

    @property
    def mean_score(self) -> float | None:
        """Mean rating on the 1–5 scale."""
        return self.score_sum / self.answered if self.answered else None

    @property
    def mean_interval(self) -> tuple[float, float] | None:
        """95% t interval of the mean rating."""
        return mean_interval(self.answered, self.score_sum, self.score_squares)

    @property
    def handoff_rate(self) -> Proportion:
        """Conversations handed to a person."""
        return Proportion(self.handed, self.conversations)

    @property
    def containment(self) -> Proportion:
        """Conversations the bot kept (1 − handoff rate); never shown alone."""
        return Proportion(self.conversations - self.handed, self.conversations)

    @property
    def bot_resolution(self) -> Proportion:
        """Resolved by the bot, confirmed or assumed."""
        return Proportion(self.bot_confirmed + self.bot_assumed, self.conversations)

    @property
    def bot_confirmed_rate(self) -> Proportion:
        """The customer said the answer helped."""
        return Proportion(self.bot_confirmed, self.conversations)

    @property
    def bot_assumed_rate(self) -> Proportion:
        """The customer left after an answer without asking for more."""
        return Proportion(self.bot_assumed, self.conversations)

    @property
    def abandonment(self) -> Proportion:
        """Handed-off conversations the customer left before any human reply."""
        return Proportion(self.abandoned, self.handed)

    @property
    def repeat_rate(self) -> Proportion:
        """Resolved conversations followed by a new one within 7 days."""
        return Proportion(self.repeat, self.resolved)

    @property
    def reopen_rate(self) -> Proportion:
        """Resolved conversations that were reopened."""
        return Proportion(self.reopened, self.resolved)

    @property
    def sla(self) -> Proportion:
        """Handoffs answered within the SLA of those answered or breached."""
        return Proportion(self.sla_met, self.sla_met + self.sla_breached)


@dataclass(frozen=True)
class Durations:
    """Median and p90 of a duration, in seconds (None without data)."""

    n: int = 0
    median: float | None = None
    p90: float | None = None


@dataclass(frozen=True)
class Change:
    """Current vs previous proportion, with a Newcombe interval for the difference."""

    name: str
    current: Proportion
    previous: Proportion

    @property
    def comparable(self) -> bool:
        """Both sides need at least 10 observations (PRODUCT.md §2)."""
        return not (self.current.counts_only or self.previous.counts_only)

    @property
    def difference(self) -> float | None:
        """Current − previous, when both exist."""
        if self.current.value is None or self.previous.value is None:
            return None
        return self.current.value - self.previous.value

    @property
    def interval(self) -> tuple[float, float] | None:
        """Newcombe 95% interval of the difference."""
        if not self.comparable:
            return None
        return newcombe_interval(self.current.k, self.current.n, self.previous.k, self.previous.n)

    @property
    def verdict(self) -> str:
        """ "up", "down", "no clear change" or "not enough data"."""
        interval = self.interval
        if interval is None:
            return "not enough data"
        if interval[0] > 0:
            return "up"
        if interval[1] < 0:
            return "down"
        return "no clear change"

    def describe(self) -> str:
        """``"+10 pts (95% CI +2 to +18): up"`` or ``"… : no clear change"``."""
        interval, difference = self.interval, self.difference
        if interval is None or difference is None:
            return "not enough data to compare"
        return (
            f"{difference * 100:+.0f} pts (95% CI {interval[0] * 100:+.0f} to "
            f"{interval[1] * 100:+.0f}): {self.verdict}"
        )


@dataclass(frozen=True)
class Metrics:
    """Everything about one set of conversations."""

    counts: Counts = field(default_factory=Counts)
    bot_only: Counts = field(default_factory=Counts)
    handed_off: Counts = field(default_factory=Counts)
    reasons: dict[str, int] = field(default_factory=dict)
    first_response: Durations = field(default_factory=Durations)
    resolution_time: Durations = field(default_factory=Durations)


@dataclass(frozen=True)
class GroupRow:
    """One row of a breakdown (one intent, agent, channel, tag, day or week)."""

    key: str
    label: str
    counts: Counts
    previous: Counts
    first_response: Durations = field(default_factory=Durations)
    resolution_time: Durations = field(default_factory=Durations)

    @property
    def csat_change(self) -> Change:
        """This group's CSAT against the previous period."""
        return Change("CSAT", self.counts.csat, self.previous.csat)


@dataclass(frozen=True)
class TrendPoint:
    """One day or week of the trend, with its change from the bucket before."""

    start: date
    label: str
    counts: Counts
    change: Change | None
    partial: bool = False


@dataclass(frozen=True)
class LowRated:
    """A badly rated conversation, for follow-up."""

    conversation_id: int
    answered_at: datetime | None
    score: int
    comment: str | None
    intent: str | None
    agent: str
    customer: str
    channel: str


@dataclass(frozen=True)
class AtRisk:
    """A customer whose recent experience was bad or is still unresolved."""

    customer_id: int
    name: str
    tags: list[str]
    conversations: int
    low_scores: int
    repeat_contacts: int
    unresolved_handoffs: int
    last_contact: datetime | None


@dataclass(frozen=True)
class Period:
    """``[since, until)`` in UTC, with the business-local dates it covers (inclusive)."""

    since: datetime
    until: datetime
    first_day: date
    last_day: date

    @property
    def label(self) -> str:
        """``"2026-03-02 – 2026-03-29"``."""
        return f"{self.first_day.isoformat()} – {self.last_day.isoformat()}"

    @property
    def days(self) -> int:
        """Length in local calendar days."""
        return (self.last_day - self.first_day).days + 1
