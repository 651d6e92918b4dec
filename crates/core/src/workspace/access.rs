//! Who may do what: the whole permission policy, in one place. Every room of the workspace asks
//! [`allow`] (or [`Workspace::allowed`]) before it acts, and lists only what [`can_see`] lets
//! the operator see.
//!
//! The rules: an admin may do everything; a contributor sees and uses only the connections
//! marked for contributors. Sending through a connection (running an export, saving one, the
//! list picker) also needs its data-privacy consent, whoever asks. Creating, editing and
//! removing connections is for admins. Giving a connection's key or recording its consent is
//! open to every role (the CLI's `connection set-key` and `connection consent`).

use super::Workspace;
use crate::model::{Connection, Operator, Role, UsableBy};
use crate::{CoreError, Result};

/// What the operator asks to do.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Action<'a> {
    /// Create or edit a connection (the form).
    EditConnection,
    /// Remove a connection.
    RemoveConnection,
    /// Put a connection's key in the keychain.
    SetKey,
    /// Record a connection's consent.
    RecordConsent,
    /// Check a connection with Klaviyo (Connect).
    Verify(&'a Connection),
    /// Read or create the account's lists through a connection (the export's list picker).
    PickLists(&'a Connection),
    /// Save an export that sends through a connection.
    SaveExport(&'a Connection),
    /// Run an export through a connection.
    Run(&'a Connection),
    /// Remove an export, sending through this connection if it still has one.
    RemoveExport(Option<&'a Connection>),
}

fn is_admin(op: &Operator) -> bool {
    op.role == Role::Admin
}

/// Whether `op` sees the connection (in the list, and to check it): admins see every one,
/// contributors those marked for contributors.
pub(crate) fn can_see(op: &Operator, conn: &Connection) -> bool {
    is_admin(op) || conn.usable_by == UsableBy::Contributors
}

/// Whether `op` may send through the connection: they see it and its consent is recorded.
pub(crate) fn can_use(op: &Operator, conn: &Connection) -> bool {
    conn.consent.is_some() && can_see(op, conn)
}

fn admins_only(what: &str) -> CoreError {
    CoreError::Forbidden(format!(
        "Only an admin can {what}. Ask an admin, or switch your role in Settings."
    ))
}

fn for_admins_only(conn: &Connection) -> CoreError {
    CoreError::Forbidden(format!(
        "The connection \"{}\" is for admins only.",
        conn.name
    ))
}

/// Whether `op` may do `action`; if not, why (`forbidden`, or `connection.consent_required`
/// for a run through a connection without consent).
pub(crate) fn allow(op: &Operator, action: Action<'_>) -> Result<()> {
    match action {
        Action::SetKey | Action::RecordConsent => Ok(()),
        Action::EditConnection if !is_admin(op) => Err(admins_only("create or edit connections")),
        Action::RemoveConnection if !is_admin(op) => Err(admins_only("remove connections")),
        Action::EditConnection | Action::RemoveConnection => Ok(()),
        Action::Verify(conn) if !can_see(op, conn) => Err(for_admins_only(conn)),
        Action::Verify(_) => Ok(()),
        Action::PickLists(conn) if !can_use(op, conn) => Err(CoreError::Forbidden(format!(
            "The connection \"{}\" cannot be used by you yet: record its consent first (admins only connections need an admin).",
            conn.name
        ))),
        Action::PickLists(_) => Ok(()),
        Action::SaveExport(conn) if !can_use(op, conn) => Err(CoreError::Forbidden(format!(
            "The connection \"{}\" cannot be used by you: {}",
            conn.name,
            if conn.consent.is_none() {
                "its data-privacy consent has not been recorded."
            } else {
                "it is for admins only."
            }
        ))),
        Action::SaveExport(_) => Ok(()),
        // The consent first: it is what an admin running it would be told too.
        Action::Run(conn) if conn.consent.is_none() => {
            Err(CoreError::ConsentRequired(conn.name.clone()))
        }
        Action::Run(conn) if !can_see(op, conn) => Err(for_admins_only(conn)),
        Action::Run(_) => Ok(()),
        Action::RemoveExport(Some(conn)) if !can_see(op, conn) => Err(CoreError::Forbidden(
            "This export uses an admins-only connection: only an admin can remove it.".into(),
        )),
        Action::RemoveExport(_) => Ok(()),
    }
}

impl Workspace {
    /// The operator, once they may do `action`.
    pub(crate) fn allowed(&self, action: Action<'_>) -> Result<Operator> {
        let op = self.operator()?;
        allow(&op, action)?;
        Ok(op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Consent;

    fn op(role: Role) -> Operator {
        Operator {
            name: "Ann".into(),
            role,
        }
    }

    fn conn(usable_by: UsableBy, consent: bool) -> Connection {
        Connection {
            id: "c1".into(),
            name: "Shop".into(),
            base_url: "https://a.klaviyo.com".into(),
            usable_by,
            api_key_env: None,
            consent: consent.then(|| Consent {
                by: "Ann".into(),
                os_user: None,
                at: "2025-01-01T00:00:00Z".into(),
            }),
            export_user: None,
            verified: None,
        }
    }

    fn code(r: Result<()>) -> String {
        r.map_or_else(|e| e.code(), |()| "ok".into())
    }

    #[test]
    fn an_admin_may_do_everything_a_consent_allows() {
        let admin = op(Role::Admin);
        let c = conn(UsableBy::Admins, true);
        for a in [
            Action::EditConnection,
            Action::RemoveConnection,
            Action::SetKey,
            Action::RecordConsent,
            Action::Verify(&c),
            Action::PickLists(&c),
            Action::SaveExport(&c),
            Action::Run(&c),
            Action::RemoveExport(Some(&c)),
            Action::RemoveExport(None),
        ] {
            assert_eq!(code(allow(&admin, a)), "ok", "{a:?}");
        }
        let no_consent = conn(UsableBy::Admins, false);
        assert_eq!(
            code(allow(&admin, Action::Run(&no_consent))),
            "connection.consent_required"
        );
        assert_eq!(
            code(allow(&admin, Action::SaveExport(&no_consent))),
            "forbidden"
        );
        assert_eq!(code(allow(&admin, Action::Verify(&no_consent))), "ok");
    }

    #[test]
    fn a_contributor_uses_only_the_contributors_connections() {
        let contributor = op(Role::Contributor);
        let theirs = conn(UsableBy::Contributors, true);
        let admins = conn(UsableBy::Admins, true);
        assert!(can_see(&contributor, &theirs) && !can_see(&contributor, &admins));
        assert!(can_use(&contributor, &theirs) && !can_use(&contributor, &admins));
        for a in [Action::EditConnection, Action::RemoveConnection] {
            let err = allow(&contributor, a).unwrap_err();
            assert!(err.to_string().starts_with("Only an admin can "), "{err}");
        }
        for a in [
            Action::Verify(&admins),
            Action::PickLists(&admins),
            Action::SaveExport(&admins),
            Action::Run(&admins),
            Action::RemoveExport(Some(&admins)),
        ] {
            assert_eq!(code(allow(&contributor, a)), "forbidden", "{a:?}");
        }
        for a in [
            Action::Verify(&theirs),
            Action::PickLists(&theirs),
            Action::SaveExport(&theirs),
            Action::Run(&theirs),
            Action::RemoveExport(Some(&theirs)),
            Action::RemoveExport(None),
            Action::SetKey,
            Action::RecordConsent,
        ] {
            assert_eq!(code(allow(&contributor, a)), "ok", "{a:?}");
        }
    }
}
