//! The committed JSON Schemas (docs/schema/) are what the types generate, and documents the
//! types write validate against them. Run with `UPDATE_SCHEMAS=1` after changing a type.

use std::path::PathBuf;

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/schema")
}

#[test]
fn committed_schemas_match_the_types() {
    for (name, schema) in rpcbench_reports::json_schemas() {
        let path = schema_dir().join(name);
        let generated = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        if std::env::var_os("UPDATE_SCHEMAS").is_some() {
            std::fs::create_dir_all(schema_dir()).unwrap();
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_SCHEMAS=1)", path.display()));
        assert_eq!(
            committed, generated,
            "{name} is stale: run `UPDATE_SCHEMAS=1 cargo test -p rpcbench-reports`"
        );
    }
}

#[test]
fn schemas_reject_what_the_types_reject() {
    let (_, schema) = rpcbench_reports::json_schemas()
        .into_iter()
        .find(|(n, _)| n.starts_with("encoded"))
        .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let good = serde_json::json!({"schema_version": 1, "gzip_level": 6, "zstd_level": 3, "rows": []});
    assert!(validator.is_valid(&good));
    let bad = serde_json::json!({"schema_version": "one", "gzip_level": 6, "zstd_level": 3, "rows": []});
    assert!(!validator.is_valid(&bad));
}
