"""docker-compose.yml and the container build files: their settings are the
programs' settings, and their health checks work against the real servers."""
import contextlib
import os
import re
import socket
import subprocess
import tempfile
import time

import pytest
import yaml

from conftest import ROOT, binary, env_settings

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
QDRANT_BIN = os.environ.get("QDRANT_BIN", str(ROOT.parent / "shared" / "bin" / "qdrant"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} not ready after {timeout}s")


def test_vectadb_services_set_only_vectadb_settings(api_settings):
    for name in ["provision", "api"]:
        env = SERVICES[name]["environment"]
        unknown = set(env) - api_settings - {"RUST_LOG"}
        assert not unknown, f"{name} sets {unknown}"
        assert {"SURREAL_URL", "SURREAL_USER", "SURREAL_PASS", "QDRANT_URL", "QDRANT_API_KEY"} <= set(env)
        assert env["SURREAL_URL"] == "ws://surrealdb:8000"
        assert env["QDRANT_URL"] == "http://qdrant:6334"
    # The API starts with a user (else it keeps to its loopback, out of the
    # port mapping's reach), and there is no default password.
    assert SERVICES["api"]["environment"]["ADMIN_PASSWORD"].startswith("${ADMIN_PASSWORD:?")
    assert "ADMIN_PASSWORD" not in SERVICES["provision"]["environment"]
    # The servers and the API agree on the credentials.
    assert SERVICES["surrealdb"]["environment"]["SURREAL_PASS"] == SERVICES["api"]["environment"]["SURREAL_PASS"]
    assert SERVICES["qdrant"]["environment"]["QDRANT__SERVICE__API_KEY"] == SERVICES["api"]["environment"]["QDRANT_API_KEY"]


def test_surrealdb_service_sets_only_surrealdb_settings():
    settings = env_settings(str(binary("surreal-test-server")), "start")
    env = SERVICES["surrealdb"]["environment"]
    assert set(env) <= settings, set(env) - settings
    assert SERVICES["surrealdb"]["command"] == ["start"]


def test_start_order_and_health_checks():
    for name, service in SERVICES.items():
        if name != "provision":
            assert "healthcheck" in service, f"{name} has no health check"
    assert SERVICES["provision"]["depends_on"] == {
        "surrealdb": {"condition": "service_healthy"},
        "qdrant": {"condition": "service_healthy"},
    }
    assert SERVICES["api"]["depends_on"] == {"provision": {"condition": "service_completed_successfully"}}
    assert SERVICES["provision"]["command"] == ["provision"]
    assert SERVICES["api"]["command"] == ["serve"]
    assert SERVICES["api"]["ports"] == ["127.0.0.1:8080:8080"], "loopback only by default"


@contextlib.contextmanager
def running(command: list, env: dict, cwd=None):
    """A server process for the length of the block, killed after."""
    server = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        server.kill()
        server.wait()


@pytest.fixture
def surreal_port():
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURREAL_")}
    command = [str(binary("surreal-test-server")), "start", "--bind", f"127.0.0.1:{port}",
               "--user", "root", "--pass", "root", "--no-banner", "memory"]
    with running(command, env):
        yield port


def test_surrealdb_health_check_works(surreal_port):
    test = SERVICES["surrealdb"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "/surreal"]
    command = [str(binary("surreal-test-server"))] + [
        a.replace("127.0.0.1:8000", f"127.0.0.1:{surreal_port}") for a in test[2:]]

    def ready():
        return subprocess.run(command, capture_output=True).returncode == 0

    wait_until(ready, "SurrealDB (by the compose health check)")
    # And it fails when nothing listens there.
    dead = [a.replace(str(surreal_port), str(free_port())) for a in command]
    assert subprocess.run(dead, capture_output=True, timeout=30).returncode != 0


@pytest.fixture
def qdrant_port():
    assert os.access(QDRANT_BIN, os.X_OK), f"no Qdrant binary at {QDRANT_BIN} (set QDRANT_BIN)"
    http, grpc = free_port(), free_port()
    with tempfile.TemporaryDirectory() as storage:
        env = dict(os.environ, QDRANT__SERVICE__HOST="127.0.0.1", QDRANT__SERVICE__HTTP_PORT=str(http),
                   QDRANT__SERVICE__GRPC_PORT=str(grpc), QDRANT__STORAGE__STORAGE_PATH=storage,
                   QDRANT__TELEMETRY_DISABLED="true")
        with running([QDRANT_BIN], env, cwd=storage):
            yield http


def test_qdrant_health_check_works(qdrant_port):
    test = SERVICES["qdrant"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "bash", "-c"]
    script = test[3].replace("127.0.0.1/6333", f"127.0.0.1/{qdrant_port}")
    assert script != test[3]

    def ready():
        return subprocess.run(["bash", "-c", script], capture_output=True, timeout=10).returncode == 0

    wait_until(ready, "Qdrant (by the compose health check)")


def dockerfile(name: str) -> str:
    return (ROOT / "docker" / name).read_text()


def final_stage(text: str) -> str:
    return text.split("\nFROM ")[-1]


@pytest.mark.parametrize("name,binary_name", [("api.Dockerfile", "vectadb"), ("operator.Dockerfile", "vectadb-operator")])
def test_images_are_multi_stage_and_unprivileged(name, binary_name):
    text = dockerfile(name)
    assert text.count("\nFROM ") >= 1 and text.startswith("#"), "multi-stage"
    final = final_stage(text)
    assert final.startswith("debian:bookworm-slim"), "a small runtime base"
    user = re.search(r"^USER (\d+):(\d+)$", final, re.M)
    assert user and int(user.group(1)) != 0, "runs as a numeric non-root user"
    assert f'ENTRYPOINT ["{binary_name}"]' in final
    assert f"cp target/release/{binary_name} " in text
    assert binary(binary_name).exists(), f"{binary_name} is a workspace binary"
    for source in re.findall(r"^COPY (?!--from)(\S+(?: \S+)*) \S+$", text, re.M):
        for path in source.split():
            assert path == "." or (ROOT / path).exists(), f"{name} copies missing {path}"


def test_api_image_carries_the_models_where_the_charts_look():
    final = final_stage(dockerfile("api.Dockerfile"))
    assert "COPY --from=models /models /models" in final
    assert "MODELS_DIR=/models" in final
    assert "curl -fsS http://127.0.0.1:8080/health" in final
    # The UID the operator and the chart run the API as.
    assert "USER 10001:10001" in final
    chart = (ROOT / "charts" / "vectadb" / "templates" / "_helpers.tpl").read_text()
    assert "runAsUser: 10001" in chart and "value: /models" in chart
    operator = (ROOT / "operator" / "src" / "objects" / "api.rs").read_text()
    assert "pub const API_UID: i64 = 10001;" in operator
