//! The CRD file, its schema, and the examples parsed against it.

use serde_json::{json, Value};
use vectadb_operator::crd::{crd_yaml, VectaDB};
use vectadb_operator::validate::validate;

fn repo_file(path: &str) -> String {
    let full = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// The openAPIV3Schema of the CRD in crds/ (the file users apply).
fn schema() -> Value {
    let crd: Value = serde_yaml::from_str(&repo_file("crds/vectadb.yaml")).unwrap();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

/// Schema errors for a resource, as "path: message".
fn schema_errors(resource: &Value) -> Vec<String> {
    let schema = schema();
    let validator = jsonschema::draft4::new(&schema).expect("the CRD schema compiles");
    validator
        .iter_errors(resource)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect()
}

#[test]
fn crds_file_is_what_crdgen_prints() {
    assert_eq!(
        repo_file("crds/vectadb.yaml"),
        crd_yaml(),
        "crds/vectadb.yaml is stale: cargo run -p vectadb-operator --bin crdgen > crds/vectadb.yaml"
    );
}

#[test]
fn crd_names_columns_and_subresources() {
    let crd: Value = serde_yaml::from_str(&crd_yaml()).unwrap();
    assert_eq!(crd["spec"]["group"], "vectadb.io");
    assert_eq!(crd["spec"]["scope"], "Namespaced");
    assert_eq!(crd["spec"]["names"]["kind"], "VectaDB");
    assert_eq!(crd["spec"]["names"]["shortNames"], json!(["vdb"]));
    let version = &crd["spec"]["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    assert_eq!(version["subresources"]["status"], json!({}));
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["Phase", "Ready", "Endpoint", "Age"]);
    // Conditions merge by type under server-side apply; the key is required.
    let conditions =
        &version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]["conditions"];
    assert_eq!(conditions["x-kubernetes-list-type"], "map");
    assert_eq!(conditions["x-kubernetes-list-map-keys"], json!(["type"]));
    assert!(conditions["items"]["required"]
        .as_array()
        .unwrap()
        .contains(&json!("type")));
    let spec = &version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    assert_eq!(spec["dataOnDelete"]["enum"], json!(["Retain", "Delete"]));
    assert_eq!(spec["dataOnDelete"]["default"], "Retain");
    assert_eq!(
        spec["api"]["properties"]["serviceType"]["enum"],
        json!(["ClusterIP", "NodePort", "LoadBalancer"])
    );
    assert_eq!(spec["api"]["properties"]["minReplicas"]["minimum"], 1.0);
    assert_eq!(
        spec["api"]["properties"]["targetCPUUtilizationPercentage"]["maximum"],
        100.0
    );
    assert_eq!(
        spec["collections"]["properties"]["vectorSize"]["default"],
        384
    );
    assert_eq!(
        spec["collections"]["properties"]["distance"]["enum"],
        json!(["Cosine"])
    );
    let auth = &spec["auth"]["properties"];
    assert_eq!(auth["adminUsername"]["default"], "admin");
    assert_eq!(auth["trustForwardedFor"]["default"], false);
    assert_eq!(auth["secret"]["minLength"], 1);
}

#[test]
fn examples_are_valid_resources() {
    for example in ["examples/minimal.yaml", "examples/production.yaml"] {
        let resource: Value = serde_yaml::from_str(&repo_file(example)).unwrap();
        assert_eq!(schema_errors(&resource), Vec::<String>::new(), "{example}");
        let parsed: VectaDB = serde_json::from_value(resource).unwrap();
        assert_eq!(validate(&parsed), Vec::new(), "{example}");
    }
    let production: VectaDB = serde_yaml::from_str(&repo_file("examples/production.yaml")).unwrap();
    assert_eq!(production.spec.qdrant.replicas, 3);
    assert_eq!(production.spec.api.min_replicas, 3);
}

#[test]
fn the_schema_rejects_what_it_should_naming_the_field() {
    let cases = [
        (json!({ "dataOnDelete": "Maybe" }), "/spec/dataOnDelete"),
        (
            json!({ "api": { "minReplicas": 0 } }),
            "/spec/api/minReplicas",
        ),
        (
            json!({ "api": { "serviceType": "Ingress" } }),
            "/spec/api/serviceType",
        ),
        (
            json!({ "api": { "targetCPUUtilizationPercentage": 101 } }),
            "/spec/api/targetCPUUtilizationPercentage",
        ),
        (
            json!({ "qdrant": { "replicas": "three" } }),
            "/spec/qdrant/replicas",
        ),
        (
            json!({ "collections": { "distance": "Dot" } }),
            "/spec/collections/distance",
        ),
        (
            json!({ "surrealdb": { "image": "" } }),
            "/spec/surrealdb/image",
        ),
        (
            json!({ "auth": { "adminUsername": "" } }),
            "/spec/auth/adminUsername",
        ),
        (
            json!({ "auth": { "trustForwardedFor": "yes" } }),
            "/spec/auth/trustForwardedFor",
        ),
    ];
    for (spec, field) in cases {
        let resource = json!({
            "apiVersion": "vectadb.io/v1alpha1", "kind": "VectaDB",
            "metadata": { "name": "x" }, "spec": spec,
        });
        let errors = schema_errors(&resource);
        assert!(
            errors.iter().any(|e| e.starts_with(field)),
            "{spec}: {errors:?}"
        );
    }
}
