//! Every audit event, as one type: its name (the `event` field of its log
//! line, or the authorizer's `decision`) and the CloudWatch metric it counts,
//! if any. Handlers, the authorizer, the EMF writer ([`crate::metrics`]) and
//! the template's test of its alarms all read this enum, so a misspelt event
//! fails to compile instead of silently dropping an alarm.

/// One audit event. Log it as `event = Audit::LoginFailure.name()` (the
/// authorizer's deny: `decision = Audit::AuthorizerDeny.name()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audit {
    Register,
    LoginSuccess,
    LoginFailure,
    Lockout,
    LoginIpLimited,
    Refresh,
    RefreshReuseDetected,
    Logout,
    PasswordChanged,
    AccountDeleted,
    AuthorizerDeny,
    // Events without a metric: for reading the logs.
    RefreshRefused,
    RefreshReplayed,
    DeviceTokenRefused,
    AccountRefused,
    PasswordRefused,
    ProofLimited,
    Reauthenticated,
    ReauthenticationRequired,
    SessionEnded,
}

/// Where an audit event's name is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `event` (every function's audit lines).
    Event,
    /// `decision` (the authorizer's one line per decision).
    Decision,
}

impl Field {
    pub const fn name(self) -> &'static str {
        match self {
            Field::Event => "event",
            Field::Decision => "decision",
        }
    }
}

impl Audit {
    /// Every event, those with a metric first, in the order of their
    /// metrics.
    pub const ALL: [Audit; 20] = [
        Audit::Register,
        Audit::LoginSuccess,
        Audit::LoginFailure,
        Audit::Lockout,
        Audit::LoginIpLimited,
        Audit::Refresh,
        Audit::RefreshReuseDetected,
        Audit::Logout,
        Audit::PasswordChanged,
        Audit::AccountDeleted,
        Audit::AuthorizerDeny,
        Audit::RefreshRefused,
        Audit::RefreshReplayed,
        Audit::DeviceTokenRefused,
        Audit::AccountRefused,
        Audit::PasswordRefused,
        Audit::ProofLimited,
        Audit::Reauthenticated,
        Audit::ReauthenticationRequired,
        Audit::SessionEnded,
    ];

    /// The value its log line carries in [`Audit::field`].
    pub const fn name(self) -> &'static str {
        match self {
            Audit::Register => "register",
            Audit::LoginSuccess => "login_success",
            Audit::LoginFailure => "login_failure",
            Audit::Lockout => "lockout",
            Audit::LoginIpLimited => "login_ip_limited",
            Audit::Refresh => "refresh",
            Audit::RefreshReuseDetected => "refresh_reuse_detected",
            Audit::Logout => "logout",
            Audit::PasswordChanged => "password_changed",
            Audit::AccountDeleted => "account_deleted",
            Audit::AuthorizerDeny => "deny",
            Audit::RefreshRefused => "refresh_refused",
            Audit::RefreshReplayed => "refresh_replayed",
            Audit::DeviceTokenRefused => "device_token_refused",
            Audit::AccountRefused => "account_refused",
            Audit::PasswordRefused => "password_refused",
            Audit::ProofLimited => "proof_limited",
            Audit::Reauthenticated => "reauthenticated",
            Audit::ReauthenticationRequired => "reauthentication_required",
            Audit::SessionEnded => "session_ended",
        }
    }

    /// The field its name is written in.
    pub const fn field(self) -> Field {
        match self {
            Audit::AuthorizerDeny => Field::Decision,
            _ => Field::Event,
        }
    }

    /// The CloudWatch metric the event counts (a count of 1 per line), if
    /// any. The alarms and the dashboard of `template.yaml` name these.
    pub const fn metric(self) -> Option<&'static str> {
        Some(match self {
            Audit::Register => "Register",
            Audit::LoginSuccess => "LoginSuccess",
            Audit::LoginFailure => "LoginFailure",
            Audit::Lockout => "Lockout",
            Audit::LoginIpLimited => "LoginRefusedByIpLimit",
            Audit::Refresh => "Refresh",
            Audit::RefreshReuseDetected => "RefreshReuseDetected",
            Audit::Logout => "Logout",
            Audit::PasswordChanged => "PasswordChanged",
            Audit::AccountDeleted => "AccountDeleted",
            Audit::AuthorizerDeny => "AuthorizerDeny",
            _ => return None,
        })
    }

    /// Whether an attack shows in this event, so `template.yaml` must alarm
    /// on its metric.
    pub const fn is_security_signal(self) -> bool {
        matches!(
            self,
            Audit::LoginFailure
                | Audit::Lockout
                | Audit::LoginIpLimited
                | Audit::RefreshReuseDetected
        )
    }

    /// The event a log line's `field` with the string value `value` names.
    pub fn of(field: &str, value: &str) -> Option<Audit> {
        Audit::ALL
            .into_iter()
            .find(|a| a.field().name() == field && a.name() == value)
    }

    /// Every metric, in order.
    pub fn metrics() -> impl Iterator<Item = &'static str> {
        Audit::ALL.into_iter().filter_map(Audit::metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_metrics_are_unique_and_the_metric_events_come_first() {
        let mut names: Vec<_> = Audit::ALL.iter().map(|a| a.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Audit::ALL.len());
        let with_metric = Audit::ALL
            .iter()
            .take_while(|a| a.metric().is_some())
            .count();
        assert_eq!(with_metric, Audit::metrics().count());
        let mut metrics: Vec<_> = Audit::metrics().collect();
        metrics.dedup();
        assert_eq!(metrics.len(), with_metric);
    }

    #[test]
    fn events_are_found_by_field_and_value_only() {
        for a in Audit::ALL {
            assert_eq!(Audit::of(a.field().name(), a.name()), Some(a));
        }
        for (field, value) in [
            ("decision", "allow"),
            ("event", "deny"),
            ("decision", "register"),
            ("reason", "login_failure"),
            ("event", "Login_Failure"),
            ("event", ""),
        ] {
            assert_eq!(Audit::of(field, value), None, "{field}={value}");
        }
    }
}
