"""Sites other than production: kept out of search engines, and behind a password where one is set."""

import base64

import pytest

USERS = {"ada": "s3cret:with-colon"}


def basic(user, password):
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def guarded(settings):
    settings.BASIC_AUTH_USERS = USERS


@pytest.mark.parametrize("environment", ["development", "acceptance"])
def test_pages_outside_production_are_not_indexed(environment, client, settings):
    settings.SITE_ENVIRONMENT = environment

    response = client.get("/")

    assert response.status_code == 200
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_production_pages_may_be_indexed(client, settings):
    settings.SITE_ENVIRONMENT = "production"

    response = client.get("/")

    assert response.status_code == 200
    assert "X-Robots-Tag" not in response


@pytest.mark.usefixtures("guarded")
@pytest.mark.parametrize(
    "headers", [{}, basic("ada", "wrong"), basic("eve", USERS["ada"]), {"authorization": "Basic ??"}]
)
def test_a_guarded_site_asks_for_a_password(headers, client):
    response = client.get("/", headers=headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Basic realm="')
    assert response["X-Robots-Tag"] == "noindex, nofollow"


# Pages, the admin, static files (served by WhiteNoise, a middleware after the guard).
GUARDED_PATHS = ["/", "/admin/login/", "/static/admin/css/base.css", "/robots.txt"]


@pytest.mark.django_db  # closing a response ends the request, which looks at the database connection
@pytest.mark.usefixtures("guarded")
@pytest.mark.parametrize("path", GUARDED_PATHS)
def test_a_guarded_site_guards_every_path_and_lets_its_users_in(path, client):
    refused = client.get(path)
    let_in = client.get(path, headers=basic("ada", USERS["ada"]))
    let_in.close()  # a static file is streamed from an open file

    assert refused.status_code == 401
    assert let_in.status_code == 200


@pytest.mark.django_db
@pytest.mark.usefixtures("guarded")
def test_health_is_never_guarded_nor_redirected(client, settings):
    settings.SITE_ENVIRONMENT = "production"
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
