"""The crontab that supercronic runs: every line parses, every command it runs exists."""

import shlex
from datetime import UTC, datetime

import pytest
from croniter import croniter
from django.core.management import get_commands, load_command_class

from .processes import PROJECT_DIR

CRONTAB = PROJECT_DIR / "crontab"
MANAGE = ["python", "/app/manage.py"]


def jobs():
    """(line number, schedule, command) for every job in the crontab."""
    for number, line in enumerate(CRONTAB.read_text().splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            fields = line.split(maxsplit=5)
            yield number, " ".join(fields[:5]), fields[5] if len(fields) > 5 else ""


JOBS = list(jobs())
JOB_IDS = [f"line{number}" for number, _, _ in JOBS]


def test_the_crontab_has_jobs():
    assert JOBS


@pytest.mark.parametrize(("number", "schedule", "command"), JOBS, ids=JOB_IDS)
def test_every_schedule_parses(number, schedule, command):
    assert croniter.is_valid(schedule), f"crontab line {number}: {schedule!r} is not a cron schedule"
    start = datetime(2025, 1, 1, tzinfo=UTC)
    assert croniter(schedule, start).get_next(datetime) > start


@pytest.mark.parametrize(("number", "schedule", "command"), JOBS, ids=JOB_IDS)
def test_every_job_is_an_existing_management_command(number, schedule, command):
    argv = shlex.split(command)
    assert argv[:2] == MANAGE, f"crontab line {number}: run management commands as `python /app/manage.py ...`"
    assert len(argv) > 2, f"crontab line {number}: no management command"

    app = get_commands().get(argv[2])
    assert app, f"crontab line {number}: {argv[2]!r} is not a management command"
    load_command_class(app, argv[2])  # and it imports
