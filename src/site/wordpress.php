<?php
// handover: WordPress's accounts through WordPress's own API (src/site/mod.rs). `hv_wp` runs
// this program from stdin in the site's directory as the owner of its files, never as root:
// the command and its arguments come in argv (never a secret), a password on fd 3. It prints
// `hv KEY VALUE` lines; a failure is a message on stderr and exit status 1.
error_reporting(E_ALL & ~E_DEPRECATED & ~E_NOTICE & ~E_WARNING);
if (!isset($_SERVER['HTTP_HOST'])) {
    $_SERVER['HTTP_HOST'] = 'localhost';
}
define('WP_USE_THEMES', false);
require './wp-load.php';
require_once ABSPATH . 'wp-admin/includes/user.php';

function ho_say($key, $value)
{
    echo 'hv ', $key, ' ', str_replace(["\r", "\n"], ' ', (string) $value), "\n";
}

function ho_fail($why)
{
    fwrite(STDERR, $why . "\n");
    exit(1);
}

// The password on fd 3 (a here-document: never argv, the environment or a file).
function ho_secret()
{
    $secret = rtrim((string) file_get_contents('php://fd/3'), "\n");
    if ($secret === '') {
        ho_fail('no password on fd 3');
    }
    return $secret;
}

function ho_is_admin($user)
{
    return $user && in_array('administrator', (array) $user->roles, true);
}

// The administrators, earliest first.
function ho_admins()
{
    return get_users(['role' => 'administrator', 'orderby' => 'ID', 'order' => 'ASC']);
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

$args = array_pad(array_slice($argv, 1), 4, '');
[$command, $a, $b, $c] = $args;
switch ($command) {
    case 'facts': // preflight: LOGIN, REASSIGN
        ho_say('version', get_bloginfo('version'));
        ho_say('multisite', is_multisite() ? 1 : 0);
        ho_say('login_url', wp_login_url());
        ho_say('login_taken', username_exists($a) ? 1 : 0);
        ho_say('admins', count(ho_admins()));
        if ($b !== '') {
            $heir = get_user_by('login', $b);
            ho_say('reassign', !$heir ? 'missing' : (ho_is_admin($heir) ? 'admin' : 'not-admin'));
        }
        break;
    case 'create': // LOGIN EMAIL GRANT, the password on fd 3
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
        ho_say('id', $id);
        break;
    case 'present': // LOGIN
        ho_say('present', ho_is_admin(get_user_by('login', $a)) ? 1 : 0);
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
        WP_Session_Tokens::get_instance($user->ID)->destroy_all();
        if (class_exists('WP_Application_Passwords')) {
            WP_Application_Passwords::delete_all_application_passwords($user->ID);
        }
        if (!wp_delete_user($user->ID, $heir->ID)) {
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
    default:
        ho_fail("unknown command `$command`");
}
