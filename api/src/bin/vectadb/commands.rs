//! The one-shot commands: provision, repair, migrate, and the credential
//! commands (keys, users), each printing its report on stdout.

use anyhow::Context;

use crate::KeysCommand;
use vectadb::auth::Auth;
use vectadb::config::Config;

/// `vectadb migrate couchdb`: the report, and where the rejects went.
pub async fn migrate(
    config: &Config,
    input: &str,
    options: &vectadb::migrate::Options,
    rejects: &std::path::Path,
) -> anyhow::Result<()> {
    let state = vectadb::app::build(config).await?;
    let source = vectadb::migrate::Source::parse(input);
    let report = vectadb::migrate::migrate(&state.service, &source, options).await?;
    print!("{}", report.render());
    println!(
        "{} rejected documents (with their reasons) in {}",
        report.rejects.len(),
        rejects.display()
    );
    Ok(())
}

/// `vectadb repair`: what was re-embedded and what was deleted.
pub async fn repair(config: &Config, grace: std::time::Duration) -> anyhow::Result<()> {
    let state = vectadb::app::build(config).await?;
    let report = state.service.repair(grace).await?;
    for (what, ids) in [
        ("agents re-embedded", &report.agents_reembedded),
        ("tasks re-embedded", &report.tasks_reembedded),
        (
            "orphan agent vectors deleted",
            &report.agent_vectors_deleted,
        ),
        ("orphan task vectors deleted", &report.task_vectors_deleted),
        ("orphan log vectors deleted", &report.log_vectors_deleted),
        (
            "orphan thought vectors deleted",
            &report.thought_vectors_deleted,
        ),
    ] {
        println!(
            "{what}: {}{}",
            ids.len(),
            if ids.is_empty() {
                String::new()
            } else {
                format!(" ({})", ids.join(", "))
            }
        );
    }
    state.service.flush().await?;
    Ok(())
}

/// `vectadb provision`: one line per thing in place, then whether anything
/// changed.
pub async fn provision(config: &Config) -> anyhow::Result<()> {
    let report = vectadb::app::provision(config).await?;
    for line in &report.lines {
        println!("{line}");
    }
    println!(
        "{}",
        if report.changed {
            "provisioned: changes applied"
        } else {
            "provisioned: nothing to change"
        }
    );
    Ok(())
}

/// Give an embedded store that was just dropped the moment it needs to
/// close its files before the runtime stops (else its background tasks
/// are cancelled, and say so on stderr).
pub async fn settle() {
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
}

/// `vectadb users create`: the password from standard input.
pub async fn create_user(config: &Config, username: &str) -> anyhow::Result<()> {
    let auth = credentials(config).await?;
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(
        password.len() >= 8,
        "give a password of at least 8 characters on standard input"
    );
    let changed = auth.put_user(username.trim(), password).await?;
    println!(
        "user {} {}",
        username.trim(),
        if changed {
            "saved"
        } else {
            "unchanged (same password)"
        }
    );
    Ok(())
}

/// The credential store alone (no model, no vectors).
async fn credentials(config: &Config) -> anyhow::Result<Auth> {
    let store = vectadb::app::open_store(config)
        .await
        .context("opening the document store")?;
    Ok(Auth::new(store, config.auth()))
}

pub async fn keys(config: &Config, command: KeysCommand) -> anyhow::Result<()> {
    let auth = credentials(config).await?;
    match command {
        KeysCommand::Create { name, scopes } => {
            let parsed = vectadb::http::keys::parse_scopes("--scope", &scopes)?;
            anyhow::ensure!(!name.trim().is_empty(), "--name must not be empty");
            let created = auth.create_key(name.trim(), &parsed).await?;
            println!("{}", created.key);
            eprintln!(
                "API key {} ({}) created with scopes {}; it is shown only this once.",
                created.info.id,
                created.info.name,
                created.info.scopes.join(", ")
            );
        }
        KeysCommand::List => {
            println!(
                "{:<10} {:<16} {:<20} {:<26} {:<26} NAME",
                "ID", "PREFIX", "SCOPES", "CREATED", "REVOKED"
            );
            for key in auth.list_keys().await? {
                println!(
                    "{:<10} {:<16} {:<20} {:<26} {:<26} {}",
                    key.id,
                    key.prefix,
                    key.scopes.join(","),
                    key.created_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    key.revoked_at
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                        .unwrap_or_else(|| "-".into()),
                    key.name
                );
            }
        }
        KeysCommand::Revoke { id } => {
            anyhow::ensure!(auth.revoke_key(&id).await?, "no API key {id}");
            println!("API key {id} revoked");
        }
    }
    Ok(())
}
