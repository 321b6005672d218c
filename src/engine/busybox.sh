# shellcheck shell=sh
# handover: preflight's first check (src/engine/provision.rs): the system tools handover's
# scripts run are the full ones, not BusyBox applets, which lack options those scripts use
# (`find -printf`, `xargs -d`, `df -B1`, `tar --acls`, …) and would fail halfway through in
# ways that say nothing of the cause. Defines functions only.

# hv_busybox_tools 'TOOL:PACKAGE …': one line per TOOL that is a BusyBox applet (the first TOOL
# in the search path, a symbolic or hard link to a BusyBox binary), naming the Debian PACKAGE
# with the full tool; nothing when none is. Shell builtins only when the host has no BusyBox
# binary (most hosts), and no process per tool otherwise: `-ef` compares device and inode.
# shellcheck disable=SC3013 # `-ef`: not POSIX, but dash (the hosts' /bin/sh), bash and busybox sh have it
hv_busybox_tools() {
  hv_bb=
  for hv_d in /usr/sbin /usr/bin /sbin /bin; do
    for hv_n in busybox busybox.static busybox.nosuid; do
      if [ -f "$hv_d/$hv_n" ] && [ -x "$hv_d/$hv_n" ]; then hv_bb="$hv_bb $hv_d/$hv_n"; fi
    done
  done
  [ -n "$hv_bb" ] || return 0
  for hv_tp in $1; do
    hv_t=${hv_tp%%:*}
    hv_p=
    for hv_d in /usr/sbin /usr/bin /sbin /bin; do
      if [ -z "$hv_p" ] && [ -f "$hv_d/$hv_t" ] && [ -x "$hv_d/$hv_t" ]; then hv_p=$hv_d/$hv_t; fi
    done
    [ -n "$hv_p" ] || continue
    for hv_b in $hv_bb; do
      if [ "$hv_p" -ef "$hv_b" ]; then
        # shellcheck disable=SC2016 # the backticks are text: the names read as code
        printf '`%s` (%s) is a BusyBox applet: install the Debian package `%s`\n' "$hv_t" "$hv_p" "${hv_tp#*:}"
        break
      fi
    done
  done
}
