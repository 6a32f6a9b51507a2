"""Sign-in end to end: a real OIDC provider (oidc-provider-mock, in this process), `streamlit run`, Chromium.

Alice belongs to workspace a through the membership file; Bob to workspace b through his ID token's `groups`
claim; Ops is an admin (and in a). Workspace b's store is seeded before the server starts with an import of
`bravo-seed.csv` (project `bravo-secret`), a saved scenario "Bravo plan" and an evaluation run, and Bob imports
one more file through the page. Alice then tries every page and URL parameter that loads data and sees none of
b's, cannot export it, and has no way to delete it; Ops deletes Bob's import on the admin page.

The provider's consent page lists its predefined users as buttons: clicking one is the login. Waits are
Playwright's own, with the generous timeouts of tests/dashboard/test_journeys.py (whose waiting helpers this
reuses); nothing here measures time.
"""

from __future__ import annotations

import csv
import hashlib
import secrets
import warnings
from pathlib import Path

import openpyxl
import pytest

from costmodel.demo import demo_scenario
from costmodel.evals import RunSettings, Target
from costmodel.evals.results import finish_run, start_run
from costmodel.saved_scenarios import save_scenario
from costmodel.store import connect
from costmodel.usage import import_file
from costmodel.workspaces import workspace_store_path
from tests.dashboard.test_journeys import CHROMIUM, WAIT_MS, _download, _settled
from tests.evals.conftest import make_tasks
from tests.hardening.browserless import streamlit_server

pytestmark = [
    pytest.mark.browser,
    # oidc-provider-mock 0.3.4 (the last for Python 3.11) calls Authlib APIs that Authlib 1.9 deprecates; the
    # warnings come from the provider, which runs in this process, not from OpenTCO
    pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)"),
]

SEED = b"""timestamp,model,input_tokens,output_tokens,requests,provider,project,request_id
2025-03-01T09:00:00Z,gpt-4o,100,10,1,openai,bravo-secret,req-1
2025-03-01T10:00:00Z,gpt-4o,200,20,1,openai,bravo-secret,req-2
"""
UPLOAD = b"""timestamp,model,input_tokens,output_tokens,requests,provider,project,request_id
2025-03-02T09:00:00Z,gpt-4o,300,30,1,openai,bravo-secret,req-3
2025-03-02T10:00:00Z,gpt-4o,400,40,1,openai,bravo-secret,req-4
"""
MEMBERS = """
admins = ["ops@x.com"]
claim = "groups"

[workspaces]
a = ["alice@x.com", "ops@x.com"]
"""


def _seed_b(root: Path) -> str:
    con = connect(workspace_store_path("b", root=root))
    try:
        import_file(con, SEED, file_name="bravo-seed.csv")
        sid = save_scenario(con, demo_scenario().model_copy(update={"name": "Bravo plan"}))
        ts = make_tasks(2)
        target = Target(label="bravo-target", base_url="http://127.0.0.1:9/v1", model="bravo-model")
        run = start_run(con, task_set=ts, tasks=ts.tasks, settings=RunSettings(targets=[target]))
        finish_run(con, run_id=run.run_id, status="stopped")
        return sid
    finally:
        con.close()


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """(app URL, b's saved-scenario id), with the provider and the app running."""
    with warnings.catch_warnings():  # its import uses authlib.jose, which Authlib 1.9 deprecates
        import authlib.deprecate  # noqa: F401  # first: it puts an "always" filter for its warnings in front

        warnings.filterwarnings("ignore", message="authlib.jose module is deprecated")
        from oidc_provider_mock import User, run_server_in_thread

    tmp = tmp_path_factory.mktemp("team")
    sid = _seed_b(tmp / "workspaces")
    members = tmp / "workspaces.toml"
    members.write_text(MEMBERS)
    users = [
        User(sub="alice@x.com", claims={"email": "alice@x.com"}),
        User(sub="bob@x.com", claims={"email": "bob@x.com", "groups": ["b"]}),
        User(sub="ops@x.com", claims={"email": "ops@x.com"}),
    ]
    with pytest.MonkeyPatch.context() as mp, run_server_in_thread(port=0, user_claims=users) as provider:
        mp.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the provider is plain http on loopback (Authlib wants https)
        secrets_toml = tmp / "secrets.toml"
        secrets_toml.write_text(
            f"""
[auth]
redirect_uri = "http://127.0.0.1:{{port}}/oauth2callback"
cookie_secret = "{secrets.token_hex(32)}"
client_id = "opentco-test"
client_secret = "{secrets.token_hex(16)}"
server_metadata_url = "http://localhost:{provider.server_port}/.well-known/openid-configuration"

[opentco]
workspaces_file = "{members}"
"""
        )
        with streamlit_server(db=tmp / "opentco.duckdb", log=tmp / "streamlit.log", secrets=secrets_toml) as base:
            yield base, sid


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_context(browser):
    made = []

    def make():
        context = browser.new_context(viewport={"width": 1440, "height": 1800}, accept_downloads=True)
        context.set_default_timeout(WAIT_MS)
        errors: list[str] = []
        context.on("page", lambda p: p.on("pageerror", lambda e: errors.append(str(e))))
        made.append((context, errors))
        return context

    yield make
    for context, errors in made:
        context.close()
        assert errors == [], f"errors in the page: {errors[:5]}"


def _sign_in(context, base: str, sub: str):
    from playwright.sync_api import expect

    page = context.new_page()
    page.goto(base)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name=sub, exact=True).click()  # the provider's predefined user: logs in as them
    expect(page.locator("[data-testid='stSidebar']")).to_contain_text(f"Signed in as {sub}", timeout=WAIT_MS)
    return page


def _open(page, url: str):
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.locator("[data-testid='stSidebar']")).to_contain_text("Signed in as", timeout=WAIT_MS)
    _settled(page)
    expect(page.locator("[data-testid='stException']")).to_have_count(0)
    return page.locator("[data-testid='stMain']")


def _sheets(path: str) -> tuple[list[str], str]:
    with open(path, "rb") as fp:  # Playwright's download path has no .xlsx extension
        book = openpyxl.load_workbook(fp)
    text = "\n".join(str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value)
    return book.sheetnames, text


def _trail(path: str) -> list[tuple[str, ...]]:
    """The audit CSV's rows as (who, workspace, action, subject, sha256, rows), newest first."""
    with open(path, newline="", encoding="utf-8") as fp:
        keys = ("who", "workspace", "action", "subject", "sha256", "rows")
        return [tuple(r[k] for k in keys) for r in csv.DictReader(fp)]


def test_a_visitor_who_is_not_signed_in_sees_only_the_sign_in_button(team, new_context):
    from playwright.sync_api import expect

    base, sid = team
    page = new_context().new_page()
    for url in (base, f"{base}/usage_logs", f"{base}/?id={sid}", f"{base}/business_case"):
        page.goto(url)
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=WAIT_MS)
        _settled(page)
        main = page.locator("[data-testid='stMain']")
        expect(main).not_to_contain_text("Bravo")
        expect(page.locator("[data-testid='stFileUploader'], .st-key-download-xlsx")).to_have_count(0)


def test_bob_works_in_b_alice_sees_none_of_it_and_an_admin_deletes_his_import(team, new_context, tmp_path):
    """One journey (its steps build on each other, so no test depends on another having run first)."""
    from playwright.sync_api import expect

    base, sid = team
    bob = _sign_in(new_context(), base, "bob@x.com")
    main = _open(bob, f"{base}/usage_logs")
    expect(main).to_contain_text("Import history (1)")
    upload = tmp_path / "bravo-upload.csv"
    upload.write_bytes(UPLOAD)
    bob.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(upload))
    # the form sends only files whose upload has finished: wait for the chip, without its spinner
    expect(bob.locator("[data-testid='stFileChip']")).to_have_count(1, timeout=WAIT_MS)
    expect(bob.locator("[data-testid='stFileChipIconSpinner']")).to_have_count(0, timeout=WAIT_MS)
    _settled(bob)
    bob.get_by_role("button", name="Import").click()
    expect(main).to_contain_text("bravo-upload.csv: 2 rows imported", timeout=WAIT_MS)
    main = _open(bob, f"{base}/business_case?id={sid}")  # b's own share link opens b's scenario
    expect(main).to_contain_text("Bravo plan")
    workbook = _download(bob, ".st-key-download-xlsx button")
    sheets, text = _sheets(workbook)
    assert "Usage" in sheets and "gpt-4o" in text
    xlsx_sha256 = hashlib.sha256(Path(workbook).read_bytes()).hexdigest()
    main = _open(bob, f"{base}/quality")
    expect(main).to_contain_text("bravo-target")

    alice = _sign_in(new_context(), base, "alice@x.com")
    # b's saved scenario by its link: refused, the demo shown instead
    main = _open(alice, f"{base}/?id={sid}")
    expect(main).to_contain_text("no saved scenario")
    main = _open(alice, f"{base}/business_case?id={sid}")
    expect(main).not_to_contain_text("Bravo plan")
    sheets, text = _sheets(_download(alice, ".st-key-download-xlsx button"))
    assert "Usage" not in sheets and "bravo" not in text.lower()
    for url in (f"{base}/usage_logs", f"{base}/usage_logs?workspace=b", f"{base}/quality", f"{base}/measure"):
        main = _open(alice, url)
        expect(main).not_to_contain_text("bravo")
    main = _open(alice, f"{base}/usage_logs")
    expect(main).to_contain_text("Import history (0)")
    expect(main).to_contain_text("No usage imported yet")
    # no admin page to delete from: not in her navigation, and its URL opens the default page
    expect(alice.locator("[data-testid='stSidebarNav']")).not_to_contain_text("Audit & imports")
    main = _open(alice, f"{base}/admin")
    expect(main).not_to_contain_text("Audit trail")
    expect(alice.get_by_role("button", name="Delete import")).to_have_count(0)

    _admin_deletes_bob_import(base, new_context, xlsx_sha256)


def _admin_page_on_b(ops, base: str):
    """Open the admin page, pick workspace b, and download its trail: (the page's main area, the trail's rows)."""
    from playwright.sync_api import expect

    main = _open(ops, f"{base}/admin")
    expect(main).to_contain_text("Audit trail of workspace a")  # his own workspace first
    ops.get_by_role("combobox", name="Workspace").click()
    ops.get_by_role("option", name="b", exact=True).click()
    expect(main).to_contain_text("Audit trail of workspace b", timeout=WAIT_MS)
    _settled(ops)
    # the button is keyed by workspace, so this waits for b's own button rather than taking a's before the rerun
    return main, _trail(_download(ops, ".st-key-admin-audit-csv-b button"))


def _admin_deletes_bob_import(base: str, new_context, xlsx_sha256: str) -> None:
    from playwright.sync_api import expect

    ops = _sign_in(new_context(), base, "ops@x.com")
    expect(ops.locator("[data-testid='stSidebarNav']")).to_contain_text("Audit & imports")
    main, trail = _admin_page_on_b(ops, base)
    # Bob's upload and his workbook download, each with the file's SHA-256 (newest first)
    assert ("bob@x.com", "b", "import", "bravo-upload.csv", hashlib.sha256(UPLOAD).hexdigest(), "2") in trail
    assert ("bob@x.com", "b", "export", "bravo-plan-business-case.xlsx", xlsx_sha256, "") in trail
    assert all(who == "bob@x.com" for who, *_ in trail)  # Alice did nothing in b
    ops.get_by_role("combobox", name="Import to delete").click()
    ops.get_by_role("option", name="#1 bravo-seed.csv (2 rows)").click()
    _settled(ops)  # a click during the pick's rerun can land on the old page's checkbox and be lost
    ops.get_by_text("Delete it and every usage row it brought").click()
    ops.get_by_role("button", name="Delete import").click()  # enabled once the checkbox's rerun has drawn it
    expect(main).to_contain_text("Deleted import #1 bravo-seed.csv: 2 usage rows.", timeout=WAIT_MS)
    _, trail = _admin_page_on_b(ops, base)  # a fresh page: no download button left from before the deletion
    assert trail[0] == ("ops@x.com", "b", "delete", "import #1 bravo-seed.csv", hashlib.sha256(SEED).hexdigest(), "2")

    bob = _sign_in(new_context(), base, "bob@x.com")
    main = _open(bob, f"{base}/usage_logs")
    expect(main).to_contain_text("Import history (1)")  # his upload is left; the seed import is gone
