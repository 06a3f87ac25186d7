"""Core's coded messages in the interface language (templates: dashboard/texts/messages.py; English: core).

English is always core's own text (`str(err)`), so pages, CLI and tests read the same words; another
language renders each message's code from its templates, falling back to English for a code (or a
message without one) that has no translation.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.messages import Message
from core.problems import Problem
from core.segments.conditions import SegmentError, SegmentIssue
from dashboard.i18n import t
from dashboard.texts.messages import ZH

_TEMPLATES: dict[str, Mapping[str, str]] = {"zh": ZH}


def render(message: Message | None, english: str, lang: str) -> str:
    """`message` in `lang` (English: the text core made)."""
    if message is None or lang not in _TEMPLATES:
        return english
    return message.render(_TEMPLATES[lang])


def issue_text(issue: SegmentIssue, lang: str) -> str:
    """'path: what is wrong' in `lang`."""
    text = render(issue.detail, issue.message, lang)
    return f"{issue.path}: {text}" if issue.path else text


def error_text(err: BaseException, lang: str) -> str:
    """What a core error says, in `lang`: a definition's issues, a coded refusal, else its English text."""
    if lang not in _TEMPLATES:
        return str(err)
    if isinstance(err, SegmentError):
        what = "funnel" if type(err).__name__ == "FunnelError" else "segment"
        issues = [issue_text(i, lang) for i in err.issues]
        if len(issues) == 1:
            return t(f"error.{what}.one", lang, issue=issues[0])
        return t(f"error.{what}.many", lang, n=len(issues), issues="\n".join(f"  - {i}" for i in issues))
    coded = getattr(err, "message_obj", None)
    return render(coded, str(err), lang) if isinstance(coded, Message) else str(err)


def problem_text(problem: Problem, lang: str) -> tuple[str, str]:
    """A validation problem's (message, fix) in `lang`."""
    return render(problem.detail, problem.message, lang), render(problem.fix_detail, problem.fix, lang)
