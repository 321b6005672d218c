# shellcheck shell=sh
# handover: taking the SFTP jail's bind mount down (src/actions/sftp.rs). Defines functions only.

# hv_sftp_unmount MOUNTPOINT: unmount MOUNTPOINT until nothing is mounted there (a lazy unmount
# when a plain one is refused, a few times at most: mounts may be stacked), then remove the
# mount point: `rmdir` for a directory (the scope's files are never at risk), `rm -f` for the
# empty file a socket was mounted on.
hv_sftp_unmount() {
  hv_i=0
  while mountpoint -q -- "$1"; do
    umount -- "$1" 2>/dev/null || umount -l -- "$1"
    hv_i=$((hv_i + 1)); if [ "$hv_i" -ge 8 ]; then echo "handover: $1 stays mounted" >&2; exit 1; fi
  done
  if [ -d "$1" ]; then rmdir -- "$1"; else rm -f -- "$1"; fi
}
