//! The scope as it is on the host now, in the manifest's terms: every entry with its kind,
//! mode, owner, size, the SHA-256 of regular files, link targets and ACLs, from one remote
//! execution (`listing.sh`) whose output is NUL-separated, so no file name can forge an entry.

use super::error::RestoreError;
use crate::shell::Script;
use crate::ssh::Session;
use crate::text::remote_stderr;
use std::collections::BTreeMap;

const LIB: &str = include_str!("listing.sh");

/// One entry on the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostEntry {
    /// As `find` printed it (`./…`), bytes as they are.
    pub name: Vec<u8>,
    /// `file`, `dir`, `symlink` or `other`.
    pub kind: &'static str,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    pub sha256: Option<super::Digest>,
    pub link: Option<String>,
    /// `getfacl` entries beyond the mode, default ones prefixed `default:`.
    pub acl: Vec<String>,
}

impl HostEntry {
    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// The whole scope.
#[derive(Debug, Default)]
pub struct Listing {
    pub entries: Vec<HostEntry>,
}

/// List `scope` on the host.
pub async fn list(session: &Session, scope: &str) -> Result<Listing, RestoreError> {
    let mut script = Script::new();
    script.raw(LIB);
    script.cmd("hv_listing {}", &[scope]);
    let mut bytes = Vec::new();
    let (output, _) = session
        .run_stream(&script, |data| {
            bytes.extend_from_slice(data);
            Ok(())
        })
        .await?;
    let host = session.target().host.clone();
    if output.exit_status != Some(0) {
        return Err(RestoreError::Remote {
            host,
            step: format!("listing {scope}"),
            status: output
                .exit_status
                .map_or_else(|| "no status".to_owned(), |s| s.to_string()),
            stderr: remote_stderr(&output.stderr),
        });
    }
    parse(&bytes).map_err(|why| RestoreError::Remote {
        host,
        step: format!("listing {scope}"),
        status: "0".to_owned(),
        stderr: format!(": the listing {why}"),
    })
}

/// The listing's output, as `listing.sh` describes it.
fn parse(bytes: &[u8]) -> Result<Listing, String> {
    let mut fields = bytes.split(|b| *b == 0);
    let mut next = || fields.next().ok_or_else(|| "ended early".to_owned());
    if next()? != b"entries" {
        return Err("does not start with its entries".to_owned());
    }
    let mut entries = Vec::new();
    loop {
        let head = next()?;
        if head == b"hashes" {
            break;
        }
        let head = String::from_utf8_lossy(head);
        let parts: Vec<&str> = head.split(' ').collect();
        let [kind, mode, uid, gid, size] = parts[..] else {
            return Err(format!("has a malformed entry `{head}`"));
        };
        let number = |s: &str, radix| {
            u64::from_str_radix(s, radix).map_err(|_| format!("has a malformed entry `{head}`"))
        };
        let name = next()?.to_vec();
        let link = next()?;
        let kind = match kind {
            "f" => "file",
            "d" => "dir",
            "l" => "symlink",
            _ => "other",
        };
        entries.push(HostEntry {
            name,
            kind,
            mode: u32::try_from(number(mode, 8)?).unwrap_or(u32::MAX),
            uid: number(uid, 10)?,
            gid: number(gid, 10)?,
            size: number(size, 10)?,
            sha256: None,
            link: (kind == "symlink").then(|| String::from_utf8_lossy(link).into_owned()),
            acl: Vec::new(),
        });
    }
    let mut hashes: BTreeMap<Vec<u8>, super::Digest> = BTreeMap::new();
    loop {
        let field = next()?;
        if field == b"acls" {
            break;
        }
        // `HASH  NAME`: the hash is 64 hex digits, then two spaces.
        if field.len() < 67 || &field[64..66] != b"  " {
            return Err("has a malformed hash".to_owned());
        }
        let hash = super::Digest::parse(&field[..64]).ok_or("has a malformed hash")?;
        hashes.insert(field[66..].to_vec(), hash);
    }
    let acls = parse_acls(next()?);
    if next()? != b"end" {
        return Err("ended early".to_owned());
    }
    for entry in &mut entries {
        // A file gone between the two passes has none: it reads as changed.
        if entry.kind == "file" {
            entry.sha256 = hashes.remove(&entry.name);
        }
        if let Some(acl) = acls.get(&entry.name) {
            entry.acl.clone_from(acl);
        }
    }
    Ok(Listing { entries })
}

/// `getfacl -s -p` output: the entries of each file that has an ACL beyond its mode.
fn parse_acls(text: &[u8]) -> BTreeMap<Vec<u8>, Vec<String>> {
    let mut acls: BTreeMap<Vec<u8>, Vec<String>> = BTreeMap::new();
    let mut current: Option<Vec<u8>> = None;
    for line in text.split(|b| *b == b'\n') {
        if let Some(name) = line.strip_prefix(b"# file: ") {
            let name = unescape(name);
            acls.entry(name.clone()).or_default();
            current = Some(name);
        } else if line.is_empty() {
            current = None;
        } else if !line.starts_with(b"#")
            && let Some(name) = &current
        {
            acls.entry(name.clone())
                .or_default()
                .extend(super::acl_lines(line, ""));
        }
    }
    acls
}

/// `getfacl`'s escaping undone: `\ooo` octal and `\\`.
fn unescape(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'\\' {
            if text.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
                continue;
            }
            if let Some(digits) = text.get(i + 1..i + 4)
                && digits.iter().all(|d| (b'0'..=b'7').contains(d))
            {
                let value = digits.iter().fold(0u32, |v, d| v * 8 + u32::from(d - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
                continue;
            }
        }
        out.push(text[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_newlines_and_spaces_stay_whole() {
        let mut out = b"entries\0".to_vec();
        out.extend_from_slice(b"d 755 0 0 4096\0.\0\0");
        out.extend_from_slice(b"f 644 33 33 3\0./a\nb c\0\0");
        out.extend_from_slice(b"l 777 0 0 1\0./-l\0./a\nb c\0");
        out.extend_from_slice(b"hashes\0");
        out.extend_from_slice(&[b'0'; 64]);
        out.extend_from_slice(b"  ./a\nb c\0acls\0");
        out.extend_from_slice(
            b"# file: ./a\\012b\\040c\n# owner: 33\nuser::rw-\nuser:bob:rw-\ngroup::r--\nmask::rw-\nother::r--\n\n",
        );
        out.extend_from_slice(b"\0end\0");
        let listing = parse(&out).expect("parses");
        assert_eq!(listing.entries.len(), 3);
        let file = &listing.entries[1];
        assert_eq!(file.name, b"./a\nb c");
        assert_eq!(file.mode, 0o644);
        assert!(file.sha256.is_some());
        assert_eq!(file.acl.len(), 5);
        assert_eq!(listing.entries[2].link.as_deref(), Some("./a\nb c"));
    }

    #[test]
    fn a_listing_cut_short_is_refused() {
        let out = b"entries\0d 755 0 0 4096\0.\0\0hashes\0acls\0".to_vec();
        assert!(parse(&out).is_err());
    }
}
