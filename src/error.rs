//! The service's one error type (how it becomes an HTTP answer is `http/`'s business).
//!
//! Policy:
//! - every error a person can cause has a stable machine `code` (e.g.
//!   `id.checksum`, `auth.required`) and a Chinese message naming what was
//!   wrong; clients branch on the code, people read the message;
//! - a 5xx answer says only that something went wrong on our side, with the
//!   code `internal`; the details go to the log, never to the client;
//! - database and library error text never reaches a client; unique-constraint
//!   violations become 409 `conflict`;
//! - no personal data goes into a log line: errors logged here carry codes and
//!   internal ids only.

use crate::domain::DomainError;

/// Result alias for the service.
pub type AppResult<T> = Result<T, AppError>;

/// Everything that can go wrong in a request or command.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A rule of the regulation refused the input.
    #[error("{0}")]
    Domain(#[from] DomainError),
    /// Malformed input that is not a rule refusal.
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// Chinese message.
        message: String,
    },
    /// The thing does not exist, or the caller may not know that it exists.
    #[error("未找到该记录")]
    NotFound,
    /// No valid session.
    #[error("请先登录")]
    Unauthorized,
    /// Signed in, but the role may not do this.
    #[error("没有权限执行此操作")]
    Forbidden,
    /// Signed in, but this step belongs to another role (with the reason).
    #[error("{message}")]
    NotPermitted {
        /// Stable code.
        code: &'static str,
        /// Chinese message.
        message: String,
    },
    /// The form's CSRF token is missing or wrong.
    #[error("表单已过期或来源不明，请刷新页面后重试")]
    Csrf,
    /// The request conflicts with the current state (e.g. a duplicate).
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Chinese message.
        message: String,
    },
    /// No database connection came free in time (the service is overloaded):
    /// answered 503 with `Retry-After`, at once, never a long hang.
    #[error("服务繁忙，请稍后重试")]
    Busy,
    /// A fault on our side; details are logged, not shown.
    #[error("服务器内部错误，请稍后重试或联系管理员")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    /// Builds a [`AppError::BadRequest`].
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest { code, message: message.into() }
    }

    /// Builds a [`AppError::NotPermitted`] (403 with a reason).
    pub fn not_permitted(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotPermitted { code, message: message.into() }
    }

    /// Builds a [`AppError::Conflict`].
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict { code, message: message.into() }
    }

    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Domain(e) => e.code,
            Self::BadRequest { code, .. } | Self::Conflict { code, .. } | Self::NotPermitted { code, .. } => code,
            Self::NotFound => "not_found",
            Self::Unauthorized => "auth.required",
            Self::Forbidden => "auth.forbidden",
            Self::Csrf => "auth.csrf",
            Self::Busy => "busy",
            Self::Internal(_) => "internal",
        }
    }

    /// Whether this is a refusal the person can act on (a rule, a bad or
    /// conflicting value, a step not theirs): a page shows it beside the
    /// form, as typed, rather than as an error page.
    pub fn is_refusal(&self) -> bool {
        matches!(self, Self::Domain(_) | Self::BadRequest { .. } | Self::Conflict { .. } | Self::NotPermitted { .. })
    }

    /// Whether this is a fault on our side (not something the caller did).
    pub fn is_internal(&self) -> bool {
        matches!(self, Self::Internal(_) | Self::Busy)
    }

    /// Logs an internal error (by its chain, which holds no personal data).
    pub fn log(&self) {
        if let Self::Busy = self {
            tracing::warn!("no database connection came free in time: answered 503");
        }
        if let Self::Internal(e) = self {
            tracing::error!(error = format!("{e:#}"), "internal error");
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::RowNotFound = e {
            return Self::NotFound;
        }
        if let sqlx::Error::PoolTimedOut = e {
            return Self::Busy;
        }
        if let Some(db) = e.as_database_error()
            && db.is_unique_violation()
        {
            return Self::conflict("conflict", "记录已存在，不能重复创建");
        }
        Self::Internal(e.into())
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        if matches!(e.downcast_ref::<sqlx::Error>(), Some(sqlx::Error::PoolTimedOut)) {
            return Self::Busy;
        }
        match e.downcast::<DomainError>() {
            Ok(d) => Self::Domain(d),
            Err(e) => Self::Internal(e),
        }
    }
}

/// The JSON body of an error answer.
#[derive(Debug, serde::Serialize)]
pub struct ErrorBody {
    /// Stable machine code.
    pub code: &'static str,
    /// Chinese message.
    pub message: String,
    /// The field concerned, for rule refusals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

impl From<&AppError> for ErrorBody {
    fn from(e: &AppError) -> Self {
        Self {
            code: e.code(),
            message: e.to_string(),
            field: match e {
                AppError::Domain(d) => Some(d.field),
                _ => None,
            },
        }
    }
}
