//! Batching: profiles into bulk import jobs within Klaviyo's per-job limits (at most
//! [`klaviyo::MAX_PROFILES_PER_JOB`] profiles and [`klaviyo::MAX_JOB_BYTES`] of body each).

use segport_klaviyo as klaviyo;

/// A batch of serialized profiles with the source line, email and content hash of each.
pub(super) struct Batch {
    pub(super) index: u64,
    pub(super) lines: Vec<u64>,
    pub(super) emails: Vec<String>,
    pub(super) hashes: Vec<u64>,
    /// [`super::identities::phone_key`] of each profile's phone (0 = none).
    pub(super) phones: Vec<u64>,
    pub(super) profiles: Vec<String>,
}

impl Batch {
    fn empty(index: u64) -> Batch {
        Batch {
            index,
            lines: vec![],
            emails: vec![],
            hashes: vec![],
            phones: vec![],
            profiles: vec![],
        }
    }
}

/// Accumulates profiles into batches that respect Klaviyo's per-job limits.
pub struct Batcher {
    max_profiles: usize,
    max_bytes: usize,
    envelope: usize,
    bytes: usize,
    next_index: u64,
    current: Batch,
}

impl Batcher {
    pub fn new(list_id: &str, first_index: u64) -> Self {
        Self::with_limits(
            list_id,
            klaviyo::MAX_PROFILES_PER_JOB,
            klaviyo::MAX_JOB_BYTES,
            first_index,
        )
    }

    pub fn with_limits(
        list_id: &str,
        max_profiles: usize,
        max_bytes: usize,
        first_index: u64,
    ) -> Self {
        let envelope = klaviyo::bulk_import_envelope_len(list_id);
        Batcher {
            max_profiles,
            max_bytes,
            envelope,
            bytes: envelope,
            next_index: first_index,
            current: Batch::empty(first_index),
        }
    }

    /// Add a profile; returns the full batch when this one would not fit in it.
    pub(super) fn push(
        &mut self,
        line: u64,
        email: String,
        hash: u64,
        phone: u64,
        profile: String,
    ) -> Option<Batch> {
        let b = &self.current;
        let comma = usize::from(!b.profiles.is_empty());
        let full = b.profiles.len() >= self.max_profiles
            || self.bytes + comma + profile.len() > self.max_bytes;
        let out = if full { self.take() } else { None };
        let comma = usize::from(!self.current.profiles.is_empty());
        self.bytes += comma + profile.len();
        let b = &mut self.current;
        b.lines.push(line);
        b.emails.push(email);
        b.hashes.push(hash);
        b.phones.push(phone);
        b.profiles.push(profile);
        out
    }

    /// The batch being built, if it holds any profile; the next one gets the next index.
    pub(super) fn take(&mut self) -> Option<Batch> {
        if self.current.profiles.is_empty() {
            return None;
        }
        self.next_index += 1;
        let next = Batch::empty(self.next_index);
        self.bytes = self.envelope;
        Some(std::mem::replace(&mut self.current, next))
    }

    /// Body length of the batch being built, as it would be sent.
    pub fn body_len(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batcher_respects_profile_and_byte_limits() {
        let mut b = Batcher::with_limits("LIST01", 3, 10_000, 0);
        let mut out = vec![];
        for i in 0..7 {
            if let Some(batch) = b.push(i, "e".into(), 0, 0, format!("{{\"n\":{i}}}")) {
                out.push((batch.index, batch.profiles.len()));
            }
        }
        let last = b.take().unwrap();
        out.push((last.index, last.profiles.len()));
        assert_eq!(out, vec![(0, 3), (1, 3), (2, 1)]);

        let envelope = klaviyo::bulk_import_envelope_len("LIST01");
        let profile = "x".repeat(100);
        let mut b = Batcher::with_limits("LIST01", 10_000, envelope + 250, 5);
        assert!(b.push(1, "e".into(), 0, 0, profile.clone()).is_none());
        assert!(b.push(2, "e".into(), 0, 0, profile.clone()).is_none());
        assert_eq!(b.body_len(), envelope + 201);
        let full = b.push(3, "e".into(), 0, 0, profile).unwrap();
        assert_eq!(full.profiles.len(), 2);
        assert_eq!(full.lines, vec![1, 2]);
        assert_eq!(full.index, 5);
    }
}

#[cfg(test)]
mod batcher_props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the profile sizes, no batch goes over the profile or byte limit, every
        /// profile lands in exactly one batch, in order, and indexes count up from the first.
        #[test]
        fn batches_never_exceed_the_limits(
            sizes in proptest::collection::vec(1usize..5_000, 0..400),
            max_profiles in 1usize..50,
            extra_bytes in 0usize..40_000,
        ) {
            let envelope = klaviyo::bulk_import_envelope_len("AbC123");
            let max_bytes = envelope + 5_000 + extra_bytes;
            let mut b = Batcher::with_limits("AbC123", max_profiles, max_bytes, 7);
            let mut batches = vec![];
            for (i, n) in sizes.iter().enumerate() {
                if let Some(full) = b.push(i as u64, String::new(), 0, 0, "x".repeat(*n)) {
                    batches.push(full);
                }
            }
            batches.extend(b.take());
            let mut next_line = 0;
            for (k, batch) in batches.iter().enumerate() {
                prop_assert_eq!(batch.index, 7 + k as u64);
                prop_assert!(!batch.profiles.is_empty());
                prop_assert!(batch.profiles.len() <= max_profiles);
                let body: usize = envelope
                    + batch.profiles.iter().map(String::len).sum::<usize>()
                    + batch.profiles.len() - 1;
                prop_assert!(body <= max_bytes, "body {} > {}", body, max_bytes);
                prop_assert_eq!(klaviyo::bulk_import_body("AbC123", &batch.profiles).len(), body);
                for line in &batch.lines {
                    prop_assert_eq!(*line, next_line);
                    next_line += 1;
                }
            }
            prop_assert_eq!(next_line as usize, sizes.len());
        }
    }
}
