//! How an [`AppError`] reaches a client: its HTTP status, and a JSON body
//! with the stable code and the Chinese message (5xx bodies say only that
//! something went wrong; the details are logged).

use crate::dossier::{self, Failure, Refusal};
use crate::error::{AppError, ErrorBody};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

impl AppError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Domain(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::Csrf | Self::NotPermitted { .. } => StatusCode::FORBIDDEN,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl Failure {
    /// The HTTP status: 413 for a file over the limit, 400 for an upload
    /// cut off, 409 for a conflict with the dossier, 415 for a file of a type
    /// the archive does not keep, 507 when the disk is full, 503 when the
    /// object store does not answer, 422 for any other
    /// refusal of a file or package, 500 for faults on our side.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::App(e) => e.status(),
            Self::Archive(e) => match dossier::refusal(e) {
                Some(Refusal::TooLarge) => StatusCode::PAYLOAD_TOO_LARGE,
                Some(Refusal::Interrupted) => StatusCode::BAD_REQUEST,
                Some(Refusal::Conflict) => StatusCode::CONFLICT,
                Some(Refusal::WrongType) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some(Refusal::Gone) => StatusCode::GONE,
                Some(Refusal::StorageFull) => StatusCode::INSUFFICIENT_STORAGE,
                Some(Refusal::StoreUnavailable) => StatusCode::SERVICE_UNAVAILABLE,
                Some(Refusal::Unprocessable) => StatusCode::UNPROCESSABLE_ENTITY,
                None => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::TaskPanicked { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Seconds a client is asked to wait when the service is busy.
pub const RETRY_AFTER_SECS: &str = "1";

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let mut response = (self.status(), axum::Json(ErrorBody::from(&self))).into_response();
        if let Self::Busy = self {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xueji_archive::ArchiveError;

    #[test]
    fn archive_refusals_map_to_statuses_and_faults_to_500() {
        let status = |e: ArchiveError| Failure::from(e).status();
        assert_eq!(status(ArchiveError::TooLarge { limit: 1 }), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(status(ArchiveError::TypeUnsupported), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(status(ArchiveError::BagSignatureInvalid), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(status(ArchiveError::BagTooLarge { limit: 1 }), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(status(ArchiveError::PdfTooDeep { limit: 64 }), StatusCode::UNPROCESSABLE_ENTITY);
        let io = ArchiveError::Io { op: "保存对象", path: "/x".into(), source: std::io::Error::other("disk") };
        assert_eq!(status(io), StatusCode::INTERNAL_SERVER_ERROR);
        let panicked = ArchiveError::Panicked { stage: "图像解码", detail: "index out of bounds".into() };
        assert_eq!(status(panicked), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(Failure::TaskPanicked { detail: String::new() }.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
