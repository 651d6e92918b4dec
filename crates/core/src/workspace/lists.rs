//! The Klaviyo lists of a connection's account: the export form's list picker, and a new list
//! made from it.

use super::access::{self, Action};
use super::{trimmed, Workspace};
use crate::model::*;
use crate::{CoreError, Result};

/// How many lists the picker reads at most (50 pages of 10).
pub const MAX_PICKER_LISTS: usize = 500;

impl Workspace {
    fn connection_for_lists(&self, connection_id: &str) -> Result<Connection> {
        let op = self.operator()?;
        let conn = self.store.connection(connection_id)?;
        access::allow(&op, Action::PickLists(&conn))?;
        Ok(conn)
    }

    /// The account's lists, up to [`MAX_PICKER_LISTS`] (10 a page, Klaviyo's maximum).
    pub async fn klaviyo_lists(&self, connection_id: &str) -> Result<KlaviyoLists> {
        let conn = self.connection_for_lists(connection_id)?;
        let client = self.client(&conn)?;
        let mut lists = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = client.get_lists(cursor.as_deref()).await?;
            lists.extend(page.lists.into_iter().map(|l| KlaviyoList {
                id: l.id,
                name: l.name,
            }));
            cursor = page.next_cursor;
            if cursor.is_none() {
                return Ok(KlaviyoLists {
                    lists,
                    truncated: false,
                });
            }
            if lists.len() >= MAX_PICKER_LISTS {
                return Ok(KlaviyoLists {
                    lists,
                    truncated: true,
                });
            }
        }
    }

    /// Create a list in Klaviyo (not idempotent: the client looks it up by name before any
    /// retry). Klaviyo allows 150 new lists a day per account.
    pub async fn create_klaviyo_list(
        &self,
        connection_id: &str,
        name: &str,
    ) -> Result<KlaviyoList> {
        let name = trimmed(name)
            .ok_or_else(|| CoreError::invalid("List name", "Give the new list a name."))?;
        let conn = self.connection_for_lists(connection_id)?;
        let list = self.client(&conn)?.create_list(&name).await?;
        Ok(KlaviyoList {
            id: list.id,
            name: list.name,
        })
    }
}
