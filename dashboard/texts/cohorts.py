"""Cohorts page labels: key -> (English, 简体中文)."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "cohorts.title": ("Cohorts", "同期群留存"),
    "cohorts.caption": (
        "Of the members who started in each {period}, how many came back · as of {as_of}",
        "每个{period}开始的会员中，之后有多少回来 · 数据截至 {as_of}",
    ),
    "cohorts.start": ("Start", "起始行为"),
    "cohorts.start.signup": ("Signup (signup_at)", "注册（signup_at）"),
    "cohorts.start_help": (
        "A member starts at their signup, or at their first event ever of this kind.",
        "会员的起点：注册时间，或其首次发生该事件的时间。",
    ),
    "cohorts.return": ("Return", "回访行为"),
    "cohorts.return.any": ("Any event", "任意事件"),
    "cohorts.filter": ("{what}: where", "{what}：筛选"),
    "cohorts.filter.none": ("(no filter)", "（不筛选）"),
    "cohorts.filter.values": ("is one of", "属于"),
    "cohorts.period": ("Period", "周期"),
    "cohorts.period.week": ("Week (from Monday)", "周（周一起）"),
    "cohorts.period.month": ("Month", "月"),
    "cohorts.period_word.week": ("week", "周"),
    "cohorts.period_word.month": ("month", "月"),
    "cohorts.from": ("Cohorts from", "同期群起始日"),
    "cohorts.to": ("to", "截止日"),
    "cohorts.mode": ("Retained in period k", "第 k 期留存口径"),
    "cohorts.mode.on": ("On: a return in period k", "当期：第 k 期内有回访"),
    "cohorts.mode.on_or_after": ("On or after: a return in k or later", "当期及以后：第 k 期或之后有回访"),
    "cohorts.base": ("Members", "会员范围"),
    "cohorts.compare": ("Compare with", "对比人群"),
    "cohorts.choice.all": ("All members", "全部会员"),
    "cohorts.choice.none": ("(no comparison)", "（不对比）"),
    "cohorts.choice.current": ("The builder's current segment", "圈选器中的当前人群"),
    "cohorts.choice.link": ("From the link: {what}", "链接中的人群：{what}"),
    "cohorts.choice.saved": ("Saved: {name}", "已保存：{name}"),
    "cohorts.members": ("Members in cohorts", "同期群会员数"),
    "cohorts.cohorts": ("Cohorts", "同期群数"),
    "cohorts.mean_next": ("Mean retention in period 1", "第 1 期平均留存"),
    "cohorts.table": ("{name}: retention by cohort", "{name}：各同期群留存"),
    "cohorts.col.cohort": ("Cohort", "同期群"),
    "cohorts.col.size": ("Size", "人数"),
    "cohorts.mean": ("Mean (complete periods)", "均值（仅完整周期）"),
    "cohorts.cell_hover": (
        "{cohort}, period {k}: {count} of {size} ({share})",
        "{cohort} 第 {k} 期：{size} 人中 {count} 人（{share}）",
    ),
    "cohorts.cell_incomplete": (" · incomplete: the period ends after {as_of}", " · 未完整：该周期在 {as_of} 之后结束"),
    "cohorts.mean_hover": (
        "Period {k}: size-weighted mean over {n} cohorts where it is complete",
        "第 {k} 期：{n} 个完整同期群的按人数加权平均",
    ),
    "cohorts.legend": (
        "* incomplete period (still running on {as_of}); blank: the period has not started. Click a cohort to open its members in the builder.",
        "* 未完整周期（截至 {as_of} 仍在进行）；空白：周期尚未开始。点击同期群可在圈选器中打开其会员。",
    ),
    "cohorts.curves": ("Retention curves: mean share retained in period k", "留存曲线：第 k 期平均留存率"),
    "cohorts.axis_k": ("Period k after the start", "起始后第 k 期"),
    "cohorts.axis_share": ("Retained", "留存率"),
    "cohorts.no_members": ("No member started in these cohorts.", "这些同期群中没有会员。"),
    "cohorts.invalid": ("This cannot be counted: {error}", "无法计算：{error}"),
    "cohorts.bad_link": (
        "The link's settings were not all usable and were reset: {error}",
        "链接中的部分设置无法使用，已重置：{error}",
    ),
    "cohorts.share_link": ("Share link", "分享链接"),
    "cohorts.share_help": ("Opening it restores these settings.", "打开该链接可恢复当前设置。"),
    "cohorts.how": ("How this was counted", "计算口径"),
    "cohorts.how.start_signup": (
        "A member's **start** is their signup (`signup_at`); members without one, or who sign up after {as_of}, are in no cohort.",
        "会员的**起点**是注册时间（`signup_at`）；没有注册时间或在 {as_of} 之后注册的会员不属于任何同期群。",
    ),
    "cohorts.how.start_event": (
        "A member's **start** is their first **{event}** event ever (up to {as_of}){filters}.",
        "会员的**起点**是其首次 **{event}** 事件（截至 {as_of}）{filters}。",
    ),
    "cohorts.how.cohort": (
        "Their **cohort** is the {period} of the start (weeks run Monday to Sunday, in the dataset's time zone {tz}). Cohorts are the whole {period}s that meet {first} – {last}: a member who started on any day of such a {period} is in it.",
        "其**同期群**为起点所在的{period}（周为周一至周日，时区 {tz}）。同期群为与 {first} – {last} 相交的完整{period}：在这样的{period}内任何一天开始的会员都属于该同期群。",
    ),
    "cohorts.how.return_on": (
        "**Retained in period k** (k ≥ 1): at least one {ret} event{filters} inside the k-th {period} after the cohort's.",
        "**第 k 期留存**（k ≥ 1）：在同期群之后第 k 个{period}内至少有一次{ret}事件{filters}。",
    ),
    "cohorts.how.return_after": (
        "**Retained in period k** (k ≥ 1): at least one {ret} event{filters} in the k-th {period} after the cohort's or later (up to {as_of}).",
        "**第 k 期留存**（k ≥ 1）：在同期群之后第 k 个{period}或更晚（截至 {as_of}）至少有一次{ret}事件{filters}。",
    ),
    "cohorts.how.period0": (
        "Period 0 is the cohort size (100%); a return inside the start's own period counts in no later period.",
        "第 0 期即同期群人数（100%）；起点所在周期内的回访不计入之后任何一期。",
    ),
    "cohorts.how.incomplete": (
        "A period that ends after {as_of} is incomplete: shown with *, not a final number. A period that starts after {as_of} has no value (blank, never 0%).",
        "在 {as_of} 之后结束的周期为未完整周期：标 *，不是最终数字。在 {as_of} 之后开始的周期没有数值（空白，绝不显示为 0%）。",
    ),
    "cohorts.how.mean": (
        "The **mean** row: for each period k, the members retained in k over the members of the cohorts whose period k is complete (a size-weighted mean).",
        "**均值**行：对每个第 k 期，取第 k 期已完整的同期群的留存人数之和除以其人数之和（按人数加权平均）。",
    ),
    "cohorts.how.base": (
        "Members: {base} (a segment is evaluated as of {as_of}). {total} members in {n} cohorts.",
        "会员范围：{base}（人群按 {as_of} 的数据计算）。{n} 个同期群共 {total} 人。",
    ),
    "cohorts.how.compare": (
        "Compared with: {name}, counted the same way on its own members ({total} in cohorts).",
        "对比：{name}，按相同口径在其自身会员上计算（同期群共 {total} 人）。",
    ),
    "cohorts.how.drill": (
        "Clicking a cohort opens the builder with a definition that holds exactly its members: {how}",
        "点击同期群会在圈选器中打开恰好包含其会员的定义：{how}",
    ),
    "cohorts.how.drill_signup": (
        "signup_at between the period's first and last day.",
        "signup_at 介于该周期首日与末日之间。",
    ),
    "cohorts.how.drill_event": (
        "the start event at least once in the period, and none from the first event day to the day before the period.",
        "该周期内至少一次起始事件，且从首个事件日到该周期前一天没有起始事件。",
    ),
    "cohorts.filters_where": (" where {filters}", "，且 {filters}"),
    "cohorts.any": ("any", "任意"),
}
