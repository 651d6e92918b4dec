//! Lists: `GET|POST /api/lists`, `GET /api/lists/{id}`, and the list's members
//! (`GET|DELETE /api/lists/{id}/relationships/profiles`).

use serde::Deserialize;

use crate::jsonapi::{
    create_list_body, decode, next_cursor, quoted, remove_profiles_body, Links, Page,
};
use crate::transport::retry::is_ambiguous;
use crate::transport::Request;
use crate::{spec, Client, Error, MAX_LISTS_PAGE_SIZE, MAX_PROFILES_PER_REMOVE};

/// A Klaviyo list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List {
    pub id: String,
    pub name: String,
}

/// One page of lists (at most 10: Klaviyo's maximum for lists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListsPage {
    pub lists: Vec<List>,
    pub next_cursor: Option<String>,
}

/// `GET /api/lists` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListsQuery {
    /// 1..=10 ([`MAX_LISTS_PAGE_SIZE`]).
    pub page_size: u32,
    pub cursor: Option<String>,
    /// `filter=equals(name,"…")`.
    pub name: Option<String>,
}

impl Default for ListsQuery {
    fn default() -> Self {
        ListsQuery {
            page_size: MAX_LISTS_PAGE_SIZE,
            cursor: None,
            name: None,
        }
    }
}

impl Client {
    /// `POST /api/lists`. Not idempotent: on an ambiguous failure (timeout, connection lost,
    /// 503/504/524) it looks the list up by name before trying again, so it does not create
    /// duplicates. (Klaviyo allows duplicate names: an existing list with the same name is
    /// returned then.) Klaviyo allows 150 new lists a day per account.
    pub async fn create_list(&self, name: &str) -> Result<List, Error> {
        let req = Request::new(&spec::CREATE_LIST).body(create_list_body(name));
        let mut attempt = 1;
        loop {
            match self.send(&req).await {
                Ok(resp) => return Ok(decode::<ListDoc>(&resp)?.data.into()),
                Err(e) if attempt < self.inner.retry.max_attempts && is_ambiguous(&e) => {
                    tracing::warn!(
                        code = e.code(),
                        attempt,
                        "create_list failed ambiguously; looking the list up before retrying"
                    );
                    self.sleep(self.inner.retry.backoff(attempt)).await?;
                    if let Some(list) = self.find_list_by_name(name).await? {
                        return Ok(list);
                    }
                    self.stats.update(|s| s.retries += 1);
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `GET /api/lists?filter=equals(name,"…")`: the first list with exactly this name.
    pub async fn find_list_by_name(&self, name: &str) -> Result<Option<List>, Error> {
        let page = self
            .get_lists_with(&ListsQuery {
                name: Some(name.to_owned()),
                ..Default::default()
            })
            .await?;
        Ok(page.lists.into_iter().find(|l| l.name == name))
    }

    /// `GET /api/lists`: one page of 10 lists; pass the previous page's `next_cursor` for the
    /// next one.
    pub async fn get_lists(&self, cursor: Option<&str>) -> Result<ListsPage, Error> {
        self.get_lists_with(&ListsQuery {
            cursor: cursor.map(str::to_owned),
            ..Default::default()
        })
        .await
    }

    /// `GET /api/lists` with a page size, cursor and name filter (`fields[list]=name`).
    pub async fn get_lists_with(&self, q: &ListsQuery) -> Result<ListsPage, Error> {
        let mut req = Request::new(&spec::GET_LISTS);
        if let Some(n) = &q.name {
            req = req.query("filter", format!("equals(name,{})", quoted(n)));
        }
        let req = req
            .query("fields[list]", "name")
            .query(
                "page[size]",
                q.page_size.clamp(1, MAX_LISTS_PAGE_SIZE).to_string(),
            )
            .cursor(q.cursor.as_deref());
        let body = self.send(&req).await?;
        let doc: ListsDoc = decode(&body)?;
        Ok(ListsPage {
            lists: doc.data.into_iter().map(List::from).collect(),
            next_cursor: next_cursor(&doc.links),
        })
    }

    /// `GET /api/lists/{id}`.
    pub async fn get_list(&self, id: &str) -> Result<List, Error> {
        let body = self.send(&Request::with_id(&spec::GET_LIST, id)).await?;
        Ok(decode::<ListDoc>(&body)?.data.into())
    }

    /// `GET /api/lists/{id}/relationships/profiles`: ids of the list's members, 100 a page
    /// (a 1M-member list is 10,000 pages, ≈ 14 min at 750/min: avoid for big lists).
    pub async fn get_list_profile_ids(
        &self,
        list_id: &str,
        cursor: Option<&str>,
    ) -> Result<Page<String>, Error> {
        self.get_ids_page(&spec::GET_PROFILE_IDS_FOR_LIST, list_id, cursor)
            .await
    }

    /// `DELETE /api/lists/{id}/relationships/profiles`: removes the profiles from the list
    /// (not their consent). Sent in requests of [`MAX_PROFILES_PER_REMOVE`] ids; idempotent,
    /// so retried like a GET.
    pub async fn remove_profiles_from_list(
        &self,
        list_id: &str,
        profile_ids: &[String],
    ) -> Result<(), Error> {
        for chunk in profile_ids.chunks(MAX_PROFILES_PER_REMOVE) {
            let req = Request::with_id(&spec::REMOVE_PROFILES_FROM_LIST, list_id)
                .body(remove_profiles_body(chunk));
            self.send(&req).await?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct ListDoc {
    data: ListRes,
}

#[derive(Deserialize)]
struct ListsDoc {
    data: Vec<ListRes>,
    #[serde(default)]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct ListRes {
    id: String,
    #[serde(default)]
    attributes: Option<ListAttrs>,
}

#[derive(Deserialize)]
struct ListAttrs {
    #[serde(default)]
    name: Option<String>,
}

impl From<ListRes> for List {
    fn from(r: ListRes) -> Self {
        List {
            id: r.id,
            name: r.attributes.and_then(|a| a.name).unwrap_or_default(),
        }
    }
}
