"""The segment errors' codes and English templates (see core/messages.py); Chinese: dashboard/texts/messages.py."""

from __future__ import annotations

from core.messages import Message, msg, register

TEMPLATES: dict[str, str] = {
    # what a JSON value is (a parameter of other messages)
    "type.null": "null",
    "type.bool": "true/false",
    "type.number": "a number",
    "type.text": "text",
    "type.list": "a list",
    "type.object": "an object",
    # where an unknown key was found
    "segment.where.root": "the definition",
    "segment.where.condition": "{article} {kind} condition",
    "segment.where.filter": "an event filter",
    # reading the JSON
    "segment.too_large": "the definition is larger than {mb} MB.",
    "segment.not_utf8": "the definition is not UTF-8 text ({reason} at byte {start}).",
    "segment.too_deep_to_read": "the definition is nested far too deep to read; groups may nest at most {limit} deep.",
    "segment.bad_json": "not valid JSON: {error} at line {line}, column {column}.",
    "segment.bad_json_value": "not valid JSON: {error}.",
    "segment.too_deep": "the definition is nested too deep; groups may nest at most {limit} deep.",
    # the shared checks (core/segments/parser.py)
    "segment.unknown_key": "unknown key '{key}' in {where}.{hint} Allowed keys: {allowed}.",
    "segment.missing_key": "missing '{key}' ({what}).",
    "segment.not_text": "'{key}' must be a non-empty text ({what}), got {type}.",
    "segment.name_too_long": "'{key}' is longer than {limit} characters.",
    "segment.missing_op": "missing 'op'; a {kind} condition takes one of: {allowed}.",
    "segment.unknown_op": "unknown operator {op} for a {kind} condition.{hint} Use one of: {allowed}.",
    "segment.negate_not_bool": "'negate' must be true or false, got {value}.",
    "segment.bad_match": '\'match\' must be "all" (every condition) or "any" (at least one), got {value}.',
    "segment.not_finite": "{value} is not a finite number.",
    "segment.null_value": "value is null; to find users without a value use the operator 'is_null'.",
    "segment.bad_scalar": "a value must be text, a number or true/false, got {type}.",
    "segment.op_takes_no_value": "'{op}' takes no value; remove '{key}'.",
    "segment.op_takes_values": "'{op}' takes 'values' (a list), not 'value'.{between}",
    "segment.between_hint": ' Write "values": [low, high].',
    "segment.op_only_values": "'{op}' takes only 'values'; remove 'value'.",
    "segment.op_needs_values": "'{op}' needs 'values' (a list).",
    "segment.values_not_list": "'values' must be a list, got {type}.",
    "segment.between_two": "'between' takes exactly two values [low, high], got {n}.",
    "segment.op_needs_one_value": "'{op}' needs at least one value.",
    "segment.too_many_values": "{n:,} values is more than the limit of {limit:,} in one list.",
    "segment.op_takes_value": "'{op}' takes one 'value', not a list 'values'.",
    "segment.op_only_value": "'{op}' takes only 'value'; remove 'values'.",
    "segment.op_needs_value": "'{op}' needs a 'value'.",
    "segment.contains_text": "'contains' looks for text, got {value}; write it in quotes.",
    "segment.whole_days": "'{what}' must be a whole number of days from 1 to {limit}, got {value}.",
    "segment.not_object": "a segment definition must be a JSON object, got {type}.",
    "segment.bad_version": "unsupported version {value}; this app reads version {version}.",
    "segment.conditions_not_list": "'conditions' must be a list, got {type}.",
    "segment.too_many_conditions": "more than {limit} conditions; split the definition into saved segments.",
    "segment.condition_not_object": "a condition must be a JSON object, got {type}.",
    "segment.missing_kind": "missing 'kind'; one of: {kinds}.",
    "segment.unknown_kind": "unknown kind {kind}.{hint} Use one of: {kinds}.",
    "segment.filter_not_object": "an event filter must be an object {{field, op, value}}, got {type}.",
    "segment.filters_not_list": "filters must be a list of {{field, op, value}} objects, got {type}.",
    "segment.too_many_filters": "more than {limit} filters.",
    "segment.group_too_deep": "groups are nested more than {limit} deep; flatten the definition.",
    "segment.not_a_date": "{value} is not a date; write YYYY-MM-DD.",
    # kinds
    "segment.event.missing_count": "missing 'count' (how many events; 0 means the user did not).",
    "segment.event.bad_count": "'count' must be a whole number ≥ 0, got {value}.",
    "segment.event.window_both": "give either 'within_days' or 'between', not both.",
    "segment.event.between_dates": '\'between\' must be two dates ["YYYY-MM-DD", "YYYY-MM-DD"] (both included).',
    "segment.event.dates_swapped": "the first date {first} is after the second {second}; swap them.",
    "segment.event.where_not_list": "'where' must be a list of filters, got {type}.",
    "segment.event.too_many": "more than {limit} conditions and filters in one definition.",
    "segment.funnel.bad_step": "'step' must be a whole number from 1 to {last}{extra}, got {value}.",
    "segment.funnel.last_step": " (nobody drops after the last step)",
    "segment.model.takes_values": "a {kind} condition takes 'values' (a list), not 'value'.",
    "segment.model.values_list": "'values' must be a non-empty list of: {allowed}.",
    "segment.model.bad_value": "{value} is not a {kind} value.{hint} Use one of: {allowed}.",
    "segment.model.too_many": "more than {limit:,} values.",
    "segment.model.bad_as_of": "{value} is not a date; write it as YYYY-MM-DD (e.g. 2026-07-31).",
    "segment.model.after_as_of": "{day} is after the dataset's as_of ({as_of}); a model can be read up to that day.",
    "segment.tag.value_text": "tag values are text; write {value} in quotes.",
    "segment.tag.number_compare": "'{op}' compares the tag's value as a number; got {value}, write a number without quotes.",
    "segment.tag.no_values": "tag '{tag}' carries no values, so '{op}' cannot compare one; use 'has' or 'has_not'.",
    "segment.tag.too_large": "{value} is too large to compare with.",
    # against the dataset (compile)
    "segment.unknown_attribute": "unknown attribute '{field}'.{hint}",
    "segment.use_model_kind": " Use a condition of kind '{kind}' instead.",
    "segment.unknown_tag": "unknown tag '{tag}'.{hint}",
    "segment.unknown_event": "unknown event '{event}'.{hint}",
    "segment.unknown_event_property": "unknown event property '{field}'.{hint}",
    "segment.property_hint.ts": " The event time is set with 'within_days' or 'between'.",
    "segment.property_hint.event": " The event name is the condition's 'event'.",
    "segment.property_hint.user_id": " Filter users with an attribute condition instead.",
    "segment.column_unsupported": "'{column}' has type {type}, which segments cannot filter on.",
    "segment.op_not_for_column": "'{op}' does not apply to '{column}' ({type_name} column); use one of: {allowed}.",
    "segment.between_swapped": "the low end {low} is above the high end {high}; swap them.",
    "segment.too_large_for": "{value} is too large for '{column}'.",
    "segment.wrong_value_type": "'{column}' is {type_name} column; {value} is not {want}.",
    "segment.want.text": "text; write it in quotes",
    "segment.want.number_unquoted": "a number; write it without quotes",
    "segment.want.number": "a number",
    "segment.want.bool": "true or false (without quotes)",
    "segment.want.date": "a date written YYYY-MM-DD",
    "segment.want.other": "a supported value",
    # a segment link (core/segments/urlcodec.py)
    "segment.link.not_text": "a segment link must be text, got {type}.",
    "segment.link.empty": "the segment link is empty.",
    "segment.link.too_long": "the segment link is too long to be a segment definition.",
    "segment.link.version": "the segment link does not start with version '{prefix}'; it was not made by this app or is damaged.",
    "segment.link.bad_char": "the segment link contains {char!r}, which is not a link character; it was damaged.",
    "segment.link.cut_short": "the segment link is cut short (incomplete); copy the whole link.",
    "segment.link.not_base64": "the segment link is damaged (not valid base64).",
    "segment.link.not_zlib": "the segment link is damaged (cannot be decompressed).",
    "segment.link.too_large": "the segment link expands to more than {mb} MB; refused.",
    "segment.link.extra": "the segment link has extra characters at the end; it was damaged.",
    # saved segments (one walker: core/segments/refs.py)
    "segment.ref.cycle_self": "segment '{id}' refers to itself: {chain}. Remove the reference.",
    "segment.ref.cycle": "segment '{id}' refers to itself through other saved segments: {chain}. Remove the reference.",
    "segment.ref.no_store": "refers to saved segment '{id}', but no saved segments are available here.",
    "segment.ref.too_deep": "saved segments refer to each other more than {limit} deep.",
    "segment.ref.unknown": "unknown saved segment '{id}'.{hint}",
    "segment.expanded_too_many": "more than {limit:,} conditions once saved segments are expanded.",
    "segment.expanded_too_deep": (
        "groups and saved segments nest more than {limit} deep once saved segments are expanded; flatten some groups."
    ),
}
register(TEMPLATES)

_TYPES = ((type(None), "type.null"), (bool, "type.bool"), ((int, float), "type.number"), (str, "type.text"),
          ((list, tuple), "type.list"), (dict, "type.object"))  # fmt: skip


def type_of(value: object) -> Message | str:
    """What a JSON value is, as a message (core.segments.conditions.describe_type in words)."""
    for types, code in _TYPES:
        if isinstance(value, types):
            return msg(code)
    return type(value).__name__
