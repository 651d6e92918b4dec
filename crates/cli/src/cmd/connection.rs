//! `segport-cli connection`: list connections, store a key, record consent, verify a key.

use crate::args::ConnectionCmd;
use crate::output::exit;
use segport_core::model::Consent;
use segport_core::workspace::Workspace;
use segport_core::CoreError;
use std::io::{IsTerminal, Read};

pub async fn run(ws: &Workspace, cmd: ConnectionCmd) -> Result<u8, CoreError> {
    match cmd {
        ConnectionCmd::List => {
            for c in ws.connections()? {
                out!(
                    "{}\t{}\tkey: {}\tconsent: {}\tusable by: {}",
                    c.name,
                    c.base_url,
                    if c.key_stored { "stored" } else { "missing" },
                    c.consent
                        .map(|c| format!("{} at {}", consent_by(&c), c.at))
                        .unwrap_or_else(|| "not recorded".into()),
                    c.usable_by.as_str()
                );
            }
        }
        ConnectionCmd::SetKey { name } => {
            if std::io::stdin().is_terminal() {
                eprintln!("Paste the Klaviyo private API key (pk_…), then press Enter and Ctrl-D:");
            }
            let mut key = String::new();
            std::io::stdin()
                .read_to_string(&mut key)
                .map_err(|source| CoreError::Io {
                    path: "<stdin>".into(),
                    source,
                })?;
            ws.set_key(&name, &key)?;
            out!("key stored in the OS keychain for \"{name}\"");
        }
        ConnectionCmd::Consent { name, yes } => {
            if !yes {
                return Err(CoreError::invalid(
                    "--yes",
                    "Profiles exported through this connection are sent to Klaviyo. Re-run with --yes to record that you agree to the data privacy and compliance terms.",
                ));
            }
            let c = ws.record_consent(&name)?;
            out!(
                "consent recorded for \"{name}\" by {} at {}",
                consent_by(&c),
                c.at
            );
        }
        ConnectionCmd::Verify { name } => {
            let conn = ws.connection_named(&name)?;
            let v = ws.verify_connection(&conn.id).await?;
            if let Some(acc) = v.verified {
                out!(
                    "connected to \"{}\" (account {})",
                    acc.account_name,
                    acc.account_id
                );
            }
        }
    }
    Ok(exit::OK)
}

/// "Marta Kowalska (OS account marta)": who gave a consent, and from which OS account.
fn consent_by(c: &Consent) -> String {
    match &c.os_user {
        Some(os) => format!("{} (OS account {os})", c.by),
        None => c.by.clone(),
    }
}
