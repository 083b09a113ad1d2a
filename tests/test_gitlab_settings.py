""".gitlab/settings.toml, what bin/setup-gitlab sets, against the rest of the project.

Its protected tags cover every tag the pipeline deploys, its registry cleanup keeps every
image a release or a rollback needs, docs/release-process.md lists its variables, and its
tool (python-gitlab, requirements-tools.txt) stays out of every image.
"""

from __future__ import annotations

import re

from tests.answers import OPTION_SETS, with_answers
from tests.fake_gitlab import wildcard_matches
from tests.gitlab import gitlab_settings as settings
from tests.gitlab import tag_patterns
from tests.helpers import dockerfile_stages, dockerignore_patterns, requirement_names

# Tags the pipeline's default patterns deploy, and tags they must not.
RC_TAGS = ["v1.4.0-rc1", "1.4.0-rc2", "v10.20.30-rc12"]
RELEASE_TAGS = ["v1.4.0", "1.4.0", "v10.20.30"]
SHA = "0123456789abcdef0123456789abcdef01234567"
TABLE_HEADER = "| Variable | Environment scope | Required | Masked | Protected | Type | What |"


def test_the_sample_tags_are_the_pipelines_deploy_tags(default_project):
    patterns = tag_patterns(default_project)
    assert [tag for tag in RC_TAGS if patterns["RC_TAG_PATTERN"].search(tag)] == RC_TAGS
    assert [tag for tag in RELEASE_TAGS if patterns["RELEASE_TAG_PATTERN"].search(tag)] == RELEASE_TAGS
    assert not any(patterns["RC_TAG_PATTERN"].search(tag) for tag in RELEASE_TAGS)


def test_every_deploying_tag_is_protected_for_maintainers(default_project):
    protected = settings(default_project)["protected_tags"]
    assert {entry["create_access_level"] for entry in protected} == {40}
    uncovered = [tag for tag in RC_TAGS + RELEASE_TAGS if not any(wildcard_matches(e["name"], tag) for e in protected)]
    assert uncovered == []


def test_the_wildcard_follows_gitlab(default_project):
    assert wildcard_matches("*.*.*", "v1.4.0-rc1")
    assert not wildcard_matches("v*", "1.4.0")
    assert not wildcard_matches("[0-9]*", "1.4.0")  # GitLab's wildcards know only `*`


def test_the_registry_cleanup_keeps_what_releases_and_rollbacks_need(default_project):
    policy = settings(default_project)["registry_cleanup"]
    keep = re.compile(policy["name_regex_keep"])
    kept = [*RC_TAGS, *RELEASE_TAGS, f"verified-{SHA}", "acceptance", "production"]
    assert [tag for tag in kept if not keep.fullmatch(tag)] == []
    assert not keep.fullmatch(SHA)  # the per-commit tags expire
    assert policy["enabled"] is True
    assert re.compile(policy["name_regex"]).fullmatch(SHA)


def table_rows(markdown: str, header: str) -> list[list[str]]:
    """The rows of the markdown table that starts with header, as cells without backticks."""
    lines = markdown.splitlines()
    start = lines.index(header) + 2  # past the header and the |---| line
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip("|").split(" | ")])
    return rows


def test_the_release_process_lists_the_variables_it_sets(default_project):
    doc = (default_project / "docs" / "release-process.md").read_text()
    yes_no = {True: "yes", False: "no"}
    declared = [
        [
            v["name"],
            v["environment_scope"],
            yes_no[v["required"]],
            yes_no[v["masked"]],
            yes_no[v["protected"]],
            "file" if v["file"] else "variable",
            v["description"],
        ]
        for v in settings(default_project)["variables"]
    ]
    assert table_rows(doc, TABLE_HEADER) == declared


@with_answers(*OPTION_SETS)
def test_the_tools_stay_out_of_every_image(project):
    instructions = [line for stage in dockerfile_stages(project) for line in stage["instructions"]]
    assert [line for line in instructions if "requirements-tools" in line or "setup-gitlab" in line] == []
    # The build context is an allowlist (tests/test_build_context.py builds it with planted files):
    # nothing of the tools is let back in, and bin/setup-gitlab is left out again below bin/.
    patterns = dockerignore_patterns(project)
    admitted = [pattern[1:] for pattern in patterns if pattern.startswith("!")]
    assert patterns[0] == "*"
    assert [path for path in admitted if path.startswith(("requirements-tools", ".gitlab", ".venv-tools"))] == []
    assert patterns.index("bin/setup-gitlab") > patterns.index("!bin/")
    for name in ("requirements.txt", "requirements-test.txt"):
        assert "python-gitlab" not in requirement_names((project / name).read_text())
    assert "python-gitlab" in requirement_names((project / "requirements-tools.txt").read_text())
