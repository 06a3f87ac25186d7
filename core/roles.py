"""Who may see personal data, until sign-in exists: a role from configuration.

The role comes from, in this order:

1. env `ADESK_ROLE` (set by whoever starts the server or runs the CLI);
2. the key `role` in `.streamlit/secrets.toml` in the current directory, then in
   `~/.streamlit/secrets.toml` (the places Streamlit reads secrets from; read here
   with tomllib so core never imports streamlit);
3. otherwise `none`.

Roles (the same names as the team grants of core/access.py):

- `viewer`: counts and analyses only; no member-level rows, no exports.
- `operator` (and `none`, the default, its old name): build, save, export with personal data masked.
- `pii`: may also export raw values or their SHA-256 hashes (for ad-platform matching).
- `admin`: what `pii` may, and manage access (`adesk access`, the Access page).

An unknown role is never widened to anything: it counts as `none`, and
`RoleInfo.problem` says what was wrong so the UI and CLI can show it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Role = Literal["none", "viewer", "operator", "pii", "admin"]
ROLES: tuple[Role, ...] = ("none", "viewer", "operator", "pii", "admin")
ENV_ROLE = "ADESK_ROLE"
SECRETS_FILE = Path(".streamlit") / "secrets.toml"

# What each PII export mode needs. Hashes count as personal data too: a phone
# number has so few possible values that its SHA-256 is reversed by trying them all.
PII_MODES = ("masked", "raw", "hashed")
_MODES_BY_ROLE: dict[Role, tuple[str, ...]] = {
    "none": ("masked",),
    "viewer": (),
    "operator": ("masked",),
    "pii": PII_MODES,
    "admin": PII_MODES,
}


@dataclass(frozen=True)
class RoleInfo:
    role: Role
    source: str  # "ADESK_ROLE", a secrets.toml path, or "default"
    problem: str | None = None  # set when the configured value was not usable

    @property
    def pii_modes(self) -> tuple[str, ...]:
        """The PII export modes this role may use."""
        return _MODES_BY_ROLE[self.role]

    def may_export(self, pii_mode: str) -> bool:
        return pii_mode in self.pii_modes

    @property
    def sees_members(self) -> bool:
        """Member-level rows (samples, member lists, exports): everyone but a viewer."""
        return self.role != "viewer"

    @property
    def manages_access(self) -> bool:
        return self.role == "admin"

    def to_dict(self) -> dict[str, object]:
        return {"role": self.role, "source": self.source, "problem": self.problem, "pii_modes": list(self.pii_modes)}


def _secrets_paths() -> list[Path]:
    return [Path.cwd() / SECRETS_FILE, Path.home() / SECRETS_FILE]


def _check(value: object, source: str) -> RoleInfo:
    if isinstance(value, str) and value.strip().lower() in ROLES:
        return RoleInfo(value.strip().lower(), source)  # type: ignore[arg-type]
    return RoleInfo(
        "none",
        source,
        f"role {value!r} from {source} is not one of: {', '.join(ROLES)}; using 'none' (PII masked). "
        "Set it to 'pii' to allow raw or hashed personal data, or remove it.",
    )


def current_role(secrets_paths: list[Path] | None = None) -> RoleInfo:
    """The configured role (see the module docstring for where it comes from)."""
    from core.access import process_access  # team mode on the command line: the person's grant

    if (access := process_access()) is not None:
        return access.role
    env = os.environ.get(ENV_ROLE)
    if env is not None and env.strip():
        return _check(env, ENV_ROLE)
    for path in secrets_paths if secrets_paths is not None else _secrets_paths():
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            return RoleInfo("none", str(path), f"{path} cannot be read ({err}); using role 'none' (PII masked).")
        if "role" in data:
            return _check(data["role"], str(path))
    return RoleInfo("none", "default")
