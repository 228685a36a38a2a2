#!/usr/bin/env bash
# mailstack.sh — a real Dovecot (IMAP) + Postfix (SMTP) on loopback for the
# end-to-end tests, after ../shared/recipes/mailstack.md (Debian 12, root).
#
#   mailstack.sh install              apt-get the packages if missing
#   mailstack.sh start DIR            write the configuration under DIR, start, wait until ready
#   mailstack.sh stop DIR             stop both (DIR is kept; rm it yourself)
#   mailstack.sh postfix-stop DIR     stop / start one daemon (outage tests)
#   mailstack.sh postfix-start DIR
#   mailstack.sh dovecot-stop DIR
#   mailstack.sh dovecot-start DIR
#   mailstack.sh logs DIR             print the daemons' logs
#   mailstack.sh run -- CMD [ARG…]    install, start in a fresh directory, run CMD with
#                                     MAILSTACK_DIR set, print the logs if CMD fails, and
#                                     always stop and clean up; exits with CMD's status
#
# Ports (127.0.0.1 only): 10025 Postfix smtpd, 10143 Dovecot IMAP, 10024
# Dovecot LMTP. Users, password "secret": support@example.test,
# engineer@example.test, customer@customer.test. Nothing is written to
# /etc/postfix or /etc/dovecot. Only one stack per machine: start refuses
# when a port is taken.
set -euo pipefail

SMTP_PORT=10025
IMAP_PORT=10143
LMTP_PORT=10024
PORTS=($SMTP_PORT $IMAP_PORT $LMTP_PORT)
USERS=(support@example.test engineer@example.test customer@customer.test)

die() { echo "mailstack: $*" >&2; exit 1; }
say() { echo "mailstack: $*" >&2; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (Postfix and Dovecot drop privileges themselves)"; }

install() {
	need_root
	local missing=()
	command -v postfix >/dev/null || missing+=(postfix)
	[ -x /usr/lib/dovecot/imap ] || missing+=(dovecot-imapd)
	[ -x /usr/lib/dovecot/lmtp ] || missing+=(dovecot-lmtpd)
	command -v ss >/dev/null || missing+=(iproute2)
	command -v script >/dev/null || missing+=(bsdutils)
	if [ ${#missing[@]} -eq 0 ]; then
		return
	fi
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

listening() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# wait_ports up|down PORT… waits up to 30 s.
wait_ports() {
	local want=$1; shift
	local i port ok
	for i in $(seq 1 300); do
		ok=1
		for port in "$@"; do
			if [ "$want" = up ]; then listening "$port" || ok=0; else ! listening "$port" || ok=0; fi
		done
		[ $ok = 1 ] && return 0
		sleep 0.1
	done
	return 1
}

check_dir() {
	[ -n "${1:-}" ] || die "give the stack's directory"
	T=$(cd "$1" && pwd) || die "no directory $1"
}

write_config() {
	chmod 0755 "$T" # mail, dovenull and postfix must traverse it
	mkdir -p "$T/dovecot" "$T/mail" "$T/postfix/etc" "$T/postfix/spool" "$T/postfix/data"
	chown mail:mail "$T/mail"
	chown postfix:postfix "$T/postfix/data"
	: >"$T/dovecot/users"
	for u in "${USERS[@]}"; do
		echo "$u:{PLAIN}secret::::::" >>"$T/dovecot/users"
	done
	chgrp dovecot "$T/dovecot/users"
	chmod 0640 "$T/dovecot/users"

	cat >"$T/dovecot/dovecot.conf" <<EOF
instance_name = mailstack
base_dir = $T/dovecot/run
state_dir = $T/dovecot/state
log_path = $T/dovecot/dovecot.log
listen = 127.0.0.1
protocols = imap lmtp
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_uid = mail
mail_gid = mail
first_valid_uid = 8
first_valid_gid = 8
mail_location = maildir:~/Maildir
# Test stack: no fsync per delivered mail (durability is not under test;
# with it, the two busy INBOXes serialise every delivery on the disk).
mail_fsync = never
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $T/dovecot/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $T/dovecot/users
  default_fields = home=$T/mail/%d/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
  unix_listener lmtp {
    mode = 0666
  }
}
protocol lmtp {
  postmaster_address = postmaster@example.test
}
EOF

	local inline
	inline=$(printf '%s=ok, ' "${USERS[@]}")
	cat >"$T/postfix/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $T/postfix/spool
data_directory = $T/postfix/data
maillog_file = $T/postfix/postfix.log
maillog_file_prefixes = $T
myhostname = mx.example.test
mydomain = example.test
myorigin = \$mydomain
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP test
biff = no
append_dot_mydomain = no
smtpd_relay_restrictions = reject_unauth_destination
virtual_mailbox_domains = example.test, customer.test
virtual_mailbox_maps = inline:{ ${inline%, } }
virtual_transport = lmtp:inet:127.0.0.1:$LMTP_PORT
default_transport = error:5.7.1 this test stack relays nothing
relay_transport = error:5.7.1 this test stack relays nothing
# Test-stack tuning, beyond the recipe: retry deferred mail (Dovecot down)
# within seconds rather than minutes, and never slow down SMTP clients
# that submit faster than mail is delivered (the load test).
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
in_flow_delay = 0
EOF

	cat >"$T/postfix/etc/master.cf" <<EOF
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
}

# The daemons keep the caller's stdout/stderr (recipe pitfall 5): always
# redirect them to files, or a caller reading a pipe waits for ever.
dovecot_start() {
	dovecot -c "$T/dovecot/dovecot.conf" </dev/null >>"$T/dovecot/start.out" 2>&1 ||
		{ cat "$T/dovecot/start.out" >&2; die "dovecot did not start"; }
	wait_ports up $IMAP_PORT $LMTP_PORT || { logs; die "dovecot is not listening on $IMAP_PORT/$LMTP_PORT"; }
}

dovecot_stop() {
	doveadm -c "$T/dovecot/dovecot.conf" stop </dev/null >>"$T/dovecot/start.out" 2>&1 ||
		{ [ -f "$T/dovecot/run/master.pid" ] && kill "$(cat "$T/dovecot/run/master.pid")" 2>/dev/null; } || true
	wait_ports down $IMAP_PORT $LMTP_PORT || die "dovecot still listening after stop"
	kill_leftovers
}

# kill_leftovers ends this stack's processes that outlive their master:
# Dovecot's imap processes keep serving logged-in clients (an IDLE goes on)
# after the master stops. A real restart (systemd kills the whole cgroup)
# cuts those connections; so does this. They are found by their process
# title, "dovecot-mailstack/…" after instance_name (one stack per machine).
kill_leftovers() {
	local pid title pids=()
	for pid in /proc/[0-9]*; do
		title=$( { tr '\0' ' ' <"$pid/cmdline"; } 2>/dev/null) || continue
		case $title in dovecot-mailstack/*) pids+=("${pid#/proc/}") ;; esac
	done
	[ ${#pids[@]} -eq 0 ] && return 0
	kill -TERM "${pids[@]}" 2>/dev/null || true
	sleep 0.5
	kill -KILL "${pids[@]}" 2>/dev/null || true
}

postfix_start() {
	if ! postfix -c "$T/postfix/etc" start </dev/null >>"$T/postfix/start.out" 2>&1; then
		# Without a tty or syslog postfix fails silently (pitfall 1).
		script -qc "postfix -c $T/postfix/etc check" /dev/null </dev/null >&2 || true
		die "postfix did not start"
	fi
	wait_ports up $SMTP_PORT || { logs; die "postfix is not listening on $SMTP_PORT"; }
}

postfix_stop() {
	postfix -c "$T/postfix/etc" stop </dev/null >>"$T/postfix/start.out" 2>&1 || true
	wait_ports down $SMTP_PORT || die "postfix still listening after stop"
}

start() {
	need_root
	check_dir "$1"
	for port in "${PORTS[@]}"; do
		if listening "$port"; then
			ss -Hltnp "sport = :$port" >&2 || true
			die "port $port is taken: another mail stack (or something else) runs; stop it first"
		fi
	done
	write_config
	dovecot_start
	postfix_start
	say "ready in $T: SMTP 127.0.0.1:$SMTP_PORT, IMAP 127.0.0.1:$IMAP_PORT"
}

stop() {
	check_dir "$1"
	[ -f "$T/postfix/etc/main.cf" ] && postfix_stop || true
	[ -f "$T/dovecot/dovecot.conf" ] && dovecot_stop || true
}

logs() {
	local f
	for f in "$T/dovecot/start.out" "$T/dovecot/dovecot.log" "$T/postfix/start.out" "$T/postfix/postfix.log"; do
		[ -s "$f" ] || continue
		echo "----- $f (last 100 lines)"
		tail -n 100 "$f"
	done >&2
}

run() {
	[ "${1:-}" = -- ] && shift
	[ $# -gt 0 ] || die "run: give a command after --"
	install
	T=$(mktemp -d /tmp/mailstack.XXXXXX)
	cleanup() {
		local rc=$?
		trap - EXIT INT TERM
		if [ $rc -ne 0 ]; then
			say "command failed (status $rc); the mail stack's logs:"
			logs || true
		fi
		stop "$T" || true
		rm -rf "$T"
		exit $rc
	}
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	start "$T"
	MAILSTACK_DIR=$T MAILSTACK_SCRIPT=$(realpath "$0") "$@"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
install) install ;;
start) start "${1:-}" ;;
stop) stop "${1:-}" ;;
postfix-stop) check_dir "${1:-}"; postfix_stop ;;
postfix-start) check_dir "${1:-}"; postfix_start ;;
dovecot-stop) check_dir "${1:-}"; dovecot_stop ;;
dovecot-start) check_dir "${1:-}"; dovecot_start ;;
logs) check_dir "${1:-}"; logs ;;
run) run "$@" ;;
*) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
