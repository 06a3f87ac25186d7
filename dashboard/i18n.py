"""Every label, message and chart title in English and Simplified Chinese."""

from __future__ import annotations

from core.models.labels import MODEL_LABELS

LANGUAGES = {"en": "English", "zh": "简体中文"}

# key -> (English, 简体中文). Placeholders use str.format names.
TEXT: dict[str, tuple[str, str]] = {
    "app.title": ("Audience Desk", "人群工作台"),
    "nav.overview": ("Overview", "总览"),
    "nav.builder": ("Segment Builder", "人群圈选"),
    "nav.catalog": ("Tag Catalog", "标签目录"),
    "nav.exports": ("Exports", "导出记录"),
    "nav.funnels": ("Funnels", "漏斗分析"),
    "nav.cohorts": ("Cohorts", "同期群"),
    "nav.experiments": ("Experiments", "A/B 实验"),
    "nav.group.audiences": ("Audiences", "人群"),
    "nav.group.analysis": ("Analysis", "分析"),
    "lang.label": ("Language", "语言"),
    "dataset.label": ("Dataset", "数据集"),
    "dataset.as_of": ("As of {as_of}", "数据截至 {as_of}"),
    "dataset.unusable": (
        "The dataset at {path} cannot be used. Every problem found is listed below with how to fix it.",
        "数据集 {path} 无法使用。下面列出了发现的全部问题及修复方法。",
    ),
    "dataset.missing": (
        "No dataset at {path}. Generate the demo with `adesk demo --out {path}` or set ADESK_DATA.",
        "{path} 下没有数据集。请运行 `adesk demo --out {path}` 生成演示数据，或设置 ADESK_DATA。",
    ),
    "dataset.building": ("Preparing the dataset (first open only)…", "正在准备数据集（仅首次打开）…"),
    "problem.file": ("File", "文件"),
    "problem.column": ("Column / key", "列 / 键"),
    "problem.message": ("Problem", "问题"),
    "problem.fix": ("How to fix", "修复方法"),
    "problem.severity": ("Severity", "级别"),
    "problem.error": ("error", "错误"),
    "problem.warning": ("warning", "警告"),
    "overview.title": ("Overview", "总览"),
    "overview.users": ("Members", "会员数"),
    "overview.buyers": ("Buyers (last {days} days)", "购买用户（近 {days} 天）"),
    "overview.active_users": ("Members with events", "有行为的会员"),
    "overview.events": ("Events", "事件数"),
    "overview.event_range": ("Events from {first} to {last}", "事件时间范围：{first} 至 {last}"),
    "overview.aipl": (
        "AIPL funnel: members who reached each stage (last {days} days)",
        "AIPL 漏斗：到达各阶段的会员（近 {days} 天）",
    ),
    "overview.rfm": ("RFM classes (last {days} days)", "RFM 分层（近 {days} 天）"),
    "overview.lifecycle": ("Lifecycle states", "生命周期状态"),
    "overview.conversion": ("Stage conversion", "阶段转化率"),
    "overview.health": ("Dataset health", "数据健康"),
    "overview.health_ok": ("No problems found.", "未发现问题。"),
    "chart.users": ("Members", "会员数"),
    "chart.share": ("Share", "占比"),
    "error.unexpected": (
        "Something went wrong while computing this view: {error}. Nothing was changed.",
        "计算此视图时出错：{error}。未做任何更改。",
    ),
    # model values
}


def _model_texts() -> dict[str, tuple[str, str]]:
    """`rfm.<class>`, `aipl.<stage>`, `lifecycle.<state>`: core's model labels (one source with its descriptions)."""
    out: dict[str, tuple[str, str]] = {}
    for model, by_lang in MODEL_LABELS.items():
        for value, en in by_lang["en"].items():
            zh = by_lang["zh"][value]
            if model == "aipl" and value != "none":  # a stage shows its letter: "A · Awareness"
                en, zh = f"{value} · {en}", f"{value} · {zh}"
            out[f"{model}.{value}"] = (en, zh)
    return out


TEXT.update(_model_texts())


def _merge_area_texts() -> None:
    """Each page area keeps its labels in dashboard/texts/<area>.py as TEXT; merge them here."""
    import importlib
    import pkgutil

    from dashboard import texts

    for info in pkgutil.iter_modules(texts.__path__):
        module = importlib.import_module(f"dashboard.texts.{info.name}")
        for key, pair in module.TEXT.items():
            if key in TEXT and TEXT[key] != pair:
                raise ValueError(f"label {key!r} is defined twice with different texts")
            TEXT[key] = pair


_merge_area_texts()


def t(key: str, lang: str = "en", **kwargs: object) -> str:
    """The text for `key` in `lang`, formatted; the key itself if it is unknown (visible, never a crash)."""
    pair = TEXT.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "zh" else pair[0]
    return text.format(**kwargs) if kwargs else text


def fmt_int(n: int | None) -> str:
    """Thousands separators, the same in both languages."""
    return "—" if n is None else f"{n:,}"


def fmt_pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}%"
