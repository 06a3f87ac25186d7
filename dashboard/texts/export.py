"""Labels of the export dialog and the Exports page."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    # the dialog
    "export.button": ("Export audience", "导出人群"),
    "export.title": ("Export audience", "导出人群"),
    "export.channel": ("Channel (only members who consented to it)", "触达渠道（仅导出已同意该渠道的会员）"),
    "export.channel.none": ("No channel (no consent filter)", "不限渠道（不按授权过滤）"),
    "export.channel.sms": ("SMS", "短信"),
    "export.channel.wechat": ("WeChat", "微信"),
    "export.channel.email": ("E-mail", "邮件"),
    "export.columns": ("Columns (user_id is always included)", "导出列（始终包含 user_id）"),
    "export.columns.help": (
        "Attributes, model columns (RFM class, AIPL stage, lifecycle) and tags (true/false).",
        "属性、模型列（RFM 分层、AIPL 阶段、生命周期）和标签（是/否）。",
    ),
    "export.kind.attribute": ("attribute", "属性"),
    "export.kind.model": ("model", "模型"),
    "export.kind.tag": ("tag", "标签"),
    "export.format": ("Format", "格式"),
    "export.raw_text": ("Write text exactly as stored (no formula protection)", "按原样写出文本（不做公式防护）"),
    "export.raw_text_help": (
        "By default a CSV cell that starts with = @ + - (not a plain number), a tab or a line break gets a leading ' so "
        "Excel does not run it as a formula. Turn this on only for a system that needs the raw value; the export log "
        "records the choice.",
        "默认情况下，以 = @ + -（非纯数字）、制表符或换行开头的 CSV 单元格会加上前导 '，防止 Excel 将其作为公式执行。"
        "仅当下游系统需要原始值时才开启；导出日志会记录此选择。",
    ),
    "export.bom": ("Add a byte-order mark (Excel opens Chinese text correctly)", "添加 BOM（Excel 可正确显示中文）"),
    "export.holdout": ("Holdout (control group held back, %)", "对照组留出比例（%）"),
    "export.holdout.help": (
        "These members are left out of the file and recorded, so the campaign's lift can be measured against them.",
        "这些会员不会出现在文件中，并会被记录下来，用于衡量活动相对对照组的提升。",
    ),
    "export.pii": ("Personal data (phone, openid, e-mail)", "个人信息（手机号、openid、邮箱）"),
    "export.pii.masked": ("Masked (138****5678)", "脱敏（138****5678）"),
    "export.pii.raw": ("Raw values", "原始值"),
    "export.pii.hashed": ("SHA-256 hashes (for ad platforms)", "SHA-256 哈希（用于广告平台匹配）"),
    "export.role": ("Your role: {role} ({source}).", "当前角色：{role}（来源：{source}）。"),
    "export.role.none_hint": (
        'Raw or hashed personal data needs the pii role (ADESK_ROLE=pii, or role = "pii" in .streamlit/secrets.toml).',
        '导出原始或哈希个人信息需要 pii 角色（设置 ADESK_ROLE=pii，或在 .streamlit/secrets.toml 中设置 role = "pii"）。',
    ),
    "export.members": ("Members", "人群人数"),
    "export.excluded": ("Excluded: no consent", "无授权排除"),
    "export.held_out": ("Held out", "对照组留出"),
    "export.rows": ("Rows to write", "将导出行数"),
    "export.id": ("Export id: {export_id}", "导出编号：{export_id}"),
    "export.write": ("Write file", "生成文件"),
    "export.stage.writing": ("Writing the file…", "正在写入文件…"),
    "export.stage.hashing": ("Computing the SHA-256…", "正在计算 SHA-256…"),
    "export.stage.assignments": ("Recording the holdout…", "正在记录对照组…"),
    "export.stage.finishing": ("Finishing…", "即将完成…"),
    "export.stage.done": ("Done.", "完成。"),
    "export.done": ("Wrote {rows} rows ({size}).", "已导出 {rows} 行（{size}）。"),
    "export.download": ("Download {name}", "下载 {name}"),
    "export.sha256": ("SHA-256: {sha}", "SHA-256：{sha}"),
    "export.no_route_large": (
        "This server cannot stream large downloads (start it with `adesk serve`). The file is at {path}.",
        "当前服务无法流式下载大文件（请用 `adesk serve` 启动）。文件位于 {path}。",
    ),
    "export.empty.segment": (
        "The segment has no members in this data (as of {as_of}), so there is nothing to export. Loosen its conditions.",
        "该人群在当前数据中（截至 {as_of}）没有会员，无可导出内容。请放宽条件。",
    ),
    "export.empty.no_column": (
        "No member can be contacted by {channel}: the dataset has no consent column {column}. Choose another channel.",
        "无法通过{channel}触达任何会员：数据集中没有授权列 {column}。请选择其他渠道。",
    ),
    "export.empty.no_consent": (
        "None of the {members} members consented to {channel}. Choose another channel.",
        "{members} 位会员均未同意通过{channel}接收消息。请选择其他渠道。",
    ),
    "export.empty.holdout": (
        "Every consenting member fell in the holdout; lower the holdout share.",
        "所有已授权会员都被留作对照组；请降低留出比例。",
    ),
    "export.error": ("The export failed: {error}", "导出失败：{error}"),
    # the Exports page
    "exports.title": ("Exports", "导出记录"),
    "exports.intro": (
        "Every audience file written, by whom, from which definition and data. Re-create a file to prove it matches the log.",
        "每一次导出：谁导出、基于哪个定义和哪份数据。可重新生成文件以核验其与记录一致。",
    ),
    "exports.none": (
        "No exports yet. Build a segment and click “Export audience”.",
        "暂无导出记录。请先圈选人群，再点击“导出人群”。",
    ),
    "exports.pick": ("Export", "导出记录"),
    "exports.col.id": ("Export id", "导出编号"),
    "exports.col.created": ("Created (UTC)", "创建时间（UTC）"),
    "exports.col.by": ("By", "操作人"),
    "exports.col.status": ("Status", "状态"),
    "exports.col.channel": ("Channel", "渠道"),
    "exports.col.pii": ("PII", "个人信息"),
    "exports.col.rows": ("Rows", "行数"),
    "exports.col.excluded": ("No consent", "无授权"),
    "exports.col.holdout": ("Holdout", "对照组"),
    "exports.col.segment": ("Segment", "人群"),
    "exports.status.running": ("running", "进行中"),
    "exports.status.succeeded": ("succeeded", "成功"),
    "exports.status.failed": ("failed", "失败"),
    "exports.definition": ("Definition", "人群定义"),
    "exports.saved": ("Saved segment {id}, version {version}", "已保存人群 {id}，第 {version} 版"),
    "exports.details": ("Details", "详情"),
    "exports.data": ("Data: {path}, as of {as_of}", "数据：{path}，截至 {as_of}"),
    "exports.file": ("File: {path}", "文件：{path}"),
    "exports.file_missing": ("The file is no longer on disk; re-create it.", "文件已不在磁盘上；请重新生成。"),
    "exports.error": ("Error: {error}", "错误：{error}"),
    "exports.recreate": ("Re-create and verify", "重新生成并核验"),
    "exports.recreate_ok": (
        "Re-created {rows} rows: SHA-256 identical to the log ({sha}).",
        "已重新生成 {rows} 行：SHA-256 与记录一致（{sha}）。",
    ),
    "exports.recreate_bad": (
        "Re-created {rows} rows, but the SHA-256 differs from the log ({sha} ≠ {logged}).",
        "已重新生成 {rows} 行，但 SHA-256 与记录不一致（{sha} ≠ {logged}）。",
    ),
    "exports.history": ("Re-creations and downloads", "重新生成与下载记录"),
    "exports.assignments": (
        "Holdout recorded: {target} target, {holdout} holdout (experiment {export_id}).",
        "已记录对照：目标组 {target}，对照组 {holdout}（实验 {export_id}）。",
    ),
}
