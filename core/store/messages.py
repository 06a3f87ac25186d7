"""The store's refusals (with team access and the tag catalog's): codes and English templates (see core/messages.py); Chinese: dashboard/texts/messages.py.

The cycle and unknown-reference refusals are the compiler's words (`segment.ref.*`, core/segments/refs.py).
"""

from __future__ import annotations

from core.messages import register

TEMPLATES: dict[str, str] = {
    # the app database (core/store/connection.py, core/funnel_store.py)
    "store.inside_dataset": (
        "The app database {path!r} would be inside the dataset directory {dataset!r}; "
        "a data reload could lose it. Put it elsewhere (--db PATH or ADESK_APP_DB)."
    ),
    "store.is_directory": "The app database path {path!r} is a directory; give a file path.",
    "store.cannot_create_folder": "Cannot create the folder for the app database {path!r}: {error}.",
    "store.cannot_open": "Cannot open the app database {path!r}: {error}.",
    "store.unusable": "The app database {path!r} cannot be used: {error}.",
    "store.not_usable": "The app database {path!r} could not be used: {error}.",
    "store.newer_schema": (
        "The app database {path!r} has schema version {current}, newer than this "
        "program knows ({known}). Upgrade Audience Desk, or use another --db."
    ),
    # saved segments
    "store.name_empty": "A saved segment needs a name; give a non-empty name.",
    "store.name_too_long": "The name is {n} characters long; keep it under {limit}.",
    "store.segment_not_found": "There is no saved segment {id!r}. `adesk segments list` shows the saved segments.",
    "store.version_not_found": (
        "There is no version {version} of saved segment {id!r}. `adesk segments list` shows the saved segments."
    ),
    "store.segment_in_use": (
        "Saved segment {id!r} is used by {names}. Remove the reference from those segments (or delete them) first."
    ),
    "store.segment_unreadable": (
        "Saved segment {id!r} version {version} no longer reads as a valid definition: {error}."
    ),
    # the export log
    "store.export_logged": "An export with id {id!r} is already logged; start a new export.",
    "store.export_not_running": "Export {id!r} is not running; it cannot be completed.",
    # saved funnels
    "store.funnel_name": "A saved funnel needs a name of 1 to {limit} characters.",
    "store.funnel_not_found": "No saved funnel '{id}'; save it without an id to create it.",
    # team access: the grants in the app database (core/access.py)
    "access.not_subject": "{text!r} is neither an e-mail address nor 'group:NAME'.",
    "access.names_nobody": "{text!r} names nobody: write an e-mail address or 'group:NAME'.",
    "access.not_email": "{name!r} is not an e-mail address.",
    "access.bad_scope": "The scope is not a valid segment definition: {error}",
    "access.scope_refs": "A scope cannot refer to saved segments; write its conditions out.",
    "access.unknown_role": "Unknown role {role!r}; use one of: {roles}.",
    "access.unknown_policy": "Unknown policy {policy!r} for people without a grant; use viewer or refuse.",
    "access.no_access": "{who} has no access to Audience Desk. Ask an admin: adesk access grant {who} --role viewer",
    # the tag catalog (core/tags.py)
    "tags.unknown_tag": "no member carries tag {tag!r} in this dataset.{hint}",
}
register(TEMPLATES)
