<?php
// handover: WordPress's accounts through WordPress's own API (src/site/mod.rs). `hv_wp` runs
// this program from stdin in the site's directory as the owner of its files, never as root:
// the site's address, the command and its arguments come in argv (never a secret), a password
// on fd 3. It prints `hv KEY VALUE` lines; a failure is a message on stderr and exit status 1.
error_reporting(E_ALL & ~E_DEPRECATED & ~E_NOTICE & ~E_WARNING);

function ho_say($key, $value)
{
    echo 'hv ', $key, ' ', str_replace(["\r", "\n"], ' ', (string) $value), "\n";
}

function ho_fail($why)
{
    file_put_contents('php://stderr', $why . "\n");
    exit(1);
}

// WordPress loads as for a request to the site's address: a multisite network finds the one
// site by it. No address: the network's main site as its wp-config.php names it (a single site
// takes any).
[$ho_url, $command, $a, $b, $c, $d] = array_pad(array_slice($argv, 1), 6, '');
$ho_host = 'localhost';
$ho_path = '/';
if ($ho_url !== '') {
    $parts = parse_url($ho_url);
    if (!$parts || empty($parts['host'])) {
        ho_fail("`$ho_url` is not a site's address (http://HOST/PATH/)");
    }
    $ho_host = $parts['host'] . (isset($parts['port']) ? ':' . $parts['port'] : '');
    $ho_path = rtrim($parts['path'] ?? '', '/') . '/';
} else {
    $config = (string) @file_get_contents('./wp-config.php');
    $constant = function ($name) use ($config) {
        $found = preg_match("/define\\(\\s*['\"]{$name}['\"]\\s*,\\s*['\"]([^'\"]+)['\"]/", $config, $m);
        return $found ? $m[1] : null;
    };
    $ho_host = $constant('DOMAIN_CURRENT_SITE') ?? $ho_host;
    $ho_path = $constant('PATH_CURRENT_SITE') ?? $ho_path;
}
$_SERVER['HTTP_HOST'] = $ho_host;
$_SERVER['SERVER_NAME'] = preg_replace('/:.*/', '', $ho_host);
$_SERVER['REQUEST_URI'] = $ho_path;
// A network sends a request for an address it has no site at elsewhere, and stops; WordPress
// stopping while it loads (no database) says why in a web page: its text is the error.
$ho_loading = true;
ob_start();
register_shutdown_function(function () {
    global $ho_loading, $ho_url;
    if ($ho_loading) {
        $page = preg_replace('#<(head|style|script)\b.*?</\1>#is', '', (string) ob_get_clean());
        $said = trim(preg_replace('/\s+/', ' ', html_entity_decode(strip_tags($page))));
        $why = $said !== '' ? $said : "no site of the network has that address, or the site's PHP stopped";
        $for = $ho_url !== '' ? " for $ho_url" : '';
        file_put_contents('php://stderr', "WordPress did not load$for: $why\n");
        exit(1);
    }
});
define('WP_USE_THEMES', false);
require './wp-load.php';
$ho_loading = false;
ob_end_flush();
// A network serves an address under a site's path by that site: the one asked for must be it.
if ($ho_url !== '' && is_multisite()) {
    $here = get_site();
    if (strcasecmp($here->domain . $here->path, $ho_host . $ho_path) !== 0) {
        ho_fail("no site of the network has the address $ho_url (the nearest is http://$here->domain$here->path)");
    }
}
require_once ABSPATH . 'wp-admin/includes/user.php';

// The password on fd 3 (a here-document: never argv, the environment or a file).
function ho_secret()
{
    $secret = rtrim((string) file_get_contents('php://fd/3'), "\n");
    if ($secret === '') {
        ho_fail('no password on fd 3');
    }
    return $secret;
}

// An administrator of the site loaded (on a network, a super admin is one of every site).
function ho_is_admin($user)
{
    return $user && (in_array('administrator', (array) $user->roles, true)
        || (is_multisite() && is_super_admin($user->ID)));
}

// The site's administrators, earliest first; on a network, its super admins after them.
function ho_admins()
{
    $admins = get_users(['role' => 'administrator', 'orderby' => 'ID', 'order' => 'ASC']);
    foreach (is_multisite() ? get_super_admins() : [] as $login) {
        $admins[] = get_user_by('login', $login);
    }
    return array_filter($admins);
}

// Who gets what the temporary administrator authored: `$login`, or the earliest other
// administrator.
function ho_heir($login, $except)
{
    if ($login !== '') {
        $heir = get_user_by('login', $login);
        if (!ho_is_admin($heir)) {
            ho_fail("reassign: `$login` is not an administrator of this site");
        }
        return $heir;
    }
    foreach (ho_admins() as $admin) {
        if ((int) $admin->ID !== $except) {
            return $admin;
        }
    }
    ho_fail('no other administrator to hand the temporary one\'s posts to');
}

function ho_user($login)
{
    $user = get_user_by('login', $login);
    if (!$user) {
        ho_fail("no WordPress user `$login`");
    }
    return $user;
}

// What `lock on` put aside, back: a suspended lent user's application passwords, when its
// password is set or restored at teardown.
function ho_unsuspend($id)
{
    $aside = get_user_meta($id, 'handover_suspended_application_passwords', true);
    if (!empty($aside)) {
        update_user_meta($id, '_application_passwords', $aside);
    }
    delete_user_meta($id, 'handover_suspended_application_passwords');
}

// Every login of the user ends: its session tokens, which its cookies name, go.
function ho_end_logins($id)
{
    WP_Session_Tokens::get_instance($id)->destroy_all();
}

// The user's stored password hash as checks compare it (never the hash itself): SHA-256 of
// the hash and a newline, fresh from the database.
function ho_digest($login)
{
    global $wpdb;
    $hash = $wpdb->get_var($wpdb->prepare("SELECT user_pass FROM $wpdb->users WHERE user_login = %s", $login));
    return hash('sha256', $hash . "\n");
}

switch ($command) {
    case 'facts': // preflight: LOGIN, REASSIGN
        ho_say('version', get_bloginfo('version'));
        ho_say('multisite', is_multisite() ? 1 : 0);
        if (is_multisite()) {
            $sites = array_map(function ($site) {
                return "http://$site->domain$site->path";
            }, get_sites(['number' => 20]));
            ho_say('sites', implode(' ', $sites));
        }
        ho_say('login_url', wp_login_url());
        ho_say('login_taken', username_exists($a) ? 1 : 0);
        ho_say('admins', count(ho_admins()));
        if ($b !== '') {
            $heir = get_user_by('login', $b);
            ho_say('reassign', !$heir ? 'missing' : (ho_is_admin($heir) ? 'admin' : 'not-admin'));
        }
        break;
    case 'create': // LOGIN EMAIL GRANT [super], the password on fd 3
        $id = wp_insert_user([
            'user_login' => $a,
            'user_pass' => ho_secret(),
            'user_email' => $b,
            'role' => 'administrator',
            'display_name' => "Support ($a)",
            'description' => "Temporary administrator of handover grant $c",
        ]);
        if (is_wp_error($id)) {
            ho_fail('WordPress refused the account: ' . $id->get_error_message());
        }
        update_user_meta($id, 'handover_grant', $c);
        if ($d === 'super') {
            grant_super_admin($id);
        }
        ho_say('id', $id);
        break;
    case 'present': // LOGIN [super]
        $user = get_user_by('login', $a);
        ho_say('present', ho_is_admin($user) && ($b !== 'super' || is_super_admin($user->ID)) ? 1 : 0);
        break;
    case 'delete': // LOGIN GRANT REASSIGN
        $user = get_user_by('login', $a);
        if (!$user) {
            ho_say('deleted', 'absent');
            break;
        }
        if (get_user_meta($user->ID, 'handover_grant', true) !== $b) {
            ho_fail("WordPress user `$a` exists but was not created by grant $b: left alone");
        }
        $heir = ho_heir($c, (int) $user->ID);
        // Its logins end now (the cookies name a session token), its application passwords go.
        ho_end_logins($user->ID);
        if (class_exists('WP_Application_Passwords')) {
            WP_Application_Passwords::delete_all_application_passwords($user->ID);
        }
        if (is_multisite()) {
            // Out of every site of the network it was made a member of, what it wrote there
            // handed on, then out of the network.
            require_once ABSPATH . 'wp-admin/includes/ms.php';
            revoke_super_admin($user->ID);
            foreach (array_keys(get_blogs_of_user($user->ID, true)) as $blog) {
                remove_user_from_blog($user->ID, $blog, $heir->ID);
            }
            $gone = wpmu_delete_user($user->ID);
        } else {
            $gone = wp_delete_user($user->ID, $heir->ID);
        }
        if (!$gone) {
            ho_fail("WordPress did not delete `$a`");
        }
        ho_say('deleted', $user->ID);
        ho_say('heir', $heir->user_login);
        break;
    case 'absent': // LOGIN ID: the user, and any of its meta (sessions, application passwords)
        global $wpdb;
        ho_say('user', get_user_by('login', $a) ? 1 : 0);
        $meta = $b === '' ? 0 : (int) $wpdb->get_var(
            $wpdb->prepare("SELECT COUNT(*) FROM $wpdb->usermeta WHERE user_id = %d", (int) $b)
        );
        ho_say('meta', $meta);
        break;
    case 'lent-facts': // preflight of a lent user: LOGIN
        $user = get_user_by('login', $a);
        ho_say('exists', $user ? 1 : 0);
        if ($user) {
            ho_say('hash', $user->user_pass);
        }
        break;
    case 'lend': // LOGIN, the window's password (or at teardown a new one) on fd 3
        $user = ho_user($a);
        wp_set_password(ho_secret(), $user->ID);
        ho_unsuspend($user->ID);
        ho_end_logins($user->ID);
        ho_say('digest', ho_digest($a));
        break;
    case 'restore-hash': // LOGIN, the original password hash on fd 3
        global $wpdb;
        $user = ho_user($a);
        $wpdb->update($wpdb->users, ['user_pass' => ho_secret(), 'user_activation_key' => ''], ['ID' => $user->ID]);
        ho_unsuspend($user->ID);
        clean_user_cache($user->ID);
        ho_end_logins($user->ID);
        ho_say('digest', ho_digest($a));
        break;
    case 'lock': // LOGIN on|off: suspend (its hash kept behind a `!`, which no password matches;
        // its logins ended; its application passwords put aside) or resume, as it was
        global $wpdb;
        $user = ho_user($a);
        $aside = 'handover_suspended_application_passwords';
        if ($b === 'on') {
            if (substr($user->user_pass, 0, 1) !== '!') {
                $wpdb->update($wpdb->users, ['user_pass' => '!' . $user->user_pass], ['ID' => $user->ID]);
            }
            $apps = get_user_meta($user->ID, '_application_passwords', true);
            if (!empty($apps)) {
                update_user_meta($user->ID, $aside, $apps);
                delete_user_meta($user->ID, '_application_passwords');
            }
            ho_end_logins($user->ID);
        } else {
            if (substr($user->user_pass, 0, 1) === '!') {
                $wpdb->update($wpdb->users, ['user_pass' => substr($user->user_pass, 1)], ['ID' => $user->ID]);
            }
            ho_unsuspend($user->ID);
        }
        clean_user_cache($user->ID);
        $hash = $wpdb->get_var($wpdb->prepare("SELECT user_pass FROM $wpdb->users WHERE ID = %d", $user->ID));
        ho_say('locked', substr($hash, 0, 1) === '!' ? 1 : 0);
        ho_say('sessions', count(WP_Session_Tokens::get_instance($user->ID)->get_all()));
        break;
    case 'digest': // LOGIN: its password hash's digest, and how many logins it has
        $user = ho_user($a);
        ho_say('digest', ho_digest($a));
        ho_say('sessions', count(WP_Session_Tokens::get_instance($user->ID)->get_all()));
        break;
    case 'state': // the site's back-door surface and its content, one `hv wp KEY<TAB>VALUE` line an item
        $item = function ($key, $value = '') {
            ho_say('wp', str_replace("\t", ' ', $key) . "\t" . str_replace("\t", ' ', $value));
        };
        // What the network (or the single site) has once: users, code, network settings.
        foreach (get_users(['blog_id' => 0, 'fields' => 'all']) as $user) {
            if (is_multisite() && is_super_admin($user->ID)) {
                $item("super-admin $user->user_login");
            }
            if (class_exists('WP_Application_Passwords')) {
                foreach (WP_Application_Passwords::get_user_application_passwords($user->ID) as $app) {
                    $item("app-password $user->user_login " . $app['uuid'], $app['name']);
                }
            }
        }
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        $sites = is_multisite() ? get_sites(['number' => 0]) : [null];
        $network_active = is_multisite() ? array_keys((array) get_site_option('active_sitewide_plugins', [])) : [];
        $active = array_fill_keys($network_active, ['network']);
        foreach ($sites as $site) {
            $where = $site ? $site->domain . $site->path : 'the site';
            $plugins = $site ? get_blog_option($site->blog_id, 'active_plugins', []) : get_option('active_plugins', []);
            foreach ((array) $plugins as $plugin) {
                $active[$plugin][] = is_multisite() ? $where : 'active';
            }
        }
        foreach (array_keys(get_plugins()) as $plugin) {
            $item("plugin $plugin", isset($active[$plugin]) ? implode(',', $active[$plugin]) : 'inactive');
        }
        foreach (array_keys(get_mu_plugins()) as $plugin) {
            $item("mu-plugin $plugin");
        }
        foreach (array_keys(get_dropins()) as $dropin) {
            $item("drop-in $dropin");
        }
        foreach (array_keys(wp_get_themes()) as $theme) {
            $item("theme $theme");
        }
        if (is_multisite()) {
            $item('network-option registration', (string) get_site_option('registration'));
        }
        // WordPress schedules its own events when pages are served (lazily, some once): those
        // are not the vendor's.
        $core = array_flip([
            'wp_version_check', 'wp_update_plugins', 'wp_update_themes', 'wp_maybe_auto_update',
            'wp_scheduled_delete', 'wp_scheduled_auto_draft_delete', 'delete_expired_transients',
            'wp_privacy_delete_old_export_files', 'wp_site_health_scheduled_check',
            'recovery_mode_clean_expired_keys', 'wp_https_detection', 'wp_update_user_counts',
            'wp_update_comment_type_batch', 'wp_delete_temp_updater_backups',
            'wp_split_shared_term_batch', 'wp_batch_split_terms', 'upgrader_scheduled_cleanup',
            'importer_scheduled_cleanup', 'publish_future_post', 'do_pings',
        ]);
        // What each site has: its administrators, events, settings and content. A site other
        // than the main one is named after the kind of item (`admin@HOST/PATH/ LOGIN`).
        foreach ($sites as $site) {
            $at = '';
            if ($site) {
                switch_to_blog($site->blog_id);
                $at = is_main_site($site->blog_id) ? '' : '@' . $site->domain . $site->path;
            }
            foreach (get_users(['fields' => 'all']) as $user) {
                if (user_can($user, 'manage_options') && !(is_multisite() && is_super_admin($user->ID))) {
                    $item("admin$at $user->user_login", implode(',', (array) $user->roles));
                }
            }
            $hooks = [];
            foreach ((array) _get_cron_array() as $events) {
                foreach (array_diff_key((array) $events, $core) as $hook => $runs) {
                    foreach ((array) $runs as $run) {
                        $hooks[$hook][] = $run['schedule'] ?: 'once';
                    }
                }
            }
            foreach ($hooks as $hook => $schedules) {
                $schedules = array_unique($schedules);
                sort($schedules);
                $item("cron$at $hook", implode(',', $schedules));
            }
            foreach (['users_can_register', 'default_role', 'siteurl', 'home', 'admin_email', 'template', 'stylesheet'] as $option) {
                $item("option$at $option", (string) get_option($option));
            }
            // Content (posts, pages, media, …) as it stands: a change is listed, never a
            // back-door. Revisions, drafts WordPress makes itself and caches are left out.
            global $wpdb;
            $posts = $wpdb->get_results(
                "SELECT ID, post_type, post_status, post_modified_gmt, post_title FROM $wpdb->posts"
                . " WHERE post_type NOT IN ('revision', 'oembed_cache', 'customize_changeset', 'user_request')"
                . " AND post_status <> 'auto-draft'"
            );
            foreach ($posts as $post) {
                $title = wp_html_excerpt($post->post_title, 60, '…');
                $modified = str_replace(' ', 'T', $post->post_modified_gmt);
                $item("content$at $post->ID", "$post->post_type $post->post_status $modified $title");
            }
            if ($site) {
                restore_current_blog();
            }
        }
        break;
    default:
        ho_fail("unknown command `$command`");
}
