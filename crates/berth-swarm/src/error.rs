//! Swarm errors, each with the HTTP status moby answers for it.

/// moby's `errNoManager` for a node outside any swarm.
pub const NOT_A_MANAGER: &str = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.";
pub const NOT_IN_SWARM: &str = "This node is not part of a swarm";
pub const ALREADY_IN_SWARM: &str = "This node is already part of a swarm. Use \"docker swarm leave\" to leave this swarm and join another one.";
pub const LOCKED: &str = "Swarm is encrypted and needs to be unlocked before it can be used. Please use \"docker swarm unlock\" to unlock it.";

#[derive(Debug, thiserror::Error)]
pub enum SwarmError {
    /// 503: not in a swarm, locked, not a manager.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    InvalidArgument(String),
    /// 409: a name in use, an object in use.
    #[error("{0}")]
    Conflict(String),
    /// 403: a pre-defined network, a network that cannot be attached by hand.
    #[error("{0}")]
    Forbidden(String),
    /// The `version` given with an update is not the stored one (moby: "update out of
    /// sequence", an InvalidArgument from swarmkit).
    #[error("update out of sequence")]
    OutOfSequence,
    #[error("{0}")]
    Internal(String),
}

impl SwarmError {
    pub fn status(&self) -> u16 {
        match self {
            SwarmError::Unavailable(_) => 503,
            SwarmError::NotFound(_) => 404,
            SwarmError::InvalidArgument(_) | SwarmError::OutOfSequence => 400,
            SwarmError::Conflict(_) => 409,
            SwarmError::Forbidden(_) => 403,
            SwarmError::Internal(_) => 500,
        }
    }
    pub fn not_manager() -> Self {
        SwarmError::Unavailable(NOT_A_MANAGER.into())
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        SwarmError::Internal(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, SwarmError>;
