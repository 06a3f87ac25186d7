"""The models' value labels in English and 简体中文: the one source for core's descriptions and the dashboard."""

from __future__ import annotations

from core.catalog import AIPL_STAGES, LIFECYCLE_STATES, RFM_CLASSES

# model -> language -> value -> label; every value of every model, in both languages.
MODEL_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "rfm": {
        "en": {
            "important_value": "Important value",
            "important_development": "Important development",
            "important_retention": "Important retention",
            "important_recovery": "Important recovery",
            "general_value": "General value",
            "general_development": "General development",
            "general_retention": "General retention",
            "general_recovery": "General recovery",
            "none": "No purchase in window",
        },
        "zh": {
            "important_value": "重要价值客户",
            "important_development": "重要发展客户",
            "important_retention": "重要保持客户",
            "important_recovery": "重要挽留客户",
            "general_value": "一般价值客户",
            "general_development": "一般发展客户",
            "general_retention": "一般保持客户",
            "general_recovery": "一般挽留客户",
            "none": "窗口内无购买",
        },
    },
    "aipl": {
        "en": {"A": "Awareness", "I": "Interest", "P": "Purchase", "L": "Loyalty", "none": "No stage"},
        "zh": {"A": "认知", "I": "兴趣", "P": "购买", "L": "忠诚", "none": "无阶段"},
    },
    "lifecycle": {
        # `new` signed up in the last N days (DATA_CONTRACT.md): 新客, the domain's 新老客 (DOMAIN.md)
        "en": {
            "new": "New",
            "active": "Active",
            "dormant": "Dormant",
            "churned": "Churned",
            "never_active": "Never active",
        },
        "zh": {"new": "新客", "active": "活跃", "dormant": "沉默", "churned": "流失", "never_active": "从未活跃"},
    },
}
MODEL_VALUES = {"rfm": RFM_CLASSES, "aipl": AIPL_STAGES, "lifecycle": LIFECYCLE_STATES}


def label(model: str, value: str, lang: str = "en") -> str:
    """The label of one value of a model (the value itself when it has none)."""
    return MODEL_LABELS[model][lang].get(value, value)


def labels(model: str, lang: str) -> dict[str, str]:
    """Every value's label of a model in a language."""
    return MODEL_LABELS[model][lang]
