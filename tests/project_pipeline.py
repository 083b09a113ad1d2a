"""What the tests of the generated project's pipeline share (tests/test_project_pipeline_*.py):
the answer sets they bake, the jobs by what they do, the registry path gitlab-ci-local
derives from the remote, and the stand-ins for buildah, skopeo and curl."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.stubs import stand_ins

# Everything the pipeline's template depends on: Celery (services and variables of the
# test job) and the Python version (the template-drift job's image). The static checks
# run on every variant (tests.answers.VARIANTS), the rest with and without Celery.
PIPELINE_ANSWER_SETS = [{"use_celery": True}, {"use_celery": False}]

# The jobs `verified` waits for: every check of the commit's images, and its SBOM.
CHECK_JOBS = {"test", "lint", "check-deploy", "audit", "sbom"}
VERIFY_JOBS = {"build", *CHECK_JOBS, "verified"}
# The weekly schedule's: on the newest base image, under tags of their own.
SCHEDULE_JOBS = {"scheduled-build", "scheduled-test", "scheduled-audit"}
RC_JOBS = {"promote-acceptance", "deploy-acceptance", "sbom-acceptance"}
RELEASE_JOBS = {"promote-production", "deploy-production", "sbom-production"}

# Where gitlab-ci-local puts CI_REGISTRY_IMAGE for tests/gitlab.py's remote.
IMAGE = "local-registry.gitlab.example.com/agency/my-project"
MANIFEST = '{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}'
# The digest of MANIFEST: what `promote-*` hands over as the promoted image's reference.
DIGEST = "sha256:" + hashlib.sha256(MANIFEST.encode()).hexdigest()
# `skopeo inspect --raw` prints MANIFEST, `skopeo inspect` the image's labels
# (org.opencontainers.image.revision is STUB_REVISION); both fail as for a missing image
# where STUB_NO_IMAGE=1, or where the reference is one of the space-separated STUB_MISSING.
SKOPEO = f"""
if tool == "skopeo" and args[:1] == ["inspect"]:
    if os.environ.get("STUB_NO_IMAGE") == "1" or args[-1] in os.environ.get("STUB_MISSING", "").split():
        sys.exit("FATA[0000] Error parsing image name: manifest unknown")
    if "--raw" in args:
        sys.stdout.write({MANIFEST!r})
    else:
        labels = {{"org.opencontainers.image.revision": os.environ.get("STUB_REVISION", "")}}
        sys.stdout.write(json.dumps({{"Name": args[-1], "Labels": labels}}, indent=4))
"""


def registry_stand_ins(directory: Path) -> Path:
    """Recording stand-ins (tests/stubs.py) for the tools of the jobs that reach a registry or a host."""
    return stand_ins(directory, ("buildah", "skopeo", "curl"), SKOPEO, env=("BUILDAH_FORMAT", "STORAGE_DRIVER"))
