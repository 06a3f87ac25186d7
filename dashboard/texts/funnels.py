"""Funnels page labels: key -> (English, 简体中文)."""

TEXT: dict[str, tuple[str, str]] = {
    "funnels.title": ("Funnels", "漏斗分析"),
    "funnels.counting": ("Counting the funnel over every member's events…", "正在基于全部会员事件计算漏斗…"),
    "funnels.steps": ("Steps", "步骤"),
    "funnels.step": ("Step {k}", "第 {k} 步"),
    "funnels.event": ("Event", "事件"),
    "funnels.add_step": ("Add step", "添加步骤"),
    "funnels.remove": ("Remove step", "删除步骤"),
    "funnels.up": ("Move up", "上移"),
    "funnels.down": ("Move down", "下移"),
    "funnels.add_filter": ("Add filter", "添加筛选"),
    "funnels.filter_field": ("Property", "属性"),
    "funnels.filter_op": ("Operator", "运算符"),
    "funnels.filter_value": ("Value", "取值"),
    "funnels.filter_value_help": ("For 'is one of', separate values with commas.", "“属于”多个取值时以逗号分隔。"),
    "funnels.entry": ("Entry range (step 1 happens in it)", "进入时间范围（第 1 步发生在此范围内）"),
    "funnels.window": ("Conversion window", "转化窗口"),
    "funnels.unit.minute": ("minutes", "分钟"),
    "funnels.unit.hour": ("hours", "小时"),
    "funnels.unit.day": ("days", "天"),
    "funnels.exclusions": ("Exclusion events (optional)", "排除事件（可选）"),
    "funnels.base": ("Members", "人群范围"),
    "funnels.base.all": ("All members", "全部会员"),
    "funnels.base.saved": ("A saved segment", "已保存分群"),
    "funnels.base.builder": ("The builder's current segment", "圈选页当前人群"),
    "funnels.base.pick": ("Saved segment", "已保存分群"),
    "funnels.base.none_saved": ("No saved segments yet.", "暂无已保存分群。"),
    "funnels.breakdown": ("Break down by", "拆分维度"),
    "funnels.breakdown.none": ("(no breakdown)", "（不拆分）"),
    "funnels.breakdown.step1": ("step 1 · {p}", "第 1 步 · {p}"),
    "funnels.trend": ("Trend by", "趋势粒度"),
    "funnels.trend.day": ("entry day", "按进入日"),
    "funnels.trend.week": ("entry week", "按进入周"),
    "funnels.entered": ("Entered", "进入人数"),
    "funnels.excluded": ("Removed by exclusions", "因排除事件移除"),
    "funnels.open": ("Window still open", "窗口尚未结束"),
    "funnels.open_help": (
        "Members counted where they are whose conversion window runs past the end of the as-of day; they may still convert.",
        "按当前所在步骤计数、但转化窗口在数据截止日之后才结束的会员；他们仍可能转化。",
    ),
    "funnels.overall": ("Overall conversion", "整体转化率"),
    "funnels.chart": ("Members per step", "各步骤人数"),
    "funnels.col.step": ("Step", "步骤"),
    "funnels.col.event": ("Event", "事件"),
    "funnels.col.users": ("Members", "人数"),
    "funnels.col.from_previous": ("From previous", "较上一步"),
    "funnels.col.from_first": ("From step 1", "较第 1 步"),
    "funnels.col.median": ("Median time from previous", "距上一步中位时长"),
    "funnels.col.dropped": ("Dropped after", "此步后流失"),
    "funnels.audiences": ("Audiences (open in the builder as a live condition)", "人群（在圈选页以实时条件打开）"),
    "funnels.reached": ("Reached step {k}", "到达第 {k} 步"),
    "funnels.dropped": ("Dropped after step {k}", "第 {k} 步后流失"),
    "funnels.time": ("Time to convert", "转化时长"),
    "funnels.time_step": ("From the previous step to", "从上一步到"),
    "funnels.time_bin": ("Time from previous step", "距上一步时长"),
    "funnels.breakdown_title": ("Breakdown by {field}", "按 {field} 拆分"),
    "funnels.col.value": ("Value", "取值"),
    "funnels.trend_title": ("Overall conversion by entry {unit}", "按进入{unit}的整体转化率"),
    "funnels.col.period": ("Period", "周期"),
    "funnels.col.converted": ("Converted", "转化人数"),
    "funnels.col.conversion": ("Conversion", "转化率"),
    "funnels.col.complete": ("Complete", "已完整"),
    "funnels.incomplete": ("incomplete: windows still open", "未完整：窗口尚未结束"),
    "funnels.share": ("Share link", "分享链接"),
    "funnels.share_help": ("This page's address restores this funnel.", "此页面地址可还原当前漏斗。"),
    "funnels.bad_link": ("The funnel link cannot be used: {error}", "该漏斗链接无法使用：{error}"),
    "funnels.stale_link": (
        "The funnel link does not fit this dataset any more: {error} The default funnel is shown.",
        "该漏斗链接已不适用于当前数据集：{error} 已显示默认漏斗。",
    ),
    "funnels.invalid": ("This funnel cannot be counted: {error}", "该漏斗无法计算：{error}"),
    "funnels.saved": ("Saved funnels", "已保存漏斗"),
    "funnels.saved.pick": ("Open a saved funnel", "打开已保存漏斗"),
    "funnels.saved.new": ("(new funnel)", "（新漏斗）"),
    "funnels.saved.name": ("Name", "名称"),
    "funnels.saved.save": ("Save funnel", "保存漏斗"),
    "funnels.saved.done": ("Saved '{name}' as version {version}.", "已保存“{name}”，版本 {version}。"),
    "funnels.saved.need_name": ("Give the funnel a name first.", "请先为漏斗命名。"),
    "funnels.how": ("How this was counted", "计算口径"),
    "funnels.how_text": (
        "A member **enters** when an event matching step 1 happens in the entry range ({start} to {end}, whole days). "
        "They **reach step k** when k different events match steps 1…k in order, each at or after the previous one "
        "(events at the same moment can serve consecutive steps, one event serves one step), and step k is at most "
        "{window} after step 1. Later steps may happen after the range, up to {as_of}. Each member counts once, at the "
        "deepest step any of their starts reaches. Their **path** is the latest start reaching that step; on it each "
        "step takes the earliest time it can be served; times between steps are measured on the path. A member with an "
        "exclusion event strictly between the path's step 1 and their deepest step is removed from every step. "
        "**Entered** counts members before that removal; step 1 counts them after it. Members whose window is still "
        "open at the end of {as_of} are counted where they are ({open} of them). Drop-off at step k = reached k, not k+1. "
        "A breakdown by a step-1 property uses the path's step-1 event (several at the same moment: the smallest value). "
        "The trend groups members by their path's step-1 day or week (weeks start on Monday); a period is complete "
        "once the window after its last day has ended by {as_of}.",
        "当会员在进入时间范围（{start} 至 {end}，含首尾整天）内发生匹配第 1 步的事件时，视为**进入**漏斗。"
        "当存在 k 个不同的事件依次匹配第 1…k 步、每一步不早于上一步（同一时刻的事件可依次服务相邻步骤，一个事件只服务一步），"
        "且第 k 步距第 1 步不超过 {window} 时，视为**到达第 k 步**。后续步骤可发生在范围之后，直到 {as_of}。"
        "每位会员只计一次，计在其任一起点所能到达的最深步骤。其**路径**为到达该步骤的最晚起点；路径上每一步取最早可用的时间，"
        "步骤间时长按路径计算。若在路径第 1 步与最深步骤之间（不含两端）发生排除事件，该会员从所有步骤中移除。"
        "**进入人数**为移除前的人数；第 1 步为移除后的人数。在 {as_of} 结束时窗口仍未结束的会员按当前所在步骤计数（共 {open} 人）。"
        "第 k 步流失 = 到达第 k 步但未到达第 k+1 步。按第 1 步属性拆分时使用路径的第 1 步事件（同一时刻有多个时取最小值）。"
        "趋势按路径第 1 步所在日或周（周一开始）分组；周期最后一天之后的窗口在 {as_of} 前结束，才视为完整。",
    ),
}
