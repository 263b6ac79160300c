//! Sessions: HS256 JWTs signed with `JWT_SECRET` (subject, issue and
//! expiry times, a unique `jti` that logout revokes), and the CSRF token
//! bound to each (an HMAC of its `jti`, so nothing more is stored).

use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{Hmac, Mac};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::secret::random_token;

pub const ISSUER: &str = "vectadb";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// A digest of the user's password hash when the session began: a
    /// password change (a new hash) ends every session issued before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pwd: Option<String>,
}

/// A session as issued or as verified.
#[derive(Debug, Clone)]
pub struct Session {
    pub username: String,
    pub jti: String,
    /// See [`Claims::pwd`].
    pub password_tag: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub token: String,
}

pub struct SessionSigner {
    secret: Vec<u8>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl SessionSigner {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        Self {
            secret: secret.to_vec(),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// A new session for `username`, valid for `ttl`.
    pub fn issue(&self, username: &str, ttl: Duration) -> Session {
        self.issue_for(username, ttl, None)
    }

    /// A new session bound to the user's current password (its
    /// [`password_tag`]).
    pub fn issue_for(
        &self,
        username: &str,
        ttl: Duration,
        password_tag: Option<String>,
    ) -> Session {
        let now = Utc::now();
        let claims = Claims {
            sub: username.to_string(),
            iss: ISSUER.to_string(),
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
            jti: random_token(16),
            pwd: password_tag,
        };
        self.sign(&claims)
    }

    pub fn sign(&self, claims: &Claims) -> Session {
        let token = encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail");
        Session {
            username: claims.sub.clone(),
            jti: claims.jti.clone(),
            password_tag: claims.pwd.clone(),
            expires_at: Utc
                .timestamp_opt(claims.exp, 0)
                .single()
                .unwrap_or_else(Utc::now),
            token,
        }
    }

    /// The session a token carries, if its signature, issuer and expiry
    /// hold (revocation is checked by the caller).
    pub fn verify(&self, token: &str) -> Option<Session> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        let claims = data.claims;
        Some(Session {
            username: claims.sub,
            jti: claims.jti,
            password_tag: claims.pwd,
            expires_at: Utc.timestamp_opt(claims.exp, 0).single()?,
            token: token.to_string(),
        })
    }

    /// The CSRF token of a session: sent back in `X-CSRF-Token` with every
    /// state-changing request the session's cookie authenticates.
    pub fn csrf_token(&self, jti: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(b"csrf:");
        mac.update(jti.as_bytes());
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            mac.finalize().into_bytes(),
        )
    }
}

/// The tag binding sessions to a password hash: a digest of the hash
/// (itself salted), which says nothing about the password.
pub fn password_tag(password_hash: &str) -> String {
    use sha2::Digest;
    let digest = Sha256::digest(password_hash.as_bytes());
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_their_secret_and_before_expiry() {
        let signer = SessionSigner::new(b"0123456789abcdef0123456789abcdef");
        let session = signer.issue("admin", Duration::minutes(5));
        let verified = signer.verify(&session.token).expect("valid");
        assert_eq!(verified.username, "admin");
        assert_eq!(verified.jti, session.jti);
        let other = SessionSigner::new(b"another secret of enough length!");
        assert!(other.verify(&session.token).is_none());
        let expired = signer.issue("admin", Duration::minutes(-5));
        assert!(signer.verify(&expired.token).is_none());
        assert_ne!(signer.csrf_token(&session.jti), signer.csrf_token("x"));
        assert_eq!(
            signer.csrf_token(&session.jti),
            signer.csrf_token(&verified.jti)
        );
    }
}
