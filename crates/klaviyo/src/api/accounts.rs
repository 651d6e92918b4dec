//! `GET /api/accounts`: the account a key belongs to.

use serde::Deserialize;

use crate::jsonapi::decode;
use crate::transport::Request;
use crate::{spec, Client, Error};

/// The account a key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    /// `contact_information.organization_name`.
    pub name: String,
}

impl Client {
    /// `GET /api/accounts`: verifies the key and gives the account's name.
    pub async fn get_account(&self) -> Result<Account, Error> {
        self.get_accounts()
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Decode("no account in the answer".to_owned()))
    }

    /// `GET /api/accounts` (a private key sees exactly one account).
    pub async fn get_accounts(&self) -> Result<Vec<Account>, Error> {
        #[derive(Deserialize)]
        struct Doc {
            data: Vec<Res>,
        }
        #[derive(Deserialize)]
        struct Res {
            id: String,
            attributes: Attrs,
        }
        #[derive(Deserialize)]
        struct Attrs {
            contact_information: Contact,
        }
        #[derive(Deserialize)]
        struct Contact {
            #[serde(default)]
            organization_name: Option<String>,
        }
        let body = self.send(&Request::new(&spec::GET_ACCOUNTS)).await?;
        let doc: Doc = decode(&body)?;
        Ok(doc
            .data
            .into_iter()
            .map(|res| Account {
                id: res.id,
                name: res
                    .attributes
                    .contact_information
                    .organization_name
                    .unwrap_or_default(),
            })
            .collect())
    }
}
