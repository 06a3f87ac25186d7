"""Core's messages as a code and parameters, with one English template per code.

A message that a person reads (a segment error, a validation problem, an export refusal, an
analysis input error) is made with `msg(code, **params)`. Its English text is the code's template
here, formatted with the parameters (`str(m)`), which is what the CLI prints and what tests read.
Another language renders the same code from its own templates (`render(templates)`): the dashboard
keeps the Chinese ones in `dashboard/texts/messages*.py`, and a code without a translation falls back
to English. A parameter may itself be a message (a hint, a type's name), rendered in the same language.

Each area keeps its templates in its own `messages.py` (core/segments, core/validate, core/export,
core/analyses, core/dataset, core/store) and registers them here; `all_templates()` imports every area.
"""

from __future__ import annotations

import importlib
import json
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The modules holding templates; `all_templates()` imports each so that the registry is complete.
AREAS = (
    "core.segments.messages",
    "core.validate.messages",
    "core.export.messages",
    "core.analyses.messages",
    "core.dataset.messages",
    "core.store.messages",
)

ENGLISH: dict[str, str] = {"hint.did_you_mean": " Did you mean {names}?", "text.concat": "{first}{rest}"}


def register(templates: Mapping[str, str]) -> None:
    """Add an area's English templates; a code is defined once."""
    for code, text in templates.items():
        if code in ENGLISH and ENGLISH[code] != text:
            raise ValueError(f"message code {code!r} is defined twice with different texts")
        ENGLISH[code] = text


def all_templates() -> dict[str, str]:
    """Every code's English template (imports each area first)."""
    for area in AREAS:
        importlib.import_module(area)
    return dict(ENGLISH)


def placeholders(template: str) -> set[str]:
    """The parameter names a template uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@dataclass(frozen=True)
class Message:
    """A code and its parameters; `str()` is the English text."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, templates: Mapping[str, str] | None = None) -> str:
        """The text from `templates` (a language's), falling back to English per code."""
        template = (templates or {}).get(self.code) or ENGLISH[self.code]
        values = {k: v.render(templates) if isinstance(v, Message) else v for k, v in self.params.items()}
        return template.format(**values)

    def __str__(self) -> str:
        return self.render()

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "params": {k: str(v) if isinstance(v, Message) else v for k, v in self.params.items()},
        }


def _plain(m: Message) -> dict[str, Any]:
    """A message as JSON-ready data, a nested message as {"code", "params"} (`load_message` reads it back)."""
    return {"code": m.code, "params": {k: _plain(v) if isinstance(v, Message) else v for k, v in m.params.items()}}


def _from_plain(data: dict[str, Any]) -> Message:
    params = {k: _from_plain(v) if isinstance(v, dict) else v for k, v in data["params"].items()}
    return Message(data["code"], params)


def dump_message(m: Message | None) -> str | None:
    """The message as JSON text, nested messages kept as messages (for storing it, e.g. the cache's health)."""
    return None if m is None else json.dumps(_plain(m), default=str, ensure_ascii=False)


def load_message(text: str | None) -> Message | None:
    """The message `dump_message` wrote; None for none, or for a code this program no longer has."""
    if not text:
        return None
    m = _from_plain(json.loads(text))
    return m if m.code in all_templates() else None


def msg(code: str, **params: Any) -> Message:
    """A message; the code must have an English template (a typo fails at once, not on screen)."""
    if code not in ENGLISH:
        all_templates()  # an area not imported yet registers its templates now
    if code not in ENGLISH:
        raise KeyError(f"no English template for message code {code!r}")
    return Message(code, params)


def counted(code: str, n: int, **params: Any) -> Message:
    """A message about `n` things: `code.one` for one, `code` for more (English says them differently)."""
    return msg(f"{code}.one" if n == 1 else code, n=n, **params)


def hint(name: str, candidates) -> Message | str:
    """ " Did you mean 'x', 'y'?" as a message (the names closest to `name`), or "" when none is close."""
    from core.config import closest  # core.config reports its own problems through this module

    found = closest(name, candidates)
    return msg("hint.did_you_mean", names=", ".join(repr(f) for f in found)) if found else ""


def join_messages(parts) -> Message | str:
    """Messages (or strings) said one after the other, as one message; "" for none."""
    out: Message | str = ""
    for part in reversed([p for p in parts if p]):
        out = msg("text.concat", first=part, rest=out)
    return out


class CodedError(Exception):
    """An error whose text is a `Message` (`err.message_obj`); `str(err)` is its English text."""

    def __init__(self, message: Message | str):
        self.message_obj: Message | None = message if isinstance(message, Message) else None
        super().__init__(str(message))
