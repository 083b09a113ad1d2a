"""A local stand-in for the GitLab REST API (v4), keeping state, for bin/setup-gitlab's tests.

Where no GitLab server can run, the real client (python-gitlab) talks to this server instead. It
serves the endpoints bin/setup-gitlab uses, the way GitLab does: one project (by id or by its
URL-encoded path), its protected branches and tags, environments and protected environments,
CI/CD variables, pipeline schedules, and the project settings it updates. It keeps what was
written, checks the request bodies as GitLab's API validates them (400 on a bad field or
access level), and answers 401 (unknown token), 403 (a token without the `api` scope, or below Maintainer),
404 (no such project, protection or variable; no protected environments without Premium)
and 409 (a protection that already exists) where GitLab would.

Every request is recorded (method, path, query, JSON body), so tests can assert the exact
bodies and count the writes.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEVELOPER, MAINTAINER = 30, 40
ACCESS_LEVELS = {0: "No one", 30: "Developers + Maintainers", 40: "Maintainers", 60: "Admins"}
DEPLOY_ACCESS_LEVELS = {30, 40, 60}
# Tokens the fake knows: role, and whether they have the `api` scope (not just `read_api`).
TOKENS = {
    "maintainer-token": (MAINTAINER, True),
    "developer-token": (DEVELOPER, True),
    "read-api-token": (MAINTAINER, False),
}
CADENCES = {"1d", "7d", "14d", "1month", "3month"}
OLDER_THAN = {"7d", "14d", "30d", "60d", "90d"}
KEEP_N = {1, 5, 10, 25, 50, 100}
# What DELETE .../<resource>/<name> removes.
PROTECTIONS = {"protected_branches", "protected_tags", "protected_environments"}
VARIABLE_KEY = re.compile(r"^[A-Za-z0-9_]{1,255}$")


def wildcard_matches(pattern: str, ref: str) -> bool:
    """GitLab's protected branch and tag wildcards: `*` is any text, every other character itself."""
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), ref) is not None


class Answer(Exception):
    """An HTTP answer other than 200: status and JSON body."""

    def __init__(self, status: int, body: object):
        super().__init__(status)
        self.status, self.body = status, body


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: object


def access(level: int) -> dict:
    return {
        "id": level,
        "access_level": level,
        "access_level_description": ACCESS_LEVELS[level],
        "user_id": None,
        "group_id": None,
    }


def require(condition: bool, field_name: str, problem: str) -> None:
    """GitLab's 400 for an invalid parameter."""
    if not condition:
        raise Answer(400, {"message": {field_name: [problem]}})


def require_level(body: dict, name: str, levels=ACCESS_LEVELS) -> None:
    if name in body:
        require(body[name] in levels, name, "does not have a valid value")


@dataclass
class FakeGitLab:
    """The state of one GitLab project, as a new project has it: GitLab protects the default
    branch on creation (push and merge by maintainers); the cleanup policy is off."""

    path: str = "agency/my-project"
    premium: bool = True
    # A (method, path suffix) answered with a 500, to break a run halfway.
    fail_on: tuple[str, str] | None = None
    project: dict = field(default_factory=dict)
    protected_branches: dict = field(default_factory=dict)
    protected_tags: dict = field(default_factory=dict)
    environments: dict = field(default_factory=dict)
    protected_environments: dict = field(default_factory=dict)
    variables: dict = field(default_factory=dict)
    pipeline_schedules: dict = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self):
        self.project = {
            "id": 7,
            "path_with_namespace": self.path,
            "default_branch": "main",
            "only_allow_merge_if_pipeline_succeeds": False,
            "container_expiration_policy": {
                "cadence": "1d",
                "enabled": False,
                "keep_n": 10,
                "older_than": "90d",
                "name_regex": ".*",
                "name_regex_keep": None,
                "next_run_at": None,
            },
        }
        self.protected_branches["main"] = self.branch_protection({"name": "main", "push_access_level": MAINTAINER})

    @property
    def writes(self) -> list[Request]:
        return [request for request in self.requests if request.method != "GET"]

    # ---- routing ---------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, token: str | None, body: object) -> tuple[int, object]:
        parts = urlsplit(raw_path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        segments = [unquote(segment) for segment in parts.path.split("/")]
        self.requests.append(Request(method, "/".join(segments), query, body))
        try:
            return 201 if method == "POST" else 200, self.route(method, segments, query, token, body)
        except Answer as answer:
            return answer.status, answer.body

    @staticmethod
    def authorize(method: str, token: str | None) -> int:
        """The token's role; 401 for an unknown token, 403 for a write without the `api` scope."""
        if token not in TOKENS:
            raise Answer(401, {"message": "401 Unauthorized"})
        role, api_scope = TOKENS[token]
        if method != "GET" and not api_scope:
            description = "The request requires higher privileges than provided by the access token."
            raise Answer(403, {"error": "insufficient_scope", "scope": "api", "error_description": description})
        return role

    def route(self, method: str, segments: list[str], query: dict, token: str | None, body: object) -> object:
        role = self.authorize(method, token)
        if segments[:4] != ["", "api", "v4", "projects"] or len(segments) < 5:
            raise Answer(404, {"message": "404 Not Found"})
        if segments[4] not in (str(self.project["id"]), self.path):
            raise Answer(404, {"message": "404 Project Not Found"})
        resource, rest = (segments[5], segments[6:]) if len(segments) > 5 else (None, [])
        if role < MAINTAINER and (resource is not None or method != "GET"):
            raise Answer(403, {"message": "403 Forbidden"})
        if self.fail_on == (method, resource):
            raise Answer(500, {"message": "500 Internal Server Error"})
        if resource == "protected_environments":
            self.premium_only()
        store = self.collections().get(resource)
        if method == "GET" and store is not None and not rest:
            return list(store.values())
        if method == "DELETE" and resource in PROTECTIONS and len(rest) == 1:
            return self.unprotect(store, rest[0])
        handler = getattr(self, f"{method.lower()}_{resource or 'project'}", None)
        if handler is None:
            raise Answer(404, {"message": "404 Not Found"})
        return handler(*rest, query=query, body=body)

    def collections(self) -> dict[str, dict]:
        """What GET .../<resource> lists."""
        return {
            "protected_branches": self.protected_branches,
            "protected_tags": self.protected_tags,
            "environments": self.environments,
            "protected_environments": self.protected_environments,
            "variables": self.variables,
            "pipeline_schedules": self.pipeline_schedules,
        }

    # ---- the project -------------------------------------------------------------------

    def get_project(self, *, query, body):
        return self.project

    def put_project(self, *, query, body):
        allowed = {"only_allow_merge_if_pipeline_succeeds", "container_expiration_policy_attributes"}
        require(bool(body) and set(body) <= allowed, "error", "at least one known parameter must be provided")
        if "only_allow_merge_if_pipeline_succeeds" in body:
            value = body["only_allow_merge_if_pipeline_succeeds"]
            require(isinstance(value, bool), "only_allow_merge_if_pipeline_succeeds", "is invalid")
            self.project["only_allow_merge_if_pipeline_succeeds"] = value
        if "container_expiration_policy_attributes" in body:
            self.project["container_expiration_policy"].update(
                self.valid_policy(body["container_expiration_policy_attributes"])
            )
        return self.project

    @staticmethod
    def valid_policy(policy: dict) -> dict:
        known = {"cadence", "enabled", "keep_n", "older_than", "name_regex", "name_regex_keep"}
        require(set(policy) <= known, "container_expiration_policy_attributes", f"unknown: {set(policy) - known}")
        require(
            policy.get("cadence", "1d") in CADENCES,
            "container_expiration_policy.cadence",
            "is not included in the list",
        )
        require(
            policy.get("older_than", "7d") in OLDER_THAN,
            "container_expiration_policy.older_than",
            "is not included in the list",
        )
        require(policy.get("keep_n", 1) in KEEP_N, "container_expiration_policy.keep_n", "is not included in the list")
        for name in ("name_regex", "name_regex_keep"):
            try:
                re.compile(policy.get(name) or "")
            except re.error:
                require(False, f"container_expiration_policy.{name}", "not valid RE2 syntax")
        return policy

    # ---- protected branches and tags -----------------------------------------------------

    @staticmethod
    def branch_protection(body: dict) -> dict:
        return {
            "id": 1,
            "name": body["name"],
            "allow_force_push": False,
            "code_owner_approval_required": False,
            "push_access_levels": [access(body.get("push_access_level", MAINTAINER))],
            "merge_access_levels": [access(body.get("merge_access_level", MAINTAINER))],
            "unprotect_access_levels": [],
        }

    @staticmethod
    def protect(store: dict, kind: str, protection: dict) -> dict:
        """Store a new protection; GitLab answers 409 for a name already protected."""
        if protection["name"] in store:
            raise Answer(409, {"message": f"Protected {kind} '{protection['name']}' already exists"})
        store[protection["name"]] = protection
        return protection

    @staticmethod
    def unprotect(store: dict, name: str) -> None:
        if store.pop(name, None) is None:
            raise Answer(404, {"message": "404 Not found"})

    def post_protected_branches(self, *, query, body):
        require("name" in body, "name", "is missing")
        for name in ("push_access_level", "merge_access_level", "unprotect_access_level"):
            require_level(body, name)
        return self.protect(self.protected_branches, "branch", self.branch_protection(body))

    def post_protected_tags(self, *, query, body):
        require("name" in body, "name", "is missing")
        require_level(body, "create_access_level")
        level = body.get("create_access_level", MAINTAINER)
        return self.protect(self.protected_tags, "tag", {"name": body["name"], "create_access_levels": [access(level)]})

    # ---- environments --------------------------------------------------------------------

    def post_environments(self, *, query, body):
        require("name" in body, "name", "is missing")
        require(body["name"] not in self.environments, "name", "has already been taken")
        self.environments[body["name"]] = {
            "id": len(self.environments) + 1,
            "name": body["name"],
            "slug": body["name"],
            "external_url": body.get("external_url"),
            "state": "available",
            "tier": "other",
        }
        return self.environments[body["name"]]

    def premium_only(self) -> None:
        if not self.premium:  # the API does not exist on GitLab's free tier
            raise Answer(404, {"message": "404 Not Found"})

    def post_protected_environments(self, *, query, body):
        require("name" in body, "name", "is missing")
        levels = body.get("deploy_access_levels")
        require(isinstance(levels, list) and levels != [], "deploy_access_levels", "is missing")
        for level in levels:
            require(
                set(level) == {"access_level"} and level["access_level"] in DEPLOY_ACCESS_LEVELS,
                "deploy_access_levels",
                "does not have a valid value",
            )
        protection = {
            "name": body["name"],
            "required_approval_count": 0,
            "deploy_access_levels": [access(level["access_level"]) for level in levels],
        }
        return self.protect(self.protected_environments, "environment", protection)

    # ---- CI/CD variables -----------------------------------------------------------------

    @staticmethod
    def valid_variable(variable: dict) -> dict:
        known = {"key", "value", "variable_type", "masked", "protected", "environment_scope", "description", "raw"}
        require(set(variable) <= known, "variable", f"unknown: {set(variable) - known}")
        require(bool(VARIABLE_KEY.match(variable["key"])), "key", "can contain only letters, digits and '_'")
        require(isinstance(variable.get("value"), str), "value", "is missing")
        require(variable.get("variable_type", "env_var") in {"env_var", "file"}, "variable_type", "is invalid")
        if variable.get("masked"):  # GitLab masks only values it can find in a log line
            require(len(variable["value"]) >= 8 and not re.search(r"\s", variable["value"]), "value", "is invalid")
        return variable

    def post_variables(self, *, query, body):
        require("key" in body, "key", "is missing")
        variable = {
            "variable_type": "env_var",
            "masked": False,
            "protected": False,
            "raw": False,
            "hidden": False,
            "environment_scope": "*",
            "description": None,
            **self.valid_variable(body),
        }
        identity = (variable["key"], variable["environment_scope"])
        require(identity not in self.variables, "key", f"({variable['key']}) has already been taken")
        self.variables[identity] = variable
        return variable

    def put_variables(self, key, *, query, body):
        identity = (key, query.get("filter[environment_scope]", "*"))
        if identity not in self.variables:
            raise Answer(404, {"message": "404 Variable Not Found"})
        updated = {**self.variables[identity], **body, "key": key}
        require(updated["environment_scope"] == identity[1], "environment_scope", "cannot move a variable")
        self.variables[identity] = self.valid_variable({k: v for k, v in updated.items() if k != "hidden"}) | {
            "hidden": False
        }
        return self.variables[identity]

    # ---- pipeline schedules ----------------------------------------------------------------

    @staticmethod
    def valid_schedule(schedule: dict) -> dict:
        known = {"description", "ref", "cron", "cron_timezone", "active"}
        require(set(schedule) <= known, "pipeline_schedule", f"unknown: {set(schedule) - known}")
        require(len(str(schedule.get("cron", "")).split()) == 5, "cron", "is invalid syntax")
        try:
            ZoneInfo(schedule.get("cron_timezone", "UTC"))
        except (ValueError, ZoneInfoNotFoundError):
            require(False, "cron_timezone", "is invalid syntax")
        return schedule

    def post_pipeline_schedules(self, *, query, body):
        for name in ("description", "ref", "cron"):
            require(name in body, name, "is missing")
        schedule = {
            "id": len(self.pipeline_schedules) + 1,
            "cron_timezone": "UTC",
            "active": True,
            "owner": None,
            **self.valid_schedule(body),
        }
        self.pipeline_schedules[schedule["id"]] = schedule
        return schedule

    def put_pipeline_schedules(self, schedule_id, *, query, body):
        schedule = self.pipeline_schedules.get(int(schedule_id)) if schedule_id.isdigit() else None
        if schedule is None:
            raise Answer(404, {"message": "404 Pipeline Schedule Not Found"})
        schedule.update(self.valid_schedule(body))
        return schedule


def handler_for(fake: FakeGitLab) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            with lock:
                status, payload = fake.handle(self.command, self.path, self.headers.get("PRIVATE-TOKEN"), body)
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(204 if status < 300 and payload is None else status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = answer

        def log_message(self, *args) -> None:  # the requests are recorded instead
            pass

    lock = threading.Lock()
    return Handler


@contextmanager
def serving(fake: FakeGitLab) -> Iterator[str]:
    """Serve the fake on a free port of 127.0.0.1; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
