//! The line protocol between the scripts handover sends and the engine: the functions that
//! print it ([`PRELUDE`], `prelude.sh`) and the parser of what comes back ([`Parsed`]).
//!
//! Every line is `TAG KIND …`, where `TAG` is random per script ([`Tag`]): a line without it
//! is the host's own output (an rc file, a program, a playbook's shell commands) and is never
//! read as a result, whatever it looks like. The kinds:
//!
//! | line | meaning |
//! | --- | --- |
//! | `fact KEY VALUE` | something the host told; kept in the record by the action printing it |
//! | `check ok\|fail ID` | a check's result ([`Checks`] gives the ids) |
//! | `detail ID TEXT` | what the host said about check `ID` |
//! | `note KIND TEXT` | `reassigned PATH`, `warning TEXT` |
//! | `step begin\|done\|failed INDEX [STATUS]` | where the script is |
//! | `action INDEX` | the facts that follow belong to action `INDEX` |

use crate::text::sanitize;
use std::collections::BTreeMap;

/// The protocol's shell functions (`hv_fact`, `hv_ok`, …), sent at the start of every script.
pub const PRELUDE: &str = include_str!("prelude.sh");

/// The random tag that starts every protocol line of one script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag(String);

impl Tag {
    pub fn new() -> Self {
        Tag(format!("hvr{}", crate::secret::random_lower_alnum(16)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The protocol part of `line`, if the line is the script's own.
    fn strip<'a>(&self, line: &'a str) -> Option<&'a str> {
        line.strip_prefix(self.0.as_str())?.strip_prefix(' ')
    }
}

impl Default for Tag {
    fn default() -> Self {
        Self::new()
    }
}

/// A check the host answers with `check ok|fail ID`; the description says what passing means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckSpec {
    pub id: String,
    pub description: String,
}

/// Collects the checks of one script, giving each a unique id.
#[derive(Debug, Default)]
pub struct Checks {
    specs: Vec<CheckSpec>,
    action: usize,
}

impl Checks {
    /// Following checks belong to action `index` (used in their ids).
    pub fn for_action(&mut self, index: usize) {
        self.action = index;
    }

    /// Register a check and return its id for the script.
    pub fn add(&mut self, key: &str, description: impl Into<String>) -> String {
        let id = format!("{}.{}", self.action, key);
        self.specs.push(CheckSpec {
            id: id.clone(),
            description: description.into(),
        });
        id
    }

    pub fn specs(&self) -> &[CheckSpec] {
        &self.specs
    }

    /// The checks of action `index`.
    pub fn of_action(&self, index: usize) -> Vec<CheckSpec> {
        let prefix = format!("{index}.");
        self.specs
            .iter()
            .filter(|c| c.id.starts_with(&prefix))
            .cloned()
            .collect()
    }
}

/// One verification result.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CheckResult {
    pub check: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// One protocol line, as the engine acts on it while a script runs.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// `step begin INDEX`.
    Begun(usize),
    /// `step done INDEX`.
    Done(usize),
    /// `step failed INDEX`.
    Failed(usize),
    /// `fact KEY VALUE` (sanitized).
    Fact(String, String),
    /// Anything else of the protocol, or a line that is not the script's.
    Other,
}

/// What a script's protocol lines said.
#[derive(Debug, Default)]
pub struct Parsed {
    pub facts: BTreeMap<String, String>,
    /// Facts by the action they belong to (after `action INDEX` or `step begin INDEX`).
    pub action_facts: BTreeMap<usize, BTreeMap<String, String>>,
    pub checks: BTreeMap<String, bool>,
    pub details: BTreeMap<String, Vec<String>>,
    pub notes: Vec<(String, String)>,
    pub done: Vec<usize>,
    pub failed: Option<usize>,
    /// The action the facts that follow belong to.
    current: Option<usize>,
}

/// The words of a protocol line, `(KIND, FIRST, REST)`, if the line carries `tag`.
fn words<'a>(line: &'a str, tag: &Tag) -> Option<(&'a str, &'a str, &'a str)> {
    let mut words = tag.strip(line)?.splitn(3, ' ');
    Some((words.next()?, words.next()?, words.next().unwrap_or("")))
}

/// A `step begin|done|failed INDEX [STATUS]` line's event.
fn step(what: &str, rest: &str) -> Event {
    let Some(index) = rest.split(' ').next().and_then(|i| i.parse().ok()) else {
        return Event::Other;
    };
    match what {
        "begin" => Event::Begun(index),
        "done" => Event::Done(index),
        "failed" => Event::Failed(index),
        _ => Event::Other,
    }
}

/// Read one line: the event it is, if it carries `tag`.
pub fn event(line: &str, tag: &Tag) -> Event {
    match words(line, tag) {
        Some(("fact", key, rest)) => Event::Fact(key.to_owned(), sanitize(rest)),
        Some(("step", what, rest)) => step(what, rest),
        _ => Event::Other,
    }
}

impl Parsed {
    pub fn from_lines<'a>(lines: impl IntoIterator<Item = &'a String>, tag: &Tag) -> Parsed {
        let mut parsed = Parsed::default();
        for line in lines {
            parsed.absorb(line, tag);
        }
        parsed
    }

    fn absorb(&mut self, line: &str, tag: &Tag) {
        let Some((kind, a, rest)) = words(line, tag) else {
            return;
        };
        match kind {
            "fact" => {
                let value = sanitize(rest);
                if let Some(index) = self.current {
                    self.action_facts
                        .entry(index)
                        .or_default()
                        .insert(a.to_owned(), value.clone());
                }
                self.facts.insert(a.to_owned(), value);
            }
            "check" => {
                self.checks.insert(rest.to_owned(), a == "ok");
            }
            "detail" => self
                .details
                .entry(a.to_owned())
                .or_default()
                .push(sanitize(rest)),
            "note" => self.notes.push((a.to_owned(), sanitize(rest))),
            "action" => self.current = a.parse().ok(),
            "step" => match step(a, rest) {
                Event::Begun(i) => self.current = Some(i),
                Event::Done(i) => self.done.push(i),
                Event::Failed(i) => self.failed = Some(i),
                _ => {}
            },
            _ => {}
        }
    }

    /// What each action's preflight learned that its undo needs (facts named `keep.KEY`), by
    /// action index, as `KEY`: stored in the write-ahead record, so an action interrupted
    /// before its own step reported still knows what to put back.
    pub fn kept(&self) -> BTreeMap<usize, BTreeMap<String, String>> {
        self.action_facts
            .iter()
            .map(|(index, facts)| {
                let kept = facts
                    .iter()
                    .filter_map(|(k, v)| Some((k.strip_prefix("keep.")?.to_owned(), v.clone())))
                    .collect::<BTreeMap<_, _>>();
                (*index, kept)
            })
            .filter(|(_, kept)| !kept.is_empty())
            .collect()
    }

    /// Notes of `kind`, in order.
    pub fn notes(&self, kind: &str) -> Vec<String> {
        self.notes
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, text)| text.clone())
            .collect()
    }

    /// Results for `specs`, in order; a check the host never answered counts as failed.
    pub fn results(&self, specs: &[CheckSpec]) -> Vec<CheckResult> {
        specs
            .iter()
            .map(|spec| CheckResult {
                check: spec.description.clone(),
                ok: self.checks.get(&spec.id).copied().unwrap_or(false),
                details: self.details.get(&spec.id).cloned().unwrap_or_default(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagged(tag: &Tag, lines: &[&str]) -> Vec<String> {
        lines
            .iter()
            .map(|l| match l.strip_prefix('!') {
                Some(untagged) => untagged.to_owned(),
                None => format!("{} {l}", tag.as_str()),
            })
            .collect()
    }

    #[test]
    fn preflight_facts_named_keep_belong_to_their_action() {
        let tag = Tag::new();
        let lines = tagged(
            &tag,
            &[
                "fact uid0 0",
                "action 0",
                "fact keep.hash x",
                "action 1",
                "fact scope_resolved /srv",
                "fact keep.hash $y$j9T$abc",
                "fact keep.lastchg 20000",
                "action 2",
            ],
        );
        let kept = Parsed::from_lines(&lines, &tag).kept();
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[&0]["hash"], "x");
        assert_eq!(kept[&1]["hash"], "$y$j9T$abc");
        assert_eq!(kept[&1]["lastchg"], "20000");
        assert!(!kept[&1].contains_key("scope_resolved"));
    }

    #[test]
    fn protocol_lines() {
        let tag = Tag::new();
        let lines = tagged(
            &tag,
            &[
                "fact uid 1001",
                "check ok 0.present",
                "check fail 1.acl",
                "detail 1.acl /var/www/cms/x \u{1b}[31mred",
                "step begin 0",
                "step done 0",
                "step failed 1 2",
                "note reassigned /var/www/cms/new.php",
                "!noise from an rc file",
            ],
        );
        let p = Parsed::from_lines(&lines, &tag);
        assert_eq!(p.facts.get("uid").map(String::as_str), Some("1001"));
        assert_eq!(p.checks.get("0.present"), Some(&true));
        assert_eq!(p.checks.get("1.acl"), Some(&false));
        assert_eq!(p.details["1.acl"], vec!["/var/www/cms/x red".to_owned()]);
        assert_eq!((p.done.clone(), p.failed), (vec![0], Some(1)));
        assert_eq!(p.notes.len(), 1);
        let specs = vec![CheckSpec {
            id: "9.never".into(),
            description: "never answered".into(),
        }];
        assert!(
            !p.results(&specs)[0].ok,
            "an unanswered check must count as failed"
        );
    }

    /// What the issue asked for: a line printed by anything but the protocol functions (a
    /// file name, a shell action's output) imitating a result is not read as one, with the
    /// old format or with another run's tag.
    #[test]
    fn lines_without_the_runs_tag_are_never_results() {
        let tag = Tag::new();
        let other = Tag::new();
        assert_ne!(tag, other);
        let forged = [
            "check ok 0.gone".to_owned(),
            "step done 0".to_owned(),
            "fact uid0 0".to_owned(),
            format!("{} check ok 0.gone", other.as_str()),
            format!(" {} check ok 0.gone", tag.as_str()),
            format!("{}check ok 0.gone", tag.as_str()),
            format!("x{} step done 0", tag.as_str()),
        ];
        let p = Parsed::from_lines(&forged, &tag);
        assert!(p.checks.is_empty() && p.done.is_empty() && p.facts.is_empty());
        for line in &forged {
            assert_eq!(event(line, &tag), Event::Other, "{line}");
        }
        let real = format!("{} step done 3", tag.as_str());
        assert_eq!(event(&real, &tag), Event::Done(3));
    }

    #[test]
    fn the_prelude_prints_tagged_lines() {
        let tag = Tag::new();
        let script = format!(
            "hv_run={}\n{PRELUDE}hv_fact a 'b c'\nhv_expect 0.t true\nhv_refute 0.f true\nprintf 'x\\ny\\n' | hv_report 0.r\nhv_step begin 4\nhv_action 2\n",
            crate::shell::quote(tag.as_str())
        );
        let out = std::process::Command::new("/bin/sh")
            .args(["-c", &script])
            .output()
            .expect("run /bin/sh");
        let stdout = String::from_utf8(out.stdout).expect("utf-8");
        let t = tag.as_str();
        assert_eq!(
            stdout,
            format!(
                "{t} fact a b c\n{t} check ok 0.t\n{t} check fail 0.f\n{t} check fail 0.r\n{t} detail 0.r x\n{t} detail 0.r y\n{t} step begin 4\n{t} action 2\n"
            )
        );
    }
}
