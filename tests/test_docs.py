import subprocess
import sys
from pathlib import Path

from pil_parallel_blur.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def test_docs_build_without_warnings(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    assert (tmp_path / "api" / "index.html").exists()


def test_cli_reference_lists_every_option():
    text = (ROOT / "docs" / "cli.md").read_text()
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        assert f"pil-parallel-blur {name}" in text
        for action in p._actions:
            for opt in action.option_strings:
                assert opt in text, f"{name} {opt} missing from docs/cli.md"
