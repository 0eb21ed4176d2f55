"""The README's Python snippets run as written (in a temporary folder)."""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(section: str) -> list[str]:
    text = README.read_text()
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


@pytest.mark.parametrize("section", ["Analysing a model", "Laws"])
def test_readme_snippets_run(section, tmp_path, monkeypatch):
    if section == "Analysing a model":
        pytest.importorskip("torch")
        pytest.importorskip("matplotlib")
    blocks = _blocks(section)
    assert blocks, section
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        exec(compile(code, f"README.md ({section})", "exec"), {})
    if section == "Analysing a model":
        assert (tmp_path / "report" / "index.html").is_file()
