//! The site: a CMS installation found in the scope, where its accounts, plugins and settings
//! live. WordPress first; other CMSs (Composr, Joomla, Drupal) are named as not supported yet.
//!
//! Everything handover does inside a site goes through the CMS's own code, run on the host by
//! the script of the phase: WordPress's PHP API (`wordpress.php`, loading the site's
//! `wp-load.php`), as the owner of the site's files and never as root (`site.sh`).

use crate::secret::Secret;
use crate::shell::{HereDoc, Script};

/// The shell helpers (`hv_wp`, `hv_wp_owner`).
pub const LIB: &str = include_str!("site.sh");

/// The PHP program `hv_wp` runs (fed on its stdin).
const WORDPRESS_PHP: &str = include_str!("wordpress.php");

/// What shows that a directory holds a WordPress site.
pub const WORDPRESS_FILES: [&str; 2] = ["wp-load.php", "wp-config.php"];

/// The CMSs handover knows by a file in their directory but cannot work in yet.
pub const NOT_YET: &[(&str, &str)] = &[
    ("_config.php", "Composr"),
    ("configuration.php", "Joomla"),
    ("sites/default/settings.php", "Drupal"),
];

/// A WordPress installation: its directory (the scope) and, on a multisite network, the
/// address of the one site meant (empty: a single site, or the network's main site).
#[derive(Clone, Copy, Debug)]
pub struct Site<'a> {
    pub dir: &'a str,
    pub url: &'a str,
}

impl<'a> Site<'a> {
    /// The single site (or the network's main site) in `dir`.
    pub fn main(dir: &'a str) -> Site<'a> {
        Site { dir, url: "" }
    }
}

/// Script text: `hv_o=$(hv_wp DIR URL COMMAND ARGS…)` then `hv_rc` its status, the PHP program
/// on stdin and `secret` (if any) on fd 3, redacted from the log. `$hv_o` holds the
/// `hv KEY VALUE` lines, or the error.
pub fn wordpress(
    s: &mut Script,
    site: Site,
    command: &str,
    args: [&str; 4],
    secret: Option<&Secret>,
) {
    let mut docs = vec![HereDoc::stdin(WORDPRESS_PHP)];
    docs.extend(secret.map(|secret| HereDoc::secret(3, secret)));
    let [a, b, c, d] = args;
    s.feed(
        "hv_o=$(hv_wp {} {} {} {} {} {} {} 2>&1",
        &[site.dir, site.url, command, a, b, c, d],
        &docs,
        ") && hv_rc=0 || hv_rc=$?",
    );
}

/// [`wordpress`] at preflight, when `dir` holds a WordPress and `php` is there (checks name
/// what is missing); otherwise `$hv_rc` 1 and `$hv_o` saying it did not run.
pub fn wordpress_if_present(s: &mut Script, site: Site, command: &str, args: [&str; 4]) {
    let [load, config] = WORDPRESS_FILES.map(|f| format!("{}/{f}", site.dir));
    s.cmd(
        "hv_o='not run: no WordPress or no php'; hv_rc=1; if [ -f {} ] && [ -f {} ] && command -v php >/dev/null 2>&1; then",
        &[&load, &config],
    );
    wordpress(s, site, command, args, None);
    s.raw("fi");
}

/// Script text: after [`wordpress`] in a step that must not go on, its error on stderr and
/// exit 1 when it failed.
pub fn fail_unless_answered(s: &mut Script) {
    s.raw("if [ \"$hv_rc\" -ne 0 ]; then printf '%s\\n' \"$hv_o\" >&2; exit 1; fi");
}

/// Like [`wordpress`] with one argument, fd 3 read from the host's file `secret_file` (a
/// root-only copy the expiry guard restores from: its script holds no secret itself).
pub fn wordpress_from_file(
    s: &mut Script,
    site: Site,
    command: &str,
    arg: &str,
    secret_file: &str,
) {
    s.feed(
        "hv_o=$(hv_wp {} {} {} {} '' '' '' 3<{} 2>&1",
        &[site.dir, site.url, command, arg, secret_file],
        &[HereDoc::stdin(WORDPRESS_PHP)],
        ") && hv_rc=0 || hv_rc=$?",
    );
}

/// Script text: `$hv_v` set to the value of `hv KEY …` in `$hv_o` (empty when there is none).
pub fn value(s: &mut Script, key: &'static str) {
    s.cmd(
        "hv_v=$(printf '%s\\n' \"$hv_o\" | sed -n {} | head -n 1)",
        &[&format!("s/^hv {key} //p")],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_php_program_never_holds_a_here_document_delimiter() {
        assert!(!WORDPRESS_PHP.lines().any(|l| l.starts_with("HANDOVER_DOC")));
    }

    #[test]
    fn a_password_goes_on_fd_3_and_stays_out_of_the_log() {
        let secret = Secret::new("pa55word-xyz".to_owned());
        let mut s = Script::new();
        wordpress(
            &mut s,
            Site::main("/var/www/wp"),
            "create",
            ["a", "b", "c", ""],
            Some(&secret),
        );
        assert!(s.text().contains("pa55word-xyz"));
        assert!(s.text().contains(" 3<<'HANDOVER_DOC_3'"));
        assert!(!s.log_text().contains("pa55word-xyz"));
    }
}
