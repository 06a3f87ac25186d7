"""Who may use the app, with which role, over which members: grants, roles and data scopes.

Two modes:

- **local** (no grants in the app store, no `[auth]` in the dashboard's secrets): one person on
  their own machine; the role comes from `ADESK_ROLE` (core/roles.py) and there is no scope.
- **team** (the store holds grants): every person needs a grant, matched by e-mail or by an
  identity-provider group. Their role is the grant's; their **scope**, when the grant has one, is a
  segment definition that every count, breakdown, overlap, analysis, member sample and export of
  theirs is ANDed with. The scope is applied where the data is read (`scoped_dataset`): the
  person's cursors see `profile`, `event_rows`, `ab_members`, `users`, `events`, `tags` and `assignments` holding
  only the scope's members, so no page or command can forget it, and totals and shares use the
  scoped base.

Which grant applies: the person's e-mail grant when there is one; else the group grant with the
highest role among the person's groups (ties: the group first in alphabetical order); else the
unknown-person policy (`viewer`, or refused).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from sqlglot import exp

from core.messages import CodedError, msg
from core.queries import load_query
from core.roles import RoleInfo
from core.segments.model import Segment, SegmentError, parse_segment, referenced_segments

if TYPE_CHECKING:
    from core.dataset import Dataset
    from core.store import AppStore

AccessRole = Literal["viewer", "operator", "pii", "admin"]
ACCESS_ROLES: tuple[AccessRole, ...] = ("viewer", "operator", "pii", "admin")  # least to most
UNKNOWN_POLICIES = ("viewer", "refuse")
# The per-person tables a scope restricts, by the column naming the member (`ab_members`, resolved after the
# dataset opens, gets its scoped view then: core/analyses/ab_members.py, `scoped_view`).
SCOPED_BY_UID = ("profile", "event_rows")
SCOPED_BY_USER_ID = ("users", "events", "tags", "assignments")


class AccessError(CodedError):
    """A person without the access asked for; the message says who and what to ask an admin for."""


@dataclass(frozen=True)
class Grant:
    subject: str  # "email:ann@brand.com" or "group:crm-shanghai"
    role: AccessRole
    scope: Segment | None
    granted_at: str
    granted_by: str

    def to_dict(self) -> dict[str, object]:
        return {
            "subject": self.subject,
            "role": self.role,
            "scope": self.scope.to_dict() if self.scope is not None else None,
            "granted_at": self.granted_at,
            "granted_by": self.granted_by,
        }


@dataclass(frozen=True)
class Access:
    """One person's access: who, their role, their scope, and where it came from."""

    who: str
    role: RoleInfo
    scope: Segment | None = None
    grant: str | None = None  # the grant's subject; None in local mode
    mode: Literal["local", "team"] = "local"

    @property
    def may_export(self) -> bool:
        return bool(self.role.pii_modes)

    def to_dict(self) -> dict[str, object]:
        return {
            "who": self.who,
            "mode": self.mode,
            "grant": self.grant,
            "scope": self.scope.to_dict() if self.scope is not None else None,
            **self.role.to_dict(),
        }


def subject_of(text: str) -> str:
    """'ann@brand.com' or 'email:Ann@Brand.com' -> 'email:ann@brand.com'; 'group:x' stays; else AccessError."""
    raw = text.strip()
    kind, _, name = raw.partition(":") if raw.startswith(("email:", "group:")) else ("", "", raw)
    if not kind:
        if "@" not in raw:
            raise AccessError(msg("access.not_subject", text=text))
        kind, name = "email", raw
    name = name.strip()
    if not name or len(name) > 320:
        raise AccessError(msg("access.names_nobody", text=text))
    if kind == "email":
        if name.count("@") != 1 or name.startswith("@") or name.endswith("@"):
            raise AccessError(msg("access.not_email", name=name))
        name = name.lower()
    return f"{kind}:{name}"


def _check_scope(scope: Segment | dict | str | None) -> Segment | None:
    if scope is None:
        return None
    try:
        segment = parse_segment(scope)
    except SegmentError as err:
        raise AccessError(msg("access.bad_scope", error=str(err))) from None
    if referenced_segments(segment):
        # a saved segment can be edited by others: a scope must not change unless an admin changes it
        raise AccessError(msg("access.scope_refs"))
    if not segment.conditions:
        return None  # every member: no scope
    return segment


def grant(store: AppStore, subject: str, role: str, scope: Segment | dict | str | None, who: str) -> Grant:
    """Give (or replace) a subject's role and scope; logged with who did it."""
    key = subject_of(subject)
    if role not in ACCESS_ROLES:
        raise AccessError(msg("access.unknown_role", role=role, roles=", ".join(ACCESS_ROLES)))
    checked = _check_scope(scope)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    scope_json = checked.to_json() if checked is not None else None
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO access_grants (subject, role, scope, granted_at, granted_by) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (subject) DO UPDATE SET role = excluded.role, scope = excluded.scope, "
            "granted_at = excluded.granted_at, granted_by = excluded.granted_by",
            (key, role, scope_json, now, who),
        )
        conn.execute(
            "INSERT INTO access_log (subject, action, at, who, detail) VALUES (?, 'grant', ?, ?, ?)",
            (key, now, who, json.dumps({"role": role, "scope": json.loads(scope_json) if scope_json else None})),
        )
    return Grant(key, role, checked, now, who)  # type: ignore[arg-type]


def revoke(store: AppStore, subject: str, who: str) -> bool:
    """Remove a subject's grant; False when there was none."""
    key = subject_of(subject)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with store.transaction() as conn:
        gone = conn.execute("DELETE FROM access_grants WHERE subject = ?", (key,)).rowcount
        if gone:
            conn.execute(
                "INSERT INTO access_log (subject, action, at, who) VALUES (?, 'revoke', ?, ?)", (key, now, who)
            )
    return bool(gone)


def grants(store: AppStore) -> list[Grant]:
    return list(_grants_by_subject(store).values())


def _grant_rows(store: AppStore) -> tuple[tuple, ...]:
    with store.reader() as conn:
        rows = conn.execute(
            "SELECT subject, role, scope, granted_at, granted_by FROM access_grants ORDER BY subject"
        ).fetchall()
    return tuple(tuple(r) for r in rows)


# The grants of each app database as last parsed, with the rows they were parsed from. A signed-in
# person's every rerun asks for their access; parsing every grant's scope (a segment definition)
# each time cost milliseconds of the server's GIL per rerun, with 20 people at once. The rows are
# still read every time (a fraction of a millisecond), so a grant or revoke by anyone is seen at once.
_GRANTS_MEMO: dict[str, tuple[tuple[tuple, ...], dict[str, Grant]]] = {}
_MEMO_LOCK = threading.Lock()


def _grants_by_subject(store: AppStore) -> dict[str, Grant]:
    key = str(store.path.absolute())
    rows = _grant_rows(store)
    with _MEMO_LOCK:
        held = _GRANTS_MEMO.get(key)
    if held is not None and held[0] == rows:
        return held[1]
    by_subject = {r[0]: Grant(r[0], r[1], parse_segment(r[2]) if r[2] else None, r[3], r[4]) for r in rows}
    with _MEMO_LOCK:
        _GRANTS_MEMO[key] = (rows, by_subject)
    return by_subject


def team_mode(store: AppStore) -> bool:
    """True once any grant exists: from then on every person needs one."""
    with store.reader() as conn:
        return conn.execute("SELECT 1 FROM access_grants LIMIT 1").fetchone() is not None


def role_info(role: AccessRole, source: str) -> RoleInfo:
    return RoleInfo(role, source)


def access_for(store: AppStore, email: str, groups: tuple[str, ...] = (), unknown: str = "viewer") -> Access:
    """The access of a signed-in person (see the module doc for which grant applies)."""
    if unknown not in UNKNOWN_POLICIES:
        raise AccessError(msg("access.unknown_policy", policy=unknown))
    who = subject_of(email).partition(":")[2]
    by_subject = _grants_by_subject(store)
    chosen = by_subject.get(f"email:{who}")
    if chosen is None:
        candidates = [by_subject[f"group:{g}"] for g in sorted(set(groups)) if f"group:{g}" in by_subject]
        if candidates:
            chosen = max(candidates, key=lambda g: (ACCESS_ROLES.index(g.role), [-ord(c) for c in g.subject]))
    if chosen is None:
        if unknown == "refuse":
            raise AccessError(msg("access.no_access", who=who))
        return Access(who, role_info("viewer", "no grant (unknown people are viewers)"), None, None, "team")
    return Access(who, role_info(chosen.role, f"grant {chosen.subject}"), chosen.scope, chosen.subject, "team")


# --- the scope, applied where the data is read ------------------------------------------------------

_SCOPE_LOCK = threading.Lock()


def _schema_name(ds: Dataset, scope: Segment) -> str:
    digest = hashlib.sha256(f"{ds.fingerprint}|{scope.to_json()}".encode()).hexdigest()[:16]
    return f"scope_{digest}"


def _create(kind: str, schema: str, name: str, select: exp.Expression) -> exp.Expression:
    return exp.Create(this=exp.table_(name, db=schema, catalog="memory"), kind=kind, expression=select, replace=True)


def _in_scope(column: str, schema: str) -> exp.Expression:
    members = exp.select(exp.column(column)).from_(exp.table_("members", db=schema, catalog="memory"))
    return exp.In(this=exp.column(column, quoted=True), query=exp.Subquery(this=members))


def scoped_view(schema: str, name: str, column: str, db: str) -> exp.Expression:
    """CREATE VIEW memory.<schema>.<name>: the rows of <db>.main.<name> whose member (`column`) is the scope's."""
    source = exp.table_(name, db="main", catalog=db)
    return _create("VIEW", schema, name, exp.select(exp.Star()).from_(source).where(_in_scope(column, schema)))


def scoped_dataset(ds: Dataset, scope: Segment | None) -> Dataset:
    """The dataset as a scoped person sees it: every per-member table holds only the scope's members.

    The scope's members are stored once per (dataset version, scope) in a schema of the in-memory
    database (its values bound as parameters); views over the cache and the Parquet files keep
    only them, and the person's cursors look there first. Bitmap indexes are off for a scope (they
    hold all members): its counts scan.
    """
    if scope is None or not scope.conditions:
        return ds
    from core.segments.counts import segment_condition

    schema = _schema_name(ds, scope)
    condition, params = segment_condition(ds, scope, None, prefix="scope_")
    with _SCOPE_LOCK:
        cur = ds.cursor()
        try:
            (exists,) = cur.execute(load_query("scope_members_exist"), {"schema": schema}).fetchone()
            if not exists:
                cur.execute(exp.Create(this=exp.to_identifier(schema), kind="SCHEMA", exists=True).sql("duckdb"))
                profile = exp.table_("profile", db="main", catalog="cache")
                members = exp.select(exp.column("_uid"), exp.column("user_id")).from_(profile).where(condition)
                cur.execute(_create("TABLE", schema, "members", members).sql("duckdb"), params)
                where = {
                    (db, name): (db, sch) for db, sch, name in cur.execute(load_query("scope_relations")).fetchall()
                }
                for name, column, db in [
                    *((t, "_uid", "cache") for t in SCOPED_BY_UID),
                    *((t, "user_id", "memory") for t in SCOPED_BY_USER_ID),
                ]:
                    if (db, name) in where:
                        cur.execute(scoped_view(schema, name, column, db).sql("duckdb"))
            total, tag_users = _scope_counts(cur, ds, schema)
        finally:
            cur.close()
    tags = {tag: replace(info, users=tag_users[info.column]) for tag, info in ds.catalog.tags.items()}
    return replace(
        ds,
        # its own fingerprint: results cached by fingerprint (the dashboard's) are never shared across scopes
        fingerprint=f"{ds.fingerprint}+{schema}",
        # the catalog's member counts (total, users per tag) are the scope's, so coverage, "has not"
        # and the related tags' lift use the scoped base like every other count
        catalog=replace(ds.catalog, total_users=total, tags=tags),
        schema=schema,
        scope=scope,
    )


def _scope_counts(cur, ds: Dataset, schema: str) -> tuple[int, dict[str, int]]:
    """The scope's members and, per tag column, how many of them carry the tag (one scan of its profile)."""
    columns = [info.column for info in ds.catalog.tags.values()]
    items = [exp.Count(this=exp.Star()).as_("_members")]
    items += [exp.func("count_if", exp.column(c, quoted=True)).as_(c, quoted=True) for c in columns]
    row = cur.execute(
        exp.select(*items).from_(exp.table_("profile", db=schema, catalog="memory")).sql("duckdb")
    ).fetchone()
    return int(row[0]), {c: int(n or 0) for c, n in zip(columns, row[1:], strict=True)}


# --- the command line: one person per process -----------------------------------------------------

_process_access: Access | None = None


def use_for_process(access: Access | None) -> None:
    """The access every dataset this process opens is scoped by (the CLI sets it once; tests reset it)."""
    global _process_access
    _process_access = access


def process_access() -> Access | None:
    return _process_access


def cli_access(store: AppStore | None, who: str) -> Access | None:
    """The CLI user's access in team mode (their grant by e-mail, else refused); None in local mode."""
    if store is None or not team_mode(store):
        return None
    try:
        return access_for(store, who, (), unknown="refuse")
    except AccessError as err:
        raise AccessError(
            f"{err} The app store {store.path} holds grants (team mode): the command line runs as ADESK_USER "
            "(else the login name), which must be an e-mail address with a grant."
        ) from None
