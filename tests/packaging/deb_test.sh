#!/usr/bin/env bash
# The Debian packages, installed for real on this machine and removed again:
#   1. cpack builds libalipaymsg-dev, alipay-msgd and alipay-msg-sim (version, Depends from
#      dpkg-shlibdeps, conffile, stripped binaries, archives without debug information),
#   2. dpkg -i: files, the system user alipay-msgd, /var/lib/alipay-msgd owned by it, the config
#      readable by root and the service only, `alipay-msgd --version`, `systemd-analyze verify`
#      and its sandbox score (`systemd-analyze security`),
#   3. `alipay-msg check-config` on the shipped config, as the service's user: as shipped exactly
#      two errors, the two key files it points at (file:line, key and path each); with keys in
#      /etc/alipay-msgd/keys, no error and no warning; without its inbox.path, the error that the
#      default place (beside the config) is not writable by the service,
#   4. the packaged daemon, run as the unit runs it (user alipay-msgd, cwd /var/lib/alipay-msgd,
#      shipped config; only the server address, ssl and admin port from the environment), receives
#      a message from the packaged simulator into /var/lib/alipay-msgd and stops cleanly,
#   5. examples/quickstart builds with find_package(alipaymsg) against the installed -dev package,
#   6. dpkg -i again (upgrade path of the maintainer scripts), dpkg -r (config, keys, state and
#      user stay), dpkg --purge with the administrator's keys left (user kept, locked), then a
#      second install + purge with nothing left: no package, file, user, group or statoverride
#      remains, and /etc/passwd and /etc/group are as before.
# It needs root (dpkg) and FAILS otherwise. A lock serialises parallel runs; a trap puts the
# machine back when a step fails; a run killed outright leaves a marker that the next run cleans
# up after. A machine where alipay-msgd is installed by someone else is left alone (FAIL).
# Usage: deb_test.sh BUILD_DIR SOURCE_DIR VERSION CXX_COMPILER
set -euo pipefail
build=$(cd "$1" && pwd)
source=$(cd "$2" && pwd)
version="$3"
cxx="$4"

PACKAGES=(alipay-msgd alipay-msg-sim libalipaymsg-dev)
USER_NAME=alipay-msgd
CONFIG=/etc/alipay-msgd/alipay-msgd.yaml
STATE=/var/lib/alipay-msgd
KEYS=/etc/alipay-msgd/keys
MARKER=/var/lib/alipay-msg-deb-test.installing
LOCK=/run/lock/alipay-msg-deb-test.lock
APP_ID=2021000000000001

step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }

[ "$(id -u)" -eq 0 ] || fail "needs root: it installs the packages with dpkg -i and removes them (run ctest as root)"
for tool in dpkg dpkg-deb dpkg-query dpkg-statoverride cpack flock runuser setpriv readelf curl python3 getent systemd-analyze ldd; do
  command -v "$tool" > /dev/null || fail "$tool is not installed (scripts/setup installs what the tests need)"
done

work=$(mktemp -d /tmp/alipay-msg-deb-test.XXXXXX)
mkdir -p "$(dirname "$LOCK")"
exec 9> "$LOCK"
flock -w 900 9 || fail "another deb_test has held $LOCK for 15 minutes"

# dpkg_run LOG ARGS...: dpkg ARGS, output to LOG; waits (up to 5 minutes) while apt or another
# dpkg holds dpkg's lock (scripts/setup may be installing packages at the same moment).
dpkg_run() {
  local log="$1"
  shift
  for _ in $(seq 300); do
    if dpkg "$@" > "$log" 2>&1; then return 0; fi
    grep -q 'locked by another process' "$log" || return 1
    sleep 1
  done
  return 1
}
status_of() { dpkg-query -W -f='${db:Status-Status}' "$1" 2> /dev/null || true; }
present() { local s; s=$(status_of "$1"); [ -n "$s" ] && [ "$s" != not-installed ]; }

# Puts the machine back as it was before the first dpkg -i (only ever after the marker is written).
restore() {
  local p
  for p in "${PACKAGES[@]}"; do
    if present "$p"; then dpkg_run "$work/restore-$p.log" --purge "$p" || true; fi
  done
  dpkg-statoverride --remove "$CONFIG" > /dev/null 2>&1 || true
  rm -rf /etc/alipay-msgd "$STATE"
  rm -f /lib/systemd/system/alipay-msgd.service
  rm -f /var/lib/systemd/deb-systemd-helper-enabled/alipay-msgd.service.dsh-also
  if getent passwd "$USER_NAME" > /dev/null; then userdel "$USER_NAME" > /dev/null 2>&1 || true; fi
  if getent group "$USER_NAME" > /dev/null; then groupdel "$USER_NAME" > /dev/null 2>&1 || true; fi
  rm -f "$MARKER"
}

daemon_pid="" sim_pid=""
on_exit() {
  local rc=$?
  [ -z "$daemon_pid" ] || kill -KILL "$daemon_pid" 2> /dev/null || true
  [ -z "$sim_pid" ] || kill -KILL "$sim_pid" 2> /dev/null || true
  wait 2> /dev/null || true
  if [ -e "$MARKER" ]; then
    echo "== putting the machine back (dpkg --purge, user, directories)"
    restore
  fi
  if [ "$rc" -eq 0 ]; then rm -rf "$work"; else echo "(files of this run: $work)" >&2; fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

step "the machine is clean (or was left by a killed run of this test)"
leftovers=()
for p in "${PACKAGES[@]}"; do present "$p" && leftovers+=("package $p ($(status_of "$p"))"); done
getent passwd "$USER_NAME" > /dev/null && leftovers+=("user $USER_NAME")
getent group "$USER_NAME" > /dev/null && leftovers+=("group $USER_NAME")
[ -e /etc/alipay-msgd ] && leftovers+=("/etc/alipay-msgd")
[ -e "$STATE" ] && leftovers+=("$STATE")
if [ ${#leftovers[@]} -gt 0 ]; then
  if [ -e "$MARKER" ]; then
    echo "   a killed run left: ${leftovers[*]}; cleaning up"
    restore
  else
    fail "this machine already has ${leftovers[*]}, not installed by this test: it would be replaced" \
      "and removed. Remove it first (dpkg --purge ${PACKAGES[*]}; userdel $USER_NAME)"
  fi
fi
rm -f "$MARKER"
cp /etc/passwd "$work/passwd.before"
cp /etc/group "$work/group.before"

step "cpack: the .debs from $build"
cpack --config "$build/CPackConfig.cmake" -B "$work/cpack" > "$work/cpack.log" 2>&1 \
  || { cat "$work/cpack.log"; fail "cpack"; }
arch=$(dpkg --print-architecture)
deb() { echo "$work/cpack/$1_${version}-1_${arch}.deb"; }
for p in "${PACKAGES[@]}"; do
  [ -f "$(deb "$p")" ] || { ls "$work/cpack"; fail "no $(basename "$(deb "$p")")"; }
  expect_eq "$(dpkg-deb -f "$(deb "$p")" Version)" "${version}-1" "$p Version"
done
daemon_depends=$(dpkg-deb -f "$(deb alipay-msgd)" Depends)
for dep in adduser libc6 libssl3 libsqlite3-0 libyaml-cpp libpq5 libhiredis libnats libstdc++6; do
  [[ "$daemon_depends" == *"$dep"* ]] || fail "alipay-msgd Depends lacks $dep (dpkg-shlibdeps; adduser and the libraries loaded on demand from package.cmake): $daemon_depends"
done
[[ "$(dpkg-deb -f "$(deb libalipaymsg-dev)" Depends)" == *libssl-dev* ]] || fail "libalipaymsg-dev Depends lacks libssl-dev"
dpkg-deb --ctrl-tarfile "$(deb alipay-msgd)" | tar -xO ./conffiles > "$work/conffiles"
expect_eq "$(cat "$work/conffiles")" "$CONFIG" "alipay-msgd conffiles"
for p in alipay-msgd alipay-msg-sim libalipaymsg-dev; do dpkg-deb -x "$(deb "$p")" "$work/content"; done
for f in usr/bin/alipay-msgd usr/bin/alipay-msg usr/bin/alipay-msg-sim; do
  sections=$(readelf -S --wide "$work/content/$f")
  if grep -qE '\.symtab|\.debug_' <<< "$sections"; then fail "$f is not stripped"; fi
done
archives=("$work"/content/usr/lib/libalipaymsg_*.a "$work"/content/usr/lib/*/libalipaymsg_*.a)
found=0
for a in "${archives[@]}"; do
  [ -f "$a" ] || continue
  found=$((found + 1))
  if readelf -S --wide "$a" | grep -q '\.debug_info'; then fail "$(basename "$a") carries debug information"; fi
done
[ "$found" -ge 9 ] || fail "libalipaymsg-dev has $found libalipaymsg_*.a archives, expected 9"

step "dpkg -i ${PACKAGES[*]}"
echo "$$" > "$MARKER"
dpkg_run "$work/install.log" -i "$(deb libalipaymsg-dev)" "$(deb alipay-msg-sim)" "$(deb alipay-msgd)" \
  || { cat "$work/install.log"; fail "dpkg -i"; }
for p in "${PACKAGES[@]}"; do expect_eq "$(status_of "$p")" installed "dpkg status of $p"; done

step "installed files, the user, the state directory, permissions"
for f in /usr/bin/alipay-msgd /usr/bin/alipay-msg /usr/bin/alipay-msg-sim; do [ -x "$f" ] || fail "$f missing"; done
for f in /lib/systemd/system/alipay-msgd.service "$CONFIG" /usr/include/alipaymsg/receiver.h \
  /usr/share/doc/alipay-msgd/README.md; do
  [ -f "$f" ] || fail "$f missing"
done
if ldd /usr/bin/alipay-msgd | grep 'not found'; then fail "alipay-msgd: a shared library is missing"; fi
getent passwd "$USER_NAME" > /dev/null || fail "no user $USER_NAME after dpkg -i"
IFS=: read -r _ _ uid gid _ home shell <<< "$(getent passwd "$USER_NAME")"
[ "$uid" -lt 1000 ] || fail "$USER_NAME has uid $uid: not a system user"
expect_eq "$(getent group "$gid" | cut -d: -f1)" "$USER_NAME" "primary group of $USER_NAME"
expect_eq "$home" "$STATE" "home of $USER_NAME"
[[ "$shell" == */nologin || "$shell" == */false ]] || fail "$USER_NAME has a login shell: $shell"
expect_eq "$(stat -c '%U:%G %a' "$STATE")" "$USER_NAME:$USER_NAME 750" "$STATE owner and mode"
expect_eq "$(stat -c '%U:%G %a' "$KEYS")" "root:$USER_NAME 750" "$KEYS owner and mode"
expect_eq "$(stat -c '%U:%G %a' "$CONFIG")" "root:$USER_NAME 640" "$CONFIG owner and mode (dpkg-statoverride)"
if runuser -u "$USER_NAME" -- test -w "$CONFIG"; then fail "$USER_NAME can write its config"; fi
if runuser -u nobody -- test -r "$CONFIG"; then fail "any user can read $CONFIG"; fi

step "alipay-msgd --version, alipay-msg --version"
expect_eq "$(/usr/bin/alipay-msgd --version)" "alipay-msgd $version" "alipay-msgd --version"
expect_eq "$(/usr/bin/alipay-msg --version)" "alipay-msg $version" "alipay-msg --version"

step "systemd-analyze verify and security alipay-msgd.service"
systemd-analyze verify /lib/systemd/system/alipay-msgd.service > "$work/verify.log" 2>&1 \
  || { cat "$work/verify.log"; fail "systemd-analyze verify"; }
if grep -i 'alipay-msgd' "$work/verify.log"; then fail "systemd-analyze verify complains about the unit"; fi
# The sandbox: systemd's exposure score of the unit (0 best, 10 worst) is 1.8; above 2.0 fails.
systemd-analyze security --offline=true --threshold=20 /lib/systemd/system/alipay-msgd.service \
  > "$work/security.log" 2>&1 || { cat "$work/security.log"; fail "the unit's sandbox got weaker (exposure above 2.0)"; }

step "check-config on the shipped config as $USER_NAME: two errors, the key files it points at"
set +e
runuser -u "$USER_NAME" -- /usr/bin/alipay-msg check-config "$CONFIG" > "$work/check-shipped.txt" 2>&1
rc=$?
set -e
cat "$work/check-shipped.txt"
expect_eq "$rc" 1 "check-config exit status on the shipped config (errors)"
grep -q "^error: $CONFIG:[0-9]*: alipay.app-private-key-path: $KEYS/app_private.pem: no such file" \
  "$work/check-shipped.txt" || fail "check-config does not name the missing $KEYS/app_private.pem"
grep -q "^error: $CONFIG:[0-9]*: alipay.alipay-public-key-path: $KEYS/alipay_public.pem: no such file" \
  "$work/check-shipped.txt" || fail "check-config does not name the missing $KEYS/alipay_public.pem"
grep -q '^2 errors, 0 warnings' "$work/check-shipped.txt" || fail "expected exactly these two errors and no warning"

step "keys in $KEYS (alipay-msg-sim keygen): check-config passes as $USER_NAME"
/usr/bin/alipay-msg-sim keygen "$work/keys" > /dev/null
install -m 0640 -o root -g "$USER_NAME" "$work/keys/app_private_key.pem" "$KEYS/app_private.pem"
install -m 0640 -o root -g "$USER_NAME" "$work/keys/alipay_public_key.pem" "$KEYS/alipay_public.pem"
runuser -u "$USER_NAME" -- /usr/bin/alipay-msg check-config "$CONFIG" > "$work/check-keys.txt" 2>&1 \
  || { cat "$work/check-keys.txt"; fail "check-config with the keys in place"; }
cat "$work/check-keys.txt"
grep -q "inbox $STATE/alipay-msg.db" "$work/check-keys.txt" || fail "the inbox is not in $STATE"
grep -q '^config OK (0 warnings)' "$work/check-keys.txt" || fail "check-config: not 'config OK (0 warnings)'"

step "without inbox.path the inbox would go beside the config, where the service cannot write: said"
# The daemon's default (the config's directory) does not fit the package: the shipped config sets
# inbox.path, and check-config as the service's user names the problem when it is taken out.
sed -e '/^inbox:/d' -e "\#^  path: $STATE/alipay-msg.db#d" "$CONFIG" > "$work/default-inbox.yaml"
install -m 0640 -o root -g "$USER_NAME" "$work/default-inbox.yaml" /etc/alipay-msgd/default-inbox.yaml
set +e
runuser -u "$USER_NAME" -- /usr/bin/alipay-msg check-config /etc/alipay-msgd/default-inbox.yaml > "$work/check-default-inbox.txt" 2>&1
rc=$?
set -e
rm -f /etc/alipay-msgd/default-inbox.yaml
expect_eq "$rc" 1 "check-config without inbox.path"
grep -q "inbox.path: cannot create /etc/alipay-msgd/alipay-msg.db: /etc/alipay-msgd is not writable" \
  "$work/check-default-inbox.txt" || { cat "$work/check-default-inbox.txt"; fail "check-config without inbox.path"; }

step "the packaged daemon as the unit runs it receives a message from the packaged simulator"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json_get() { python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"; }
/usr/bin/alipay-msg-sim --listen 127.0.0.1:0 --admin 127.0.0.1:0 --ready-file "$work/sim.ready" \
  --alipay-private-key "$work/keys/alipay_private_key.pem" --app "$APP_ID=$work/keys/app_public_key.pem" \
  > "$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 200); do [ -s "$work/sim.ready" ] && break; sleep 0.05; done
[ -s "$work/sim.ready" ] || { cat "$work/sim.log"; fail "alipay-msg-sim did not start"; }
sim_port=$(json_get port < "$work/sim.ready")
sim_admin=$(json_get admin_port < "$work/sim.ready")
daemon_admin=$(free_port)
# What the unit sets: User=, Group=, WorkingDirectory=, the shipped config; the environment is what
# the unit's EnvironmentFile would give (ALIPAY_*), pointing the app at the simulator. setpriv execs
# (runuser would stay the parent and re-raise the SIGTERM, hiding the daemon's exit status).
(cd "$STATE" && exec setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --init-groups -- env ALIPAY_SERVER_HOST="127.0.0.1:$sim_port" ALIPAY_SSL=false \
  ALIPAY_ADMIN_LISTEN="127.0.0.1:$daemon_admin" /usr/bin/alipay-msgd --config "$CONFIG" --log-format json) \
  > "$work/daemon.log" 2>&1 &
daemon_pid=$!
ready=""
for _ in $(seq 200); do
  if curl -sf --max-time 2 "http://127.0.0.1:$daemon_admin/readyz" > /dev/null 2>&1; then ready=1; break; fi
  kill -0 "$daemon_pid" 2> /dev/null || { cat "$work/daemon.log"; fail "alipay-msgd exited"; }
  sleep 0.05
done
[ -n "$ready" ] || { cat "$work/daemon.log"; fail "alipay-msgd not ready after 10 s"; }
msg_id=$(python3 -c 'import json,sys; print(json.dumps({"app_id":sys.argv[1],"msg_api":"alipay.open.mini.version.audit.passed","content_raw":"{\"mini_app_id\":\"2021000000000002\"}"}))' "$APP_ID" \
  | curl -sS --max-time 10 --fail-with-body "http://127.0.0.1:$sim_admin/messages" -d @- | json_get msg_id)
[ -n "$msg_id" ] || fail "the simulator did not take the message"
for _ in $(seq 200); do grep -qs "\"msg_id\":\"$msg_id\"" "$STATE/messages.jsonl" && break; sleep 0.05; done
grep -qs "\"msg_id\":\"$msg_id\"" "$STATE/messages.jsonl" \
  || { cat "$work/daemon.log"; fail "message $msg_id never reached $STATE/messages.jsonl"; }
for f in "$STATE/alipay-msg.db" "$STATE/messages.jsonl"; do
  expect_eq "$(stat -c %U "$f")" "$USER_NAME" "owner of $f"
done
kill -TERM "$daemon_pid"
for _ in $(seq 400); do kill -0 "$daemon_pid" 2> /dev/null || break; sleep 0.05; done
if kill -0 "$daemon_pid" 2> /dev/null; then cat "$work/daemon.log"; fail "alipay-msgd still runs 20 s after SIGTERM"; fi
set +e
wait "$daemon_pid"
rc=$?
set -e
daemon_pid=""
expect_eq "$rc" 0 "alipay-msgd exit status after SIGTERM"
kill -TERM "$sim_pid"
wait "$sim_pid" 2> /dev/null || true
sim_pid=""

step "examples/quickstart builds against the installed libalipaymsg-dev (find_package)"
launcher=()
if command -v ccache > /dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S "$source/examples/quickstart" -B "$work/quickstart" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" > "$work/quickstart.log" 2>&1 \
  && cmake --build "$work/quickstart" >> "$work/quickstart.log" 2>&1 \
  || { cat "$work/quickstart.log"; fail "quickstart against /usr"; }
grep -q '/usr/lib.*/cmake/alipaymsg' "$work/quickstart/CMakeCache.txt" || fail "quickstart did not find the installed package"

step "dpkg -i again (the maintainer scripts on an upgrade), then dpkg -r"
dpkg_run "$work/reinstall.log" -i "$(deb libalipaymsg-dev)" "$(deb alipay-msg-sim)" "$(deb alipay-msgd)" \
  || { cat "$work/reinstall.log"; fail "dpkg -i over the installed packages"; }
expect_eq "$(stat -c '%U:%G %a' "$CONFIG")" "root:$USER_NAME 640" "$CONFIG after reinstall"
dpkg_run "$work/remove.log" -r "${PACKAGES[@]}" || { cat "$work/remove.log"; fail "dpkg -r"; }
expect_eq "$(status_of alipay-msgd)" config-files "alipay-msgd after dpkg -r"
for f in /usr/bin/alipay-msgd /usr/bin/alipay-msg /usr/bin/alipay-msg-sim /usr/include/alipaymsg \
  /lib/systemd/system/alipay-msgd.service; do
  [ ! -e "$f" ] || fail "$f is still there after dpkg -r"
done
for f in "$CONFIG" "$KEYS/app_private.pem" "$STATE/alipay-msg.db"; do [ -e "$f" ] || fail "dpkg -r removed $f"; done
getent passwd "$USER_NAME" > /dev/null || fail "dpkg -r removed the user"

step "dpkg --purge with the administrator's keys left: state and config go, the user stays (locked)"
dpkg_run "$work/purge.log" --purge "${PACKAGES[@]}" || { cat "$work/purge.log"; fail "dpkg --purge"; }
for p in "${PACKAGES[@]}"; do present "$p" && fail "$p is still known to dpkg: $(status_of "$p")"; done
[ ! -e "$STATE" ] || fail "$STATE is still there after purge"
[ ! -e "$CONFIG" ] || fail "$CONFIG is still there after purge"
[ -f "$KEYS/app_private.pem" ] || fail "purge removed the administrator's keys"
getent passwd "$USER_NAME" > /dev/null || fail "purge removed the user although files it may own are left"
expect_eq "$(getent shadow "$USER_NAME" | cut -d: -f8)" 1 "account expiry of the kept user (locked)"
grep -q "the user $USER_NAME is kept" "$work/purge.log" || fail "purge did not say why the user is kept"

step "the keys removed, install + purge again: nothing is left"
rm -rf /etc/alipay-msgd
dpkg_run "$work/install2.log" -i "$(deb alipay-msgd)" || { cat "$work/install2.log"; fail "second dpkg -i"; }
expect_eq "$(getent shadow "$USER_NAME" | cut -d: -f8)" "" "account expiry after reinstall (unlocked)"
dpkg_run "$work/purge2.log" --purge alipay-msgd || { cat "$work/purge2.log"; fail "second dpkg --purge"; }
for f in /etc/alipay-msgd "$STATE" /lib/systemd/system/alipay-msgd.service; do
  [ ! -e "$f" ] || fail "$f is left after purge"
done
getent passwd "$USER_NAME" > /dev/null && fail "the user $USER_NAME is left after purge"
getent group "$USER_NAME" > /dev/null && fail "the group $USER_NAME is left after purge"
dpkg-statoverride --list "$CONFIG" > /dev/null && fail "a statoverride for $CONFIG is left"
if find /var/lib/systemd -name '*alipay-msgd*' 2> /dev/null | grep -q .; then
  fail "deb-systemd-helper state for alipay-msgd is left"
fi
cmp -s /etc/passwd "$work/passwd.before" || fail "/etc/passwd differs from before the test"
cmp -s /etc/group "$work/group.before" || fail "/etc/group differs from before the test"
rm -f "$MARKER"
echo "deb test: OK"
