//! The admin UI in a real headless Chromium (tests/ui/ui_flow.py, Selenium
//! with Debian's chromium and chromium-driver) against the real binary:
//! sign in, data created through the API, the agent's trace, a similarity
//! search, the logs and metrics views, sign out. Screenshots of each page
//! go to docs/screenshots/ (linked from README).

use std::process::Command;

use serde_json::Value;
use vectadb_tests::process::{self, ChildServer};

#[tokio::test]
async fn the_admin_ui_works_in_a_real_browser() {
    let port = process::free_port();
    let password = "ui-test-password-4821";
    let mut server = ChildServer::spawn(tempfile::tempdir().unwrap(), move |dir| {
        let mut command = process::vectadb_command(
            dir,
            &[
                ("ADMIN_PASSWORD", password.to_string()),
                ("SERVER_PORT", port.to_string()),
            ],
        );
        command.arg("serve");
        command
    });
    server.wait_healthy(port).await;

    let root = vectadb_tests::repo_root();
    let screenshots = root.join("docs/screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    let python = std::env::var("VECTADB_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(root.join("tests/ui/ui_flow.py"))
            .args(["--base-url", &format!("http://127.0.0.1:{port}")])
            .args(["--username", "admin", "--password", password])
            .arg("--screenshots")
            .arg(&screenshots)
            .output()
            .expect("run tests/ui/ui_flow.py")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser flow failed ({}); install tests/ui/requirements.txt into \
         VECTADB_TEST_PYTHON and Debian's chromium + chromium-driver (scripts/test.sh, .ci/run):\n\
         {stdout}\n{}\nserver log:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        server.log()
    );
    let summary: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .expect("a JSON summary line");
    assert_eq!(summary["ok"], true);
    assert!(summary["checks"].as_u64().unwrap() >= 40, "{summary}");
    for page in ["login", "agents", "agent", "search", "logs", "metrics"] {
        let shot = vectadb_tests::repo_root().join(format!("docs/screenshots/{page}.png"));
        let bytes = std::fs::read(&shot).unwrap_or_else(|e| panic!("{}: {e}", shot.display()));
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
            "{page}.png"
        );
    }
}
