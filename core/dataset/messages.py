"""The cache build's problems: codes and English templates (see core/messages.py); Chinese: dashboard/texts/messages.py."""

from __future__ import annotations

from core.messages import register

TEMPLATES: dict[str, str] = {
    "dataset.no_events": "there are no events with a timestamp.",
    "dataset.no_events.fix": "Add events, or set as_of in dataset.toml.",
    "dataset.counter_overflow": (
        "some members have {limit:,} or more events of one kind; the per-member counters cannot hold that."
    ),
    "dataset.counter_overflow.fix": "Remove bot or test accounts from events (or ask the developers to widen SLOT_BITS).",
    "dataset.unknown_users.one": "{n:,} event (up to as_of) belongs to users not in users.",
    "dataset.unknown_users": "{n:,} events (up to as_of) belong to users not in users.",
    "dataset.unknown_users.fix": "Add those users to users, or drop their events; they are ignored.",
}
register(TEMPLATES)
