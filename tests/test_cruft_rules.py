"""A pre-generation rule added later does not lock an existing project out of cruft update.

The template repository's first commit is the template with every rule newer than the first
version taken out of the hook: a project made from it with the slug `build`, which a newer
rule refuses, is what a team has when the rule arrives. The second commit is the template as
it is now. cruft update and cruft diff replay the project's answers through the new hook:
they warn and go on; a new `cruft create` with the same answer is still refused.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.answers import TEMPLATE_DIR
from tests.template_repo import Repo, TemplateRepo, cruft, cruft_update, generate_project, git_environment

SLUG = "build"
HOOK = "hooks/pre_gen_project.py"
# A rule of the hook that the first version did not have, as written in RULES / TEXT_RULES.
NEWER_RULE = re.compile(r'Rule\(\w+, since="(?!0\.1\.0")[^"]+"\),\s*')


def without_newer_rules(hook: str) -> str:
    return NEWER_RULE.sub("", hook)


@pytest.fixture
def template(tmp_path) -> TemplateRepo:
    """The template before the newer rules, committed; the test commits the current one on top."""
    repo = TemplateRepo.copy_of_working_tree(tmp_path / "template", git_environment(tmp_path / "home"))
    repo.edit(HOOK, without_newer_rules)
    repo.commit("The template before the newer answer rules")
    return repo


@pytest.fixture
def project(template, tmp_path) -> Repo:
    project = generate_project(template, tmp_path / "projects", project_slug=SLUG)
    template.write(HOOK, (TEMPLATE_DIR / HOOK).read_text())
    template.commit("The newer answer rules")
    return project


def test_the_older_template_really_lacks_the_rule(template):
    hook = (template.path / HOOK).read_text()
    assert 'since="0.1.0"' in hook
    assert not re.search(r'since="(?!0\.1\.0")', hook.split("RULES = {", 1)[1])


def test_update_warns_about_the_newer_rule_and_takes_the_update(project, template):
    returncode, output = cruft_update(project)  # never with a traceback

    assert returncode == 0, output
    assert f"Warning: project_slug='{SLUG}' would collide with a file or directory" in output
    assert json.loads((project.path / ".cruft.json").read_text())["commit"] == template.head()


def test_diff_replays_the_answers_without_refusing(project):
    result = cruft("diff", "--exit-code", cwd=project.path, env=project.env, check=False)

    assert "Traceback" not in result.stdout + result.stderr
    assert "Invalid answer" not in result.stdout + result.stderr


def test_a_new_project_with_that_answer_is_still_refused(project, template, tmp_path):
    output = tmp_path / "new"
    output.mkdir()
    result = cruft(
        "create",
        "--no-input",
        "--output-dir",
        output,
        "--extra-context",
        json.dumps({"project_slug": SLUG}),
        template.path,
        cwd=output,
        env=template.env,
        check=False,
    )

    assert result.returncode != 0
    assert f"Invalid answer: project_slug='{SLUG}' would collide" in result.stderr
    assert list(output.iterdir()) == []
