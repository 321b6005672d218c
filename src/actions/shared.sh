# shellcheck shell=sh
# handover: the contract between the actions' shell fragments. Nothing here is sent to a host.
#
# Each action contributes text to the one script the engine sends per phase (src/actions/mod.rs),
# from the templates in its .rs file and the functions in its .sh file; the fragments meet only
# at run time. What one of them sets for another — across actions, or from one phase to a later
# one — is listed here, with who sets it, who reads it, and when. `shellcheck_tests.rs` holds
# the list to the scripts: a phase that reads a variable it does not set (nor its action's
# prepare_teardown) fails the tests unless the variable is listed here; and a phase may call
# only the functions of the prelude, its own text and its action's prepare_teardown.
#
# A name not listed here is scratch (hv_i, hv_p, hv_t, hv_o, hv_out, hv_entry, …): any function
# may overwrite it, so never keep a value in one across a call to another fragment's function.
#
# How a script is built (src/shell/mod.rs, src/engine/scripts.rs):
#   - It starts with `hv_run=TAG` (random per script) and the prelude (src/shell/prelude.sh):
#     `set -u`, `umask 077`, a PATH of system directories only, `LC_ALL=C`, and the protocol
#     functions, which print lines starting with $hv_run: hv_fact KEY VALUE, hv_note KEY VALUE,
#     hv_ok ID, hv_fail ID, hv_detail ID (stdin), hv_expect ID CMD…, hv_refute ID CMD…,
#     hv_report ID (stdin), hv_step, hv_action. Never set hv_run: the engine reads only lines
#     with the script's own tag.
#   - Each step's text (apply, cut_off, undo) runs as `( set -e … )`: what it defines ends with
#     it, and a function it calls as a plain command runs under `set -e` as well. After each
#     step, hv_rc holds its exit status. Checks (preflight, verify_present, verify_absent) and
#     prepare_teardown run at the top level, without `set -e`.
#   - Teardown: every action's prepare_teardown, then one step with every cut_off, then one
#     undo step per action in reverse, then every verify_absent, then the audit's tail. The
#     expiry guard's removal script is the same without the guard, without facts and without
#     passwords: variables that come from facts are '' there.
#
# Environment (src/ssh/session.rs runs `env -i … /bin/sh -s`):
#   HV_SUDO_UID   the uid that logged in, when the script runs through sudo; else ''.
#                 Read by: rotate-password apply (did pam_loginuid record the login?).
#
# Set at teardown's top level by prepare_teardown, before any step; read by the cut_off and
# undo steps and the verify_absent checks after it:
#   hv_uid hv_gid   the grant's account's uid and gid, or '' when it has none (any more).
#                   Set by: user (hv_user_ids, user.sh). Read by: user cut_off, undo and
#                   verify_absent; acl undo and verify_absent (hv_acl_undo, hv_acl_left in
#                   acl.sh); the audit's hand-over of leftover files to root
#                   (src/audit/collect.rs, as "${hv_uid:-}": a plan without a user action has
#                   neither).
#   hv_ours         1 when the account of the grant's name carries the grant's mark, else ''.
#                   Set by: user (hv_user_ids). Read by: user cut_off and undo; password undo.
#                   Every action that needs the account comes with a user action (playbooks
#                   refuse one without), so these three are set whenever they are read.
#   user.sh         hv_end_sessions UID, hv_user_groupdel NAME GID, hv_user_jobs NAME UID,
#                   hv_user_jobs_left NAME UID: defined by user prepare_teardown; called by
#                   user cut_off, undo and verify_absent.
#   window.sh       hv_window_pids, hv_window_scan, hv_window_close, hv_window_left UID BOOT
#                   SESSION (and their helpers): defined by user and rotate-password
#                   prepare_teardown; called by user cut_off and verify_absent, rotate-password
#                   undo and verify_absent, with BOOT and SESSION in hv_wb and hv_ws (set by
#                   `Since::set_args`, window.rs, right before). hv_window_scan sets hv_all,
#                   hv_seen and hv_svc.
#   expiry.sh       hv_guard_wait DIR, hv_guard_at_jobs PATH, …: defined by expiry-guard
#                   prepare_teardown; called by its undo and verify_absent.
#
# Within one phase, shared by several actions' modules:
#   db.sh           hv_db_client DATABASE [ARGS…] and the hv_db_* helpers: defined by
#                   `Client::define` (db_sql.rs) at the start of each phase (and again in each
#                   step) of db-user and rotate-db-user.
#   hv_q hv_rc      what the last `Client::query` got: the rows (or the client's complaint)
#                   and the client's exit status. Read by the checks and helpers right after
#                   the query (db.rs, db_rotate.rs; hv_db_ids_after, hv_db_window, hv_db_auth
#                   in db.sh). Steps set hv_rc too: read it only right after a query.
#   hv_after        connection ids above it are the window's: set by db-user undo (0: all of
#                   the dropped account's) and by hv_db_window (rotate-db-user); read by
#                   `kill_mysql_connections` (db.rs) and hv_db_ids_after.
#   sshd_dropin.sh  the sshd functions, defined by `sshd_dropin::functions` in every phase of
#                   sshd-match and sftp-jail; hv_pf (sshd's pid file, '' for none) is set by
#                   hv_sshd_pf, and hv_spec and hv_t by hv_sshd_probe for the hv_sshd_want_*
#                   checks after it.
#   hv_dropin_failed  1 when `sshd_dropin::remove` could not remove the drop-in, else ''; read
#                   by `sshd_dropin::fail_if_remove_failed` at the end of the same undo step
#                   (sftp-jail unmounts its jail in between).
#
# Within one action (documented where they are set): hv_fw and hv_ports (hv_fw_detect,
# firewall.sh), hv_fw_ok (firewall's verify_present), hv_ufw_skipped (firewall's apply),
# hv_new (config-line), hv_dir (expiry-guard), hv_wu hv_wb hv_ws (rotate-password; the expiry
# guard reads hv_wb and hv_ws from the host's copy), hv_db and hv_db_from (db-user preflight).
