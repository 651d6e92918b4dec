//! Profiles: `GET /api/profiles?filter=any(<identifier>,[…])`.

use serde::Deserialize;

use crate::jsonapi::{decode, next_cursor, quoted, Links, Page};
use crate::transport::Request;
use crate::{spec, Client, Error, MAX_FILTER_VALUES, MAX_PAGE_SIZE};

/// Which identifier [`Client::get_profiles`] filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identifier {
    Email,
    PhoneNumber,
    ExternalId,
}

impl Identifier {
    fn field(self) -> &'static str {
        match self {
            Identifier::Email => "email",
            Identifier::PhoneNumber => "phone_number",
            Identifier::ExternalId => "external_id",
        }
    }
}

/// A profile's id and identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRef {
    pub id: String,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub external_id: Option<String>,
}

impl Client {
    /// `GET /api/profiles?filter=any(<identifier>,[…])`: the profiles having one of `values`
    /// (at most [`MAX_FILTER_VALUES`] values), 100 a page, with their identifiers.
    /// [`Client::find_profiles`] splits and pages for you.
    pub async fn get_profiles(
        &self,
        by: Identifier,
        values: &[String],
        cursor: Option<&str>,
    ) -> Result<Page<ProfileRef>, Error> {
        #[derive(Deserialize)]
        struct Doc {
            data: Vec<Res>,
            #[serde(default)]
            links: Option<Links>,
        }
        #[derive(Deserialize)]
        struct Res {
            id: String,
            #[serde(default)]
            attributes: Option<Attrs>,
        }
        #[derive(Deserialize, Default)]
        struct Attrs {
            #[serde(default)]
            email: Option<String>,
            #[serde(default)]
            phone_number: Option<String>,
            #[serde(default)]
            external_id: Option<String>,
        }
        let quoted: Vec<String> = values.iter().map(|v| quoted(v)).collect();
        let req = Request::new(&spec::GET_PROFILES)
            .query("fields[profile]", "email,phone_number,external_id")
            .query(
                "filter",
                format!("any({},[{}])", by.field(), quoted.join(",")),
            )
            .query("page[size]", MAX_PAGE_SIZE.to_string())
            .cursor(cursor);
        let body = self.send(&req).await?;
        let doc: Doc = decode(&body)?;
        Ok(Page {
            items: doc
                .data
                .into_iter()
                .map(|r| {
                    let a = r.attributes.unwrap_or_default();
                    ProfileRef {
                        id: r.id,
                        email: a.email,
                        phone_number: a.phone_number,
                        external_id: a.external_id,
                    }
                })
                .collect(),
            next_cursor: next_cursor(&doc.links),
        })
    }

    /// Every profile having one of `values`: [`Client::get_profiles`] in chunks of
    /// [`MAX_FILTER_VALUES`], following cursors.
    pub async fn find_profiles(
        &self,
        by: Identifier,
        values: &[String],
    ) -> Result<Vec<ProfileRef>, Error> {
        let mut out = Vec::new();
        for chunk in values.chunks(MAX_FILTER_VALUES) {
            let mut cursor: Option<String> = None;
            loop {
                let page = self.get_profiles(by, chunk, cursor.as_deref()).await?;
                out.extend(page.items);
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
        }
        Ok(out)
    }
}
