import pytest
from django.db.utils import ConnectionHandler
from environ import Env

from {{ cookiecutter.project_slug }}.core import health


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


def test_health_is_503_naming_the_database_when_it_is_down(client, monkeypatch, django_db_blocker):
    # Port 9 (discard) is closed: a real refused connection, not a mock.
    unreachable = ConnectionHandler({"default": Env.db_url_config("postgres://nobody@127.0.0.1:9/nothing")})
    monkeypatch.setattr(health, "connections", unreachable)

    with django_db_blocker.unblock():
        response = client.get("/health/")
    unreachable.close_all()

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["database"].startswith("error: OperationalError")
    assert body["checks"]["cache"] == "ok"
