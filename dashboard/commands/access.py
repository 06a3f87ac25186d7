"""`adesk access grant|revoke|list`: who may use Audience Desk, with which role and data scope.

    adesk access grant ann@brand.com --role operator [--scope FILE|-]   # or group:crm-shanghai
    adesk access revoke ann@brand.com
    adesk access list [--json]

Once any grant exists the store is in team mode: every person (signed in to the dashboard, or
running the CLI as ADESK_USER) needs a grant, and only admins may change grants. The first grant
is made by whoever runs the machine, and should give an admin.
"""

from __future__ import annotations

import argparse
import json

from core.access import ACCESS_ROLES, AccessError, grant, grants, revoke, team_mode
from core.store import current_user
from dashboard.cli import UsageError, print_json
from dashboard.commands.common import echo, open_store, read_definition, table


def _admin_check(store) -> str:
    who = current_user()
    if team_mode(store):
        from core.access import access_for

        try:
            access = access_for(store, who, (), unknown="refuse")
        except AccessError as err:
            raise UsageError(str(err)) from None
        if not access.role.manages_access:
            raise UsageError(f"{who} is {access.role.role}; only an admin may change access.")
    return who


def _grant(args: argparse.Namespace) -> int:
    store = open_store(args.db)
    who = _admin_check(store)
    scope = read_definition(args.scope) if args.scope else None
    try:
        made = grant(store, args.subject, args.role, scope, who)
    except AccessError as err:
        raise UsageError(str(err)) from None
    if args.json:
        print_json(made.to_dict())
    else:
        echo(f"granted {made.role} to {made.subject}" + (" with a scope" if made.scope else ""))
    return 0


def _revoke(args: argparse.Namespace) -> int:
    store = open_store(args.db)
    who = _admin_check(store)
    try:
        gone = revoke(store, args.subject, who)
    except AccessError as err:
        raise UsageError(str(err)) from None
    if not gone:
        raise UsageError(f"{args.subject} has no grant; `adesk access list` shows who has one.")
    echo(f"revoked {args.subject}")
    return 0


def _list(args: argparse.Namespace) -> int:
    store = open_store(args.db)
    found = grants(store)
    if args.json:
        print_json({"team_mode": bool(found), "grants": [g.to_dict() for g in found]})
        return 0
    if not found:
        echo("no grants: local mode (the role comes from ADESK_ROLE)")
        return 0
    rows = [
        [
            g.subject,
            g.role,
            json.dumps(g.scope.to_dict(), ensure_ascii=False) if g.scope else "all members",
            g.granted_by,
            g.granted_at,
        ]
        for g in found
    ]
    echo(table(["subject", "role", "scope", "granted by", "at"], rows))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("access", help="who may use the app: roles and data scopes")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    g = verbs.add_parser("grant", help="give an e-mail or group:NAME a role (and optionally a data scope)")
    g.add_argument("subject", help="an e-mail address, or group:NAME for an identity-provider group")
    g.add_argument("--role", required=True, choices=ACCESS_ROLES)
    g.add_argument(
        "--scope", help="a segment definition file (or - for stdin) every count and export of theirs is limited to"
    )
    r = verbs.add_parser("revoke", help="remove a grant")
    r.add_argument("subject")
    l_ = verbs.add_parser("list", help="every grant")
    for parser, func in ((g, _grant), (r, _revoke), (l_, _list)):
        parser.add_argument("--db", help="app database (default $ADESK_APP_DB, else data/app.db)")
        parser.add_argument("--json", action="store_true")
        parser.set_defaults(func=func, manages_access=True)
