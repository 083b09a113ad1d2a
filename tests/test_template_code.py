"""The template's own code (hooks, scripts, tests) passes ruff, as the generated projects' do."""

from __future__ import annotations

from tests.answers import TEMPLATE_DIR
from tests.helpers import run, tool


def test_the_templates_own_code_is_ruff_clean():
    run([tool("ruff"), "check", "--no-cache", "."], cwd=TEMPLATE_DIR)
    run([tool("ruff"), "format", "--check", "--no-cache", "."], cwd=TEMPLATE_DIR)
