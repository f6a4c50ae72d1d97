"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright, against a real
`polyfleet serve` (HTTP server and a worker process). The flow of issue 11: sign in with a token,
upload a scenario, run a plan to the end, record an outage, see the incident and the moves."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from server_support import TINY, free_port, wait_for

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
def server(db, tokens, tmp_path):
    """`polyfleet serve` on this test's database, with one worker; yields its base URL."""
    port = free_port()
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-c", "from polyfleet.cli import main; main()", "serve", "--db", db.url,
                             "--port", str(port),
                             "--workers", "1", "--lease-s", "5", "--log-level", "warning"],
                            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{base}/api/v1/health") or proc.poll() is not None, 60, 0.2, "the server")
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (CI installs Debian's chromium; no browser is downloaded)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def test_sign_in_upload_plan_outage_incident_and_moves(server, tokens, browser, tmp_path, run_cli):
    code, out, err = run_cli("place", str(TINY), "--lose", "aws/p5.48xlarge/us-east-1", "--format", "json", "--quiet")
    assert code == 0, err
    moves = len(json.loads(out)["failover"]["moves"])          # what `polyfleet place --lose` lists for the pool
    assert moves > 0
    page = browser.new_page()
    page.set_default_timeout(30_000)
    try:
        _flow(page, server, tokens["admin"], moves)
    except Exception:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        raise


def _flow(page, base: str, token: str, cli_moves: int) -> None:
    from playwright.sync_api import expect

    page.goto(base + "/")
    assert page.url.startswith(base + "/login")                            # a stranger is sent to sign in
    page.fill("input[name=token]", "pf_wrong")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("unknown or revoked token")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    expect(page.locator("header .who")).to_contain_text("admin-1 (admin)")

    page.goto(base + "/scenarios")
    page.set_input_files("#upload-form input[type=file]", str(TINY))
    expect(page.locator("#upload-form input[name=activate]")).to_be_checked()
    page.click("#upload-form button[type=submit]")
    expect(page.locator("tr.active")).to_contain_text("tiny-fleet")
    page.goto(base + "/")
    expect(page.locator("main")).to_contain_text("40 chips in 3 pools")
    expect(page.locator("main")).to_contain_text("Placement v1")

    page.goto(base + "/runs")
    page.select_option("#run-kind", "plan")
    page.click("#run-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("plan of tiny-fleet v1")
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=120_000)   # followed live, then reloaded
    expect(page.locator("main")).to_contain_text("HiGHS status: Optimal")
    assert page.locator("figure.chart svg").count() == 2                   # the report's own plots, inline

    page.goto(base + "/events")
    page.select_option("#kind", "outage_start")
    pool = page.locator("#pool option", has_text="aws/p5.48xlarge/us-east-1").get_attribute("value")
    page.select_option("#pool", pool)
    page.fill("input[name=note]", "us-east-1 down (browser test)")
    page.click("#event-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Placement v2")
    moves = page.locator("table.moves tbody tr")
    expect(moves.first).to_be_visible()
    assert moves.count() == cli_moves                # the same moves `polyfleet place --lose` lists
    expect(page.locator("table.moves")).to_contain_text("aws/p5.48xlarge/us-east-1")
    expect(page.locator("table.tiers tr.short")).to_contain_text("self-serve")

    page.goto(base + "/incidents")
    row = page.locator("table.incidents tbody tr").first
    expect(row).to_contain_text("self-serve")
    expect(row).to_contain_text("open")
    expect(row).to_contain_text("self-serve (900)")
    assert page.locator("svg.timeline rect.tl-open").count() == 1
