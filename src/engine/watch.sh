# shellcheck shell=sh
# handover watch (src/engine/recordings.rs). Defines functions only.

# hv_watch DIR: stream a live session under DIR (a grant's `io`) as sudo
# records it. A session is live while its `timing` file keeps its owner-write bit (sudo clears
# it when the session ends). Stops when the session ends, or when the admin's connection does.

# hv_here: whether the admin's connection is still there.
hv_here() { [ "$hv_p" -le 1 ] || kill -0 "$hv_p" 2>/dev/null; }

hv_watch() {
  hv_d=$1
  # The sshd process serving this connection: gone when the admin goes.
  hv_p=$$
  while [ "$hv_p" -gt 1 ]; do
    case $(cat "/proc/$hv_p/comm" 2>/dev/null) in sshd*) break ;; esac
    hv_p=$(awk '/^PPid:/ { print $2 }' "/proc/$hv_p/status" 2>/dev/null || echo 1)
  done

  # The oldest live session with a terminal (a sudo to root inside it shows in it too), else
  # the oldest live one.
  hv_t=
  while [ -z "$hv_t" ]; do
    for hv_l in $(find "$hv_d" -name timing -perm -u+w 2>/dev/null | sort); do
      [ -n "$hv_t" ] || hv_t=$hv_l
      if [ "$(head -n 1 "${hv_l%/timing}/log" 2>/dev/null | cut -d: -f5)" != unknown ]; then
        hv_t=$hv_l
        break
      fi
    done
    [ -n "$hv_t" ] && break
    hv_here || exit 0
    sleep 0.2
  done
  hv_s=${hv_t%/timing}
  # The terminal's output, or a command's standard output without one (the `log` file's first
  # line names the terminal, `unknown` when there is none).
  hv_f=$hv_s/ttyout
  if [ "$(head -n 1 "$hv_s/log" 2>/dev/null | cut -d: -f5)" = unknown ]; then hv_f=$hv_s/stdout; fi
  hv_off=0
  while :; do
    hv_live=$(find "$hv_t" -perm -u+w 2>/dev/null)
    hv_size=$(stat -c %s "$hv_f" 2>/dev/null || echo 0)
    if [ "$hv_size" -gt "$hv_off" ]; then
      tail -c +"$((hv_off + 1))" "$hv_f" | head -c "$((hv_size - hv_off))"
      hv_off=$hv_size
    fi
    [ -n "$hv_live" ] || break
    hv_here || exit 0
    sleep 0.1
  done
  echo "${hv_s#"$hv_d"/}" | tr -d / >&2
}
