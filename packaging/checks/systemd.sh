#!/usr/bin/env bash
# The systemd units of a server host (server/systemd/, docs/install.md "Servers as system
# services"): systemd-analyze verify and security on the units as `python -m ipics_server
# units --print` prints them, installed in a temporary root with a stub interpreter; then
# each unit's ExecStart, expanded as systemd expands it (packaging/checks/unit_exec.py),
# run as a service runs: another uid, no capabilities, no new privileges, a /tmp of its
# own, everything read-only but its state directory (ProtectSystem=strict), its
# credentials in $CREDENTIALS_DIRECTORY and its stderr taken for the journal (the system
# call filter, address families and ProtectHome= are systemd's alone: not emulated); it must listen on loopback, log one line per event, and
# stop on SIGTERM.  A server without its password credential must refuse in one sentence.
# Needs root (unshare, setpriv) and Debian's systemd (systemd-analyze).
set -euo pipefail
cd "$(dirname "$0")/../.."
py=${PYTHON:-$PWD/.venv/bin/python}
units=(ipics-server@.service ipics-media@.service)
instances=(ipics-server@primary.service ipics-media@ptt.service)
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "systemd: FAIL: $*" >&2; exit 1; }

echo "systemd: verify ${instances[*]} (systemd-analyze verify, in a temporary root)"
root=$work/root
mkdir -p "$root/etc/systemd/system" "$root/opt/ipics-ha-lab/bin" "$root/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"  # the targets the units name
printf '#!/bin/sh\nexit 0\n' >"$root/opt/ipics-ha-lab/bin/python"
chmod 755 "$root/opt/ipics-ha-lab/bin/python"
for u in "${units[@]}"; do
  "$py" -m ipics_server units --print "$u" --python /opt/ipics-ha-lab/bin/python >"$root/etc/systemd/system/$u"
done
# verify exits 0 on an unknown key or a misspelt system call group: any word is a failure
out=$(systemd-analyze verify --root="$root" "${instances[@]}" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify is not clean: $out"
echo "systemd: exposure (systemd-analyze security --offline) at most 1.5 of 10"
for i in "${instances[@]}"; do
  out=$(systemd-analyze security --offline=yes --threshold=15 --root="$root" "$i" 2>&1) \
    || fail "$i is more exposed than 1.5: $(grep -E '^(✗|→)' <<<"$out")"
  grep -o 'Overall exposure level.*' <<<"$out" | sed 's/^/  /'
done

free_ports() {
  "$py" -c 'import socket
socks = [socket.socket() for _ in range(int(__import__("sys").argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# The service's uid: one of systemd's DynamicUser range, if it can run this interpreter
# (a checkout or a pyenv Python in /root is closed to it); else root without capabilities.
svc_uid=61184
if ! setpriv --reuid=$svc_uid --regid=$svc_uid --clear-groups -- "$py" -c 'import ipics_server.app' 2>/dev/null; then
  echo "systemd: (uid $svc_uid cannot run $py: running as uid 0 without capabilities instead)"
  svc_uid=0
fi
echo "systemd: the services run as uid $svc_uid"
chmod 755 "$work"

# run_unit UNIT INSTANCE CONF: start its ExecStart as the service would; sets $svc_pid, $svc_log
run_unit() {
  local unit=$1 instance=$2 conf=$3
  local state=$work/$instance/state creds=$work/$instance/credentials
  mkdir -p "$state/ipics-ha-lab/$instance"
  chown -R $svc_uid:$svc_uid "$state"
  chmod 700 "$state/ipics-ha-lab/$instance"
  local -a argv
  mapfile -d '' argv < <("$py" packaging/checks/unit_exec.py "$root/etc/systemd/system/$unit" "$instance" \
    "$state" "$creds" "$conf")
  argv[0]=$py  # the interpreter of this checkout in place of /opt/ipics-ha-lab/bin/python
  svc_log=$work/$instance/stderr
  : >"$svc_log"
  echo "systemd: $unit as $instance: ${argv[*]}"
  CREDENTIALS_DIRECTORY=$creds JOURNAL_STREAM=$(stat -c '%d:%i' "$svc_log") \
    unshare --mount --propagation private -- sh -c '
      work=$1 state=$2 checkout=$3; shift 3
      # PrivateTmp=: a /tmp and /var/tmp of its own; $work (under /tmp) stays where it was,
      # and so does the checkout with its .venv when it is under /tmp too (a CI clone):
      # the real install is in /opt (install.md)
      mount -t tmpfs tmpfs /mnt && mkdir /mnt/work /mnt/checkout
      mount --bind "$work" /mnt/work && mount --bind "$checkout" /mnt/checkout
      mount -t tmpfs -o mode=1777 tmpfs /tmp && mount -t tmpfs -o mode=1777 tmpfs /var/tmp
      mkdir -p "$work" && mount --bind /mnt/work "$work" && mount --bind "$state" "$state"
      mkdir -p "$checkout" && mount --bind /mnt/checkout "$checkout"
      # ProtectSystem=strict: every file system read-only, but the API ones and its own
      findmnt -rn -o TARGET,FSTYPE | while read -r target fstype; do
        case $fstype in proc|sysfs|devtmpfs|devpts|tmpfs|cgroup|cgroup2|mqueue) ;;
          *) mount -o remount,bind,ro "$target" 2>/dev/null || true;; esac
      done
      mount -o remount,bind,rw "$state"
      exec setpriv --reuid="$UID_" --regid="$UID_" --clear-groups --no-new-privs \
        --bounding-set=-all --inh-caps=-all -- "$@"' sh "$work" "$state" "$PWD" "${argv[@]}" \
    </dev/null >/dev/null 2>>"$svc_log" &
  svc_pid=$!
  pids+=("$svc_pid")
}
export UID_=$svc_uid

# credentials as systemd leaves them: a directory and files only the service may read
credential() {  # credential INSTANCE ID VALUE
  local dir=$work/$1/credentials
  mkdir -p "$dir"
  printf '%s' "$3" >"$dir/$2"
  chown -R $svc_uid:$svc_uid "$dir"
  chmod 500 "$dir"
  chmod 400 "$dir/$2"
}

wait_for() {  # wait_for WHAT SECONDS COMMAND...
  local what=$1 deadline=$((SECONDS + $2))
  shift 2
  until "$@" 2>/dev/null; do
    kill -0 "$svc_pid" 2>/dev/null || fail "$what: the process ended: $(cat "$svc_log")"
    [ $SECONDS -lt $deadline ] || fail "$what: not within the deadline: $(cat "$svc_log")"
    sleep 0.2
  done
}

stop_unit() {  # SIGTERM, as systemctl stop sends it: ends with status 0
  kill -TERM "$svc_pid"
  local status=0
  wait "$svc_pid" || status=$?
  [ $status = 0 ] || fail "stopped with status $status: $(cat "$svc_log")"
}

one_line_per_event() {  # every line a journal entry with its priority, no colour code
  if grep -vqE '^<[0-7]>' "$svc_log"; then fail "a line without its priority: $(cat "$svc_log")"; fi
  if grep -q $'\e' "$svc_log"; then fail "a colour code in the journal: $(cat "$svc_log")"; fi
}

read -r port ssh_port heartbeat_port media_port < <(free_ports 4)
password='s3rvice-Secret!'
# the sample licenses (a server without them serves no user), wherever the checkout keeps them
licenses=$(find assets lab -name base.lic -path '*licenses*' -printf '%h\n' -quit 2>/dev/null || true)
[ -n "$licenses" ] || fail "no sample licenses (base.lic) under assets/ or lab/"
cp -r "$licenses" "$work/licenses" && chmod -R a+rX "$work/licenses"
{
  printf 'IPICS_HOST=127.0.0.1\nIPICS_PORT=%s\nIPICS_SSH_PORT=%s\nIPICS_HEARTBEAT_PORT=%s\n' \
    "$port" "$ssh_port" "$heartbeat_port"
  printf 'IPICS_ARGS="'
  printf -- '--license %s ' "$work/licenses/base.lic" "$work/licenses/policy.lic"  # the primary's
  printf '"\n'
} >"$work/primary.conf"
credential primary admin-password "$password"$'\n'
run_unit ipics-server@.service primary "$work/primary.conf"
wait_for "ipics-server@primary listening on 127.0.0.1:$port" 60 \
  "$py" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
  "http://127.0.0.1:$port/api/v1/ha/status"
"$py" - "$port" "$password" <<'PY' || fail "ipicsadmin cannot log in with the credential's password"
import json, sys, urllib.error, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/api/v1/auth/login", method="POST",
    data=json.dumps({"username": "ipicsadmin", "password": sys.argv[2]}).encode(),
    headers={"Content-Type": "application/json"})
try:
    urllib.request.urlopen(req, timeout=5)
except urllib.error.HTTPError as exc:
    sys.exit(f"{exc}: {exc.read().decode()}")
PY
stop_unit
one_line_per_event
grep -q '^<4>primary WARNING ipics.server: IPICS server primary listening on http://127.0.0.1:' "$svc_log" \
  || fail "no listening line in the journal: $(cat "$svc_log")"
grep -q 'stopping' "$svc_log" || fail "no stopping line in the journal: $(cat "$svc_log")"
if grep -rqF "$password" "$svc_log" "$work/primary/state"; then fail "the password is in a log or the data"; fi
echo "systemd: ipics-server@primary listened on 127.0.0.1:$port, logged for the journal, stopped"

echo "systemd: ipics-server@secondary without its password credential"
: >"$work/secondary.conf"
mkdir -p "$work/secondary/credentials"
run_unit ipics-server@.service secondary "$work/secondary.conf"
status=0
wait "$svc_pid" || status=$?
[ $status = 1 ] || fail "without its password it ended with status $status: $(cat "$svc_log")"
[ "$(wc -l <"$svc_log")" = 1 ] && grep -q '^no ipicsadmin password: the credential admin-password is not in' \
  "$svc_log" || fail "without its password it did not say so in one line: $(cat "$svc_log")"
echo "  $(cat "$svc_log")"

printf 'IPICS_MEDIA_PORT=%s\n' "$media_port" >"$work/ptt.conf"
credential ptt media-ticket-key "$("$py" -c 'import secrets; print(secrets.token_hex(32))')"
run_unit ipics-media@.service ptt "$work/ptt.conf"
wait_for "ipics-media@ptt listening on 127.0.0.1:$media_port" 30 \
  "$py" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close()' \
  "$media_port"
stop_unit
one_line_per_event
grep -q "^<4>media WARNING ipics.media: media router listening on ws://127.0.0.1:$media_port/media" "$svc_log" \
  || fail "no listening line in the router's journal: $(cat "$svc_log")"
echo "systemd: ipics-media@ptt listened on 127.0.0.1:$media_port, logged for the journal, stopped"
echo "systemd: OK"
