//! How an [`AppError`] reaches a client: its HTTP status, and a JSON body
//! with the stable code and the Chinese message (5xx bodies say only that
//! something went wrong; the details are logged).

use crate::error::{AppError, ErrorBody};
use axum::http::StatusCode;
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
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        (self.status(), axum::Json(ErrorBody::from(&self))).into_response()
    }
}
