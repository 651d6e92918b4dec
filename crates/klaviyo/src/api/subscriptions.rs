//! Marketing consent: `POST /api/profile-subscription-bulk-create-jobs`.

use crate::jsonapi::{bulk_subscribe_body, Subscriber};
use crate::transport::Request;
use crate::{spec, Client, Error, MAX_PROFILES_PER_SUBSCRIBE};

impl Client {
    /// `POST /api/profile-subscription-bulk-create-jobs`: gives the subscribers email / SMS
    /// marketing consent (and adds them to `list_id` if given). The opt-in feature only:
    /// list membership is not consent. Sent in requests of [`MAX_PROFILES_PER_SUBSCRIBE`];
    /// subscribing twice has the same result, so it is retried like a GET.
    pub async fn bulk_subscribe(
        &self,
        list_id: Option<&str>,
        subscribers: &[Subscriber],
        custom_source: Option<&str>,
    ) -> Result<(), Error> {
        for chunk in subscribers.chunks(MAX_PROFILES_PER_SUBSCRIBE) {
            let req = Request::new(&spec::BULK_SUBSCRIBE_PROFILES)
                .body(bulk_subscribe_body(list_id, chunk, custom_source))
                .idempotent(true);
            self.send(&req).await?;
        }
        Ok(())
    }
}
