import json

import pytest

from .processes import FreshProcess

# A fresh process: the health probe keeps its own connection, opened from the settings at
# the first check. Port 9 (discard) is closed: a real refused connection, not a mock.
DATABASE_DOWN = FreshProcess(
    *("manage.py", "shell", "--no-imports", "-c"),
    "from django.test import Client; import json; "
    "r = Client().get('/health/'); print(r.status_code, json.dumps(r.json()))",
    DATABASE_URL="postgres://nobody@127.0.0.1:9/nothing",
)


@pytest.mark.django_db
def test_health_is_ok_when_database_and_cache_answer(client, settings):
    settings.COMMIT_HASH = "abc123"

    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "commit": "abc123", "checks": {"database": "ok", "cache": "ok"}}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_health_needs_no_allowed_host_or_https(client, settings):
    settings.ALLOWED_HOSTS = ["www.example.com"]
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/health/", headers={"host": "10.0.0.7:8000"})

    assert response.status_code == 200


def test_health_is_503_naming_the_database_when_it_is_down():
    result = DATABASE_DOWN.result()

    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "503"
    body = json.loads(body)
    assert body["status"] == "error"
    assert body["checks"]["database"].startswith("error: OperationalError")
    assert body["checks"]["cache"] == "ok"
