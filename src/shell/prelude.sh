# shellcheck shell=sh
# The start of every script handover sends (after `hv_run=TAG`, see protocol.rs): a clean
# environment, and the functions that print the line protocol the engine parses.
#
# Every protocol line starts with the run's tag, random per script: nothing else the host
# prints (a file name, a program's output, a playbook's shell commands) can pass for a fact,
# a check or a step result. A value holding a line break ends at it: the rest has no tag.
#
# The search path holds system directories only: a program the lent account planted in
# /usr/local (a `find` or `userdel` that lies) must not stand in for the system's own in
# teardown's undo and checks.
set -u
# hv_run is set just before this text, by Script::new.
# shellcheck disable=SC2154
: "$hv_run"
umask 077
PATH=/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
export PATH LC_ALL
# hv_fact KEY VALUE: something the host told, kept in the record by the action printing it.
hv_fact() { printf '%s fact %s %s\n' "$hv_run" "$1" "$2"; }
hv_ok() { printf '%s check ok %s\n' "$hv_run" "$1"; }
hv_fail() { printf '%s check fail %s\n' "$hv_run" "$1"; }
# hv_detail ID: every line of stdin becomes a detail of check ID (at most 50 lines).
hv_detail() { head -n 50 | while IFS= read -r hv_l; do printf '%s detail %s %s\n' "$hv_run" "$1" "$hv_l"; done; }
# hv_expect ID CMD...: check ID passes when CMD succeeds; hv_refute: when it fails.
hv_expect() { hv_id=$1; shift; if "$@" >/dev/null 2>&1; then hv_ok "$hv_id"; else hv_fail "$hv_id"; fi; }
hv_refute() { hv_id=$1; shift; if "$@" >/dev/null 2>&1; then hv_fail "$hv_id"; else hv_ok "$hv_id"; fi; }
# hv_report ID: check ID passes when stdin is empty; otherwise what it holds is the detail.
hv_report() { hv_out=$(head -n 50); if [ -z "$hv_out" ]; then hv_ok "$1"; else hv_fail "$1"; printf '%s\n' "$hv_out" | hv_detail "$1"; fi; }
# hv_note KIND TEXT: `reassigned PATH`, or `warning TEXT` for the customer.
hv_note() { printf '%s note %s %s\n' "$hv_run" "$1" "$2"; }
# hv_step begin|done|failed INDEX [STATUS]: where a script is (Script::step).
hv_step() { printf '%s step %s\n' "$hv_run" "$*"; }
# hv_action INDEX: the facts that follow belong to action INDEX (preflight's `keep.` facts).
hv_action() { printf '%s action %s\n' "$hv_run" "$1"; }
