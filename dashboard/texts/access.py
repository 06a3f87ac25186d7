"""Sign-in, roles and the Access page."""

TEXT: dict[str, tuple[str, str]] = {
    "nav.group.admin": ("Admin", "管理"),
    "nav.access": ("Access", "访问权限"),
    "auth.sign_in_needed": (
        "Sign in with your company account to use Audience Desk.",
        "请使用公司账号登录后使用人群工作台。",
    ),
    "auth.sign_in": ("Sign in", "登录"),
    "auth.sign_out": ("Sign out", "退出登录"),
    "auth.no_email": ("The identity provider sent no e-mail address for you.", "身份提供方未返回您的邮箱地址。"),
    "auth.refused": ("You cannot use Audience Desk: {error}", "您无法使用人群工作台：{error}"),
    "auth.local": (
        "Local mode: one person on this machine (no sign-in configured). Role: {role} (ADESK_ROLE).",
        "本地模式：本机单人使用（未配置登录）。角色：{role}（ADESK_ROLE）。",
    ),
    "auth.signed_in": ("Signed in as {who} · role {role} · {scope}", "已登录：{who} · 角色 {role} · {scope}"),
    "auth.scoped": ("limited to your data scope", "仅限您的数据范围"),
    "auth.unscoped": ("all members", "全部会员"),
    "auth.scope_note": (
        "Every number here counts only the members of your data scope: {scope}.",
        "此处所有数字只统计您数据范围内的会员：{scope}。",
    ),
    "exports.viewer": (
        "Your role (viewer) may see counts and analyses, not member files. Ask an admin for the operator role.",
        "您的角色（查看者）可以查看计数和分析，但不能查看会员文件。请向管理员申请运营角色。",
    ),
    "access.title": ("Access", "访问权限"),
    "access.intro": (
        "Who may use Audience Desk: a role per e-mail or identity-provider group (group:NAME), and optionally a data "
        "scope — a segment definition every count, analysis and export of theirs is limited to. Once any grant exists, "
        "everyone needs one.",
        "谁可以使用人群工作台：按邮箱或身份提供方的组（group:名称）授予角色，并可附带数据范围——一个人群定义，"
        "其所有计数、分析和导出都只限于该范围。一旦存在任何授权，所有人都需要授权。",
    ),
    "access.none": ("No grants: local mode.", "暂无授权：本地模式。"),
    "access.subject": ("E-mail or group:NAME", "邮箱或 group:名称"),
    "access.role": ("Role", "角色"),
    "access.scope": ("Data scope (segment JSON; empty = all members)", "数据范围（人群 JSON；留空 = 全部会员）"),
    "access.grant": ("Grant", "授权"),
    "access.revoke": ("Revoke", "撤销"),
    "access.granted": ("Granted {role} to {subject}.", "已向 {subject} 授予 {role}。"),
    "access.revoked": ("Revoked {subject}.", "已撤销 {subject}。"),
    "access.error": ("Not saved: {error}", "未保存：{error}"),
    "access.col.subject": ("Subject", "对象"),
    "access.col.role": ("Role", "角色"),
    "access.col.scope": ("Scope", "范围"),
    "access.col.by": ("Granted by", "授权人"),
    "access.col.at": ("At", "时间"),
}
