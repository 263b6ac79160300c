//! Who is calling: API keys (argon2id-hashed, scoped `read` / `write` /
//! `admin`) and admin-UI sessions (HS256 JWTs in an HttpOnly cookie, with a
//! CSRF token). [`Auth`] turns a request's credentials into a
//! [`Principal`]; `http::guard` decides what each route needs.
//!
//! - `secret`: random tokens, argon2id, the key format.
//! - `session`: JWT signing and verification, CSRF tokens.
//! - `limiter`: failed attempts per client address, username and key id.
//! - `gate`: the process-wide bound on argon2 checks running or waiting.

pub mod gate;
pub mod limiter;
pub mod secret;
pub mod session;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::store::credentials::{CredentialStore, StoredKey, StoredUser};
use crate::store::StoreError;
use gate::HashGate;
use limiter::LoginLimiter;
use session::{Session, SessionSigner};

/// Whether requests must authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// Required once any API key or user exists. Until then the API is
    /// open, and `serve` listens on 127.0.0.1 only.
    Auto,
    /// Always required (a deployment without credentials refuses everything).
    Required,
    /// Never required: only behind a gateway that authenticates.
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    /// Create and change documents (ingest).
    Write,
    /// Delete documents (an agent's delete cascades to everything it holds).
    Delete,
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Write, Scope::Delete, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Delete => "delete",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub enum Principal {
    /// No credentials needed (auth disabled, or none set up yet).
    Open,
    Key {
        id: String,
        name: String,
        scopes: Vec<Scope>,
    },
    Session {
        session: Session,
        /// Authenticated by the cookie (so state changes need the CSRF
        /// token) rather than an `Authorization` header.
        via_cookie: bool,
    },
}

impl Principal {
    /// `admin` grants everything; `read`, `write` and `delete` only
    /// themselves (an ingest-only key can neither read nor delete what it
    /// wrote).
    pub fn allows(&self, scope: Scope) -> bool {
        match self {
            Principal::Open | Principal::Session { .. } => true,
            Principal::Key { scopes, .. } => {
                scopes.contains(&scope) || scopes.contains(&Scope::Admin)
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("too many failed attempts; try again in {0} s")]
    RateLimited(u64),
    #[error("too many password checks waiting; try again in {0} s")]
    Busy(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Auth settings (from the config).
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub mode: AuthMode,
    /// `None`: a random secret per process (sessions end with it).
    pub jwt_secret: Option<crate::config::Secret>,
    pub session_ttl: chrono::Duration,
    pub login_max_failures: u32,
    pub login_window: Duration,
    /// In `auto` mode with no credentials: serve openly (true for a server
    /// bound to loopback) or refuse (false, e.g. on AWS Lambda).
    pub open_when_unconfigured: bool,
    /// Session cookies always get `Secure` (they do anyway behind a proxy
    /// that sends `X-Forwarded-Proto: https`).
    pub cookie_secure: bool,
    /// Count failed sign-ins by the first `X-Forwarded-For` address (only
    /// behind a proxy that sets it) instead of the peer address.
    pub trust_forwarded_for: bool,
    /// Host names besides loopback that an open server answers to.
    pub allowed_hosts: Vec<String>,
}

/// How long "no credentials exist yet" is believed before asking again.
const UNCONFIGURED_RECHECK: Duration = Duration::from_secs(1);

pub struct Auth {
    credentials: Arc<dyn CredentialStore>,
    settings: AuthSettings,
    signer: SessionSigner,
    limiter: LoginLimiter,
    gate: HashGate,
    /// SHA-256 of keys whose argon2id check passed → their id: argon2 runs
    /// once per key per process, revocation is still read on every call.
    verified: Mutex<HashMap<[u8; 32], String>>,
    configured: AtomicBool,
    open_when_unconfigured: AtomicBool,
    local_only: AtomicBool,
    unconfigured_seen: Mutex<Option<Instant>>,
    /// Hash checked for unknown users, so their sign-in takes as long as a
    /// known user's.
    decoy: String,
}

pub const SESSION_COOKIE: &str = "vectadb_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

impl Auth {
    pub fn new(credentials: Arc<dyn CredentialStore>, settings: AuthSettings) -> Self {
        let secret = match &settings.jwt_secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => secret::random_token(32).into_bytes(),
        };
        let open = settings.open_when_unconfigured;
        Self {
            credentials,
            signer: SessionSigner::new(&secret),
            limiter: LoginLimiter::new(settings.login_window),
            gate: HashGate::for_this_machine(),
            settings,
            verified: Mutex::new(HashMap::new()),
            configured: AtomicBool::new(false),
            open_when_unconfigured: AtomicBool::new(open),
            local_only: AtomicBool::new(false),
            unconfigured_seen: Mutex::new(None),
            decoy: secret::hash(&secret::random_token(16)),
        }
    }

    pub fn mode(&self) -> AuthMode {
        self.settings.mode
    }

    /// Whether `auto` without credentials may serve openly: only while
    /// the server listens on loopback.
    pub fn set_open_when_unconfigured(&self, open: bool) {
        self.open_when_unconfigured.store(open, Ordering::Relaxed);
    }

    /// Whether requests served openly must come from local clients
    /// (`http::guard::local_request`): set by `serve` when, with no
    /// credentials yet, it listens on loopback.
    pub fn set_local_only(&self, local: bool) {
        self.local_only.store(local, Ordering::Relaxed);
    }

    pub fn local_only(&self) -> bool {
        self.local_only.load(Ordering::Relaxed)
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    pub fn signer(&self) -> &SessionSigner {
        &self.signer
    }

    /// Whether any key or user exists (once true, remembered).
    pub async fn configured(&self) -> Result<bool, StoreError> {
        if self.configured.load(Ordering::Relaxed) {
            return Ok(true);
        }
        if let Some(seen) = *self.unconfigured_seen.lock().expect("auth lock") {
            if seen.elapsed() < UNCONFIGURED_RECHECK {
                return Ok(false);
            }
        }
        let configured = self.credentials.has_credentials().await?;
        if configured {
            self.configured.store(true, Ordering::Relaxed);
        } else {
            *self.unconfigured_seen.lock().expect("auth lock") = Some(Instant::now());
        }
        Ok(configured)
    }

    /// Who sent these credentials: `bearer` from `Authorization: Bearer`
    /// or `X-API-Key`, `cookie` from the session cookie. Failed key
    /// checks count against the key id, never against the caller's address:
    /// a valid key is not refused because of other clients' failures.
    pub async fn authenticate(
        &self,
        bearer: Option<&str>,
        cookie: Option<&str>,
    ) -> Result<Principal, AuthError> {
        if self.settings.mode == AuthMode::Disabled {
            return Ok(Principal::Open);
        }
        let open = self.settings.mode == AuthMode::Auto
            && self.open_when_unconfigured.load(Ordering::Relaxed);
        let (token, via_cookie) = match (bearer, cookie) {
            (Some(token), _) => (token, false),
            // A cookie left from another server on this host (its secret
            // is gone) must not lock a browser out of an open one.
            (None, Some(_)) if open && !self.configured().await? => return Ok(Principal::Open),
            (None, Some(token)) => (token, true),
            (None, None) => {
                if self.settings.mode == AuthMode::Auto && !self.configured().await? {
                    if open {
                        return Ok(Principal::Open);
                    }
                    return Err(AuthError::Unauthorized(
                        "no API key or user is set up on this deployment: create one \
                         (`vectadb keys create`, or ADMIN_PASSWORD)",
                    ));
                }
                return Err(AuthError::Unauthorized(
                    "missing credentials: send an API key (Authorization: Bearer or X-API-Key) \
                     or sign in",
                ));
            }
        };
        if let Some(id) = secret::key_id(token) {
            return self.key(id, token).await;
        }
        let session = self
            .signer
            .verify(token)
            .ok_or(AuthError::Unauthorized("invalid or expired credentials"))?;
        if self.credentials.session_revoked(&session.jti).await? {
            return Err(AuthError::Unauthorized(
                "this session has ended; sign in again",
            ));
        }
        if let Some(tag) = &session.password_tag {
            let current = self.credentials.get_user(&session.username).await?;
            if current.is_none_or(|user| session::password_tag(&user.password_hash) != *tag) {
                return Err(AuthError::Unauthorized(
                    "this session ended when the password changed; sign in again",
                ));
            }
        }
        Ok(Principal::Session {
            session,
            via_cookie,
        })
    }

    /// A key's principal. A key already verified in this process is
    /// answered from memory (revocation is still read). Otherwise its
    /// secret is checked (behind the gate), and an unknown id costs the same
    /// argon2 check as a wrong secret, so the two cannot be told apart by
    /// timing. Failures count against the key id: past the limit they are
    /// answered 429 instead of 401, but the check still runs, so the valid
    /// key is never refused (its 256 random bits need no lock-out against
    /// guessing; the gate bounds what guessing costs).
    async fn key(&self, id: &str, token: &str) -> Result<Principal, AuthError> {
        const INVALID: AuthError = AuthError::Unauthorized("invalid or expired credentials");
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let known = self
            .verified
            .lock()
            .expect("auth lock")
            .get(&digest)
            .cloned();
        let stored = self.credentials.get_key(id).await?;
        if let Some(stored) = &stored {
            if stored.revoked_at.is_some() {
                return Err(AuthError::Unauthorized("this API key has been revoked"));
            }
        }
        if known.is_none() || known.as_deref() != stored.as_ref().map(|k| k.id.as_str()) {
            let bucket = format!("key {id}");
            let locked = self
                .limiter
                .attempt(&[(&bucket, self.settings.login_max_failures)])
                .err();
            let hash = stored
                .as_ref()
                .map_or_else(|| self.decoy.clone(), |k| k.hash.clone());
            let matches = self
                .gate
                .verify(token.to_string(), hash)
                .await
                .map_err(|gate::Busy(wait)| AuthError::Busy(wait))?;
            let Some(stored) = stored.as_ref().filter(|_| matches) else {
                return Err(locked.map_or(INVALID, AuthError::RateLimited));
            };
            self.limiter.succeeded(&[&bucket]);
            self.verified
                .lock()
                .expect("auth lock")
                .insert(digest, stored.id.clone());
        }
        let stored = stored.ok_or(INVALID)?;
        Ok(Principal::Key {
            scopes: stored
                .scopes
                .iter()
                .filter_map(|s| Scope::parse(s))
                .collect(),
            id: stored.id,
            name: stored.name,
        })
    }

    /// Check a user's password; a new session when it matches. The attempt
    /// counts against the caller's address (`LOGIN_MAX_FAILURES`) and the
    /// username (ten times that, against guessing from many addresses)
    /// before the check runs, 429 once either is locked out; a success
    /// clears both.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        client: &str,
    ) -> Result<Session, AuthError> {
        let (by_address, by_user) = (format!("address {client}"), format!("user {username}"));
        let limit = self.settings.login_max_failures;
        let buckets = [
            (by_address.as_str(), limit),
            (by_user.as_str(), limit.saturating_mul(10)),
        ];
        if let Err(wait) = self.limiter.attempt(&buckets) {
            tracing::warn!(%client, "sign-in refused: too many failures");
            return Err(AuthError::RateLimited(wait));
        }
        let user = self.credentials.get_user(username).await?;
        let hash = user
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(|| self.decoy.clone());
        let matches = self
            .gate
            .verify(password.to_string(), hash)
            .await
            .map_err(|gate::Busy(wait)| AuthError::Busy(wait))?;
        match user {
            Some(user) if matches => {
                self.limiter.succeeded(&[&by_address, &by_user]);
                Ok(self.signer.issue_for(
                    &user.username,
                    self.settings.session_ttl,
                    Some(session::password_tag(&user.password_hash)),
                ))
            }
            _ => {
                tracing::warn!(%client, "failed sign-in");
                Err(AuthError::Unauthorized("invalid username or password"))
            }
        }
    }

    pub async fn sign_out(&self, session: &Session) -> Result<(), StoreError> {
        self.credentials
            .revoke_session(&session.jti, session.expires_at)
            .await
    }

    /// A new key; the full key is in the result and nowhere else.
    pub async fn create_key(&self, name: &str, scopes: &[Scope]) -> Result<CreatedKey, StoreError> {
        let (id, key) = secret::new_key();
        let hash = {
            let key = key.clone();
            tokio::task::spawn_blocking(move || secret::hash(&key))
                .await
                .map_err(|e| StoreError::Backend(format!("hashing a key: {e}")))?
        };
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        let stored = StoredKey {
            id,
            name: name.to_string(),
            scopes: scopes.iter().map(|s| s.as_str().to_string()).collect(),
            hash,
            created_at: Utc::now(),
            revoked_at: None,
        };
        self.credentials.insert_key(&stored).await?;
        self.configured.store(true, Ordering::Relaxed);
        Ok(CreatedKey {
            info: KeyInfo::from(&stored),
            key,
        })
    }

    pub async fn list_keys(&self) -> Result<Vec<KeyInfo>, StoreError> {
        Ok(self
            .credentials
            .list_keys()
            .await?
            .iter()
            .map(KeyInfo::from)
            .collect())
    }

    /// `false` when there is no such key.
    pub async fn revoke_key(&self, id: &str) -> Result<bool, StoreError> {
        let revoked = self.credentials.revoke_key(id, Utc::now()).await?;
        self.verified
            .lock()
            .expect("auth lock")
            .retain(|_, key| key != id);
        Ok(revoked)
    }

    /// Create a user, or set a new password for an existing one.
    pub async fn put_user(&self, username: &str, password: &str) -> Result<bool, StoreError> {
        let existing = self.credentials.get_user(username).await?;
        if let Some(user) = &existing {
            let (password, hash) = (password.to_string(), user.password_hash.clone());
            let same = tokio::task::spawn_blocking(move || secret::verify(&password, &hash))
                .await
                .unwrap_or(false);
            if same {
                return Ok(false);
            }
        }
        let hash = {
            let password = password.to_string();
            tokio::task::spawn_blocking(move || secret::hash(&password))
                .await
                .map_err(|e| StoreError::Backend(format!("hashing a password: {e}")))?
        };
        self.credentials
            .put_user(&StoredUser {
                username: username.to_string(),
                password_hash: hash,
                created_at: existing.map(|u| u.created_at).unwrap_or_else(Utc::now),
            })
            .await?;
        self.configured.store(true, Ordering::Relaxed);
        Ok(true)
    }
}

/// What is shown of a key (never its hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyInfo {
    pub id: String,
    /// The key's first characters, to recognise it: `vdb_<id>_…`.
    pub prefix: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&StoredKey> for KeyInfo {
    fn from(key: &StoredKey) -> Self {
        KeyInfo {
            id: key.id.clone(),
            prefix: format!("{}{}_", secret::KEY_PREFIX, key.id),
            name: key.name.clone(),
            scopes: key.scopes.clone(),
            created_at: key.created_at,
            revoked_at: key.revoked_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub info: KeyInfo,
    /// The whole key: shown here once, stored only as a hash.
    pub key: String,
}
