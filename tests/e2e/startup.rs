//! Start-up checks: the model's dimension against the config and against
//! existing collections, each failing with a message that says what to do.

use vectadb::vectors::edge::EdgeVectors;
use vectadb::vectors::CollectionNames;
use vectadb_tests::test_config;

#[tokio::test]
async fn configured_dimension_must_match_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.embedding_dim = 512;
    let error = tokio::task::spawn_blocking(move || vectadb::app::load_model(&config))
        .await
        .unwrap()
        .err()
        .expect("a 512-dim config must be refused");
    let message = error.to_string();
    assert!(message.contains("EMBEDDING_DIM is 512"), "{message}");
    assert!(message.contains("384"), "{message}");
}

#[tokio::test]
async fn existing_collections_must_match_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    // Collections built earlier for an 8-dimensional model.
    let qdrant = config.qdrant_dir();
    std::fs::create_dir_all(&qdrant).unwrap();
    drop(EdgeVectors::open(&qdrant, &CollectionNames::default(), 8).unwrap());

    let error = vectadb::app::build(&config)
        .await
        .err()
        .expect("mismatched collections must be refused");
    let message = error.to_string();
    assert!(message.contains("holds 8-dimensional vectors"), "{message}");
    assert!(message.contains("produces 384-dimensional"), "{message}");
    assert!(message.contains(&qdrant.display().to_string()), "{message}");
}
