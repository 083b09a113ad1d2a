"""Which jobs each kind of pipeline of the generated project gets, by gitlab-ci-local's own
rules engine: the workflow rules through the probe job (tests/gitlab.py), job rules,
`needs`, and the tag patterns. Each pipeline kind is listed once per answer set and module.
"""

from __future__ import annotations

import pytest

from tests.answers import with_answers
from tests.gitlab import DEFAULT_BRANCH, GitlabCiLocal, branch, commit_all, git_repo, merge_request, tag
from tests.project_pipeline import (
    CHECK_JOBS,
    PIPELINE_ANSWER_SETS,
    RC_JOBS,
    RELEASE_JOBS,
    SCHEDULE_JOBS,
    VERIFY_JOBS,
)

# Each kind of pipeline, and the jobs it runs (None: GitLab creates no pipeline). Only a
# push to the default branch or a merge request builds and verifies: a schedule or a
# "Run pipeline" (web) of the default branch would rebuild and overwrite the commit's
# :<sha> and :verified-<sha>, so those run none of that. The weekly schedule builds and
# tests on the newest base image under tags of its own (and template-drift runs where the
# project has .cruft.json).
PIPELINES = {
    "merge-request": (merge_request(), VERIFY_JOBS),
    "default-branch": (branch(DEFAULT_BRANCH), VERIFY_JOBS),
    "default-branch-schedule": (branch(DEFAULT_BRANCH, "schedule"), SCHEDULE_JOBS),
    "default-branch-web": (branch(DEFAULT_BRANCH, "web"), set()),
    "other-branch": (branch("feature"), None),
    # A push to a branch with an open merge request: only the merge request pipeline runs.
    "other-branch-with-a-merge-request": (branch("feature", CI_OPEN_MERGE_REQUESTS="agency/my-project!7"), None),
    "rc-tag": (tag("v1.2.0-rc1"), RC_JOBS),
    "release-tag": (tag("v1.2.0"), RELEASE_JOBS),
    "release-tag-schedule": (tag("v1.2.0", "schedule"), None),
    # Run pipeline for a release tag: deploys that release again (promote checks it was verified).
    "release-tag-web": (tag("v1.2.0", "web"), RELEASE_JOBS),
    "other-tag": (tag("v1.2"), None),
}
# Every shape of tag, and what it deploys: the default patterns.
TAGS = {
    "v1.2.0-rc1": RC_JOBS,
    "1.2.0-rc1": RC_JOBS,
    "1.2.0-rc12": RC_JOBS,
    "v10.20.30-rc12": RC_JOBS,
    "v1.2.0": RELEASE_JOBS,
    "1.2.0": RELEASE_JOBS,
    "10.20.30": RELEASE_JOBS,
    "v1.2": None,
    "v1.2.0-beta1": None,
    "v1.2.0-rc": None,
    "v1.2.0-rc1-fix": None,
    "v1.2.0.1": None,
    "release-1.2.0": None,
    "V1.2.0": None,
    "v1x2x0": None,
}


@pytest.fixture(scope="module")
def listings(tmp_path_factory):
    """gitlab-ci-local with the workflow probe in a git repo of each baked project, made once
    per module, so that its listings are shared by the module's tests."""
    repos: dict = {}

    def for_project(project) -> GitlabCiLocal:
        if project not in repos:
            repo = git_repo(project, tmp_path_factory.mktemp("pipeline") / "my-project")
            repos[project] = GitlabCiLocal(repo, workflow_probe=True)
        return repos[project]

    return for_project


@pytest.fixture
def gcl(project, listings) -> GitlabCiLocal:
    return listings(project)


def job_names(jobs: dict | None) -> set[str] | None:
    return None if jobs is None else set(jobs)


@with_answers(*PIPELINE_ANSWER_SETS)
@pytest.mark.parametrize("case", PIPELINES)
def test_jobs_of_each_pipeline(gcl, case):
    pipeline, expected = PIPELINES[case]

    assert job_names(gcl.created_jobs(pipeline)) == expected


# `needs` is the same whatever the answers: the default project's pipelines.
@pytest.mark.parametrize("case", [case for case, (_, expected) in PIPELINES.items() if expected])
def test_dependency_chain_is_valid(gcl, case):
    pipeline, _ = PIPELINES[case]
    result = gcl("--validate-dependency-chain", *pipeline.gitlab_ci_local_args())
    assert "All job dependencies are valid" in result.stdout
    assert "json schema validated" in result.stderr  # gitlab-ci-local's own schema check passed too


@pytest.mark.parametrize(("tag_name", "expected"), TAGS.items(), ids=list(TAGS))
def test_each_shape_of_tag_deploys_where_the_default_patterns_say(gcl, tag_name, expected):
    assert job_names(gcl.created_jobs(tag(tag_name))) == expected


def test_a_project_can_change_the_tag_patterns(gcl):
    custom = {"RELEASE_TAG_PATTERN": "/^release-[0-9]+$/"}
    assert job_names(gcl.created_jobs(tag("release-42"), custom)) == RELEASE_JOBS
    assert gcl.created_jobs(tag("v1.2.0"), custom) is None


def test_jobs_fail_fast_and_wait_only_for_what_they_need(gcl):
    verify = gcl.created_jobs(merge_request())
    jobs = {**verify, **gcl.created_jobs(tag("v1.2.0-rc1")), **gcl.created_jobs(tag("v1.2.0"))}
    needs = {name: sorted(need["job"] for need in job["needs"]) for name, job in jobs.items()}
    assert needs == {
        "build": [],
        "test": ["build"],
        "lint": ["build"],
        "check-deploy": ["build"],
        "audit": ["build"],
        "sbom": ["build"],
        "verified": sorted(CHECK_JOBS),
        "promote-acceptance": [],
        "deploy-acceptance": ["promote-acceptance"],
        "sbom-acceptance": ["promote-acceptance"],
        "promote-production": [],
        "deploy-production": ["promote-production"],
        "sbom-production": ["promote-production"],
    }
    assert not any(job["allow_failure"] for job in verify.values())


def test_template_drift_runs_when_the_project_has_cruft_json(project, tmp_path):
    repo = git_repo(project, tmp_path / "my-project")
    (repo / ".cruft.json").write_text('{"template": "https://example.com/template.git"}\n')
    commit_all(repo, "Link to the template")
    gcl = GitlabCiLocal(repo, workflow_probe=True)

    for case in ("merge-request", "default-branch", "default-branch-schedule", "default-branch-web", "release-tag"):
        pipeline, expected = PIPELINES[case]
        jobs = gcl.created_jobs(pipeline)
        drift = set() if case == "release-tag" else {"template-drift"}
        assert set(jobs) == expected | drift, case
        if drift:
            assert jobs["template-drift"]["allow_failure"] is True
            assert jobs["template-drift"]["needs"] == []
