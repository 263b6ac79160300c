"""Both Helm charts, linted and rendered by the real Helm engine for their
defaults and other value sets, every object validated against the
Kubernetes OpenAPI schemas of two versions."""
import base64
import http.server
import json
import threading

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml

from conftest import CHARTS, KUBE_VERSIONS, ROOT, by_kind, notes, render

OPERATOR_VALUES = {
    "default": {},
    "sample-and-one-namespace": {"sample": {"enabled": True, "name": "obs", "spec": {"api": {"minReplicas": 3}}},
                                 "watchNamespace": "agents"},
    "service-monitor": {"metrics": {"port": 9090, "serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}}},
    "existing-service-account": {"serviceAccount": {"create": False, "name": "platform-operator"},
                                 "rbac": {"create": False}},
}

API_VALUES = {
    "default": {},
    "hpa-off": {"autoscaling": {"enabled": False}, "replicaCount": 3, "podDisruptionBudget": {"enabled": False}},
    "ingress-on": {"ingress": {"enabled": True, "className": "nginx", "host": "vectadb.corp.example",
                               "tlsSecretName": "vectadb-tls", "annotations": {"a": "b"}}},
    "existing-auth-secret": {"auth": {"existingSecret": "team-auth", "adminPasswordKey": "password",
                                      "jwtSecretKey": "session-key", "adminUsername": "ops",
                                      "trustForwardedFor": True}},
    "existing-secrets-and-models-volume": {
        "surrealdb": {"url": "wss://surreal.db.svc:8000", "existingSecret": "team-surreal",
                      "usernameKey": "user", "passwordKey": "pass"},
        "qdrant": {"url": "https://qdrant.db.svc:6334", "existingSecret": "team-qdrant", "apiKeyKey": "key"},
        "models": {"volume": {"persistentVolumeClaim": {"claimName": "vectadb-models"}}},
        "provision": {"enabled": False},
    },
}

CASES = [("vectadb-operator", n, v) for n, v in OPERATOR_VALUES.items()] + [
    ("vectadb", n, v) for n, v in API_VALUES.items()
]


def crd_schema() -> dict:
    crd = yaml.safe_load((ROOT / "crds" / "vectadb.yaml").read_text())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


@pytest.mark.parametrize("chart", ["vectadb-operator", "vectadb"])
def test_lint_is_clean(chart):
    report = helm.lint(str(CHARTS / chart), strict=True, kube_version="v1.33.0")
    assert report["errors"] == []
    worse_than_info = [m for m in report["messages"] if m["severity"] >= 2]
    assert worse_than_info == []


@pytest.mark.parametrize("chart,name,values", CASES, ids=[f"{c}-{n}" for c, n, _ in CASES])
def test_every_rendered_object_is_valid(chart, name, values):
    objects = render(chart, values)
    assert objects
    for obj in objects:
        kind = obj["kind"]
        if kind == "VectaDB":
            jsonschema.validate(obj, crd_schema())
        elif kind == "ServiceMonitor":
            # The Prometheus Operator's CRD: no schema offline; its shape is
            # checked in test_operator_chart_objects.
            assert obj["apiVersion"] == "monitoring.coreos.com/v1"
        else:
            for version in KUBE_VERSIONS:
                kubernetes_validate.validate(obj, version, strict=True)


def test_operator_chart_objects():
    objects = render("vectadb-operator", {})
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == ["ClusterRole", "ClusterRoleBinding", "Deployment", "Service", "ServiceAccount"]
    deployment = by_kind(objects, "Deployment")[0]
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 1
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["image"] == "vectadb/vectadb-operator:0.1.0"
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "metrics"}
    assert container["resources"]["limits"]["memory"] == "256Mi"
    binding = by_kind(objects, "ClusterRoleBinding")[0]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "rel-vectadb-operator", "namespace": "observability"}]
    assert binding["roleRef"]["name"] == by_kind(objects, "ClusterRole")[0]["metadata"]["name"]
    service = by_kind(objects, "Service")[0]
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}]

    monitored = render("vectadb-operator", OPERATOR_VALUES["service-monitor"])
    monitor = by_kind(monitored, "ServiceMonitor")[0]
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s"}]
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]

    none = render("vectadb-operator", OPERATOR_VALUES["existing-service-account"])
    assert sorted(o["kind"] for o in none) == ["Deployment", "Service"]
    assert by_kind(none, "Deployment")[0]["spec"]["template"]["spec"]["serviceAccountName"] == "platform-operator"


def test_operator_notes_say_what_to_apply_next():
    text = notes("vectadb-operator", {})
    assert "kind: VectaDB" in text and "kubectl -n <namespace> get vdb -w" in text
    assert "get vdb obs -w" in notes("vectadb-operator", OPERATOR_VALUES["sample-and-one-namespace"])
    assert "get secret <name>-auth -o jsonpath='{.data.admin-password}' | base64 -d" in text


def test_chart_crd_is_the_crds_file():
    assert (CHARTS / "vectadb-operator" / "crds" / "vectadb.yaml").read_bytes() == (ROOT / "crds" / "vectadb.yaml").read_bytes()


def rules(role: dict) -> set:
    return {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


def test_chart_rbac_is_the_operators_role():
    listed = yaml.safe_load((ROOT / "operator" / "rbac.yaml").read_text())
    chart_role = by_kind(render("vectadb-operator", {}), "ClusterRole")[0]
    assert rules(chart_role) == rules(listed)


def test_watching_one_namespace_grants_rights_there_only():
    listed = yaml.safe_load((ROOT / "operator" / "rbac.yaml").read_text())
    objects = render("vectadb-operator", {"watchNamespace": "agents"})
    kinds = {o["kind"] for o in objects}
    assert "ClusterRole" not in kinds and "ClusterRoleBinding" not in kinds, kinds
    role = by_kind(objects, "Role")[0]
    binding = by_kind(objects, "RoleBinding")[0]
    assert role["metadata"]["namespace"] == "agents"
    assert binding["metadata"]["namespace"] == "agents"
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": role["metadata"]["name"]}
    account = by_kind(objects, "ServiceAccount")[0]
    assert binding["subjects"][0]["name"] == account["metadata"]["name"]
    assert rules(role) == rules(listed)


def test_api_chart_objects():
    objects = render("vectadb", {})
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == ["Deployment", "HorizontalPodAutoscaler", "Job", "PodDisruptionBudget", "Secret", "Service"]
    deployment = by_kind(objects, "Deployment")[0]
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    selector = deployment["spec"]["selector"]["matchLabels"]
    job = by_kind(objects, "Job")[0]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    job_labels = job["spec"]["template"]["metadata"]["labels"]
    assert not all(job_labels.get(k) == v for k, v in selector.items()), "the API Service must not select the job"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["provision"]
    assert by_kind(objects, "Service")[0]["spec"]["selector"] == selector

    off = render("vectadb", API_VALUES["hpa-off"])
    assert sorted(o["kind"] for o in off) == ["Deployment", "Job", "Secret", "Service"]
    assert by_kind(off, "Deployment")[0]["spec"]["replicas"] == 3

    ingress = by_kind(render("vectadb", API_VALUES["ingress-on"]), "Ingress")[0]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["vectadb.corp.example"], "secretName": "vectadb-tls"}]
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"] == {"name": "rel-vectadb", "port": {"name": "http"}}

    secrets = render("vectadb", API_VALUES["existing-secrets-and-models-volume"])
    assert "Job" not in [o["kind"] for o in secrets]
    pod = by_kind(secrets, "Deployment")[0]["spec"]["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["SURREAL_USER"]["valueFrom"]["secretKeyRef"] == {"name": "team-surreal", "key": "user"}
    assert env["SURREAL_PASS"]["valueFrom"]["secretKeyRef"] == {"name": "team-surreal", "key": "pass"}
    assert env["QDRANT_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "team-qdrant", "key": "key"}
    assert env["SURREAL_URL"]["value"] == "wss://surreal.db.svc:8000"
    assert {"name": "models", "persistentVolumeClaim": {"claimName": "vectadb-models"}} in pod["volumes"]
    assert {"name": "models", "mountPath": "/models", "readOnly": True} in pod["containers"][0]["volumeMounts"]
    assert "QDRANT_API_KEY" not in {e["name"] for e in by_kind(objects, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["env"]}


def decoded(secret: dict) -> dict:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def container_env(objects: list, kind: str) -> dict:
    container = by_kind(objects, kind)[0]["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e for e in container["env"]}


def secret_ref(secret: str, key: str) -> dict:
    return {"secretKeyRef": {"name": secret, "key": key}}


def test_api_chart_generates_the_auth_secret_the_api_reads():
    objects = render("vectadb", {})
    secret = by_kind(objects, "Secret")[0]
    assert secret["metadata"]["name"] == "rel-vectadb-auth"
    assert secret["type"] == "Opaque"
    assert secret["metadata"]["labels"]["app.kubernetes.io/instance"] == "rel"
    values = decoded(secret)
    assert sorted(values) == ["admin-password", "jwt-secret"]
    assert len(values["admin-password"]) == 32 and values["admin-password"].isalnum()
    assert len(values["jwt-secret"]) == 48 and values["jwt-secret"].isalnum(), "the API needs at least 32 bytes"
    assert decoded(by_kind(render("vectadb", {}), "Secret")[0]) != values, "random per install"

    env = container_env(objects, "Deployment")
    assert env["ADMIN_USERNAME"] == {"name": "ADMIN_USERNAME", "value": "admin"}
    assert env["ADMIN_PASSWORD"]["valueFrom"] == secret_ref("rel-vectadb-auth", "admin-password")
    assert env["JWT_SECRET"]["valueFrom"] == secret_ref("rel-vectadb-auth", "jwt-secret")
    assert "TRUST_FORWARDED_FOR" not in env, "opt-in: only behind a proxy that sets X-Forwarded-For"
    # The provision hook runs before the Secret exists, and needs none of it.
    job = container_env(objects, "Job")
    assert not {"ADMIN_USERNAME", "ADMIN_PASSWORD", "JWT_SECRET"} & set(job)
    text = notes("vectadb", {})
    assert "as admin, with the password from" in text
    assert "get secret rel-vectadb-auth -o jsonpath='{.data.admin-password}' | base64 -d" in text


def test_api_chart_uses_an_existing_auth_secret_as_is():
    objects = render("vectadb", API_VALUES["existing-auth-secret"])
    assert "Secret" not in [o["kind"] for o in objects], "nothing generated"
    env = container_env(objects, "Deployment")
    assert env["ADMIN_USERNAME"] == {"name": "ADMIN_USERNAME", "value": "ops"}
    assert env["ADMIN_PASSWORD"]["valueFrom"] == secret_ref("team-auth", "password")
    assert env["JWT_SECRET"]["valueFrom"] == secret_ref("team-auth", "session-key")
    assert env["TRUST_FORWARDED_FOR"] == {"name": "TRUST_FORWARDED_FOR", "value": "true"}
    text = notes("vectadb", API_VALUES["existing-auth-secret"])
    assert "get secret team-auth -o jsonpath='{.data.password}' | base64 -d" in text


class FakeKubeAPI(http.server.BaseHTTPRequestHandler):
    """Just enough of an API server for Helm's `lookup` of a Secret."""
    secrets: dict = {}

    def do_GET(self):
        path = self.path.split("?")[0]
        prefix = "/api/v1/namespaces/observability/secrets/"
        if path == "/api/v1":
            self.reply(200, {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                {"name": "secrets", "singularName": "secret", "namespaced": True, "kind": "Secret",
                 "verbs": ["get", "list"]}]})
        elif path.startswith(prefix) and path[len(prefix):] in self.secrets:
            self.reply(200, self.secrets[path[len(prefix):]])
        else:
            self.reply(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                             "reason": "NotFound", "code": 404})

    def reply(self, status: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_an_upgrade_keeps_the_generated_auth_secret():
    installed = by_kind(render("vectadb", {}), "Secret")[0]
    FakeKubeAPI.secrets = {"rel-vectadb-auth": installed}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeKubeAPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with helm.Config(kube_apiserver=f"http://127.0.0.1:{server.server_address[1]}",
                         namespace="observability") as config, \
                helm.Chart.load(str(CHARTS / "vectadb")) as chart:
            upgraded = config.render(chart, {}, name="rel", namespace="observability", is_upgrade=True)
    finally:
        server.shutdown()
    secret = yaml.safe_load(upgraded["vectadb/templates/auth-secret.yaml"])
    assert secret["data"] == installed["data"], "an upgrade must not change the admin password or end sessions"


@pytest.mark.parametrize("chart,values,message", [
    ("vectadb", {"auth": {"adminUsername": "two words"}}, "/auth/adminUsername"),
    ("vectadb", {"auth": {"trustForwardedFor": "yes"}}, "/auth/trustForwardedFor"),
    ("vectadb", {"service": {"type": "Ingress"}}, "/service/type"),
    ("vectadb", {"autoscaling": {"minReplicas": 0}}, "/autoscaling/minReplicas"),
    ("vectadb", {"surrealdb": {"url": "postgres://db"}}, "/surrealdb/url"),
    ("vectadb", {"collections": {"agents": "a/b"}}, "/collections/agents"),
    ("vectadb", {"autoscalling": {"enabled": False}}, "autoscalling"),
    ("vectadb", {"extraEnv": [{"name": "lower-case", "value": "x"}]}, "/extraEnv/0/name"),
    ("vectadb-operator", {"metrics": {"port": 70000}}, "/metrics/port"),
    ("vectadb-operator", {"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
    ("vectadb-operator", {"sample": {"name": "Not_A_DNS_Name"}}, "/sample/name"),
])
def test_values_that_break_the_schema_fail_to_render_naming_the_key(chart, values, message):
    with helm.Chart.load(str(CHARTS / chart)) as loaded:
        with pytest.raises(helm.HelmValuesError) as failure:
            loaded.validate_schema(values)
        assert message in str(failure.value)
    with pytest.raises(helm.HelmError) as failure:
        render(chart, values)
    assert message in str(failure.value)


@pytest.mark.parametrize("values,message", [
    ({"surrealdb": {"url": ""}}, "surrealdb.url is required"),
    ({"surrealdb": {"existingSecret": ""}}, "surrealdb.existingSecret is required"),
    ({"autoscaling": {"minReplicas": 5, "maxReplicas": 2}}, "autoscaling.minReplicas (5) exceeds autoscaling.maxReplicas (2)"),
])
def test_api_chart_refuses_what_cannot_run(values, message):
    with pytest.raises(helm.HelmRenderError) as failure:
        render("vectadb", values)
    assert message in str(failure.value)


def env_names(objects: list) -> dict:
    """Container env names per workload, by kind/name."""
    names = {}
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job"):
            for container in obj["spec"]["template"]["spec"]["containers"]:
                names[f"{obj['kind']}/{obj['metadata']['name']}"] = [e["name"] for e in container["env"]]
    return names


@pytest.mark.parametrize("name,values", list(API_VALUES.items()))
def test_api_chart_env_is_the_api_configuration(api_settings, name, values):
    required = {"SERVER_HOST", "SURREAL_URL", "SURREAL_USER", "SURREAL_PASS", "QDRANT_URL", "MODELS_DIR"}
    # Without a user the server keeps to loopback; replicas share sessions.
    served = {"ADMIN_USERNAME", "ADMIN_PASSWORD", "JWT_SECRET"}
    for workload, names in env_names(render("vectadb", values)).items():
        unknown = set(names) - api_settings - {"RUST_LOG"}
        assert not unknown, f"{workload} sets {unknown}, which vectadb does not read"
        wanted = required | served if workload.startswith("Deployment/") else required
        assert wanted <= set(names), f"{workload} lacks {wanted - set(names)}"
        assert len(names) == len(set(names)), f"{workload} sets a variable twice"


def test_operator_chart_env_is_the_operator_configuration(operator_settings):
    for workload, names in env_names(render("vectadb-operator", {})).items():
        unknown = set(names) - operator_settings - {"RUST_LOG"}
        assert not unknown, f"{workload} sets {unknown}"
        assert {"WATCH_NAMESPACE", "METRICS_ADDR", "POD_NAME"} <= set(names)


def test_values_schema_files_are_json_schema():
    for chart in ["vectadb-operator", "vectadb"]:
        schema = json.loads((CHARTS / chart / "values.schema.json").read_text())
        jsonschema.Draft7Validator.check_schema(schema)
        defaults = yaml.safe_load((CHARTS / chart / "values.yaml").read_text())
        jsonschema.validate(defaults, schema)
