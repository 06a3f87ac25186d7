"""Recording the demo's past campaign (story 10) in an app store, through the normal export path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.demo.campaign import AUDIENCE, CAMPAIGN_AT, CAMPAIGN_HOLDOUT, campaign_export_id

if TYPE_CHECKING:
    from core.store import AppStore

RECORDED, ALREADY, SKIPPED = "recorded", "already recorded", "skipped"


@dataclass(frozen=True)
class CampaignRecord:
    """What `record_campaign` did, in words an operator can act on."""

    export_id: str
    status: str  # RECORDED | ALREADY | SKIPPED
    message: str
    members: int = 0  # lapsed buyers in the export (target + holdout)
    holdout: int = 0
    path: str | None = None  # the export file

    def to_dict(self) -> dict[str, Any]:
        return {
            "export_id": self.export_id,
            "status": self.status,
            "message": self.message,
            "members": self.members,
            "holdout": self.holdout,
            "path": self.path,
        }


def record_campaign(
    dataset_dir: Path | str, store: AppStore, *, users: int, seed: int, out: Path | str | None = None
) -> CampaignRecord:
    """Export the demo's lapsed buyers with a 10% holdout, dated 2026-10-08, unless the store already has it.

    The export id depends only on (users, seed), so the holdout names the members the generator
    gave the coupon to. Running it again for the same dataset finds the record and changes nothing
    (the same users and seed wrote the same bytes); a record of that id for another directory, or
    one that did not succeed, is left alone and reported.
    """
    from core.dataset import open_dataset
    from core.export import EmptyExport, ExportOptions, plan_export, write_export
    from core.roles import RoleInfo

    export_id = campaign_export_id(users, seed)
    here = str(Path(dataset_dir).resolve())
    existing = store.get_export(export_id)
    if existing is not None:
        return _existing(existing, here, store)
    ds = open_dataset(here)
    try:
        plan = plan_export(
            ds,
            AUDIENCE,
            ExportOptions(channel=None, holdout=CAMPAIGN_HOLDOUT),
            role=RoleInfo("operator", "adesk demo"),
            export_id=export_id,
        )
        try:
            result = write_export(ds, plan, store, out=out, overwrite=True, who="adesk demo", at=CAMPAIGN_AT)
        except EmptyExport as err:
            return CampaignRecord(export_id, SKIPPED, f"No campaign export: {err}")
    finally:
        ds.close()
    return CampaignRecord(
        export_id,
        RECORDED,
        f"Recorded the win-back campaign of {CAMPAIGN_AT:%Y-%m-%d} as export {export_id}: "
        f"{plan.segment_size:,} lapsed buyers, {plan.holdout_rows:,} held out.",
        members=plan.segment_size,
        holdout=plan.holdout_rows,
        path=result.path,
    )


def _existing(record: Any, here: str, store: AppStore) -> CampaignRecord:
    export_id = record.export_id
    if record.dataset_path != here:
        return CampaignRecord(
            export_id,
            SKIPPED,
            f"The app database already holds the campaign export {export_id} of {record.dataset_path}; "
            f"it was not recorded again for {here} (use another --db for this copy).",
        )
    if record.status != "succeeded":
        return CampaignRecord(
            export_id,
            SKIPPED,
            f"The campaign export {export_id} is logged as {record.status!r} in the app database "
            "and was left as it is.",
        )
    holdout = store.holdout_file(export_id)
    if holdout is not None and not Path(holdout.path).exists():
        return CampaignRecord(
            export_id,
            SKIPPED,
            f"The campaign export {export_id} is recorded, but its holdout file {holdout.path} is missing.",
        )
    return CampaignRecord(
        export_id,
        ALREADY,
        f"The campaign export {export_id} was already recorded for this dataset; nothing changed.",
        members=record.segment_size,
        holdout=record.holdout_rows,
        path=record.file_path,
    )
