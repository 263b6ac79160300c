use serde_json::json;
#[tokio::main]
async fn main() {
    let db = surrealdb::engine::any::connect("mem://").await.unwrap();
    db.query("DEFINE NAMESPACE t; USE NS t; DEFINE DATABASE d;")
        .await
        .unwrap();
    db.use_ns("t").use_db("d").await.unwrap();
    let q = std::env::args().nth(1).unwrap();
    let mut r = db.query(vectadb::store::schema::SCHEMA).await.unwrap();
    let _ = r.take_errors();
    let mut r = db
        .query(q)
        .bind(json!({"ids": ["a", "b", "zz"], "tb": "agent", "ts": "2026-11-28T10:26:54.695306160Z",
            "content": {"agent_id": "a", "description": "d", "status": "pending", "metadata": {}, "created_at": "2026-11-28T10:26:54.695306160Z", "updated_at": "2026-11-28T10:26:54.695306160Z"}}))
        .await
        .unwrap();
    let n = r.num_statements();
    for (i, e) in r.take_errors() {
        println!("ERR {i}: {e}");
    }
    for i in 0..n {
        let v: surrealdb::types::Value = r.take(i).unwrap_or_default();
        println!("{i}: {}", v.into_json_value());
    }
}
