"""The report as a person sees it: headless Chromium renders it (no network, no GPU).

Checks: a screenshot is produced and is not blank; the rendered DOM has one
``section.layer`` per analysed layer; the browser logs no console message (the report
has no JavaScript, so any console line - an uncaught error, a blocked resource - is a
fault).  A control page with a script error proves the console check can fail.

Chromium is the Debian package ``chromium``: ``make test`` installs it when it may run
apt-get without a prompt (root or ``sudo -n``; ``.ci/install-chromium``).  Without it these
tests skip with a line saying how to enable them, except under HTMP_REQUIRE_BROWSER=1
(``.ci/run`` sets it), where a missing browser fails them.
"""
import io
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("matplotlib")
from PIL import Image  # noqa: E402  (matplotlib depends on pillow)

from htmp.analysis import run  # noqa: E402
from htmp.report import write_report  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--hide-scrollbars"]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("HTMP_REQUIRE_BROWSER") == "1":
        pytest.fail("chromium not found on PATH and HTMP_REQUIRE_BROWSER=1 (as in .ci/run): "
                    "install the Debian package `chromium`")
    pytest.skip("chromium not found on PATH: to run the browser tests install the Debian "
                "package `chromium` (`make test` does when run as root or with passwordless "
                "sudo)")


def browse(page, tmp_path, *args) -> subprocess.CompletedProcess:
    prof = tmp_path / f"profile{len(list(tmp_path.iterdir()))}"
    cmd = [_chromium(), *FLAGS, f"--user-data-dir={prof}", *args, page.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)


def console_lines(stderr: str) -> list:
    return [ln for ln in stderr.splitlines() if ":CONSOLE" in ln or "Uncaught" in ln]


class _Sections(HTMLParser):
    def __init__(self):
        super().__init__()
        self.layer = 0

    def handle_starttag(self, tag, attrs):
        if tag == "section" and "layer" in (dict(attrs).get("class") or "").split():
            self.layer += 1


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    _chromium()                                   # fail (or skip) before building anything
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(200, 80), torch.nn.Linear(80, 80),
                            torch.nn.Linear(80, 30), torch.nn.Linear(30, 3))
    a = run(m)
    return write_report(a, tmp_path_factory.mktemp("browser") / "rep"), len(a.table)


def test_screenshot_is_not_blank(report, tmp_path):
    page, _ = report
    shot = tmp_path / "shot.png"
    r = browse(page, tmp_path, "--window-size=1280,2000", f"--screenshot={shot}")
    assert r.returncode == 0, r.stderr[-2000:]
    img = np.asarray(Image.open(io.BytesIO(shot.read_bytes())).convert("L"), dtype=float)
    assert img.shape == (2000, 1280)
    assert img.std() > 20                         # text, figures and tables, not one colour
    assert (img < 128).mean() > 0.01              # some dark ink on the page
    assert console_lines(r.stderr) == [], console_lines(r.stderr)


def test_dom_has_one_section_per_layer_and_no_console_message(report, tmp_path):
    page, n_layers = report
    r = browse(page, tmp_path, "--dump-dom")
    assert r.returncode == 0, r.stderr[-2000:]
    parser = _Sections()
    parser.feed(r.stdout)
    assert parser.layer == n_layers
    assert console_lines(r.stderr) == [], console_lines(r.stderr)


def test_console_check_catches_a_script_error(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text("<html><body><p>x</p><script>throw new Error('boom')</script></body></html>")
    r = browse(page, tmp_path, "--dump-dom")
    assert any("Uncaught Error: boom" in ln for ln in console_lines(r.stderr)), r.stderr[-2000:]


def test_missing_browser_skips_unless_required(monkeypatch):
    """make test on a machine without chromium skips (with how to enable); CI fails."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("HTMP_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="install the Debian package `chromium`"):
        _chromium()
    monkeypatch.setenv("HTMP_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="HTMP_REQUIRE_BROWSER=1"):
        _chromium()


ROOT = Path(__file__).resolve().parents[1]


def test_ci_requires_the_browser_and_make_test_installs_it():
    assert "HTMP_REQUIRE_BROWSER=1 make test" in (ROOT / ".ci" / "run").read_text()
    make = (ROOT / "Makefile").read_text()
    recipe = make.split("\ntest: install\n", 1)[1].split("\n\n", 1)[0]
    assert "bash .ci/install-chromium || true" in recipe


def test_install_script_without_root_or_sudo_prints_one_line(tmp_path):
    """Not root, no sudo, no chromium: no install attempt, one line, exit status 1."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, body in (("id", "echo 1000"), ("apt-get", "echo apt-get ran >&2; exit 3")):
        (bin_dir / tool).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / tool).chmod(0o755)
    r = subprocess.run([shutil.which("bash"), str(ROOT / ".ci" / "install-chromium")],
                       capture_output=True, text=True, env={"PATH": str(bin_dir)}, timeout=60)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs root or passwordless sudo" in lines[0]
    assert "install the Debian package chromium" in lines[0]
