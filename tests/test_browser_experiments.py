"""End to end in Chromium: the experiment pages' verdicts, SRM warning and campaign lifts.

The broken experiment warns of SRM; the winning one says who wins; an export's campaign lift opens
from the Exports page; the demo's past campaign shows its lift.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from core.dataset import open_dataset
from core.demo.campaign_record import record_campaign
from core.export import ExportOptions, plan_export, write_export
from core.roles import RoleInfo
from core.store import AppStore
from tests.browser.server import screenshot, streamlit_server, wait_idle
from tests.test_demo_campaign import campaign_by_pandas

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SLOW = 120_000
HOLDOUT = 0.1


def _demo_counts(demo_dir, variant_of: str) -> dict[str, int]:
    """Users per variant of a demo experiment, from assignments.parquet by the definition (the demo excludes no one)."""
    a = pd.read_parquet(demo_dir / "assignments.parquet")
    a = a[a["experiment"] == variant_of]
    return a.groupby("variant")["user_id"].nunique().to_dict()


def test_srm_warning_winner_verdict_and_campaign_lift(demo_dir, chromium, tmp_path):
    db = tmp_path / "app.db"
    ds = open_dataset(demo_dir)
    store = AppStore(db)
    plan = plan_export(
        ds, {"conditions": []}, ExportOptions(channel="wechat", holdout=HOLDOUT), role=RoleInfo("none", "test")
    )
    write_export(ds, plan, store, out=tmp_path / "campaign.csv")
    ds.close()
    users = pd.read_parquet(demo_dir / "users.parquet", columns=["user_id", "wechat_opt_in"])
    consenting = users[users["wechat_opt_in"].fillna(False).astype(bool)]["user_id"]
    limit = round(HOLDOUT * 2**52)
    held = sum(int(hashlib.sha256(f"{plan.export_id}|{u}".encode()).hexdigest()[:13], 16) < limit for u in consenting)
    # the demo's own past campaign (data/README.md story 10), recorded as `adesk demo` records it
    demo_campaign = record_campaign(demo_dir, store, users=20_000, seed=7, out=tmp_path / "winback.csv")
    arms = campaign_by_pandas(demo_dir, demo_campaign.export_id)
    (h_users, h_conv, _), (t_users, t_conv, _) = arms["holdout"], arms["target"]
    lift = (t_conv / t_users - h_conv / h_users) / (h_conv / h_users)

    env = {"ADESK_APP_DB": str(db), "ADESK_SERVER_LOG": str(tmp_path / "server.log")}
    with streamlit_server(demo_dir, env=env, timeout=90) as url:
        page = chromium.new_page(viewport={"width": 1400, "height": 1400})
        page.set_default_timeout(SLOW)

        # 1. the broken split: a red banner, and no verdict
        page.goto(f"{url}/experiments?experiment=banner_color_test")
        banner = page.locator("[data-testid='stAlertContentError']").filter(has_text="Sample ratio mismatch")
        banner.first.wait_for()
        wait_idle(page, SLOW)
        text = banner.first.inner_text()
        counts = _demo_counts(demo_dir, "banner_color_test")
        share = counts["blue"] / sum(counts.values())
        assert "do not trust this result" in text and f"blue {share * 100:.1f}%" in text
        screenshot(page, "experiments-srm")

        # 2. the winner: the verdict in words
        page.goto(f"{url}/experiments?experiment=coupon_copy_test")
        verdict = page.locator("[data-testid='stAlertContentSuccess']").filter(has_text="wins")
        verdict.first.wait_for()
        wait_idle(page, SLOW)
        assert (
            verdict.first.inner_text().startswith("B wins: +")
            and "purchase conversion, 95% interval" in verdict.first.inner_text()
        )
        assert page.locator("[data-testid='stAlertContentError']").count() == 0
        screenshot(page, "experiments-winner")

        # 3. an export's campaign lift, reached from the Exports page
        page.goto(f"{url}/exports?export={plan.export_id}")
        link = page.get_by_role("link", name="Open the campaign lift (target vs holdout)")
        link.wait_for()
        wait_idle(page, SLOW)
        href = link.get_attribute("href")
        assert href.startswith("experiments?experiment=" + plan.export_id)
        page.goto(f"{url}/{href}")
        campaign = page.get_by_text(f"Campaign lift of export {plan.export_id}")
        campaign.wait_for()
        wait_idle(page, SLOW)
        assert (
            f"{len(consenting) - held:,} members who received it (target) against {held:,} held back"
            in campaign.inner_text()
        )
        body = page.inner_text("body")
        # the demo's data ends before today's export: every window is still open, and the page says so
        assert "metric windows are not over yet" in body and "no behaviour is counted yet" in body
        screenshot(page, "experiments-campaign")

        # 4. the demo's past campaign: listed, its windows over, the lift of its coupon in the verdict
        page.goto(f"{url}/experiments")
        page.get_by_text(demo_campaign.export_id).first.wait_for(state="attached")  # a cell of the list's grid
        page.goto(f"{url}/experiments?experiment={demo_campaign.export_id}")
        campaign = page.get_by_text(f"Campaign lift of export {demo_campaign.export_id}")
        campaign.wait_for()
        wait_idle(page, SLOW)
        assert f"{t_users:,} members who received it (target) against {h_users:,} held back" in campaign.inner_text()
        body = page.inner_text("body")
        assert "metric windows are not over yet" not in body
        assert lift > 0 and f"target {lift * 100:+.1f}% purchase conversion" in body.replace("wins: ", "")
        screenshot(page, "experiments-demo-campaign")
        page.close()
