"""The analyses' input errors: codes and English templates (see core/messages.py); Chinese: dashboard/texts/messages.py."""

from __future__ import annotations

from core.messages import register

TEMPLATES: dict[str, str] = {
    # AIPL over time
    "aipl.after_as_of": "{day} is after the dataset's as_of ({as_of}): stages can be read up to that day.",
    "aipl.months": "months must be between 1 and 120, got {months}.",
    "aipl.flow_order": "the flow's first day ({first}) must be before its second ({second}).",
    # cohort retention
    "retention.period": "period must be one of {periods}, got {period!r}.",
    "retention.mode": "mode must be one of {modes}, got {mode!r}.",
    "retention.range_swapped": "the range starts ({first}) after it ends ({last}); swap them.",
    "retention.after_as_of": "the range starts ({first}) after as_of ({as_of}): no member has started then yet.",
    "retention.no_signup": "this dataset's users have no signup_at: start from an event instead.",
    "retention.signup_filters": "start filters apply to a start event, not to signup.",
    "retention.too_many_periods": (
        "from {first} to as_of ({as_of}) is {count:,} {period}s; the table holds at most {limit}: start the range later{by_month}."
    ),
    "retention.or_by_month": " or count by month",
    # funnels
    "funnel.step_not_object": 'a step is an object {{"event": …, "where": […]}}.',
    "funnel.step_keys": "unknown key(s): {keys}; a step has 'event' and 'where'.",
    "funnel.step_event": "missing 'event' (an event name such as product_view).",
    "funnel.not_object": "a funnel is a JSON object with 'steps'.",
    "funnel.keys": "unknown key(s): {keys}; a funnel has steps, from, to, window, exclusions.",
    "funnel.steps": "a funnel has {min} to {max} steps, got {n}.",
    "funnel.exclusions": "'exclusions' is a list of up to {limit} events.",
    "funnel.not_a_date": "{value!r} is not a date; write YYYY-MM-DD.",
    "funnel.range_swapped": "the entry range starts ({first}) after it ends ({last}); swap them.",
    "funnel.window": '\'window\' is {{"value": a whole number > 0, "unit": "minute" | "hour" | "day"}}.',
    "funnel.window_unit": "unknown unit {unit!r}; use minute, hour or day.",
    "funnel.window_value": "the conversion window must be a whole number > 0, got {value!r}.",
    "funnel.window_long": "the conversion window is longer than ten years.",
    "funnel.no_funnel": "the link does not hold a funnel.",
    "funnel.unknown_breakdown": (
        "unknown breakdown field '{name}'.{hint} Use an attribute, tag:PATH, rfm/aipl/lifecycle or step1:PROPERTY."
    ),
    "funnel.trend": "trend is by 'day' or 'week', got {trend!r}.",
}
register(TEMPLATES)
