//! `vectadb serve`: open the backends, reconcile after a crash, listen
//! (where the auth policy allows), and stop cleanly on SIGINT/SIGTERM.

use anyhow::Context;
use tokio::net::TcpListener;

use vectadb::app::RunMarker;
use vectadb::auth::{Auth, AuthMode};
use vectadb::config::Config;

pub async fn serve(config: Config) -> anyhow::Result<()> {
    // Embedded stores live in this process: a crash may leave a document
    // without its vector, so a start after one reconciles the two.
    let marker = if config.surreal_is_embedded() && config.qdrant_url.is_none() {
        Some(RunMarker::acquire(&config.data_dir).context("marking the data directory")?)
    } else {
        None
    };
    let state = vectadb::app::build(&config)
        .await
        .context("starting VectaDB")?;
    let service = state.service.clone();
    // The embedding cache lives with embedded data: it is kept across
    // restarts of the one process that owns it.
    let cache_file = marker
        .as_ref()
        .map(|_| config.data_dir.join(vectadb::embed::cache::FILE));
    if let Some(path) = &cache_file {
        let loaded = state.indexer.cache().load(path);
        tracing::debug!(entries = loaded, "embedding cache loaded");
    }
    let indexer = state.indexer.clone();
    if let Some((_, true)) = &marker {
        tracing::warn!("the previous run did not stop cleanly; reconciling documents and vectors");
        let report = service.repair(std::time::Duration::ZERO).await?;
        tracing::info!(
            agents_reembedded = report.agents_reembedded.len(),
            tasks_reembedded = report.tasks_reembedded.len(),
            agent_vectors_deleted = report.agent_vectors_deleted.len(),
            task_vectors_deleted = report.task_vectors_deleted.len(),
            "reconciled"
        );
    }
    let workers = vectadb::app::start_workers(&state).context("starting background workers")?;
    let Listen { address, notice } = listen_address(&config, &state.auth).await?;
    let listener = TcpListener::bind(&address)
        .await
        .with_context(|| format!("binding {address}"))?;
    tracing::info!(address = %listener.local_addr()?, data_dir = %config.data_dir.display(), "VectaDB listening");
    if let Some(notice) = notice {
        tracing::warn!("{notice}");
    }
    // The OTLP/gRPC port serves the same Router (its gRPC routes are
    // what collectors call there), on the same address.
    let grpc_listener = match config.otlp_grpc_port {
        0 => None,
        port => {
            let host = address.rsplit_once(':').map_or("127.0.0.1", |(h, _)| h);
            let grpc_address = format!("{host}:{port}");
            let listener = TcpListener::bind(&grpc_address).await.with_context(|| {
                format!("binding {grpc_address} for OTLP/gRPC (OTLP_GRPC_PORT; 0 turns it off)")
            })?;
            tracing::info!(address = %listener.local_addr()?, "OTLP/gRPC listening");
            Some(listener)
        }
    };
    let app = vectadb::http::app(state);
    let header_read_timeout =
        std::time::Duration::from_secs(config.header_read_timeout_seconds.max(1));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };
    let grpc = grpc_listener.map(|listener| {
        tokio::spawn(vectadb::server::serve(
            listener,
            app.clone(),
            header_read_timeout,
            until_stopped(),
        ))
    });
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    vectadb::server::serve(listener, app, header_read_timeout, until_stopped()).await?;
    if let Some(grpc) = grpc {
        grpc.await.context("the OTLP/gRPC listener")??;
    }
    // Whatever they were embedding or placing stays queued for the next start.
    workers.stop().await;
    service.flush().await.context("flushing vectors")?;
    if let Some(path) = &cache_file {
        if let Err(e) = indexer.cache().save(path) {
            tracing::warn!(path = %path.display(), error = %e, "embedding cache not saved");
        }
    }
    // The last handles to the stores: the embedded engine closes once they
    // are gone, in a task that must finish before this process does.
    drop((service, indexer));
    let surreal_url = config.surreal().url;
    let limit = std::time::Duration::from_secs(10);
    if !vectadb::store::surreal::embedded_closed(&surreal_url, limit).await {
        tracing::warn!(url = %surreal_url, "the embedded document store did not close within {limit:?}");
    }
    if let Some((marker, _)) = marker {
        marker.release().context("clearing the run marker")?;
    }
    tracing::info!("VectaDB stopped");
    Ok(())
}

/// Where to listen, and what to tell the operator about it.
struct Listen {
    address: String,
    /// A warning to print once listening (the API is open, or refuses
    /// everything).
    notice: Option<String>,
}

/// Where to listen: as configured, except that an `auto` server without
/// any credentials listens on loopback only (it is open).
async fn listen_address(config: &Config, auth: &Auth) -> anyhow::Result<Listen> {
    let requested = config.listen_addr();
    let loopback_only = |host: &str| {
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    let at = |address: String, notice: Option<String>| Ok(Listen { address, notice });
    match auth.mode() {
        AuthMode::Disabled => at(
            requested,
            Some("AUTH_MODE=disabled: requests are served without credentials; run behind a gateway that authenticates".into()),
        ),
        AuthMode::Required => {
            let notice = (!auth.configured().await?).then(|| {
                "AUTH_MODE=required and no API key or user exists: every API request will be refused until one is created (`vectadb keys create`, or ADMIN_PASSWORD)".to_string()
            });
            auth.set_open_when_unconfigured(false);
            at(requested, notice)
        }
        AuthMode::Auto if auth.configured().await? => {
            auth.set_open_when_unconfigured(false);
            at(requested, None)
        }
        AuthMode::Auto if loopback_only(&config.server_host) => {
            auth.set_local_only(true);
            at(
                requested,
                Some("no API key or user exists: the API is open, to this machine only; create a key (`vectadb keys create`) or set ADMIN_PASSWORD to require credentials".into()),
            )
        }
        AuthMode::Auto => {
            auth.set_local_only(true);
            at(
                format!("127.0.0.1:{}", config.server_port),
                Some(format!(
                    "no API key or user exists: listening on 127.0.0.1 only (not {requested}), without authentication; create a key (`vectadb keys create`) or set ADMIN_PASSWORD to serve on {}",
                    config.server_host
                )),
            )
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
