//! Bulk profile import jobs: `POST|GET /api/profile-bulk-import-jobs`, one job, its import
//! errors and its profiles' ids; [`Client::poll_jobs`] reads many jobs with few requests.

use serde::Deserialize;

use super::paged;
use crate::jsonapi::{bulk_import_body, decode, next_cursor, quoted, Links, Page};
use crate::transport::Request;
use crate::{spec, Client, Error, MAX_PAGE_SIZE};

/// Status of a bulk profile import job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Processing,
    Complete,
    Cancelled,
    Other(String),
}

impl JobStatus {
    /// The API's name of the status (`queued`, `processing`, …).
    pub fn as_str(&self) -> &str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Processing => "processing",
            JobStatus::Complete => "complete",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Other(s) => s,
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "queued" => JobStatus::Queued,
            "processing" => JobStatus::Processing,
            "complete" => JobStatus::Complete,
            "cancelled" => JobStatus::Cancelled,
            other => JobStatus::Other(other.to_owned()),
        }
    }
}

/// A bulk profile import job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub status: JobStatus,
    pub total_count: u64,
    pub completed_count: u64,
    pub failed_count: u64,
}

impl Job {
    /// `complete` or `cancelled`: the job will not change any more.
    pub fn is_finished(&self) -> bool {
        matches!(self.status, JobStatus::Complete | JobStatus::Cancelled)
    }
}

/// `GET /api/profile-bulk-import-jobs` options. Always sorted newest first (`-created_at`)
/// with only the fields [`Job`] has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobsQuery {
    /// 1..=100 ([`MAX_PAGE_SIZE`]).
    pub page_size: u32,
    pub cursor: Option<String>,
    /// `filter=any(status,[…])`; empty = every status.
    pub statuses: Vec<JobStatus>,
}

impl Default for JobsQuery {
    fn default() -> Self {
        JobsQuery {
            page_size: MAX_PAGE_SIZE,
            cursor: None,
            statuses: Vec::new(),
        }
    }
}

/// A row of a bulk import job that failed in processing (`import-errors`).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportError {
    pub id: String,
    pub code: String,
    pub title: String,
    pub detail: String,
    /// e.g. `/data/attributes/profiles/data/3/attributes/email` (row 3 of the job's request).
    pub pointer: Option<String>,
    /// The profile as it was sent.
    pub original_payload: Option<serde_json::Value>,
}

impl Client {
    /// `POST /api/profile-bulk-import-jobs`: upserts `profiles` and adds them to the list.
    /// Each element of `profiles` is one serialized profile resource
    /// (`{"type":"profile","attributes":{…}}`); the body is [`bulk_import_body`].
    /// An idempotent upsert, so it is retried like a GET.
    pub async fn bulk_import(&self, list_id: &str, profiles: &[String]) -> Result<Job, Error> {
        let req = Request::new(&spec::BULK_IMPORT_PROFILES)
            .body(bulk_import_body(list_id, profiles))
            .idempotent(true);
        let resp = self.send(&req).await?;
        Ok(decode::<JobDoc>(&resp)?.data.into())
    }

    /// `GET /api/profile-bulk-import-jobs/{id}`.
    pub async fn get_bulk_import_job(&self, job_id: &str) -> Result<Job, Error> {
        let req = Request::with_id(&spec::GET_BULK_IMPORT_PROFILES_JOB, job_id);
        let body = self.send(&req).await?;
        Ok(decode::<JobDoc>(&body)?.data.into())
    }

    /// `GET /api/profile-bulk-import-jobs`: a page of the account's jobs, newest first, with
    /// sparse fields — one request shows up to 100 jobs.
    pub async fn get_bulk_import_jobs(&self, q: &JobsQuery) -> Result<Page<Job>, Error> {
        let mut req = Request::new(&spec::GET_BULK_IMPORT_PROFILES_JOBS)
            .query(
                "fields[profile-bulk-import-job]",
                "status,total_count,completed_count,failed_count",
            )
            .query(
                "page[size]",
                q.page_size.clamp(1, MAX_PAGE_SIZE).to_string(),
            )
            .query("sort", "-created_at");
        if !q.statuses.is_empty() {
            let values: Vec<String> = q.statuses.iter().map(|s| quoted(s.as_str())).collect();
            req = req.query("filter", format!("any(status,[{}])", values.join(",")));
        }
        let body = self.send(&req.cursor(q.cursor.as_deref())).await?;
        let doc: JobsDoc = decode(&body)?;
        Ok(Page {
            items: doc.data.into_iter().map(Job::from).collect(),
            next_cursor: next_cursor(&doc.links),
        })
    }

    /// The current state of many jobs with as few requests as possible: pages through
    /// [`Client::get_bulk_import_jobs`] (100 a page, newest first) until every id in `ids` has
    /// been seen or the pages run out (at most `10 + ids.len() / 100` pages). Jobs not found
    /// (expired, or buried under many newer jobs) are absent from the answer: ask
    /// [`Client::get_bulk_import_job`] for those.
    pub async fn poll_jobs(&self, ids: &[String]) -> Result<Vec<Job>, Error> {
        let mut wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
        let mut found = Vec::new();
        let mut q = JobsQuery::default();
        for _ in 0..(10 + ids.len() / 100) {
            if wanted.is_empty() {
                break;
            }
            let page = self.get_bulk_import_jobs(&q).await?;
            for job in page.items {
                if wanted.remove(job.id.as_str()) {
                    found.push(job);
                }
            }
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
        Ok(found)
    }

    /// `GET /api/profile-bulk-import-jobs/{id}/import-errors`: rows that failed in processing,
    /// 100 a page, each with the profile as it was sent.
    pub async fn get_bulk_import_job_errors(
        &self,
        job_id: &str,
        cursor: Option<&str>,
    ) -> Result<Page<ImportError>, Error> {
        #[derive(Deserialize)]
        struct Doc {
            data: Vec<Res>,
            #[serde(default)]
            links: Option<Links>,
        }
        #[derive(Deserialize)]
        struct Res {
            id: String,
            attributes: Attrs,
        }
        #[derive(Deserialize)]
        struct Attrs {
            #[serde(default)]
            code: Option<String>,
            #[serde(default)]
            title: Option<String>,
            #[serde(default)]
            detail: Option<String>,
            #[serde(default)]
            source: Option<Source>,
            #[serde(default)]
            original_payload: Option<serde_json::Value>,
        }
        #[derive(Deserialize)]
        struct Source {
            #[serde(default)]
            pointer: Option<String>,
        }
        let req = paged(
            &spec::GET_ERRORS_FOR_BULK_IMPORT_PROFILES_JOB,
            job_id,
            cursor,
        );
        let body = self.send(&req).await?;
        let doc: Doc = decode(&body)?;
        Ok(Page {
            items: doc
                .data
                .into_iter()
                .map(|r| ImportError {
                    id: r.id,
                    code: r.attributes.code.unwrap_or_default(),
                    title: r.attributes.title.unwrap_or_default(),
                    detail: r.attributes.detail.unwrap_or_default(),
                    pointer: r.attributes.source.and_then(|s| s.pointer),
                    original_payload: r.attributes.original_payload.filter(|v| !v.is_null()),
                })
                .collect(),
            next_cursor: next_cursor(&doc.links),
        })
    }

    /// `GET /api/profile-bulk-import-jobs/{id}/relationships/profiles`: ids of the job's
    /// profiles, 100 a page.
    pub async fn get_bulk_import_job_profile_ids(
        &self,
        job_id: &str,
        cursor: Option<&str>,
    ) -> Result<Page<String>, Error> {
        self.get_ids_page(
            &spec::GET_PROFILE_IDS_FOR_BULK_IMPORT_PROFILES_JOB,
            job_id,
            cursor,
        )
        .await
    }
}

#[derive(Deserialize)]
struct JobDoc {
    data: JobRes,
}

#[derive(Deserialize)]
struct JobsDoc {
    data: Vec<JobRes>,
    #[serde(default)]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct JobRes {
    id: String,
    attributes: JobAttrs,
}

#[derive(Deserialize)]
struct JobAttrs {
    status: String,
    #[serde(default)]
    total_count: Option<u64>,
    #[serde(default)]
    completed_count: Option<u64>,
    #[serde(default)]
    failed_count: Option<u64>,
}

impl From<JobRes> for Job {
    fn from(r: JobRes) -> Self {
        Job {
            id: r.id,
            status: JobStatus::parse(&r.attributes.status),
            total_count: r.attributes.total_count.unwrap_or(0),
            completed_count: r.attributes.completed_count.unwrap_or(0),
            failed_count: r.attributes.failed_count.unwrap_or(0),
        }
    }
}
