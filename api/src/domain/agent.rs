//! Agents: who runs tasks, thinks and logs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ids, validate, Metadata, ValidationError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Agent {
    pub id: String,
    pub role: String,
    pub goal: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Body of `POST /api/v1/agents`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgent {
    /// Optional client-chosen id; create is then idempotent.
    pub id: Option<String>,
    pub role: String,
    pub goal: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Metadata,
}

impl NewAgent {
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::optional_id("id", self.id.as_deref())?;
        validate::required_text("role", &self.role)?;
        validate::required_text("goal", &self.goal)?;
        validate::metadata("metadata", &self.metadata)
    }

    pub fn into_agent(self, now: DateTime<Utc>) -> Agent {
        Agent {
            id: self.id.unwrap_or_else(ids::generate),
            role: self.role,
            goal: self.goal,
            metadata: self.metadata,
            created_at: now,
            updated_at: now,
        }
    }
}

impl Agent {
    /// Whether `request` describes this agent (for idempotent creates).
    pub fn matches(&self, request: &NewAgent) -> bool {
        self.role == request.role && self.goal == request.goal && self.metadata == request.metadata
    }
}
