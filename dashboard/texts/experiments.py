"""Labels of the Experiments page."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "ab.title": ("Experiments", "A/B 实验"),
    "ab.intro": (
        "A/B tests from the dataset and the holdouts of campaign exports: which variant wins, by how much, and how sure we are.",
        "数据集中的 A/B 实验和导出活动的对照组：哪个版本胜出、提升多少、有多确定。",
    ),
    "ab.resolving": (
        "Resolving the experiments' assignments per member (once per version of the data)…",
        "正在按会员解析实验分组（每个数据版本仅一次）…",
    ),
    "ab.none": (
        "No experiments: add [experiments.NAME] to dataset.toml with an assignments table, or export an audience with a holdout.",
        "暂无实验：请在 dataset.toml 中添加 [experiments.名称] 并提供 assignments 表，或导出人群时设置对照组。",
    ),
    "ab.col.name": ("Experiment", "实验"),
    "ab.col.kind": ("Source", "来源"),
    "ab.col.variants": ("Variants (members)", "版本（人数）"),
    "ab.col.users": ("Members", "人数"),
    "ab.col.dates": ("Assigned", "分组时间"),
    "ab.col.window": ("Window (days)", "观察窗口（天）"),
    "ab.col.status": ("Status", "状态"),
    "ab.kind.contract": ("A/B test", "A/B 实验"),
    "ab.kind.export": ("Campaign holdout", "活动对照组"),
    "ab.status.running": ("Running", "进行中"),
    "ab.status.window_complete": ("Window complete", "观察期已结束"),
    "ab.status.srm": ("⚠ SRM: broken split", "⚠ 样本比例失衡"),
    "ab.status.no_users": ("No members", "无会员"),
    "ab.pick": ("Open an experiment", "查看实验"),
    "ab.campaign": (
        "Campaign lift of export {id}: {target} members who received it (target) against {holdout} held back (holdout).",
        "导出 {id} 的活动提升：{target} 名收到活动的会员（target）对比 {holdout} 名留出的会员（holdout）。",
    ),
    "ab.mode": ("Statistics", "统计方法"),
    "ab.mode.frequentist": ("Frequentist", "频率学派"),
    "ab.mode.bayesian": ("Bayesian", "贝叶斯"),
    "ab.cuped": ("CUPED", "CUPED"),
    "ab.cuped.help": (
        "Adjust each metric by the same metric in the window before assignment: narrower intervals.",
        "用分组前同等窗口内的同一指标做调整，区间更窄。",
    ),
    "ab.sequential": ("Sequential", "序贯检验"),
    "ab.sequential.help": (
        "Confidence sequences that stay valid however often you look (wider intervals).",
        "置信序列：无论查看多少次都有效（区间更宽）。",
    ),
    "ab.holm": ("Holm-adjust p-values ({n} comparisons)", "Holm 校正 p 值（{n} 个比较）"),
    "ab.segment": ("Results within a segment", "在某个人群内查看结果"),
    "ab.segment.all": ("All assigned members", "全部分组会员"),
    "ab.segment.saved": ("Saved segment: {name}", "已保存人群：{name}"),
    "ab.segment.new": ("Joined in the last 90 days", "近 90 天注册"),
    "ab.segment.old": ("Joined more than 90 days ago", "注册超过 90 天"),
    "ab.segment.caution": (
        "Within a segment: every extra cut is another comparison. A 'significant' lift in one segment out of several can be chance; "
        "treat it as a hypothesis to test again, not as a result.",
        "在人群内查看：每多切一次就多一次比较。多个人群中某一个“显著”可能只是偶然，应作为待验证的假设，而非结论。",
    ),
    "ab.srm_banner": (
        "Sample ratio mismatch (χ² p = {p}): the members per variant ({observed}) do not fit the planned split ({expected}). "
        "The assignment is broken; do not trust this result. Find the cause (targeting, logging, redirects) before reading it.",
        "样本比例失衡（χ² p = {p}）：各版本人数（{observed}）与计划比例（{expected}）不符。分组已出问题，请勿相信此结果；"
        "请先查明原因（定向、埋点、跳转）。",
    ),
    "ab.verdict.wins": (
        "{variant} wins: {lift} {metric}, 95% interval {low} to {high}.",
        "{variant} 胜出：{metric}{lift}，95% 区间 {low} 至 {high}。",
    ),
    "ab.verdict.wins_bayes": (
        "{variant} wins: {lift} {metric}, {ctw} chance to beat {control}.",
        "{variant} 胜出：{metric}{lift}，{ctw} 的概率优于 {control}。",
    ),
    "ab.verdict.loses": (
        "{variant} loses: {lift} {metric}, 95% interval {low} to {high}. Keep {control}.",
        "{variant} 落后：{metric}{lift}，95% 区间 {low} 至 {high}。保留 {control}。",
    ),
    "ab.verdict.no_difference": (
        "No clear difference: {variant} {lift} {metric}, 95% interval {low} to {high} includes 0.",
        "无明显差异：{variant} {metric}{lift}，95% 区间 {low} 至 {high} 包含 0。",
    ),
    "ab.verdict.no_difference_bayes": (
        "No clear difference: {variant} has a {ctw} chance to beat {control}.",
        "无明显差异：{variant} 优于 {control} 的概率为 {ctw}。",
    ),
    "ab.verdict.not_enough_data": ("Not enough data to compare yet.", "数据不足，暂无法比较。"),
    "ab.verdict.srm": ("No verdict: the split is broken (SRM).", "无结论：分组比例失衡（SRM）。"),
    "ab.metric.conversion": ("{event} conversion", "{event} 转化率"),
    "ab.metric.revenue": ("revenue per member", "人均收入"),
    "ab.table.variant": ("Variant", "版本"),
    "ab.table.users": ("Members", "人数"),
    "ab.table.conversions": ("Converted", "转化人数"),
    "ab.table.rate": ("Conversion", "转化率"),
    "ab.table.revenue": ("Revenue per member", "人均收入"),
    "ab.table.lift": ("Lift", "提升"),
    "ab.table.interval": ("95% interval", "95% 区间"),
    "ab.table.p": ("p-value", "p 值"),
    "ab.table.p_adj": ("p (Holm)", "p（Holm）"),
    "ab.table.ctw": ("Chance to win", "胜出概率"),
    "ab.table.risk": ("Risk of choosing it", "选择它的风险"),
    "ab.table.risk_control": ("Risk of keeping {control}", "保留 {control} 的风险"),
    "ab.table.control": ("control", "对照"),
    "ab.table.metric": ("Metric", "指标"),
    "ab.chart.title": ("Lift against {control} with its 95% interval", "相对 {control} 的提升及 95% 区间"),
    "ab.not_enough": ("{variant}, {metric}: {reason}", "{variant}，{metric}：数据不足"),
    "ab.excluded": (
        "Left out: {multiple} members in more than one variant, {unknown} not in the member table.",
        "已排除：{multiple} 人出现在多个版本，{unknown} 人不在会员表中。",
    ),
    "ab.windows": (
        "{n} members' metric windows are not over yet (cut at the end of {as_of}): the numbers can still change.",
        "{n} 人的观察窗口尚未结束（截至 {as_of}），数字仍可能变化。",
    ),
    "ab.after_data": (
        "Every member was assigned on or after {start}, after the data's last day ({as_of}): no behaviour is counted yet. "
        "Load data from after that day and the lift appears.",
        "所有会员的分组时间在 {start} 或之后，晚于数据最后一天（{as_of}）：尚无可统计的行为。载入该日之后的数据即可看到提升。",
    ),
    "ab.csv": ("Download results (CSV)", "下载结果（CSV）"),
    "ab.error": ("These results cannot be computed: {error}", "无法计算结果：{error}"),
    "ab.planner": ("Sample size and duration planner", "样本量与时长规划"),
    "ab.planner.baseline": ("Baseline conversion (%)", "基线转化率（%）"),
    "ab.planner.mde": ("Minimum detectable effect (relative %, e.g. 5 = +5%)", "最小可检测提升（相对 %，如 5 = +5%）"),
    "ab.planner.alpha": ("α (two-sided)", "α（双侧）"),
    "ab.planner.power": ("Power", "检验功效"),
    "ab.planner.result": ("{per_arm} members per arm, {total} in all.", "每组 {per_arm} 人，共 {total} 人。"),
    "ab.planner.days": (
        "At the current assignment rate ({rate} members a day) that is about {days} days.",
        "按当前分组速度（每天 {rate} 人），约需 {days} 天。",
    ),
    "ab.planner.bad": ("Cannot plan: {reason}.", "无法规划：{reason}。"),
    "ab.how": ("How this was counted", "计算口径"),
    "ab.how.text": (
        "- **Members**: a member's assignment is their earliest row for the experiment; members with rows in more than one "
        "variant are left out (multiple exposure), and so are ids not in the member table. Campaign holdouts: the export's "
        "consenting members, `target` (in the file) or `holdout` (held back), assigned at the export's time.\n"
        "- **Window**: from the assignment time for {days} days, cut at the end of {as_of}. Conversion: at least one "
        "`{event}` in the window. Revenue: the sum of `{purchase}` amounts in the window (0 if none).\n"
        "- **Lift**: (variant − control) / control. Frequentist: delta-method interval with Welch's degrees of freedom and "
        "Student's t, α = 0.05, as GrowthBook's gbstats 0.8.0. Sequential: gbstats' confidence sequences (tuning 5,000), "
        "valid however often you look. Bayesian (flat prior): chance to win = P(lift > 0); risk = the expected lift lost "
        "by choosing this variant if it is in fact worse.\n"
        "- **CUPED**: each metric adjusted by the same metric in the {days} days before assignment (θ pooled over the two arms "
        "compared); the lift stays relative to the control's unadjusted mean.\n"
        "- **Holm**: p-values adjusted over every variant × metric comparison. **SRM**: χ² of members per variant against "
        "the planned split; p < 0.001 marks the test as broken.\n"
        "- **Not enough data**: fewer than 2 members in an arm, a control of 0, or no variation: no number is shown.",
        "- **会员**：以会员在该实验中最早的一条分组记录为准；出现在多个版本的会员（多次曝光）和不在会员表中的 id 均被排除。"
        "活动对照组：导出时已授权的会员，`target`（在文件中）或 `holdout`（被留出），分组时间为导出时间。\n"
        "- **窗口**：自分组时刻起 {days} 天，截至 {as_of} 末。转化：窗口内至少一次 `{event}`。收入：窗口内 `{purchase}` 金额之和（无则为 0）。\n"
        "- **提升**：(版本 − 对照) / 对照。频率学派：delta 方法区间、Welch 自由度与 t 分布，α = 0.05，与 GrowthBook gbstats 0.8.0 一致。"
        "序贯检验：gbstats 置信序列（调参 5,000），随时查看均有效。贝叶斯（平坦先验）：胜出概率 = P(提升 > 0)；风险 = 若该版本实际更差时预期损失的提升。\n"
        "- **CUPED**：用分组前 {days} 天的同一指标调整（θ 在比较的两组间合并估计）；提升仍相对对照组未调整均值。\n"
        "- **Holm**：在所有“版本 × 指标”比较上校正 p 值。**SRM**：各版本人数对计划比例的 χ² 检验，p < 0.001 视为分组失效。\n"
        "- **数据不足**：某组少于 2 人、对照为 0 或无变化时不显示数字。",
    ),
    "exports.campaign_lift": ("Open the campaign lift (target vs holdout)", "查看活动提升（target 对比 holdout）"),
}
