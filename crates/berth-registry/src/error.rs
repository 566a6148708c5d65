//! Typed errors; the texts are Docker's where Docker has one.

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Bad input (reference, platform): HTTP 400.
    #[error("{0}")]
    InvalidArgument(String),
    /// Unknown repository, tag or local image: HTTP 404.
    #[error("{0}")]
    NotFound(String),
    /// Authentication failed or access denied: HTTP 401/403 from the registry.
    #[error("{0}")]
    Unauthorized(String),
    /// The registry denied access (its 403, distribution's `DENIED`): HTTP 403.
    #[error("{0}")]
    Denied(String),
    /// The registry could not be reached or answered something unusable: HTTP 500.
    #[error("{0}")]
    Transport(String),
    /// The content does not match its digest, or a manifest is malformed: HTTP 500.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Image(#[from] berth_image::ImageError),
}

impl RegistryError {
    /// The HTTP status the daemon answers with when the error comes before the stream starts.
    pub fn status_code(&self) -> u16 {
        match self {
            RegistryError::InvalidArgument(_) => 400,
            RegistryError::NotFound(_) => 404,
            RegistryError::Unauthorized(_) => 401,
            RegistryError::Denied(_) => 403,
            RegistryError::Image(e) => e.status_code(),
            _ => 500,
        }
    }
}
