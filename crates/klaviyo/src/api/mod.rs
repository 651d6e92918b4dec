//! The endpoints, one file per resource: each holds that resource's types, its JSON:API
//! documents and an `impl Client` block whose methods build a [`Request`] of a
//! [`spec`](crate::spec) operation and decode the answer.
//!
//! Adding an endpoint: name its `operationId` in `USED` of `scripts/gen-klaviyo-spec.py`,
//! regenerate, and write the method in the resource's file (its body builder in `jsonapi.rs`).

pub(crate) mod accounts;
pub(crate) mod jobs;
pub(crate) mod lists;
pub(crate) mod profiles;
pub(crate) mod subscriptions;

use crate::jsonapi::{ids_page, Page};
use crate::transport::Request;
use crate::{spec::Operation, Client, Error, MAX_PAGE_SIZE};

impl Client {
    /// A page (100 a page) of the `{"type": …, "id": …}` identifiers of resource `id`'s
    /// relationship `op`.
    pub(crate) async fn get_ids_page(
        &self,
        op: &'static Operation,
        id: &str,
        cursor: Option<&str>,
    ) -> Result<Page<String>, Error> {
        let body = self.send(&paged(op, id, cursor)).await?;
        ids_page(&body)
    }
}

/// `op` for resource `id`, [`MAX_PAGE_SIZE`] a page, from `cursor`.
pub(crate) fn paged(op: &'static Operation, id: &str, cursor: Option<&str>) -> Request {
    Request::with_id(op, id)
        .query("page[size]", MAX_PAGE_SIZE.to_string())
        .cursor(cursor)
}
