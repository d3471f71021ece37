//! Who acts: a signed-in staff member through a page or the API, an
//! operator at the command line, or the service's own scheduler. Every
//! service action takes an [`Actor`], checks its right against it and
//! records it in the audit log; nothing below `http/` knows of sessions,
//! cookies or CSRF tokens.

/// What a staff member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 教育局管理员: everything, including accounts.
    BureauAdmin,
    /// 教育局工作人员: all schools' records; approvals, numbering, archive retrieval.
    BureauStaff,
    /// 学籍管理员: one school's records (a central school's registrar: also its township schools').
    Registrar,
}

impl Role {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::BureauAdmin => "bureau_admin",
            Self::BureauStaff => "bureau_staff",
            Self::Registrar => "registrar",
        }
    }

    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::BureauAdmin => "教育局管理员",
            Self::BureauStaff => "教育局工作人员",
            Self::Registrar => "学籍管理员",
        }
    }

    /// Parses a stable code.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::BureauAdmin, Self::BureauStaff, Self::Registrar].into_iter().find(|r| r.code() == s)
    }

    /// Bureau roles see every school.
    pub fn is_bureau(self) -> bool {
        matches!(self, Self::BureauAdmin | Self::BureauStaff)
    }
}

/// How an actor came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A server-rendered page in a browser.
    Page,
    /// The JSON API.
    Api,
    /// The command line (`xueji …`), run by an operator of the machine.
    Cli,
    /// The service itself, on a schedule (fixity checks, calendar refresh).
    Scheduler,
}

impl Channel {
    /// Stable code, as recorded in the audit log.
    pub fn code(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::Api => "api",
            Self::Cli => "cli",
            Self::Scheduler => "scheduler",
        }
    }
}

/// Who acts, with what right, over which schools, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The staff account; `None` for the command line and the scheduler.
    pub user_id: Option<i64>,
    /// The account name (`cli:<operating-system user>` at the command line).
    pub username: String,
    /// The name shown in the history and printed as signer.
    pub display_name: String,
    /// What they may do.
    pub role: Role,
    /// A registrar's own school.
    pub school_id: Option<i64>,
    /// `None`: every school; `Some(ids)`: these schools only.
    pub scope: Option<Vec<i64>>,
    /// The client address (`-` when unknown, `local` at the command line).
    pub client: String,
    /// How they came in.
    pub via: Channel,
}

impl Actor {
    /// The operator running a command as this operating-system user. Whoever
    /// can run the binary on the data directory holds every file already, so
    /// the command line acts with the bureau administrator's right, and is
    /// recorded as the command line, never as a staff account.
    pub fn cli(os_user: &str) -> Self {
        let user = if os_user.trim().is_empty() { "unknown" } else { os_user.trim() };
        Self {
            user_id: None,
            username: format!("cli:{user}"),
            display_name: format!("命令行（{user}）"),
            role: Role::BureauAdmin,
            school_id: None,
            scope: None,
            client: "local".to_owned(),
            via: Channel::Cli,
        }
    }

    /// The service's own scheduled work (`task` names it, e.g. `fixity`).
    pub fn scheduler(task: &str) -> Self {
        Self {
            user_id: None,
            username: format!("scheduler:{task}"),
            display_name: "系统定时任务".to_owned(),
            role: Role::BureauAdmin,
            school_id: None,
            scope: None,
            client: "local".to_owned(),
            via: Channel::Scheduler,
        }
    }

    /// Someone not signed in (a failed sign-in): no account, no school.
    pub fn anonymous(client: &str, via: Channel) -> Self {
        Self {
            user_id: None,
            username: "-".to_owned(),
            display_name: String::new(),
            role: Role::Registrar,
            school_id: None,
            scope: Some(Vec::new()),
            client: client.to_owned(),
            via,
        }
    }

    /// Whether the actor may see records of this school.
    pub fn may_see(&self, school_id: i64) -> bool {
        self.scope.as_ref().is_none_or(|ids| ids.contains(&school_id))
    }

    /// Whether the actor acts for the bureau (every school).
    pub fn is_bureau(&self) -> bool {
        self.role.is_bureau()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registrar_sees_only_the_schools_in_scope() {
        let mut a = Actor::cli("op");
        assert!(a.may_see(7));
        a.scope = Some(vec![3, 4]);
        assert!(a.may_see(3) && !a.may_see(7));
        a.scope = Some(Vec::new());
        assert!(!a.may_see(3));
        assert!(!Actor::anonymous("1.2.3.4", Channel::Page).may_see(3));
    }

    #[test]
    fn the_command_line_is_recorded_as_such() {
        let a = Actor::cli("  ");
        assert_eq!((a.username.as_str(), a.via, a.user_id), ("cli:unknown", Channel::Cli, None));
        assert_eq!(Actor::cli("root").username, "cli:root");
        assert_eq!(Actor::scheduler("fixity").via.code(), "scheduler");
    }

    #[test]
    fn role_codes_round_trip() {
        for r in [Role::BureauAdmin, Role::BureauStaff, Role::Registrar] {
            assert_eq!(Role::parse(r.code()), Some(r));
        }
        assert_eq!(Role::parse("teacher"), None);
    }
}
