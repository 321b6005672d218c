//! A temporary WordPress administrator: a new user of the site in the scope with the
//! administrator role, named after the grant's account, with a random password and an email
//! address that cannot receive mail (`NAME@handover.invalid`, a reserved name). Made through
//! WordPress's own PHP API as the owner of the site's files, never as root (`crate::site`),
//! and marked with the grant's id (user meta `handover_grant`): teardown deletes only the user
//! this grant made. On a multisite network it is an administrator of the one site named
//! (`site`, its address), and a super admin of the whole network only when asked
//! (`super_admin`).
//!
//! Teardown ends its logins (its session tokens, which its cookies name) and deletes its
//! application passwords, then deletes it, handing everything it authored to an existing
//! administrator (`reassign`, or the earliest other one), so nothing the vendor wrote is lost;
//! then checks from the site that neither the user nor any of its meta is left. The host's
//! expiry guard runs the same at the grant's expiry.

use super::{Action, Checks, Context, Credentials, PlanError, Planning, Step};
use crate::secret::Secret;
use crate::shell::Script;
use crate::site;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WpAdmin {
    /// The site's directory (the scope), holding `wp-load.php` and `wp-config.php`.
    pub site: String,
    /// The WordPress user's login: the grant's account name.
    pub login: String,
    /// Who gets what it authored at teardown; empty: the earliest other administrator.
    #[serde(default)]
    pub reassign: String,
    /// On a multisite network, the address of the one site it administers (empty: a single
    /// site, or with `super_admin` the network's main site).
    #[serde(default)]
    pub network_site: String,
    /// On a multisite network, a super admin of every site (asked for explicitly).
    #[serde(default)]
    pub super_admin: bool,
    /// The site's login page, read at preflight, for the credentials.
    #[serde(default)]
    pub login_url: Option<String>,
}

/// A WordPress login as WordPress allows them: letters, digits, space, `_`, `.`, `-`, `@`.
pub fn valid_login(login: &str) -> bool {
    (1..=60).contains(&login.len())
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " _.-@".contains(c))
}

/// A site's address as `--param site` takes it: `http://` or `https://`, a host, a path; no
/// spaces or quotes.
pub fn valid_site_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    rest.is_some_and(|rest| {
        !rest.is_empty()
            && !rest.starts_with('/')
            && url.len() <= 255
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~:/[]%@".contains(c))
    })
}

impl WpAdmin {
    fn email(&self) -> String {
        format!("{}@handover.invalid", self.login)
    }

    /// Where its PHP runs.
    fn wp(&self) -> site::Site<'_> {
        site::Site {
            dir: &self.site,
            url: &self.network_site,
        }
    }

    /// `super` when it is a super admin, for the PHP program.
    fn rank(&self) -> &'static str {
        if self.super_admin { "super" } else { "" }
    }
}

impl Step for WpAdmin {
    fn footprint(
        &self,
        _grant: &crate::ids::GrantId,
        _facts: &std::collections::BTreeMap<String, String>,
        own: &mut crate::audit::Footprint,
    ) {
        own.wp_user(&self.login);
    }

    fn describe(&self) -> String {
        let heir = if self.reassign.is_empty() {
            "the earliest other administrator".to_owned()
        } else {
            format!("`{}`", self.reassign)
        };
        let what = match (self.super_admin, self.network_site.as_str()) {
            (true, "") => "super admin of the WordPress network".to_owned(),
            (true, url) => format!("super admin of the WordPress network (its site {url})"),
            (false, "") => "administrator".to_owned(),
            (false, url) => format!("administrator of the network's site {url}"),
        };
        format!(
            "WordPress {what} `{}` of the site in {} with a random password (email {}, which receives no mail); at teardown its logins end, its application passwords go and it is deleted, what it wrote handed to {heir}",
            self.login,
            self.site,
            self.email()
        )
    }

    fn wants_password(&self) -> bool {
        true
    }

    fn hand_over(&self, password: Secret, out: &mut Credentials) {
        let url = self.login_url.clone().unwrap_or_default();
        out.line("wp login", url.as_str());
        out.line("wp user", self.login.as_str());
        out.line("wp pass", password.expose());
        out.cms.push(super::CmsLogin {
            cms: "wordpress",
            login_url: url,
            user: self.login.clone(),
            password,
        });
    }

    fn preflight(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        s.raw(site::LIB);
        let dir = self.site.as_str();
        let [load, config] = site::WORDPRESS_FILES.map(|f| format!("{dir}/{f}"));
        let id = checks.add(
            "wp-site",
            format!("{dir} holds a WordPress site (its wp-load.php and wp-config.php)"),
        );
        s.cmd(
            "if [ -f {} ] && [ -f {} ]; then hv_ok {}; else hv_fail {}; fi",
            &[&load, &config, &id, &id],
        );
        for (file, cms) in site::NOT_YET {
            s.cmd(
                "if [ ! -f {} ] && [ -f {} ]; then echo {} | hv_detail {}; fi",
                &[
                    &load,
                    &format!("{dir}/{file}"),
                    &format!("{dir} holds {cms} ({file}), which handover cannot lend an account of yet: only WordPress"),
                    &id,
                ],
            );
        }
        let id = checks.add(
            "tool-php",
            "`php` (Debian package php-cli) and `runuser` (util-linux) are installed, to run the site's PHP",
        );
        s.cmd(
            "if command -v php >/dev/null 2>&1 && command -v runuser >/dev/null 2>&1; then hv_ok {}; else hv_fail {}; fi",
            &[&id, &id],
        );
        let id = checks.add(
            "wp-owner",
            "the site's files (its wp-config.php) belong to an account other than root, which its PHP runs as (handover never runs a site's PHP as root)",
        );
        s.cmd(
            "hv_wo=$(hv_wp_owner {} || true); if [ -n \"$hv_wo\" ] && [ \"$hv_wo\" != root ]; then hv_ok {}; else hv_fail {}; fi",
            &[dir, &id, &id],
        );
        // WordPress itself answers the rest.
        site::wordpress_if_present(s, self.wp(), "facts", [&self.login, &self.reassign, "", ""]);
        let id = checks.add(
            "wp-runs",
            "WordPress's PHP runs as the owner of the site's files and answers",
        );
        s.cmd(
            "if [ \"$hv_rc\" -eq 0 ] && printf '%s\\n' \"$hv_o\" | grep -q '^hv version '; then hv_ok {}; else hv_fail {}; printf '%s\\n' \"$hv_o\" | hv_detail {}; fi",
            &[&id, &id, &id],
        );
        // A network: one of its sites named, or the whole network asked for.
        match (self.network_site.as_str(), self.super_admin) {
            ("", false) => {
                let id = expect(
                    s,
                    checks,
                    "multisite",
                    "0",
                    "wp-one-site",
                    "the WordPress is a single site; a multisite network needs the one site named (--param site=ADDRESS, or --param super_admin=yes for the whole network)".to_owned(),
                );
                site::value(s, "sites");
                s.cmd(
                    "if [ -n \"$hv_v\" ]; then echo \"its sites: $hv_v\" | hv_detail {}; fi",
                    &[&id],
                );
            }
            (url, super_admin) => {
                let description = if super_admin {
                    format!(
                        "the WordPress in {dir} is a multisite network (--param super_admin makes a super admin of it)"
                    )
                } else {
                    format!(
                        "the WordPress in {dir} is a multisite network with a site at {url} (--param site)"
                    )
                };
                expect(s, checks, "multisite", "1", "wp-network", description);
            }
        }
        expect(
            s,
            checks,
            "login_taken",
            "0",
            "wp-login-free",
            format!(
                "no WordPress user named `{}` exists yet (choose another --account)",
                self.login
            ),
        );
        if self.reassign.is_empty() {
            let id = checks.add(
                "wp-heir",
                "the site has an administrator, to get what the temporary one wrote at teardown",
            );
            site::value(s, "admins");
            s.cmd(
                "if [ \"$hv_rc\" -eq 0 ] && [ \"${hv_v:-0}\" -gt 0 ] 2>/dev/null; then hv_ok {}; else hv_fail {}; fi",
                &[&id, &id],
            );
        } else {
            expect(
                s,
                checks,
                "reassign",
                "admin",
                "wp-reassign",
                format!(
                    "`{}` (--param reassign) is an administrator of the site, to get what the temporary one wrote at teardown",
                    self.reassign
                ),
            );
        }
        site::value(s, "login_url");
        s.raw("if [ -n \"$hv_v\" ]; then hv_fact wp_login_url \"$hv_v\"; fi");
    }

    fn apply(&self, ctx: &Context, s: &mut Script) {
        let Some(password) = ctx.password else {
            s.raw("echo 'no password for the WordPress administrator (internal error)' >&2; exit 1");
            return;
        };
        s.raw(site::LIB);
        let email = self.email();
        site::wordpress(
            s,
            self.wp(),
            "create",
            [&self.login, &email, ctx.grant.as_str(), self.rank()],
            Some(password),
        );
        site::fail_unless_answered(s);
        site::value(s, "id");
        s.raw("hv_fact created 1");
        s.raw("hv_fact wp_user_id \"$hv_v\"");
    }

    fn undo(&self, ctx: &Context, s: &mut Script) {
        // Found by its login and deleted only when it carries this grant's mark (the PHP
        // checks): the expiry guard's removal is built without the facts apply learns.
        s.raw(site::LIB);
        site::wordpress(
            s,
            self.wp(),
            "delete",
            [&self.login, ctx.grant.as_str(), &self.reassign, ""],
            None,
        );
        site::fail_unless_answered(s);
    }

    fn suspend(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        lock(s, checks, self.wp(), &self.login, true);
    }

    fn rotation_name(&self) -> Option<String> {
        Some("wordpress".to_owned())
    }

    fn rotate(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        wp_rotate(s, checks, self.wp(), &self.login, ctx.password);
    }

    fn resume(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        lock(s, checks, self.wp(), &self.login, false);
    }

    fn verify_present(&self, _ctx: &Context, s: &mut Script, checks: &mut Checks) {
        s.raw(site::LIB);
        site::wordpress(s, self.wp(), "present", [&self.login, self.rank(), "", ""], None);
        site::value(s, "present");
        let id = checks.add(
            "wp-admin-present",
            format!("WordPress administrator `{}` exists", self.login),
        );
        s.cmd(
            "if [ \"$hv_rc\" -eq 0 ] && [ \"$hv_v\" = 1 ]; then hv_ok {}; else hv_fail {}; fi",
            &[&id, &id],
        );
    }

    fn verify_absent(&self, ctx: &Context, s: &mut Script, checks: &mut Checks) {
        let id_fact = ctx.facts.get("wp_user_id").cloned().unwrap_or_default();
        let user_id = if id_fact.chars().all(|c| c.is_ascii_digit()) {
            id_fact
        } else {
            String::new()
        };
        s.raw(site::LIB);
        site::wordpress(s, self.wp(), "absent", [&self.login, &user_id, "", ""], None);
        let id = checks.add(
            "wp-user-gone",
            format!("no WordPress user `{}` is left", self.login),
        );
        site::value(s, "user");
        s.cmd(
            "if [ \"$hv_rc\" -eq 0 ] && [ \"$hv_v\" = 0 ]; then hv_ok {}; else hv_fail {}; printf '%s\\n' \"$hv_o\" | grep -v '^hv ' | hv_detail {}; fi",
            &[&id, &id, &id],
        );
        let id = checks.add(
            "wp-meta-gone",
            format!(
                "nothing of `{}` is left in the site's user meta (no login session, no application password)",
                self.login
            ),
        );
        site::value(s, "meta");
        s.cmd(
            "if [ \"$hv_rc\" -eq 0 ] && [ \"$hv_v\" = 0 ]; then hv_ok {}; else hv_fail {}; fi",
            &[&id, &id],
        );
    }
}

/// `suspend` (`locked`) or `resume` a WordPress user: its password refused (its hash kept
/// behind a `!`), its logins ended and its application passwords put aside, or all of it back
/// as it was; checked by what WordPress then says.
pub(super) fn lock(s: &mut Script, checks: &mut Checks, site: site::Site, login: &str, locked: bool) {
    s.raw(site::LIB);
    let on = if locked { "on" } else { "off" };
    site::wordpress(s, site, "lock", [login, on, "", ""], None);
    site::fail_unless_answered(s);
    if locked {
        expect(
            s,
            checks,
            "locked",
            "1",
            "wp-locked",
            format!("WordPress user `{login}` is locked (no password works)"),
        );
        expect(
            s,
            checks,
            "sessions",
            "0",
            "wp-logged-out",
            format!("WordPress user `{login}` has no login session left"),
        );
    } else {
        expect(
            s,
            checks,
            "locked",
            "0",
            "wp-unlocked",
            format!("WordPress user `{login}` may log in again"),
        );
    }
}

/// `rotate` of a WordPress user: `password` set (its logins end with it), checked by its
/// stored hash no longer being the one before; leaves the new hash's digest in `$hv_v`.
pub(super) fn wp_rotate(
    s: &mut Script,
    checks: &mut Checks,
    site: site::Site,
    login: &str,
    password: Option<&Secret>,
) {
    s.raw(site::LIB);
    site::wordpress(s, site, "digest", [login, "", "", ""], None);
    site::fail_unless_answered(s);
    site::value(s, "digest");
    s.raw("hv_before=$hv_v");
    site::wordpress(s, site, "lend", [login, "", "", ""], password);
    site::fail_unless_answered(s);
    site::value(s, "digest");
    let id = checks.add(
        "wp-new-password",
        format!("WordPress user `{login}` has its new password (the old one is refused) and no login session left"),
    );
    s.cmd(
        "if [ -n \"$hv_v\" ] && [ \"$hv_v\" != \"$hv_before\" ]; then hv_ok {}; else hv_fail {}; fi",
        &[&id, &id],
    );
}

/// Script text: the check `check` passes when WordPress answered and its `hv KEY` is `want`;
/// its id.
fn expect(
    s: &mut Script,
    checks: &mut Checks,
    key: &'static str,
    want: &str,
    check: &str,
    description: String,
) -> String {
    let id = checks.add(check, description);
    site::value(s, key);
    s.cmd(
        "if [ \"$hv_rc\" -eq 0 ] && [ \"$hv_v\" = {} ]; then hv_ok {}; else hv_fail {}; fi",
        &[want, &id, &id],
    );
    id
}

/// `kind = "wp-admin"`: a temporary WordPress administrator of the site in the scope, named
/// after the account. `reassign`: who gets what it wrote at teardown (a login; empty: the
/// earliest other administrator).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    #[serde(default)]
    reassign: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    super_admin: String,
}

impl super::Template for Template {
    fn strings(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("reassign", &self.reassign),
            ("site", &self.site),
            ("super_admin", &self.super_admin),
        ]
    }

    fn plan(&self, p: &Planning) -> Result<Action, PlanError> {
        let scope = p.scope()?;
        let reassign = p.fill(&self.reassign)?;
        if !reassign.is_empty() && !valid_login(&reassign) {
            return Err(PlanError::Invalid(format!(
                "reassign `{}` must be a WordPress login: up to 60 letters, digits, spaces, `_`, `.`, `-` and `@`",
                reassign.escape_debug()
            )));
        }
        let network_site = p.fill(&self.site)?;
        if !network_site.is_empty() && !valid_site_url(&network_site) {
            return Err(PlanError::Invalid(format!(
                "site `{}` must be the address of one site of the WordPress network, like http://example.org/shop/",
                network_site.escape_debug()
            )));
        }
        let super_admin = match p.fill(&self.super_admin)?.as_str() {
            "" | "no" => false,
            "yes" => true,
            other => {
                return Err(PlanError::Invalid(format!(
                    "super_admin `{}` must be `yes` or `no`",
                    other.escape_debug()
                )));
            }
        };
        Ok(Action::WpAdmin(WpAdmin {
            site: scope.as_str().to_owned(),
            login: p.account.to_string(),
            reassign,
            network_site,
            super_admin,
            login_url: None,
        }))
    }
}
