#!/usr/bin/env bash
# Sourced by scripts/package and scripts/package-test: a throwaway, writable view of a cached
# root filesystem (scripts/rootfs), to chroot into. The cached tree is never changed: it is the
# lower layer of an overlay whose upper layer is a tmpfs, like a test host's root
# (scripts/testhost). Every mount made here exists only in the caller's mount namespace, which
# must be a private one of its own (`unshare --mount --propagation private`): the overlay, its
# tmpfs and every bind mount vanish with the namespace's last process, and nothing reaches the
# build machine's mount table.

# overlay_root LOWER DIR: mount a tmpfs on DIR and an overlay of LOWER on DIR/root, with /proc,
# a minimal /dev, and fresh /tmp and /run; prints DIR/root.
overlay_root() {
	local lower=$1 dir=$2 m=$2/root
	[[ -d $lower/usr/bin ]] || { echo "overlay: $lower is not a root filesystem" >&2; return 1; }
	mount -t tmpfs -o mode=0755 handover-overlay "$dir"
	mkdir "$dir/upper" "$dir/work" "$m"
	mount -t overlay -o "lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/work" handover-overlay "$m"
	mount -t proc -o nosuid,nodev,noexec proc "$m/proc"
	mount -t tmpfs -o nosuid,noexec,mode=0755,size=1m handover-dev "$m/dev"
	mknod -m 0666 "$m/dev/null" c 1 3
	mknod -m 0666 "$m/dev/zero" c 1 5
	mknod -m 0666 "$m/dev/full" c 1 7
	mknod -m 0666 "$m/dev/random" c 1 8
	mknod -m 0666 "$m/dev/urandom" c 1 9
	ln -s /proc/self/fd "$m/dev/fd"
	ln -s /proc/self/fd/0 "$m/dev/stdin"
	ln -s /proc/self/fd/1 "$m/dev/stdout"
	ln -s /proc/self/fd/2 "$m/dev/stderr"
	mkdir -m 1777 "$m/dev/shm"
	mount -t tmpfs -o nosuid,nodev,mode=1777 handover-tmp "$m/tmp"
	mount -t tmpfs -o nosuid,nodev,mode=0755 handover-run "$m/run"
	printf '%s\n' "$m"
}

# overlay_bind ROOT SRC [ro]: bind-mount the build machine's directory SRC at the same path
# inside ROOT (read-only with `ro`).
overlay_bind() {
	local root=$1 src=$2 mode=${3:-rw}
	mkdir -p -- "$root$src"
	mount --bind -- "$src" "$root$src"
	if [[ $mode == ro ]]; then mount -o remount,bind,ro -- "$root$src"; fi
}
