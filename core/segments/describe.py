"""A segment definition in plain words (English or Simplified Chinese).

The "how this was counted" panel, exports and the CLI read these sentences, so
they name every condition, window and filter the compiler uses.

>>> from core.segments.model import parse_segment
>>> describe(parse_segment({"conditions": [
...     {"kind": "attribute", "field": "age", "op": "between", "values": [25, 35]},
...     {"kind": "event", "event": "purchase", "op": ">=", "count": 2, "within_days": 90}]}))
'age is between 25 and 35 AND did purchase at least 2 times in the last 90 days'
>>> describe(parse_segment({"conditions": []}), lang="zh")
'全部用户'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from core.catalog import Catalog
from core.segments.model import (
    Aipl,
    Attribute,
    Condition,
    Event,
    EventFilter,
    FunnelCondition,
    Group,
    Lifecycle,
    Rfm,
    Segment,
    SegmentRef,
    Tag,
)

Lang = Literal["en", "zh"]

OPERATOR_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "eq": "is",
        "ne": "is not",
        "in": "is one of",
        "not_in": "is not one of",
        "gt": "is greater than",
        "gte": "is at least",
        "lt": "is less than",
        "lte": "is at most",
        "between": "is between",
        "contains": "contains",
        "is_null": "is empty",
        "not_null": "is not empty",
        "within_last_days": "is within the last … days",
        "has": "has tag",
        "has_not": "does not have tag",
        ">=": "at least",
        ">": "more than",
        "=": "exactly",
        "<": "fewer than",
        "<=": "at most",
        "reached": "reached step",
        "not_reached": "did not reach step",
        "dropped_after": "dropped after step",
    },
    "zh": {
        "eq": "等于",
        "ne": "不等于",
        "in": "属于",
        "not_in": "不属于",
        "gt": "大于",
        "gte": "大于等于",
        "lt": "小于",
        "lte": "小于等于",
        "between": "介于",
        "contains": "包含",
        "is_null": "为空",
        "not_null": "不为空",
        "within_last_days": "在最近…天内",
        "has": "拥有标签",
        "has_not": "没有标签",
        ">=": "至少",
        ">": "多于",
        "=": "恰好",
        "<": "少于",
        "<=": "至多",
        "reached": "到达第几步",
        "not_reached": "未到达第几步",
        "dropped_after": "在第几步后流失",
    },
}

# Dates read better as before/after than as greater/less.
_DATE_LABELS = {
    "en": {
        "gt": "is after",
        "gte": "is on or after",
        "lt": "is before",
        "lte": "is on or before",
        "eq": "is on",
    },
    "zh": {"gt": "晚于", "gte": "不早于", "lt": "早于", "lte": "不晚于", "eq": "是"},
}

# "has tag t with value ..." reads better without the verb "is".
_TAG_VALUE_LABELS_EN = {
    "eq": "",
    "in": "one of",
    "gt": "greater than",
    "gte": "at least",
    "lt": "less than",
    "lte": "at most",
}

# Labels for common member attributes; other names are shown as they are.
FIELD_LABELS_ZH = {
    "city": "城市",
    "province": "省份",
    "age": "年龄",
    "gender": "性别",
    "member_level": "会员等级",
    "channel": "渠道",
    "signup_at": "注册时间",
    "birthday": "生日",
    "user_id": "用户ID",
    "sms_opt_in": "短信授权",
    "wechat_opt_in": "微信授权",
    "email_opt_in": "邮件授权",
    "phone": "手机号",
    "email": "邮箱",
    "openid": "OpenID",
    "amount": "金额",
    "product_category": "商品品类",
    "campaign": "活动",
}

RFM_LABELS_ZH = {
    "important_value": "重要价值客户",
    "important_development": "重要发展客户",
    "important_retention": "重要保持客户",
    "important_recovery": "重要挽留客户",
    "general_value": "一般价值客户",
    "general_development": "一般发展客户",
    "general_retention": "一般保持客户",
    "general_recovery": "一般挽留客户",
    "none": "无购买",
}
LIFECYCLE_LABELS_ZH = {
    "new": "新用户",
    "active": "活跃",
    "dormant": "沉默",
    "churned": "流失",
    "never_active": "从未活跃",
}

_FUNNEL_WORDS = {
    "en": {
        "reached": "reached step {k} ({event}) of the funnel {steps}",
        "not_reached": "did not reach step {k} ({event}) of the funnel {steps}",
        "dropped_after": "reached step {k} ({event}) but not step {next} of the funnel {steps}",
        "range": "entry {a} to {b}",
        "default_range": "entry in the 30 days ending on as_of",
        "days_before": "29 days before {b}",
        "window": "converting within {n} {unit}",
        "units": {"minute": "minutes", "hour": "hours", "day": "days"},
        "excluding": "excluding {events}",
    },
    "zh": {
        "reached": "在漏斗 {steps} 中到达第 {k} 步（{event}）",
        "not_reached": "在漏斗 {steps} 中未到达第 {k} 步（{event}）",
        "dropped_after": "在漏斗 {steps} 中到达第 {k} 步（{event}）但未到达第 {next} 步",
        "range": "进入日期 {a} 至 {b}",
        "default_range": "进入日期为截至 as_of 的 30 天",
        "days_before": "{b} 前 29 天",
        "window": "{n} {unit}内转化",
        "units": {"minute": "分钟", "hour": "小时", "day": "天"},
        "excluding": "排除 {events}",
    },
}

_WORDS = {
    "en": {
        "all_users": "all users",
        "and": " AND ",
        "or": " OR ",
        "any_of": "any of ({})",
        "all_of": "({})",
        "not": "NOT ({})",
        "not_prefix": "NOT ",
        "list_sep": ", ",
        "more": "… ({n:,} values)",
        "true": "true",
        "false": "false",
        "between": "{field} is between {a} and {b}",
        "within": "{field} is within the last {n} days",
        "contains": '{field} contains "{v}"',
        "tag_has": "has tag {tag}",
        "tag_has_not": "does not have tag {tag}",
        "tag_value": "has tag {tag} with value {op} {v}",
        "rfm": "RFM class",
        "aipl": "AIPL stage",
        "lifecycle": "lifecycle state",
        "seg_in": "is in saved segment {id}",
        "seg_not_in": "is not in saved segment {id}",
        "ev_did": "did {event} {op} {n} {times}",
        "ev_not": "did not do {event}",
        "ev_window": " in the last {n} days",
        "ev_between": " between {a} and {b}",
        "ev_where": " (where {filters})",
        "time": "time",
        "times": "times",
    },
    "zh": {
        "all_users": "全部用户",
        "and": " 且 ",
        "or": " 或 ",
        "any_of": "满足任一（{}）",
        "all_of": "（{}）",
        "not": "非（{}）",
        "not_prefix": "非",
        "list_sep": "、",
        "more": "…（共 {n:,} 个值）",
        "true": "是",
        "false": "否",
        "between": "{field} 介于 {a} 和 {b} 之间",
        "within": "{field} 在最近 {n} 天内",
        "contains": "{field} 包含“{v}”",
        "tag_has": "拥有标签 {tag}",
        "tag_has_not": "没有标签 {tag}",
        "tag_value": "标签 {tag} 的值 {op} {v}",
        "rfm": "RFM 分类",
        "aipl": "AIPL 阶段",
        "lifecycle": "生命周期",
        "seg_in": "属于已保存分群 {id}",
        "seg_not_in": "不属于已保存分群 {id}",
        "ev_did": "{window}{event} {op} {n} 次",
        "ev_not": "{window}未发生 {event}",
        "ev_window": "近{n}天内 ",
        "ev_between": "{a} 至 {b} 期间 ",
        "ev_where": "（条件：{filters}）",
        "time": "次",
        "times": "次",
    },
}

AIPL_LABELS = {
    "en": {"A": "Awareness", "I": "Interest", "P": "Purchase", "L": "Loyalty", "none": "none"},
    "zh": {"A": "认知", "I": "兴趣", "P": "购买", "L": "忠诚", "none": "无"},
}
DATED_WORDS = {
    "en": {
        "is": "{model} on {day} is {v}",
        "is_not": "{model} on {day} is not {v}",
        "in": "{model} on {day} is one of {v}",
        "not_in": "{model} on {day} is not one of {v}",
    },
    "zh": {
        "is": "{day} 的{model}为 {v}",
        "is_not": "{day} 的{model}不是 {v}",
        "in": "{day} 的{model}属于 {v}",
        "not_in": "{day} 的{model}不属于 {v}",
    },
}

_MAX_LISTED = 10  # long lists (pasted ids) are shortened


class _Describer:
    def __init__(
        self, catalog: Catalog | None, lang: str, resolve: Callable[[str], object] | None
    ) -> None:
        if lang not in _WORDS:
            raise ValueError(f"language must be one of {', '.join(_WORDS)}, got {lang!r}")
        self.catalog = catalog
        self.lang = lang
        self.words = _WORDS[lang]
        self.labels = OPERATOR_LABELS[lang]
        self.resolve = resolve

    # ---- values
    def value(self, v: object) -> str:
        if isinstance(v, bool):
            return self.words["true" if v else "false"]
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    def values(self, vs: tuple | None, labels: dict[str, str] | None = None) -> str:
        items = list(vs or ())
        shown = [
            labels.get(v, v) if labels and isinstance(v, str) else self.value(v)
            for v in items[:_MAX_LISTED]
        ]
        text = self.words["list_sep"].join(shown)
        if len(items) > _MAX_LISTED:
            text += self.words["more"].format(n=len(items))
        return text

    def field(self, name: str) -> str:
        return FIELD_LABELS_ZH.get(name, name) if self.lang == "zh" else name

    def column_type(self, name: str, event_property: bool) -> str | None:
        if self.catalog is None:
            return None
        columns = self.catalog.event_properties if event_property else self.catalog.attributes
        column = columns.get(name)
        return column.type if column is not None else None

    # ---- conditions
    def compare(
        self, field: str, op: str, value: object, values: tuple | None, event_property: bool = False
    ) -> str:
        name = self.field(field)
        w = self.words
        if op in ("is_null", "not_null"):
            return f"{name} {self.labels[op]}"
        if op == "between":
            a, b = (values or (None, None))[:2]
            return w["between"].format(field=name, a=self.value(a), b=self.value(b))
        if op == "within_last_days":
            return w["within"].format(field=name, n=value)
        if op == "contains":
            return w["contains"].format(field=name, v=value)
        if op in ("in", "not_in"):
            return f"{name} {self.labels[op]} {self.values(values)}"
        label = self.labels[op]
        if (
            self.column_type(field, event_property) in ("timestamp", "date")
            and op in _DATE_LABELS[self.lang]
        ):
            label = _DATE_LABELS[self.lang][op]
        return f"{name} {label} {self.value(value)}"

    def condition(self, c: Condition) -> str:
        text = self.positive(c)
        if not c.negate:
            return text
        if isinstance(c, Group) and len(c.conditions) > 1:
            if c.match == "all":  # NOT (A AND B), not NOT ((A AND B))
                return self.words["not"].format(self.joined(c))
            return self.words["not_prefix"] + text  # NOT any of (A OR B)
        return self.words["not"].format(text)

    def joined(self, group: Group) -> str:
        w = self.words
        return (w["and"] if group.match == "all" else w["or"]).join(
            self.condition(x) for x in group.conditions
        )

    def positive(self, c: Condition) -> str:
        w = self.words
        if isinstance(c, Group):
            if not c.conditions:
                return w["all_users"]
            if len(c.conditions) == 1:
                return self.condition(c.conditions[0])
            return (w["any_of"] if c.match == "any" else w["all_of"]).format(self.joined(c))
        if isinstance(c, Attribute):
            return self.compare(c.field, c.op, c.value, c.values)
        if isinstance(c, Tag):
            if c.op in ("has", "has_not"):
                return w["tag_has" if c.op == "has" else "tag_has_not"].format(tag=c.tag)
            shown = self.values(c.values) if c.op == "in" else self.value(c.value)
            op = _TAG_VALUE_LABELS_EN[c.op] if self.lang == "en" else self.labels[c.op]
            return w["tag_value"].format(tag=c.tag, op=op, v=shown).replace("  ", " ")
        if isinstance(c, Event):
            return self.event(c)
        if isinstance(c, (Rfm, Aipl, Lifecycle)):
            labels = None
            if self.lang == "zh":
                labels = (
                    RFM_LABELS_ZH
                    if isinstance(c, Rfm)
                    else LIFECYCLE_LABELS_ZH
                    if isinstance(c, Lifecycle)
                    else None
                )
            if c.as_of is not None:
                return self.dated_stage(c, labels)
            return f"{w[c.kind]} {self.labels[c.op]} {self.values(c.values, labels)}"
        if isinstance(c, SegmentRef):
            return w["seg_in" if c.op == "in" else "seg_not_in"].format(id=c.segment)
        if isinstance(c, FunnelCondition):
            return self.funnel(c)
        raise TypeError(f"not a segment condition: {type(c).__name__}")

    def dated_stage(self, c: Rfm | Aipl | Lifecycle, labels: dict[str, str] | None) -> str:
        """A model at a past day: "AIPL stage on 2026-07-31 is Interest" / "2026-07-31 的 AIPL 阶段为 兴趣"."""
        if isinstance(c, Aipl):
            labels = AIPL_LABELS[self.lang]
        one = len(c.values) == 1
        op = {("in", True): "is", ("not_in", True): "is_not", ("in", False): "in", ("not_in", False): "not_in"}[(c.op, one)]
        return DATED_WORDS[self.lang][op].format(model=self.words[c.kind], day=c.as_of, v=self.values(c.values, labels))

    def event(self, c: Event) -> str:
        w = self.words
        window = ""
        if c.within_days is not None:
            window = w["ev_window"].format(n=c.within_days)
        elif c.between is not None:
            window = w["ev_between"].format(a=c.between[0], b=c.between[1])
        did_not = (
            (c.op == "=" and c.count == 0)
            or (c.op == "<" and c.count == 1)
            or (c.op == "<=" and c.count == 0)
        )
        if self.lang == "en":
            if did_not:
                text = w["ev_not"].format(event=c.event) + window
            else:
                times = w["time"] if c.count == 1 else w["times"]
                text = (
                    w["ev_did"].format(event=c.event, op=self.labels[c.op], n=c.count, times=times)
                    + window
                )
        elif did_not:
            text = w["ev_not"].format(window=window, event=c.event)
        else:
            text = w["ev_did"].format(window=window, event=c.event, op=self.labels[c.op], n=c.count)
        if c.where:
            filters = w["and"].join(self.event_filter(f) for f in c.where)
            text += w["ev_where"].format(filters=filters)
        return text

    def funnel(self, c: FunnelCondition) -> str:
        fw, spec = _FUNNEL_WORDS[self.lang], c.funnel

        def named(item) -> str:
            where = self.words["and"].join(self.event_filter(f) for f in item.where)
            return item.event + (self.words["ev_where"].format(filters=where) if where else "")

        steps = " → ".join(named(s) for s in spec.steps)
        if spec.start or spec.end:  # a missing end is as_of, a missing start 29 days before the end
            rng = fw["range"].format(a=spec.start or fw["days_before"].format(b=spec.end or "as_of"), b=spec.end or "as_of")
        else:
            rng = fw["default_range"]
        details = [rng, fw["window"].format(n=spec.window_value, unit=fw["units"][spec.window_unit])]
        if spec.exclusions:
            details.append(fw["excluding"].format(events=self.words["list_sep"].join(named(e) for e in spec.exclusions)))
        sep = "; " if self.lang == "en" else "；"
        wrap = " ({})" if self.lang == "en" else "（{}）"
        text = fw[c.op].format(k=c.step, next=c.step + 1, event=spec.steps[c.step - 1].event, steps=steps + wrap.format(sep.join(details)))
        return text

    def event_filter(self, f: EventFilter) -> str:
        return self.compare(f.field, f.op, f.value, f.values, event_property=True)


def describe(
    segment: Segment,
    catalog: Catalog | None = None,
    lang: Lang = "en",
    resolve: Callable[[str], object] | None = None,
) -> str:
    """The whole definition as one sentence; "all users" / "全部用户" when it has no conditions.

    `resolve` is accepted for symmetry with the compiler; saved segments are named by id.
    """
    d = _Describer(catalog, lang, resolve)
    if not segment.conditions:
        return d.words["all_users"]
    joiner = d.words["and"] if segment.match == "all" else d.words["or"]
    return joiner.join(d.condition(c) for c in segment.conditions)


def describe_lines(
    segment: Segment,
    catalog: Catalog | None = None,
    lang: Lang = "en",
    resolve: Callable[[str], object] | None = None,
) -> list[str]:
    """One line per top-level condition (the panel shows how they join); ["all users"] when empty."""
    d = _Describer(catalog, lang, resolve)
    if not segment.conditions:
        return [d.words["all_users"]]
    return [d.condition(c) for c in segment.conditions]
