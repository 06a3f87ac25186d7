"""AIPL page labels: key -> (English, 简体中文)."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "nav.aipl": ("AIPL", "AIPL 分析"),
    "aipl.title": ("AIPL: funnel, trend and flow", "AIPL：漏斗、趋势与流转"),
    "aipl.base": ("Members", "会员范围"),
    "aipl.compare": ("Compare with", "对比"),
    "aipl.base.all": ("All members", "全部会员"),
    "aipl.base.current": ("The builder's current segment", "圈选中的当前人群"),
    "aipl.base.none": ("(no comparison)", "（不对比）"),
    "aipl.base.saved": ("Saved: {name}", "已保存：{name}"),
    "aipl.view": ("View", "视图"),
    "aipl.view.funnel": ("Funnel", "漏斗"),
    "aipl.view.trend": ("Trend", "趋势"),
    "aipl.view.flow": ("Flow", "流转"),
    "aipl.day": ("Stages on", "阶段日期"),
    "aipl.size": ("{n} members", "{n} 位会员"),
    "aipl.funnel.title": ("{base} on {day}: reached each stage", "{base}（{day}）：到达各阶段"),
    "aipl.col.stage": ("Stage", "阶段"),
    "aipl.col.in_stage": ("In stage", "处于该阶段"),
    "aipl.col.reached": ("Reached", "已到达"),
    "aipl.col.conversion": ("Conversion from the stage before", "较上一阶段转化"),
    "aipl.open_help": ("Open these members in the Segment Builder", "在人群圈选中打开这些会员"),
    "aipl.trend.title": ("Members in each stage at each month end", "每月末各阶段会员数"),
    "aipl.trend.months": ("Months", "月数"),
    "aipl.trend.pick": ("Open a point in the builder: month end", "在圈选中打开一个点：月末"),
    "aipl.trend.stage": ("stage", "阶段"),
    "aipl.trend.open": ("Open in builder", "在圈选中打开"),
    "aipl.trend.click": ("Click a bar to open its members in the builder.", "点击柱形即可在圈选中打开对应会员。"),
    "aipl.working": ("Computing stages on {day}…", "正在计算 {day} 的阶段…"),
    "aipl.flow.from": ("From (d1)", "起始日（d1）"),
    "aipl.flow.to": ("To (d2)", "结束日（d2）"),
    "aipl.flow.matrix": (
        "Rows: stage on {d1} · columns: stage on {d2} · click a cell to open its members",
        "行：{d1} 的阶段 · 列：{d2} 的阶段 · 点击单元格打开对应会员",
    ),
    "aipl.flow.sankey": ("Where the members of each stage went", "各阶段会员的去向"),
    "aipl.flow.base": ("Base: {n} members", "基数：{n} 位会员"),
    "aipl.summary.moved_up": ("Moved up", "升级"),
    "aipl.summary.entered": ("Entered", "新进入"),
    "aipl.summary.stayed": ("Stayed", "保持"),
    "aipl.summary.fell_back": ("Fell back", "降级"),
    "aipl.summary.lost": ("Lost", "流失"),
    "aipl.summary.absent": ("Absent", "始终无阶段"),
    "aipl.bad_input": ("{error}", "{error}"),
    "aipl.how": ("How this was counted", "计算口径"),
    "aipl.how.text": (
        "A member's stage on a day d is the highest reached over their events in the {days} days ending on d "
        "(only events up to the end of d): L with at least {min} purchases, or a loyalty event after their first "
        "purchase in the window; else P with one purchase; else I with an interest event; else A with an awareness "
        "event; else no stage. Members are everyone in users, whatever their signup date (no events by d: no stage). "
        "In stage X: stage is X; reached X: stage is X or higher; conversion X→Y: reached Y / reached X. The trend "
        "reads each month's last day (this month: {as_of}). The flow counts each member once by (stage on d1, stage on "
        "d2); moved up = a higher stage, entered = from no stage, stayed = the same stage, fell back = a lower stage, "
        "lost = to no stage, absent = no stage both days; they add up to the base. A segment is evaluated as of "
        "{as_of}. Every bar, point and cell opens the builder with a definition that counts the same members: {example}.",
        "会员在某日 d 的阶段，取其在截至 d 的 {days} 天内事件（仅截至 d 当天结束的事件）所达到的最高阶段：购买至少 {min} 次，"
        "或在窗口内首次购买后有忠诚事件为 L；否则购买 1 次为 P；否则有兴趣事件为 I；否则有认知事件为 A；否则无阶段。"
        "会员为 users 中的全部用户，不论注册日期（截至 d 无事件者为无阶段）。处于 X：阶段为 X；到达 X：阶段为 X 或更高；"
        "转化 X→Y：到达 Y / 到达 X。趋势读取每月最后一天（本月为 {as_of}）。流转按（d1 阶段，d2 阶段）计数每位会员一次；"
        "升级 = 更高阶段，新进入 = 从无阶段进入，保持 = 同一阶段，降级 = 更低阶段，流失 = 变为无阶段，始终无阶段 = 两日均无阶段；"
        "六项之和等于基数。人群按 {as_of} 计算。每个柱形、点和单元格都会以计数相同的定义打开圈选：{example}。",
    ),
    "overview.aipl_link": (
        "AIPL over time: trend, flow, segments side by side",
        "AIPL 随时间变化：趋势、流转、人群对比",
    ),
}
