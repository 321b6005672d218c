//! Typed ids: a grant's and a batch's. Parsed once from the command line or a record, so no
//! code downstream matches prefixes on strings.

use crate::input::InputError;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A grant id: `YYYYMMDD-` and six characters from `[a-z0-9]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GrantId(String);

impl GrantId {
    pub fn generate(now: OffsetDateTime) -> Self {
        let date = now.date();
        GrantId(format!(
            "{:04}{:02}{:02}-{}",
            date.year(),
            u8::from(date.month()),
            date.day(),
            crate::secret::random_lower_alnum(6)
        ))
    }

    pub fn parse(value: &str) -> Result<Self, InputError> {
        let ok = value.len() == 15
            && value.as_bytes()[8] == b'-'
            && value[..8].bytes().all(|b| b.is_ascii_digit())
            && value[9..]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if ok {
            Ok(GrantId(value.to_owned()))
        } else {
            Err(InputError::new(
                "grant",
                value,
                "a grant id like 20261123-k3m9qz (see `handover list`)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GrantId {
    type Error = InputError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        GrantId::parse(&value)
    }
}

impl From<GrantId> for String {
    fn from(value: GrantId) -> Self {
        value.0
    }
}

impl std::fmt::Display for GrantId {
    // `pad`, not `write_str`: honours width and alignment (`handover list` columns).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.0)
    }
}

/// A batch id: `b-YYYYMMDD-` and six characters from `[a-z0-9]` (never a grant id).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BatchId(String);

impl BatchId {
    pub fn generate(now: OffsetDateTime) -> Self {
        BatchId(format!("b-{}", GrantId::generate(now)))
    }

    pub fn parse(value: &str) -> Result<Self, InputError> {
        match value.strip_prefix("b-").map(GrantId::parse) {
            Some(Ok(_)) => Ok(BatchId(value.to_owned())),
            _ => Err(InputError::new(
                "batch",
                value,
                "a batch id like b-20261123-k3m9qz",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BatchId {
    type Error = InputError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        BatchId::parse(&value)
    }
}

impl From<BatchId> for String {
    fn from(value: BatchId) -> Self {
        value.0
    }
}

impl std::fmt::Display for BatchId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What `teardown ID` names: one grant, or every grant of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantOrBatch {
    Grant(GrantId),
    Batch(BatchId),
}

impl GrantOrBatch {
    /// A batch id (`b-…`) or a grant id; the error names what either looks like.
    pub fn parse(value: &str) -> Result<Self, InputError> {
        if value.starts_with("b-") {
            BatchId::parse(value).map(GrantOrBatch::Batch)
        } else {
            GrantId::parse(value).map(GrantOrBatch::Grant)
        }
    }
}
