# handover: snapshot of the host's persistence surface (see src/audit/mod.rs).
# shellcheck shell=sh disable=SC2030,SC2031 # the functions run inside hv_collect's subshell
#
# Defines functions only; the engine appends a call:
#   hv_collect TAG SALT SCOPE [UID GID]
#     TAG      random per run: starts every line printed, so no other step's output can pass
#              for the collector's
#     SALT     random per grant: digests of shadow lines are salted, so they reveal nothing
#     SCOPE    the CMS directory to hash, or '' for none
#     UID GID  the removed account's ids: its files anywhere are handed to root (`b own` lines)
#   hv_sweep TAG UID GID [DIR...]  only the hand-over (teardown of a grant without a baseline)
#
# Every line printed is `TAG b KIND KEY<TAB>VALUE` or `TAG b KIND LINE`. File names come from
# find as NUL-terminated records, and tr turns newline, tab and CR in them into `?`, so no name
# on the host can forge a line. Nothing prints file contents: digests, modes, owners and listings.
# Runs as root with a clean environment (env -i); the search path is narrowed to the system
# directories before any program runs, the tag included, so a tool planted in /usr/local (or
# anywhere on the login's PATH) cannot stand in for find, sed or sha256sum and filter the report.

hv_collect() (
	PATH=/usr/sbin:/usr/bin:/sbin:/bin
	export PATH
	hv_tag=$1
	shift
	hv_snapshot "$@" | sed "s/^/$hv_tag /"
)

hv_snapshot() (
	hv_salt=$1 hv_scope=$2 hv_su=${3:-} hv_sg=${4:-}

	# The dynamic loader's preload comes first, read with shell builtins only: when it is set,
	# every tool below may be lying, and the report says so before anything else.
	if [ -e /etc/ld.so.preload ] && [ ! -f /etc/ld.so.preload ]; then
		printf 'b preload /etc/ld.so.preload\t(not a regular file)\n'
	elif [ -s /etc/ld.so.preload ]; then
		set -f
		while IFS= read -r hv_l || [ -n "$hv_l" ]; do
			for hv_w in $hv_l; do printf 'b preload /etc/ld.so.preload\t%s\n' "$hv_w"; done
		done </etc/ld.so.preload
		set +f
	fi
	[ -z "${LD_PRELOAD:-}" ] || printf 'b preload environment\tLD_PRELOAD=%s\n' "$LD_PRELOAD"
	[ -z "${LD_AUDIT:-}" ] || printf 'b preload environment\tLD_AUDIT=%s\n' "$LD_AUDIT"
	[ -z "${LD_LIBRARY_PATH:-}" ] || printf 'b preload environment\tLD_LIBRARY_PATH=%s\n' "$LD_LIBRARY_PATH"
	hv_t0=$(date +%s%N)
	tr '\0' '\n' </proc/1/environ 2>/dev/null | grep -E '^LD_(PRELOAD|AUDIT)=' | sed 's/^/b preload init\t/'
	grep -s -H -o -E '^[^#]*LD_(PRELOAD|AUDIT)=[^[:space:]]*' /etc/environment /etc/security/pam_env.conf \
		/etc/profile /etc/bash.bashrc /etc/profile.d/* /etc/systemd/system.conf /etc/systemd/system.conf.d/* \
		/etc/systemd/user.conf | sed 's/^\([^:]*\):/b preload \1\t/'

	# From here on, lists of paths are split at newlines only and never globbed.
	set -f
	IFS='
'
	# The walk of every local filesystem is most of the collector's time: it runs beside the
	# rest, whose lines are held until it is done (two writers on one pipe would tear lines
	# apart), with what needs it (the git repositories it met, handed back on fd 3; the
	# payloads, which git's hooks and entries name), then the scope's walk.
	{
		{ hv_gits=$(hv_fs all "$hv_su" "$hv_sg" 3>&1 >&4); } 4>&1
		hv_git
		hv_payloads
		hv_cms
	} &
	hv_rest=$(hv_surface)
	wait
	printf '%s\n' "$hv_rest"
	printf 'b ms %s\n' $((($(date +%s%N) - hv_t0) / 1000000))
	printf 'b end\n'
)

# Everything but the walks of hv_snapshot's background: accounts, SSH, the system's start paths,
# homes, Python hooks, executables, firewall, modules, sockets, processes.
hv_surface() {
	hv_accounts
	hv_sshd=$(sshd -T 2>/dev/null) || hv_sshd=
	printf '%s\n' "$hv_sshd" | sed -n 's/^\([a-z]\)/b sshd \1/p'
	for hv_f in $(hv_keyfiles); do
		[ -f "$hv_f" ] || continue
		ssh-keygen -l -f "$hv_f" 2>/dev/null | HV_F=$hv_f awk '{ c = ""; for (i = 3; i < NF; i++) c = c (c == "" ? "" : " ") $i
			t = $NF; gsub(/[()]/, "", t); print "b akey " $2 " " ENVIRON["HV_F"] "\t" t " " c }'
	done
	# A system start path that is a symbolic link (/etc/rc.local -> rc.d/rc.local) is followed,
	# so its target's content counts; the accounts' own files are recorded as links (a link to
	# / in a home would walk the whole disk).
	hv_roots | hv_walk m h 16384k -H
	{ hv_homes; hv_keyfiles; } | hv_walk m h 16384k
	hv_pydirs | hv_walk m h 16384k -P '-maxdepth 1 ( -name *.pth -o -name sitecustomize.py -o -name usercustomize.py )'
	hv_bins | hv_walk m
	# The firewall before the module list: reading the ruleset may load modules.
	hv_firewall
	awk '{ print "b mod " $1 }' /proc/modules 2>/dev/null
	hv_listen
	hv_conns
	hv_packages
	hv_webroots
	set +f
	find /proc/[0-9]*/exe -maxdepth 0 -printf '%l\n' 2>/dev/null |
		awk '/^\/(tmp|var\/tmp|dev\/shm|run\/user)\// || / \(deleted\)$/ || /^\/memfd:/ { print "b proc " $0 }' | sort -u
	set -f
}

# The scope (hv_scope), every file with its digest, unless it resolves into a system tree.
hv_cms() {
	[ -n "$hv_scope" ] || return 0
	hv_sr=$(readlink -f -- "$hv_scope" 2>/dev/null) || hv_sr=
	# A scope resolving into a system tree is refused by the engine: never hash one.
	case $hv_sr in
	'' | / | /etc | /etc/* | /usr | /usr/* | /var | /var/lib | /var/lib/* | /home | /root | /root/* | \
		/proc | /proc/* | /sys | /sys/* | /dev | /dev/* | /run | /run/* | /tmp | /bin | /bin/* | \
		/sbin | /sbin/* | /lib | /lib/* | /lib64 | /lib64/* | /boot | /boot/* | /srv | /opt | /mnt | /media) ;;
	*)
		if [ -d "$hv_sr" ]; then
			printf 'b scope %s\n' "$hv_sr"
			printf '%s\n' "$hv_sr" | hv_walk cm ch
		fi
		;;
	esac
}

# Accounts and groups, read from the files themselves (NSS may be redirected). Password fields
# are never printed: a status, and a salted digest of the whole line.
hv_accounts() {
	awk -F: '{ pw = $2 == "x" ? "x" : ($2 == "" ? "empty" : ($2 ~ /^[!*]/ ? "locked" : "hash"))
		print "b acct " $1 "\t" $3 ":" $4 ":" pw ":" $7 ":" $6 }' /etc/passwd
	awk -F: '{ print "b grp " $1 "\t" $3 ":" $4 }' /etc/group
	hv_shadow pwhash /etc/passwd
	hv_shadow shadow /etc/shadow
	hv_shadow gshadow /etc/gshadow
	# Subordinate ids (user namespaces), per account: the files change with every account
	# added or removed, the grant's own included.
	for hv_f in /etc/subuid /etc/subgid; do
		[ -f "$hv_f" ] || continue
		awk -F: -v f="$hv_f" 'NF >= 3 && $1 !~ /^#/ { k = f ":" $1; r[k] = (k in r ? r[k] "," : "") $2 ":" $3 }
			END { for (k in r) print "b subid " k "\t" r[k] }' "$hv_f"
	done
}

# hv_digest: salted sha256 of stdin.
hv_digest() {
	{ printf '%s\n' "$hv_salt"; cat; } | sha256sum | { IFS=' ' read -r hv_x _; printf '%s' "$hv_x"; }
}

# hv_shadow KIND FILE: `b KIND NAME<TAB>STATUS DIGEST REST` per line, REST being the fields
# after the password (ageing and expiry); the digest covers the whole line, so a new hash
# shows, and is left out (`-`) when the password field holds no hash. For /etc/passwd, only
# lines holding a hash themselves are printed.
hv_shadow() {
	[ -f "$2" ] || return 0
	while IFS= read -r hv_line || [ -n "$hv_line" ]; do
		hv_n=${hv_line%%:*}
		hv_r=${hv_line#*:}
		hv_p=${hv_r%%:*}
		hv_r=${hv_r#*:}
		case $hv_p in
		'') hv_s=empty ;;
		x) [ "$1" = pwhash ] && continue; hv_s=usable ;;
		'!' | '*' | '!*' | '!!') hv_s=none ;;
		'!'* | '*'*) hv_s=locked ;;
		*) hv_s=usable ;;
		esac
		[ "$1" = pwhash ] && [ "$hv_s" = none ] && continue
		case $hv_p in
		'' | '!' | '*' | '!*' | '!!') hv_d=- ;;
		*) hv_d=$(printf '%s\n' "$hv_line" | hv_digest) ;;
		esac
		[ "$1" = pwhash ] && hv_r=-
		printf 'b %s %s\t%s %s %s\n' "$1" "$hv_n" "$hv_s" "$hv_d" "$hv_r"
	done <"$2"
}

# Every authorized-keys (and principals) file sshd would read for any account: the
# AuthorizedKeysFile and AuthorizedPrincipalsFile patterns expanded per account, plus each
# home's ~/.ssh/authorized_keys and authorized_keys2 whatever the configuration says. The
# patterns come from `sshd -T` and from the configuration files themselves: one set inside a
# Match block is not in `sshd -T`, and is expanded for every account too.
hv_keyfiles() {
	hv_conf=$(hv_sshd_files)
	HV_PAT="$(printf '%s\n' "$hv_sshd" | awk '$1 == "authorizedkeysfile" || $1 == "authorizedprincipalsfile" {
		for (i = 2; i <= NF; i++) if ($i != "none") print $i }')
$(hv_sshd_conf authorizedkeysfile authorizedprincipalsfile)
.ssh/authorized_keys
.ssh/authorized_keys2" awk -F: 'BEGIN { n = split(ENVIRON["HV_PAT"], p, "\n") }
		$6 ~ /^\// {
			h = $6 == "/" ? "" : $6
			for (i = 1; i <= n; i++) {
				if (p[i] == "" || p[i] == "none") continue
				s = p[i]; out = ""
				while ((j = index(s, "%")) > 0) {
					c = substr(s, j + 1, 1)
					r = c == "h" ? $6 : c == "u" ? $1 : c == "U" ? $3 : c == "%" ? "%" : "%" c
					out = out substr(s, 1, j - 1) r; s = substr(s, j + 2)
				}
				out = out s
				if (out !~ /^\//) out = h "/" out
				print out
			}
		}' /etc/passwd | sort -u
	# Files sshd trusts globally, and the programs it runs to find keys.
	{
		printf '%s\n' "$hv_sshd" | awk '$1 == "trustedusercakeys" || $1 == "revokedkeys" ||
			$1 == "authorizedkeyscommand" || $1 == "authorizedprincipalscommand" { print $2 }'
		hv_sshd_conf trustedusercakeys revokedkeys authorizedkeyscommand authorizedprincipalscommand
	} | awk '/^\// && !seen[$1]++ { print $1 }'
}

# sshd_config and the files it includes.
hv_sshd_files() {
	hv_conf=/etc/ssh/sshd_config
	[ -f "$hv_conf" ] || return 0
	printf '%s\n' "$hv_conf"
	set +f
	for hv_i in $(hv_sshd_conf include); do
		case $hv_i in /*) ;; *) hv_i=/etc/ssh/$hv_i ;; esac
		for hv_f in $hv_i; do [ -f "$hv_f" ] && printf '%s\n' "$hv_f"; done
	done
	set -f
}

# hv_sshd_conf KEYWORD...: every value of the keywords in the files listed in $hv_conf, wherever
# they are set, Match blocks included; one per line, quotes removed.
# shellcheck disable=SC2086 # $hv_conf is split at newlines on purpose
hv_sshd_conf() {
	[ -n "$hv_conf" ] || return 0
	HV_K=" $(printf '%s ' "$@")" awk '{
		n = split($0, w, /[ \t]+/); i = w[1] == "" ? 2 : 1; k = tolower(w[i])
		if ((j = index(k, "=")) > 0) { w[i] = substr(w[i], j + 1); k = substr(k, 1, j - 1) } else i++
		if (k == "" || index(ENVIRON["HV_K"], " " k " ") == 0) next
		for (; i <= n; i++) { gsub(/"/, "", w[i]); if (w[i] != "") print w[i] }
	}' $hv_conf 2>/dev/null
}

# Login hooks and user-level persistence in every account's home.
hv_homes() {
	awk -F: -v names='.profile .bashrc .bash_profile .bash_login .bash_logout .bash_aliases .shrc .kshrc .mkshrc
		.zshrc .zshenv .zprofile .zlogin .zlogout .cshrc .tcshrc .login .logout .config/fish .ssh .forward
		.pam_environment .config/environment.d .config/autostart .config/systemd .local/share/systemd
		.xprofile .xsession .xsessionrc .xinitrc .rhosts .shosts .k5login .k5users .local/bin
		.gitconfig .config/git .vimrc' '$6 ~ /^\// && !seen[$6]++ {
		h = $6 == "/" ? "" : $6; n = split(names, f, /[ \t\n]+/)
		for (i = 1; i <= n; i++) if (f[i] != "") print h "/" f[i] }' /etc/passwd
}

# Where python3 looks for startup hooks (T1546.018): the `.pth` files and sitecustomize and
# usercustomize modules it runs at every start; only those are recorded, not the libraries.
hv_pydirs() {
	set +f
	for hv_d in /usr/lib/python3* /usr/local/lib/python3* /usr/lib64/python3* /etc/python3*; do
		for hv_s in '' /site-packages /dist-packages; do
			[ -d "$hv_d$hv_s" ] && printf '%s\n' "$hv_d$hv_s"
		done
	done
	# shellcheck disable=SC2013 # IFS is a newline
	for hv_h in $(awk -F: '$6 ~ /^\// { print $6 }' /etc/passwd | sort -u); do
		for hv_d in "$hv_h"/.local/lib/python3*/site-packages; do
			[ -d "$hv_d" ] && printf '%s\n' "$hv_d"
		done
	done
	set -f
}

# Git repositories: a hook, or a config entry that runs a program, runs as whoever next uses
# git there (often root). For every git directory the walk met ($hv_gits: `objects` beside a
# `HEAD`, or a directory named `*.git` holding a `HEAD`; worktrees and submodules share or have
# one of those), for the global configuration files and the files all these include: `b gcfg
# CONFIG<TAB>KEY<TAB>VALUE` per entry that runs a program (hv_gitconfig); `b gdir CONFIG<TAB>DIR`
# per hooks directory holding more than samples (the git directory's own, the one a
# core.hooksPath names, and git's templates', whose CONFIG is the templates directory), and each
# hook in it but the `*.sample` files as `b gm`/`b gh` lines (like hv_walk's; a link is
# followed: what git would run). The report names the repository after CONFIG's path. Sets
# $hv_gc and $hv_gw for hv_payloads.
hv_git() {
	hv_gw=''
	hv_gd=$(for hv_c in $hv_gits; do
		case $hv_c in */objects) hv_c=${hv_c%/objects} ;; esac
		[ -d "$hv_c" ] && [ -e "$hv_c/HEAD" ] && printf '%s\n' "$hv_c"
	done | sort -u)
	hv_gf=$({
		for hv_c in $hv_gd; do [ -f "$hv_c/config" ] && printf '%s\n' "$hv_c/config"; done
		for hv_c in /etc/gitconfig /usr/local/etc/gitconfig $(awk -F: '$6 ~ /^\// && !seen[$6]++ {
			h = $6 == "/" ? "" : $6; print h "/.gitconfig"; print h "/.config/git/config" }' /etc/passwd); do
			[ -f "$hv_c" ] && printf '%s\n' "$hv_c"
		done
	})
	hv_gc=$(printf '%s\n' "$hv_gf" | hv_gitconfig)
	# The files they include, and those these include (git stops at 10 levels; 3 here).
	hv_new=$hv_gc
	case $hv_gc in *"	include.path	"* | *"	includeif."*) ;; *) hv_new='' ;; esac
	for hv_i in 1 2 3; do
		[ -n "$hv_new" ] || break
		hv_new=$(printf '%s\n' "$hv_new" | hv_gitpaths include | cut -f2 | while IFS= read -r hv_c; do
			case "
$hv_gf
" in *"
$hv_c
"*) continue ;; esac
			[ -f "$hv_c" ] && printf '%s\n' "$hv_c"
		done | sort -u)
		[ -n "$hv_new" ] || break
		hv_gf="$hv_gf
$hv_new"
		hv_new=$(printf '%s\n' "$hv_new" | hv_gitconfig)
		[ -z "$hv_new" ] || hv_gc="$hv_gc
$hv_new"
	done
	[ -z "$hv_gc" ] || printf '%s\n' "$hv_gc"
	# Hooks: each git directory's own, those of git's templates (copied into every repository
	# made from then on), and those a core.hooksPath names; only directories holding more than
	# the samples git puts there are walked (most hold nothing else).
	hv_gh=$({
		for hv_c in $hv_gd /usr/share/git-core/templates /usr/local/share/git-core/templates; do
			case $hv_c in */git-core/templates) printf '%s\t%s\n' "$hv_c" "$hv_c/hooks" ;;
			*) printf '%s\t%s\n' "$hv_c/config" "$hv_c/hooks" ;; esac
		done
		case $hv_gc in *"	core.hookspath	"*) printf '%s\n' "$hv_gc" | hv_gitpaths hooks ;; esac
	} | while IFS='	' read -r hv_c hv_d; do
		set +f
		for hv_f in "$hv_d"/*; do
			case $hv_f in *.sample) ;; *) [ -e "$hv_f" ] || [ -L "$hv_f" ] || continue
				printf '%s\t%s\n' "$hv_c" "$hv_d"; break ;;
			esac
		done
	done)
	[ -n "$hv_gh" ] || return 0
	printf '%s\n' "$hv_gh" | sed 's/^/b gdir /'
	hv_gw=$(printf '%s\n' "$hv_gh" | cut -f2 | sort -u | hv_walk gm gh 16384k -L '-maxdepth 1 ! -name *.sample')
	[ -z "$hv_gw" ] || printf '%s\n' "$hv_gw"
}

# hv_gitpaths hooks|include < `b gcfg` lines: `CONFIG<TAB>PATH` for each core.hooksPath (or
# include.path and includeIf.*.path), resolved as git does: an absolute path; `~/` in a home's
# own file (elsewhere it is the home of whoever runs git: not followed); a relative one from the
# working tree (hooks: a bare repository's git directory; a global file's: not followed) or from
# the including file's directory (include).
hv_gitpaths() {
	awk -F'\t' -v what="$1" '
	(what == "hooks" && $2 == "core.hookspath" || what == "include" && ($2 == "include.path" ||
		$2 ~ /^includeif\..*\.path$/)) && $3 != "" {
		c = substr($1, 8); v = $3; d = ""; home = ""; tree = ""
		if (c ~ /\/\.gitconfig$/) home = substr(c, 1, length(c) - 11)
		else if (c ~ /\/\.config\/git\/config$/) home = substr(c, 1, length(c) - 19)
		else if (c ~ /\/\.git\/config$/) tree = substr(c, 1, length(c) - 12)
		else if (c ~ /\/config$/) tree = substr(c, 1, length(c) - 7)
		if (v ~ /^\//) d = v
		else if (v ~ /^~\//) { if (home != "") d = home substr(v, 2) }
		else if (v ~ /^~/) d = ""
		else if (what == "include") d = substr(c, 1, match(c, /\/[^\/]*$/) - 1) "/" v
		else if (tree != "") d = tree "/" v
		sub(/\/+$/, "", d)
		if (d != "") print c "\t" d
	}'
}

# hv_gitconfig < FILES: the entries of git configuration files that run a program (or name
# where one is: hooks, includes), parsed as git does (sections and keys case-insensitive, a
# subsection in quotes kept as written; values unquoted and unescaped, inline `#`/`;` comments,
# lines continued by a backslash): `b gcfg FILE<TAB>KEY<TAB>VALUE`, tabs and newlines in keys and
# values written `\t` and `\n`. A line git would refuse ends the file (git refuses the whole file,
# so nothing in it runs). At most 1 MiB of each file is read.
hv_gitconfig() {
	awk '
	function getc(   c) {
		if (pos > len) { eof = 1; return "\n" }
		c = substr(buf, pos++, 1)
		if (c == "\r" && substr(buf, pos, 1) == "\n") { pos++; c = "\n" }
		return c
	}
	# [section], [section "subsection"], [section.subsection] (old style, all lowercased).
	function header(   c, name, sub_) {
		name = ""
		for (;;) {
			c = getc()
			if (eof) return ""
			if (c == "]") return name
			if (c ~ /[ \t\r\n]/) break
			if (c !~ /[A-Za-z0-9.-]/) return ""
			name = name tolower(c)
		}
		do { if (c == "\n") return ""; c = getc() } while (c ~ /[ \t\r]/)
		if (c != "\"") return ""
		sub_ = ""
		for (;;) {
			c = getc()
			if (c == "\n") return ""
			if (c == "\"") break
			if (c == "\\") { c = getc(); if (c == "\n") return "" }
			sub_ = sub_ c
		}
		if (getc() != "]") return ""
		return name "." sub_
	}
	function value(   c, v, q, cm, tl) {
		v = ""; q = 0; cm = 0; tl = 0
		for (;;) {
			c = getc()
			if (c == "\n") {
				if (q) { bad = 1; return "" }
				return tl ? substr(v, 1, tl) : v
			}
			if (cm) continue
			if (!q && c ~ /[ \t\r]/) { if (!tl) tl = length(v); if (v != "") v = v c; continue }
			if (!q && (c == "#" || c == ";")) { cm = 1; continue }
			tl = 0
			if (c == "\\") {
				c = getc()
				if (c == "\n") continue
				if (c == "t") c = "\t"
				else if (c == "n") c = "\n"
				else if (c == "b") c = "\b"
				else if (c != "\\" && c != "\"") { bad = 1; return "" }
				v = v c
				continue
			}
			if (c == "\"") { q = 1 - q; continue }
			v = v c
		}
	}
	function boolean(v) { return tolower(v) ~ /^(true|false|yes|no|on|off|1|0|)$/ }
	# Whether SECTION[.SUBSECTION].NAME = V runs a program or says where one is.
	function wanted(sec, hassub, nm, v) {
		if (!hassub) {
			if (sec == "core") return nm ~ /^(pager|editor|fsmonitor|hookspath|sshcommand|askpass|gitproxy|alternaterefscommand)$/
			if (sec == "alias") return v ~ /^!/
			if (sec == "pager") return !boolean(v)
			return (sec == "sequence" && nm == "editor") || (sec == "diff" && nm == "external") ||
				(sec == "credential" && nm == "helper") || (sec == "gpg" && nm == "program") ||
				(sec == "uploadpack" && nm == "packobjectshook") || (sec == "include" && nm == "path") ||
				(sec == "sendemail" && nm ~ /^(sendmailcmd|smtpserver)$/) || (sec == "protocol" && nm == "allow") ||
				(sec == "init" && nm == "templatedir")
		}
		if (sec == "filter") return nm ~ /^(clean|smudge|process)$/
		if (sec == "diff") return nm ~ /^(textconv|command)$/
		if (sec == "merge") return nm == "driver"
		if (sec == "credential") return nm == "helper"
		if (sec == "gpg") return nm ~ /^(program|defaultkeycommand)$/
		if (sec == "includeif") return nm == "path"
		if (sec == "protocol") return nm == "allow"
		if (sec == "remote") return nm ~ /^(receivepack|uploadpack)$/ || (nm ~ /^(url|pushurl)$/ && tolower(v) ~ /^ext::/)
		if (sec ~ /^(difftool|mergetool|man|browser)$/) return nm == "cmd"
		if (sec == "trailer") return nm ~ /^(command|cmd)$/
		return 0
	}
	function emit(file, base, nm, v, has,   sec, i, k) {
		i = index(base, ".")
		sec = i ? substr(base, 1, i - 1) : base
		if (!wanted(sec, i > 0, nm, has ? v : "true")) return
		k = base "." nm
		if (!has) v = "true"
		gsub(/\t/, "\\t", k); gsub(/\n/, "\\n", k)
		gsub(/\t/, "\\t", v); gsub(/\n/, "\\n", v); gsub(/\r/, "\\r", v)
		print "b gcfg " file "\t" k "\t" v
	}
	function parse(file,   c, base, name, cm, v, has) {
		pos = 1; eof = 0; bad = 0; len = length(buf); base = ""; cm = 0
		if (substr(buf, 1, 3) == "\357\273\277") pos = 4
		for (;;) {
			c = getc()
			if (c == "\n") { if (eof) return; cm = 0; continue }
			if (cm || c ~ /[ \t\r]/) continue
			if (c == "#" || c == ";") { cm = 1; continue }
			if (c == "[") { base = header(); if (base == "") return; continue }
			if (c !~ /[A-Za-z]/ || base == "") return
			name = tolower(c)
			for (;;) { c = getc(); if (eof || c !~ /[A-Za-z0-9-]/) break; name = name tolower(c) }
			while (c == " " || c == "\t") c = getc()
			has = 0; v = ""
			if (c != "\n") {
				if (c != "=") return
				v = value(); has = 1
				if (bad) return
			}
			emit(file, base, name, v, has)
		}
	}
	$0 != "" {
		buf = ""; n = 0
		while ((getline l < $0) > 0) { buf = buf l "\n"; n += length(l) + 1; if (n > 1048576) break }
		close($0)
		parse($0)
	}'
}

# The files on the persistence surface that run something, and what they name (T1543, T1053,
# T1546, T1547, T1556): systemd units and drop-ins (the `Exec…=` lines), cron files, crontabs
# and at jobs, autostart entries (`Exec=`), PAM (`pam_exec.so`'s arguments), udev rules
# (`RUN`/`PROGRAM`/`IMPORT` lines), init and rc scripts, network hooks, login scripts and shell
# startup files, `~/.ssh/rc`, the loader preload, git hooks and config entries ($hv_gc, $hv_gw
# from hv_git). Every absolute path they name that is a regular file under 16 MiB, executable
# or named like a script, is a payload: `b payload HOOK<TAB>PATH SHA256`. The system's
# executables (recorded by inode and change time) and systemd's own programs are left out:
# hundreds of lines name them. Hook files over 1 MiB are not read.
hv_payloads() {
	# shellcheck disable=SC2046 # split at newlines on purpose
	hv_pp=$({
		printf '%s\n' "$hv_gc" "$hv_gw"
		find -H $(hv_hookfiles) -maxdepth 4 -type f -size -1024k -print0 2>/dev/null | tr '\n\t\r\0' '???\n'
		awk -F: -v names='.ssh/rc .profile .bashrc .bash_profile .bash_login .bash_logout .bash_aliases
			.shrc .kshrc .mkshrc .zshrc .zshenv .zprofile .zlogin .zlogout .cshrc .tcshrc .login .logout
			.xprofile .xsession .xsessionrc .xinitrc .config/autostart .config/systemd/user
			.local/share/systemd/user' '$6 ~ /^\// && !seen[$6]++ {
			h = $6 == "/" ? "" : $6; n = split(names, f, /[ \t\n]+/)
			for (i = 1; i <= n; i++) if (f[i] != "") print h "/" f[i] }' /etc/passwd |
			xargs -r -d '\n' sh -c 'exec find -P "$@" -maxdepth 3 -type f -size -1024k -print0 2>/dev/null' hv |
			tr '\n\t\r\0' '???\n'
	} | awk '
	# Absolute paths in S, each one a word of its own (after a blank, `=`, a quote, an
	# operator…: `*/5` in a cron line is not one), printed with HOOK once.
	function scan(hook, s,   t, c) {
		while (match(s, /\/[A-Za-z0-9._\/@+-]+/)) {
			t = substr(s, RSTART, RLENGTH)
			c = RSTART > 1 ? substr(s, RSTART - 1, 1) : " "
			s = substr(s, RSTART + RLENGTH)
			if (c !~ /[ \t="\047`(;|&<>:,!@+{-]/) continue
			if (t ~ /^\/(usr\/)?s?bin\// || t ~ /^\/(usr\/)?lib\/systemd\// || t ~ /^\/usr\/libexec\// ||
				t ~ /^\/usr\/lib\/(openssh|sudo)\// || t ~ /^\/(proc|sys|dev)\//) continue
			if (t != hook && !seen[hook "\t" t]++) print hook "\t" t
		}
	}
	# A git entry: its value, for its configuration file. A git hook: a script.
	/^b gcfg / { split(substr($0, 8), e, "\t"); scan(e[1], e[3]); next }
	/^b gm f / { sub(/^b gm f [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* /, ""); sub(/\t.*/, "") }
	/^b / || $0 == "" { next }
	{
		f = $0; k = "script"
		if (f ~ /\/systemd\//) k = "unit"
		else if (f ~ /\.desktop$/) k = "desktop"
		else if (f ~ /^\/etc\/pam(\.d\/|\.conf$)/) k = "pam"
		else if (f ~ /\/udev\/rules\.d\//) k = "udev"
		else if (f ~ /^\/var\/spool\/(cron\/atspool|at\/spool)\//) next
		while ((getline l < f) > 0) {
			if (k == "script") { if (l !~ /^[ \t]*#/) scan(f, l) }
			else if (k == "unit") { if (l ~ /^[ \t]*Exec[A-Za-z]*[ \t]*=/) scan(f, l) }
			else if (k == "desktop") { if (l ~ /^[ \t]*(Try)?Exec[ \t]*=/) scan(f, l) }
			else if (k == "pam") { if (l !~ /^[ \t]*#/ && (i = index(l, "pam_exec.so"))) scan(f, substr(l, i + 11)) }
			else if (l !~ /^[ \t]*#/ && l ~ /(RUN|PROGRAM|IMPORT\{program\})/) scan(f, l)
		}
		close(f)
	}')
	[ -n "$hv_pp" ] || return 0
	# The digests of the paths that are payloads, then the pairs (a tab in each) to join them with.
	{
		printf '%s\n' "$hv_pp" | awk -F'\t' '!seen[$2]++ { print $2 }' | xargs -r -d '\n' sh -c 'exec find -H "$@" \
			-maxdepth 0 -type f -size -16384k \( -perm /111 -o -name "*.sh" -o -name "*.bash" -o -name "*.py" \
			-o -name "*.pl" -o -name "*.rb" -o -name "*.php" -o -name "*.so" -o -name "*.so.*" \) \
			-exec sha256sum -- {} + 2>/dev/null' hv
		printf '%s\n' "$hv_pp"
	} | awk '(i = index($0, "\t")) { p = substr($0, i + 1)
			if (p in h) print "b payload " substr($0, 1, i - 1) "\t" p " " h[p]; next }
		length($1) == 64 { h[substr($0, 67)] = $1 }'
}

# The files hv_payloads reads (start points of a find -H, which follows only them).
hv_hookfiles() {
	printf '%s\n' /etc/systemd/system /etc/systemd/user /usr/lib/systemd/system /usr/lib/systemd/user \
		/usr/local/lib/systemd /run/systemd/system /run/systemd/user /run/systemd/transient /etc/xdg/systemd \
		/etc/xdg/autostart /etc/crontab /etc/cron.d /etc/cron.hourly /etc/cron.daily /etc/cron.weekly \
		/etc/cron.monthly /etc/cron.yearly /etc/anacrontab /var/spool/cron /var/spool/at \
		/etc/pam.d /etc/pam.conf /etc/udev/rules.d /usr/lib/udev/rules.d /run/udev/rules.d \
		/etc/init.d /etc/rc.local /etc/rc.d /etc/inittab /etc/inetd.conf /etc/inetd.d /etc/xinetd.conf /etc/xinetd.d \
		/etc/profile /etc/profile.d /etc/bash.bashrc /etc/bash.bash_logout /etc/bashrc /etc/zsh /etc/csh.cshrc \
		/etc/csh.login /etc/update-motd.d /etc/ssh/sshrc /etc/ld.so.preload \
		/etc/network /etc/NetworkManager/dispatcher.d /etc/dhcp/dhclient-enter-hooks.d \
		/etc/dhcp/dhclient-exit-hooks.d /etc/ppp/ip-up /etc/ppp/ip-up.d /etc/ppp/ip-down \
		/etc/ppp/ip-down.d /etc/ppp/ipv6-up /etc/ppp/ipv6-up.d /etc/ppp/ipv6-down /etc/ppp/ipv6-down.d
	[ -L /lib ] || printf '%s\n' /lib/systemd/system /lib/systemd/user /lib/udev/rules.d
}

# The system's programs (T1554: a trojaned sshd, su or sudo plugin): by inode, size and change
# time only, as there are thousands to hash; /usr/local and the PAM modules are hashed with the
# roots.
hv_bins() {
	for hv_d in /bin /sbin /usr/bin /usr/sbin /usr/lib/openssh /usr/libexec/openssh /usr/lib/sudo \
		/usr/libexec/sudo; do
		[ -d "$hv_d" ] && [ ! -L "$hv_d" ] && printf '%s\n' "$hv_d"
	done
}

# System-wide places where persistence lives (MITRE ATT&CK, Linux persistence): accounts'
# helpers, sudo, SSH and rsh trust, cron and at, systemd, init, login hooks, PAM and NSS, the
# loader, kernel modules, boot, udev, D-Bus, inetd, package-manager and network hooks, saved
# firewall rules, trusted certificates, containers, web-server configuration, PATH.
hv_roots() {
	printf '%s\n' /etc/ld.so.preload /etc/ld.so.conf /etc/ld.so.conf.d \
		/etc/sudoers /etc/sudoers.d /etc/sudo.conf /etc/doas.conf /etc/polkit-1 /usr/share/polkit-1/rules.d \
		/var/lib/polkit-1 /etc/ssh /etc/hosts.equiv \
		/etc/crontab /etc/cron.d /etc/cron.hourly /etc/cron.daily /etc/cron.weekly /etc/cron.monthly \
		/etc/cron.yearly /etc/anacrontab /etc/cron.allow /etc/cron.deny /etc/at.allow /etc/at.deny \
		/var/spool/cron /var/spool/at \
		/etc/systemd /usr/lib/systemd /usr/local/lib/systemd /run/systemd/system /run/systemd/user \
		/run/systemd/transient /var/lib/systemd/linger /etc/xdg/autostart /etc/xdg/systemd \
		/etc/tmpfiles.d /usr/lib/tmpfiles.d /usr/local/lib/tmpfiles.d /run/tmpfiles.d \
		/etc/init.d /etc/rc.local /etc/rc.d /etc/rc0.d /etc/rc1.d /etc/rc2.d /etc/rc3.d /etc/rc4.d \
		/etc/rc5.d /etc/rc6.d /etc/rcS.d /etc/inittab /etc/inetd.conf /etc/inetd.d /etc/xinetd.conf \
		/etc/xinetd.d \
		/etc/profile /etc/profile.d /etc/bash.bashrc /etc/bash.bash_logout /etc/bashrc /etc/bash_completion.d \
		/etc/environment /etc/environment.d /usr/lib/environment.d /usr/local/lib/environment.d \
		/etc/zsh /etc/csh.cshrc /etc/csh.login /etc/fish /etc/skel /etc/shells \
		/etc/update-motd.d /etc/security /etc/pam.d /etc/pam.conf /etc/nsswitch.conf /etc/login.defs \
		/etc/securetty /etc/default/useradd /etc/aliases /etc/aliases.db /etc/gitconfig /usr/local/etc/gitconfig \
		/etc/modules /etc/modules-load.d /usr/lib/modules-load.d /etc/modprobe.d /usr/lib/modprobe.d \
		/etc/default/grub /etc/default/grub.d /etc/grub.d /boot/grub/grub.cfg /boot/grub2/grub.cfg \
		/etc/initramfs-tools /etc/dracut.conf /etc/dracut.conf.d \
		/etc/binfmt.d /usr/lib/binfmt.d /usr/local/lib/binfmt.d /run/binfmt.d /proc/sys/fs/binfmt_misc \
		/etc/udev/rules.d /usr/lib/udev/rules.d /run/udev/rules.d \
		/etc/dbus-1 /usr/share/dbus-1 /usr/local/share/dbus-1 \
		/etc/apt/apt.conf.d /etc/apt/sources.list /etc/apt/sources.list.d /etc/apt/trusted.gpg \
		/etc/apt/trusted.gpg.d /etc/apt/keyrings /etc/apt/preferences /etc/apt/preferences.d \
		/etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d /etc/yum.conf /etc/yum/pluginconf.d /etc/dnf/dnf.conf \
		/etc/dnf/plugins /etc/logrotate.conf /etc/logrotate.d \
		/etc/sysctl.conf /etc/sysctl.d /etc/hosts /etc/hosts.allow /etc/hosts.deny \
		/etc/network /etc/NetworkManager/dispatcher.d /etc/dhcp/dhclient-enter-hooks.d \
		/etc/dhcp/dhclient-exit-hooks.d /etc/ppp/ip-up /etc/ppp/ip-up.d /etc/ppp/ip-down \
		/etc/ppp/ip-down.d /etc/ppp/ipv6-up /etc/ppp/ipv6-up.d /etc/ppp/ipv6-down /etc/ppp/ipv6-down.d \
		/etc/iptables /etc/nftables.conf /etc/nftables.d /etc/ufw /etc/firewalld /etc/sysconfig/iptables \
		/etc/sysconfig/ip6tables /etc/sysconfig/nftables.conf \
		/usr/local/share/ca-certificates /etc/ssl/certs /etc/ca-certificates.conf /etc/ca-certificates \
		/etc/pki/ca-trust/source \
		/etc/docker/daemon.json /etc/containers \
		/etc/rsyslog.conf /etc/rsyslog.d \
		/etc/apache2 /etc/httpd /etc/nginx /etc/php /etc/lighttpd \
		/usr/local/bin /usr/local/sbin
	set +f
	for hv_d in /usr/lib/*/security /usr/lib64/security; do [ -d "$hv_d" ] && printf '%s\n' "$hv_d"; done
	# Without merged /usr, /lib holds its own copies.
	if [ ! -L /lib ]; then
		printf '%s\n' /lib/systemd /lib/udev/rules.d /lib/modprobe.d /lib/modules-load.d /lib/tmpfiles.d \
			/lib/binfmt.d
		for hv_d in /lib/*/security /lib/security; do [ -d "$hv_d" ] && printf '%s\n' "$hv_d"; done
	fi
	set -f
	hv_k=$(uname -r)
	printf '%s\n' "/lib/modules/$hv_k/updates" "/lib/modules/$hv_k/extra"
}

# hv_walk META [HASH [MAX [OPT [TESTS]]]] < PATHS: every file, link and directory under the
# paths read from stdin, one per line (each on its own filesystem): `b META TYPE MODE UID GID SIZE
# INODE CTIME PATH<TAB>LINK-TARGET`; with HASH, also `b HASH SHA256  PATH` for regular files
# (smaller than MAX, in find -size units, if given). OPT is find's -P (the default: links are
# recorded as links) or -H (a start path that is a link is followed); TESTS narrow the walk
# (split at blanks, never globbed). xargs splits long lists (thousands of accounts) over finds.
# shellcheck disable=SC2016 # the inner scripts expand their own arguments
hv_walk() {
	hv_wm=$1 hv_wh=${2:-}
	HV_MAX=${3:-} HV_OPT=${4:--P} HV_TESTS=${5:-}
	export HV_MAX HV_OPT HV_TESTS
	hv_list=$(cat)
	printf '%s\n' "$hv_list" | xargs -r -d '\n' sh -fc \
		'exec find $HV_OPT "$@" -xdev $HV_TESTS \( -type f -o -type l -o -type d \) -printf "%y %m %U %G %s %i %C@ %p\0%l\0" 2>/dev/null' hv |
		tr '\n\t\r\0' '???\n' | awk -v k="$hv_wm" 'NR % 2 { m = $0; next } { print "b " k " " m "\t" $0 }'
	[ -n "$hv_wh" ] || return 0
	printf '%s\n' "$hv_list" | xargs -r -d '\n' sh -fc '
		if [ -n "$HV_MAX" ]; then
			exec find $HV_OPT "$@" -xdev $HV_TESTS -type f -size "-$HV_MAX" -exec sha256sum -z -- {} + 2>/dev/null
		fi
		exec find $HV_OPT "$@" -xdev $HV_TESTS -type f -exec sha256sum -z -- {} + 2>/dev/null' hv |
		tr '\n\t\r\0' '???\n' | sed "s/^/b $hv_wh /"
}

# The local filesystems' mount points, one per filesystem (network filesystems, /proc, /sys
# and container layers are left out).
hv_fsroots() {
	# shellcheck disable=SC2046 # split at newlines on purpose
	stat -c '%d %n' -- $(awk '$2 !~ /\\/ && $2 !~ /^\/(proc|sys)(\/|$)/ &&
		($3 ~ /^(ext[234]|xfs|btrfs|zfs|f2fs|jfs|reiserfs|bcachefs|nilfs2|tmpfs|devtmpfs|ramfs|vfat|exfat|ntfs3?)$/ ||
		($3 == "overlay" && $2 == "/")) { print length($2) " " $2 }' /proc/mounts | sort -n | cut -d' ' -f2-) 2>/dev/null |
		awk '!seen[$1]++ { sub(/^[^ ]+ /, ""); print }'
}

# hv_orphan UID GID: set hv_fu and hv_fg to the ids of a removed account, each only while no
# account (or group) holds it any more: the files of a live account are never taken.
hv_orphan() {
	hv_fu='' hv_fg=''
	case $1 in '' | 0 | *[!0-9]*) return 0 ;; esac
	getent passwd "$1" >/dev/null 2>&1 || hv_fu=$1
	case ${2:-$1} in '' | 0 | *[!0-9]*) return 0 ;; esac
	getent group "${2:-$1}" >/dev/null 2>&1 || hv_fg=${2:-$1}
}

# hv_fs all|own UID GID [DIR...]: one pass over the local filesystems (or only the DIRs that
# exist): with `all`, setuid and setgid files (with their digests) and file capabilities, and the
# candidate git directories, one per line on fd 3 (for hv_git); with a removed account's UID and
# GID, its files anywhere, handed to root. chown clears setuid and setgid bits and capabilities,
# so nothing the account left becomes root's privilege.
hv_fs() {
	hv_what=$1
	hv_orphan "$2" "$3"
	shift 3
	if [ $# -gt 0 ]; then
		for hv_d in "$@"; do
			shift
			[ ! -d "$hv_d" ] || [ -L "$hv_d" ] || set -- "$@" "$hv_d"
		done
		[ $# -gt 0 ] || return 0
	else
		# shellcheck disable=SC2046 # split at newlines on purpose
		set -- $(hv_fsroots)
		[ $# -gt 0 ] || set -- /
	fi
	set -- "$@" -xdev \( -false \)
	if [ "$hv_what" = all ]; then
		# Git directories too (`objects` beside a `HEAD`, or named `*.git`), for hv_git: the
		# names are tested on directories only, written as an `-o` find's optimizer does not
		# reorder (`-type d -name …` would test every file's name first, 25 ms a name here).
		set -- "$@" , \( -type f \( -perm -4000 -o -perm -2000 \) -printf 's %m %U %G %s %p\0' \) \
			, \( -type f -perm /111 -printf 'x %p\0' \) \
			, \( ! -type d -o \( -name objects -o -name '*.git' \) -printf 'g %p\0' \)
	fi
	[ -z "$hv_fu" ] || set -- "$@" , \( -uid "$hv_fu" -printf 'o %p\0' -exec chown -h 0 -- {} + \)
	[ -z "$hv_fg" ] || set -- "$@" , \( -gid "$hv_fg" -printf 'o %p\0' -exec chgrp -h 0 -- {} + \)
	if command -v getcap >/dev/null 2>&1; then
		# shellcheck disable=SC2089 # a command line for awk's pipes
		HV_CAP="xargs -r -d '\\n' getcap 2>/dev/null | sed 's/^/b cap /'"
	else
		HV_CAP=
	fi
	# shellcheck disable=SC2089,SC2090 # a command line for awk's pipes
	HV_SUM="xargs -r -d '\\n' sha256sum -- 2>/dev/null | sed 's/^/b h /'"
	# shellcheck disable=SC2090
	export HV_CAP HV_SUM
	find "$@" 2>/dev/null | tr '\n\t\r\0' '???\n' | awk '
		# getcap and sha256sum print through pipes of their own; the kept lines are printed only
		# after those closed, so no two writers share stdout at once.
		/^x / { if (ENVIRON["HV_CAP"] != "") print substr($0, 3) | ENVIRON["HV_CAP"]; next }
		/^s / { p = $0; sub(/^s [^ ]+ [^ ]+ [^ ]+ [^ ]+ /, "", p)
			keep[++n] = "b suid " p "\t" $2 " " $3 " " $4 " " $5; suid[++m] = p; next }
		/^o / { if (!own[$0]++) keep[++n] = "b own " substr($0, 3); next }
		/^g / { print substr($0, 3) | "cat >&3"; next }
		END {
			if (ENVIRON["HV_CAP"] != "") close(ENVIRON["HV_CAP"])
			for (i = 1; i <= m; i++) print suid[i] | ENVIRON["HV_SUM"]
			if (m) close(ENVIRON["HV_SUM"])
			close("cat >&3")
			for (i = 1; i <= n; i++) print keep[i]
		}'
}

# hv_sweep TAG UID GID [DIR...]: only hand a removed account's files to root (`b own` lines), for a
# grant without a baseline: on every local filesystem, or only under the DIRs given.
hv_sweep() (
	PATH=/usr/sbin:/usr/bin:/sbin:/bin
	export PATH
	set -f
	IFS='
'
	hv_tag=$1 hv_u=${2:-} hv_g=${3:-}
	shift
	[ $# -lt 2 ] || shift 2
	{
		hv_fs own "$hv_u" "$hv_g" "$@"
		printf 'b end\n'
	} | sed "s/^/$hv_tag /"
)

# Firewall rules, without counters.
hv_firewall() {
	for hv_t in iptables-save ip6tables-save; do
		command -v "$hv_t" >/dev/null 2>&1 || continue
		"$hv_t" 2>/dev/null | awk -v f="$hv_t" '/^#/ || /^COMMIT/ { next } /^\*/ { t = substr($0, 2); next }
			{ sub(/ \[[0-9]+:[0-9]+\]$/, ""); print "b fw " f " " t " " $0 }'
	done
	if command -v nft >/dev/null 2>&1; then
		nft list ruleset 2>/dev/null | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/' | awk '
			{ sub(/^[ \t]+/, ""); sub(/[ \t]+$/, "") }
			$0 == "" { next }
			/\{$/ { ctx[++d] = substr($0, 1, length($0) - 2); next }
			$0 == "}" { d--; next }
			{ c = ""; for (i = 1; i <= d; i++) c = c ctx[i] " / "; print "b fw nft " c $0 }'
	fi
}

# Listening sockets: protocol, address:port and program names, raw and packet sockets included
# (a back-door such as BPFDoor listens on one, seeing every packet before the firewall). UDP ports
# in the ephemeral range are client sockets that change at every restart: kept as `ephemeral`.
hv_listen() {
	command -v ss >/dev/null 2>&1 || return 0
	IFS=' 	' read -r hv_lo hv_hi </proc/sys/net/ipv4/ip_local_port_range || { hv_lo=32768 hv_hi=60999; }
	ss -H -tulpnw0 2>/dev/null | awk -v lo="$hv_lo" -v hi="$hv_hi" '{
		local = $5; n = split(local, a, ":"); port = a[n]
		addr = substr(local, 1, length(local) - length(port) - 1)
		if ($1 == "udp" && port + 0 >= lo + 0 && port + 0 <= hi + 0) port = "ephemeral"
		progs = ""; s = $0
		while (match(s, /\("[^"]*"/)) {
			p = substr(s, RSTART + 2, RLENGTH - 3)
			if (index(" " progs " ", " " p " ") == 0) progs = progs (progs == "" ? "" : " ") p
			s = substr(s, RSTART + RLENGTH)
		}
		print "b listen " $1 " " addr ":" port "\t" progs }' | sort -u
}

# Established connections (TCP, and UDP sockets with a peer), by peer: `b conn PROTO
# PEER:PORT<TAB>PROGRAMS` (the local port is ephemeral). The clients of the host's own services
# are left out: a connection whose local port is one the host listens on (a web visitor, an SSH
# session, handover's own), and a local client's side of it (a peer that is the local end of
# such a connection, or a listening port on loopback). One `ss` for all: the listening ports may
# come after the connections. IPv4-mapped addresses read as IPv4.
hv_conns() {
	command -v ss >/dev/null 2>&1 || return 0
	ss -H -tunap 2>/dev/null | awk 'function port(ep,    n, a) { n = split(ep, a, ":"); return a[n] }
		function norm(ep,    p, ad) {
			p = port(ep); ad = substr(ep, 1, length(ep) - length(p) - 1)
			if (ad ~ /^\[::ffff:[0-9.]+\]$/) ad = substr(ad, 9, length(ad) - 9)
			return ad ":" p
		}
		$2 == "LISTEN" || $2 == "UNCONN" { lp[$1 ":" port($5)] = 1; next }
		$2 == "ESTAB" { e[++m] = $0 }
		END {
			for (i = 1; i <= m; i++) {
				split(e[i], f, /[ \t]+/)
				if ((f[1] ":" port(f[5])) in lp) { srv[f[1] " " norm(f[5])] = 1; continue }
				c[++o] = e[i]
			}
			for (i = 1; i <= o; i++) {
				split(c[i], f, /[ \t]+/); k = f[1] " " norm(f[6])
				if (k in srv) continue
				if ((f[1] ":" port(f[6])) in lp && (k ~ /^[a-z]+ 127\./ || k ~ /^[a-z]+ \[::1\]:/)) continue
				s = c[i]
				if (!(k in r)) r[k] = ""
				while (match(s, /\("[^"]*"/)) {
					p = substr(s, RSTART + 2, RLENGTH - 3)
					if (index(" " r[k] " ", " " p " ") == 0) r[k] = r[k] (r[k] == "" ? "" : " ") p
					s = substr(s, RSTART + RLENGTH)
				}
			}
			for (k in r) print "b conn " k "\t" r[k]
		}'
}

# Installed packages: `b pkg NAME:ARCH<TAB>VERSION STATUS` from dpkg's status file, for every
# package whose files are on the disk (any status but not-installed and config-files), and
# dpkg's maintainer scripts by metadata (`b dm`, as `b m`: an edited postinst runs as root at
# the next upgrade or removal); without dpkg, rpm's database (`NAME.ARCH`, no scripts).
hv_packages() {
	if [ -f /var/lib/dpkg/status ]; then
		hv_dpkg /var/lib/dpkg/status
		find /var/lib/dpkg/info -maxdepth 1 \( -name '*.preinst' -o -name '*.postinst' -o -name '*.prerm' \
			-o -name '*.postrm' -o -name '*.config' \) -type f -printf 'b dm f %m %U %G %s %i %C@ %p\0' 2>/dev/null |
			tr '\n\t\r\0' '???\n'
	elif command -v rpm >/dev/null 2>&1; then
		rpm -qa --qf 'b pkg %{NAME}.%{ARCH}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE} installed\n' 2>/dev/null
	fi
}

# hv_dpkg STATUS-FILE: `b pkg NAME:ARCH<TAB>VERSION STATUS` for each package of a dpkg status file
# whose files are on the disk (grep first: awk reads a tenth of the file).
hv_dpkg() {
	grep -E '^(Package|Architecture|Version|Status):|^$' "$1" | awk 'function flush() {
			if (p != "" && st != "not-installed" && st != "config-files") print "b pkg " p ":" a "\t" v " " st
			p = a = v = st = ""
		}
		$1 == "Package:" { p = $2 } $1 == "Architecture:" { a = $2 } $1 == "Version:" { v = $2 }
		$1 == "Status:" { st = $NF } $0 == "" { flush() } END { flush() }'
}

# The web servers' document roots and aliases, read from their configuration files (Apache,
# nginx, lighttpd, PHP-FPM pools' chdir), as `b webroot DIR<TAB>web|cgi SOURCES`, and in each
# the files a web server would run (`b wm`, see hv_webfiles). Roots are resolved (`cd -P`, no
# program to run per root); a system tree is refused, and the CMS directory is hashed on its
# own (left out, pruned where a root holds it). A subshell: it changes directory.
hv_webroots() (
	CDPATH=
	hv_ws=
	if [ -n "$hv_scope" ] && cd -P -- "$hv_scope" 2>/dev/null; then hv_ws=$PWD; fi
	hv_wr=$(find /etc/apache2 /etc/httpd /etc/nginx /etc/lighttpd /etc/php /etc/php-fpm.d /etc/php-fpm.conf \
		-xdev -type f -size -1024k \( -path '/etc/nginx/*' -o -path '/etc/php*' -path '*fpm*' -name '*.conf' -o \
		! -path '/etc/php*' \( -name '*.conf' -o -path '*/sites-*/*' \) \) -print0 2>/dev/null | hv_webconf |
		while IFS='	' read -r hv_k hv_d hv_s; do
			[ -n "$hv_d" ] || continue
			cd -P -- "$hv_d" 2>/dev/null || continue
			case $PWD in
			/ | /usr | /usr/share | /usr/lib | /usr/local | /var | /var/lib | /etc | /home | /root | /proc | /proc/* | \
				/sys | /sys/* | /dev | /dev/* | /run | /tmp | /boot) continue ;;
			esac
			if [ -n "$hv_ws" ]; then
				case $PWD in "$hv_ws" | "$hv_ws"/*) continue ;; esac
			fi
			printf '%s\t%s\t%s\n' "$hv_k" "$PWD" "$hv_s"
		done | awk -F '\t' 'NF >= 3 {
			if (!($2 in k)) { o[++n] = $2; k[$2] = $1; s[$2] = $3; next }
			if ($1 == "cgi") k[$2] = "cgi"
			if (index("; " s[$2] "; ", "; " $3 "; ") == 0) s[$2] = s[$2] "; " $3
		} END {
			# A root inside another of its kind is walked with it (0: walk it).
			for (i = 1; i <= n; i++) {
				d = o[i]; inner = 0
				for (j = 1; j <= n; j++) if (o[j] != d && k[o[j]] == k[d] && index(d, o[j] "/") == 1) inner = 1
				print k[d] "\t" d "\t" s[d] "\t" inner
			}
		}')
	hv_wweb='' hv_wcgi=''
	for hv_l in $hv_wr; do
		hv_k=${hv_l%%	*} hv_l=${hv_l#*	}
		hv_d=${hv_l%%	*} hv_l=${hv_l#*	}
		printf 'b webroot %s\t%s %s\n' "$hv_d" "$hv_k" "${hv_l%	*}"
		[ "${hv_l##*	}" = 0 ] || continue
		if [ "$hv_k" = cgi ]; then
			hv_wcgi="$hv_wcgi$hv_d
"
		else
			hv_wweb="$hv_wweb$hv_d
"
		fi
	done
	# shellcheck disable=SC2086 # split at newlines on purpose
	hv_webfiles web $hv_wweb
	# shellcheck disable=SC2086
	hv_webfiles cgi $hv_wcgi
)

# hv_webconf < NUL-TERMINATED FILE NAMES: `KIND<TAB>DIR<TAB>DIRECTIVE in FILE` for each document
# root or alias the files name, the dialect told by the file's path (nginx, lighttpd, PHP-FPM,
# else Apache). KIND is `cgi` for ScriptAlias (every file there runs), else `web`. Only plain
# absolute paths: variables (`${APACHE_DOCUMENT_ROOT}`, nginx `$document_root`, FPM `$pool`)
# cannot be resolved and are skipped; a regex alias's target is cut before its first `$N`.
# shellcheck disable=SC2016 # awk's own $
hv_webconf() {
	xargs -0 -r awk 'BEGIN { al["alias"] = "Alias"; al["aliasmatch"] = "AliasMatch"
			al["scriptalias"] = "ScriptAlias"; al["scriptaliasmatch"] = "ScriptAliasMatch" }
		# The next word of `rest` (quoted, or up to the regex sep), taken off it.
		function word(sep,    c, j, w) {
			sub(/^[ \t]+/, "", rest)
			if (rest == "") return ""
			c = substr(rest, 1, 1)
			if (c == "\"" || c == "\047") {
				rest = substr(rest, 2); j = index(rest, c)
				if (j == 0) j = length(rest) + 1
				w = substr(rest, 1, j - 1); rest = substr(rest, j + 1)
				return w
			}
			if (match(rest, sep)) { w = substr(rest, 1, RSTART - 1); rest = substr(rest, RSTART) }
			else { w = rest; rest = "" }
			return w
		}
		function root(kind, dir, what,    f) {
			if (dir !~ /^\// || index(dir, "${")) return
			if (match(dir, /\$[0-9]/)) { dir = substr(dir, 1, RSTART - 1); sub(/[^\/]*$/, "", dir) }
			else if (index(dir, "$")) return
			f = FILENAME; gsub(/[\t\r\n]/, "?", f); gsub(/[\t\r\n]/, "?", dir)
			print kind "\t" dir "\t" what " in " f
		}
		FNR == 1 {
			d = FILENAME ~ /\/nginx\// ? "nginx" : FILENAME ~ /\/lighttpd\// ? "lighttpd" : FILENAME ~ /fpm/ ? "fpm" : "apache"
			buf = ""
		}
		{ sub(/\r$/, "") }
		d == "apache" && $0 !~ /^[ \t]*#/ {
			rest = $0; w = tolower(word("[ \t]"))
			if (w == "documentroot") root("web", word("[ \t]"), "DocumentRoot")
			else if (w in al) {
				a = word("[ \t]"); b = word("[ \t]")
				root(w ~ /^script/ ? "cgi" : "web", b == "" ? a : b, al[w])
			}
		}
		d == "nginx" {
			if ($0 ~ /^[ \t]*#/) $0 = ""
			else if (match($0, /[ \t;{}]#/)) $0 = substr($0, 1, RSTART)
			buf = buf " " $0
			while (match(buf, /[;{}]/)) {
				rest = substr(buf, 1, RSTART - 1); buf = substr(buf, RSTART + 1)
				w = word("[ \t]")
				if (w == "root" || w == "alias") root("web", word("[ \t]"), w)
			}
		}
		d == "lighttpd" && $0 !~ /^[ \t]*#/ {
			if ($0 ~ /^[ \t]*server\.document-root[ \t]*\+?=/) {
				rest = $0; sub(/^[^=]*=/, "", rest); root("web", word("[ \t]"), "server.document-root")
			} else if ($0 ~ /alias\.url/) {
				s = $0
				while (match(s, /=>[ \t]*"[^"]*"/)) {
					rest = substr(s, RSTART + 2, RLENGTH - 2); s = substr(s, RSTART + RLENGTH)
					root("web", word("[ \t]"), "alias.url")
				}
			}
		}
		d == "fpm" && $0 ~ /^[ \t]*chdir[ \t]*=/ { rest = $0; sub(/^[^=]*=/, "", rest); root("web", word("[ \t;]"), "chdir") }
	' 2>/dev/null
}

# hv_webfiles web|cgi ROOT...: the files (and links) under the ROOTs a web server would run, by
# metadata (`b wm`, as `b m`; no digest, to keep it cheap): with `web`, those named like what
# it runs (src/audit/classify.rs `server_executes`, which the report applies; this regex only
# narrows the walk), with `cgi` every one. The CMS directory ($hv_ws) is pruned.
hv_webfiles() {
	hv_wk=$1
	shift
	[ $# -gt 0 ] || return 0
	set -- "$@" -xdev -regextype posix-extended
	if [ -n "${hv_ws:-}" ] && [ -d "$hv_ws" ]; then set -- "$@" -samefile "$hv_ws" -prune -o; fi
	set -- "$@" \( -type f -o -type l \)
	[ "$hv_wk" = cgi ] ||
		set -- "$@" -iregex '.*/([^/]*\.(php[0-9]?|phtml|pht|phar|phps|shtml|f?cgi|pl|py|sh|aspx?|jsp)(\.[^/]*)?|\.htaccess|\.user\.ini|php\.ini)'
	find -P "$@" -printf '%y %m %U %G %s %i %C@ %p\0%l\0' 2>/dev/null |
		tr '\n\t\r\0' '???\n' | awk 'NR % 2 { m = $0; next } { print "b wm " m "\t" $0 }'
}
