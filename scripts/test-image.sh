#!/usr/bin/env bash
# Builds the Dockerfile, unchanged, for linux/amd64 and/or linux/arm64 (under qemu) and proves each image
# by running it: architecture, HEALTHCHECK, uid 65532, /health, auth with the image's own token, the
# mounted config, a read-only file system, a Redis limit, a SIGTERM drain, and (on the machine's own
# architecture) a certificate from Pebble by ACME into the /data/acme volume; then prints sizes and RSS.
# Deliberately broken copies (wrong architecture label, no HEALTHCHECK, root USER) must be refused.
#
#   sudo scripts/test-image.sh [amd64|arm64|all] [--no-negative]
#
# Needs root and Debian's apt (it installs podman, buildah, runc, qemu-user-static, debootstrap,
# redis-server, file, curl and pebble when missing), node on the PATH, and the npm and Debian registries. No
# Docker engine: podman runs as `--storage-driver vfs --runtime runc --cgroup-manager cgroupfs` on a
# storage of its own, removed at the end. When the base images cannot be pulled, local stand-ins with
# their exact names are made (scripts/image-bases.sh) and cached under $LUCID_IMAGE_CACHE.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/image-checks.sh
. "$ROOT/scripts/image-checks.sh"
# shellcheck source=scripts/image-bases.sh
. "$ROOT/scripts/image-bases.sh"

platforms=()
negative=1
for arg in "$@"; do
  case "$arg" in
    amd64 | arm64) platforms+=("$arg") ;;
    all) platforms+=(amd64 arm64) ;;
    --no-negative) negative=0 ;;
    *) echo "usage: scripts/test-image.sh [amd64|arm64|all] [--no-negative]" >&2; exit 2 ;;
  esac
done
[ ${#platforms[@]} -gt 0 ] || platforms=(amd64 arm64)

say() { echo "test-image: $*"; }
die() { echo "test-image: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }

[ "$(id -u)" -eq 0 ] || die "needs root (podman with vfs storage and runc, binfmt_misc for arm64)"
command -v node >/dev/null || die "needs node on the PATH (the upstream and the helpers run on the host)"

# --- tools -------------------------------------------------------------------------------------------
install_missing() {
  local need="" pair
  for pair in podman:podman buildah:buildah runc:runc qemu-aarch64-static:qemu-user-static \
    debootstrap:debootstrap redis-server:redis-server redis-cli:redis-tools file:file curl:curl pebble:pebble; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need="$need ${pair#*:}"
  done
  if [ -n "$need" ]; then
    say "installing$need (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq $need >/dev/null # with recommends: uidmap, fuse-overlayfs, slirp4netns, catatonit
  fi
  say "tools: $(dpkg-query -W -f '${Package} ${Version}, ' podman buildah runc qemu-user-static debootstrap redis-server 2>/dev/null)"
}

# arm64 binaries run under qemu through binfmt_misc; F opens the interpreter now, so it works in containers.
setup_binfmt() {
  local host
  host="$(dpkg --print-architecture)"
  [[ " ${platforms[*]} " == *" arm64 "* ]] && [ "$host" != arm64 ] || return 0
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    say "registering qemu-aarch64 with binfmt_misc"
    cat /usr/lib/binfmt.d/qemu-aarch64.conf >/proc/sys/fs/binfmt_misc/register
  fi
  grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 ||
    die "qemu-aarch64 is registered without the F flag: containers cannot reach its interpreter"
}

install_missing
setup_binfmt

# --- podman on a storage of its own ------------------------------------------------------------------
WORK="$(mktemp -d "${LUCID_IMAGE_WORK:-/var/tmp}/lucid-image-test.XXXXXX")"
chmod 0755 "$WORK"
STORE="$WORK/storage"
pm() {
  podman --root "$STORE/root" --runroot "$STORE/run" --storage-driver vfs --runtime runc \
    --cgroup-manager cgroupfs --events-backend file "$@"
}
bh() { buildah --root "$STORE/root" --runroot "$STORE/run" --storage-driver vfs "$@"; }
# Podman's default ulimits exceed this kind of host's hard limits; the host network needs no setup.
RUN_OPTS=(--network host --ulimit nofile=10000:10000 --ulimit nproc=10000:10000 --log-driver k8s-file)

pids=()
cleanup() {
  local rc=$?
  set +e
  pm rm -f -a -t 0 >/dev/null 2>&1
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  pm system prune -a -f >/dev/null 2>&1
  rm -rf "$WORK"
  say "cleaned up (containers removed, storage pruned and deleted)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- results -----------------------------------------------------------------------------------------
passed=0
failed=0
summary=()
pass() { passed=$((passed + 1)); echo "ok   $1 $2"; }
fail() { failed=$((failed + 1)); echo "FAIL $1 $2"; }
# check PLATFORM ID DESCRIPTION COMMAND...: the command's output explains a failure.
check() {
  local platform="$1" id="$2" what="$3" out
  shift 3
  if out="$("$@" 2>&1)"; then pass "$platform" "$id: $what"; else fail "$platform" "$id: $what: $out"; fi
}

free_port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# --- what the containers talk to: an upstream and a Redis on the host --------------------------------
exec {up_fd}< <(exec node "$ROOT/scripts/image-upstream.mjs")
pids+=($!)
read -r -u "$up_fd" UPSTREAM_PORT
UPSTREAM="http://127.0.0.1:$UPSTREAM_PORT"
REDIS_PORT="$(free_port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >"$WORK/redis.log" 2>&1 &
pids+=($!)
until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do
  kill -0 "${pids[-1]}" 2>/dev/null || die "redis-server did not start: $(cat "$WORK/redis.log")"
  sleep 0.1
done
say "upstream $UPSTREAM, redis-server 127.0.0.1:$REDIS_PORT"

SECRET="image-test-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
CONF="$WORK/conf"
mkdir -p "$CONF"
cat >"$CONF/lucid-gateway.config.yaml" <<EOF
# Written by scripts/test-image.sh, mounted at /etc/lucid-gateway (the image's working directory).
logging: { level: info, pretty: false }
server: { host: 127.0.0.1, timeouts: { shutdown: 20s } }
services:
  echo: { targets: ["$UPSTREAM"] }
routes:
  - { prefix: /public, service: echo, auth: public }
  - { prefix: /private, service: echo }
auth:
  jwt: { secret: "\${JWT_SECRET_KEY}", algorithms: [HS256], issuer: lucid-auth, audience: lucid-api }
  tierClaim: tier
rateLimit:
  store: redis
  # Generous command timeout: arm64 runs under emulation; closed: a Redis failure must not pass as a pass.
  redis: { url: "redis://127.0.0.1:$REDIS_PORT", commandTimeout: 5s, keyPrefix: "lucid:image-test:" }
  keyBy: user
  tiers: { free: 1000/min, tiny: 3/min }
  defaultTier: free
  onStoreError: closed
EOF
chmod -R a+rX "$CONF"

# --- base images -------------------------------------------------------------------------------------
if timeout 60 pm pull -q --platform "linux/${platforms[0]}" "$STANDIN_NODE_IMAGE" >/dev/null 2>&1 &&
  timeout 60 pm pull -q --platform "linux/${platforms[0]}" "$STANDIN_DISTROLESS_IMAGE" >/dev/null 2>&1; then
  say "base images: pulled from their registries"
  PULL=always
else
  say "base images: $STANDIN_NODE_IMAGE and $STANDIN_DISTROLESS_IMAGE cannot be pulled here; making local stand-ins"
  t0=$(now_ms)
  standin_bases "${platforms[@]}"
  say "stand-ins ready in $(((($(now_ms) - t0) + 500) / 1000)) s"
  PULL=never
fi

# build PLATFORM TAG [DOCKERFILE]: the real Dockerfile unless another is given.
# Docker format: the OCI format has no HEALTHCHECK. No BUILDPLATFORM build-arg: podman 4.3 would then
# use that platform for every stage, and an "arm64" image would hold x86-64 Node (check_arch catches it).
# No intermediate layers: on vfs each one is a full copy of the tree (gigabytes written, and deleted).
build() {
  local arch="$1" tag="$2" dockerfile="${3:-$ROOT/Dockerfile}"
  local version revision
  version="$(sed -nE 's/^[[:space:]]*"version":[[:space:]]*"([^"]+)".*/\1/p' "$ROOT/packages/cli/package.json" | head -n1)"
  revision="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  pm build --format docker --layers=false --platform "linux/$arch" --pull="$PULL" --network host \
    --ulimit nofile=10000:10000 --ulimit nproc=10000:10000 \
    --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
    -t "$tag" -f "$dockerfile" "$ROOT"
}

# The image's Docker config HEALTHCHECK as JSON (podman's --format template cannot reach it).
healthcheck_of() {
  pm image inspect "$1" | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>console.log(JSON.stringify(JSON.parse(s)[0].Healthcheck??null)))'
}

# The image's metadata and its node binary: what check_arch, check_healthcheck and check_user judge.
static_checks() {
  local platform="$1" image="$2" label mnt described
  label="$(pm image inspect --format '{{.Architecture}}' "$image")"
  mnt="$(pm image mount "$image")"
  described="$(file -L "$mnt/nodejs/bin/node")"
  described="${described#*: }"
  pm image unmount "$image" >/dev/null
  check "$platform" arch "labelled $label, node is $(arch_of_elf "$described")" check_arch "$label" "$described"
  check "$platform" healthcheck-config "HEALTHCHECK declared" \
    check_healthcheck "$(healthcheck_of "$image")"
  check "$platform" user-config "USER $(pm image inspect --format '{{.Config.User}}' "$image")" \
    check_user "$(pm image inspect --format '{{.Config.User}}' "$image")"
}

http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$@"; }
expect_status() {
  local want="$1" got
  shift
  got="$(http_status "$@")"
  [ "$got" = "$want" ] || { echo "answered $got, expected $want"; return 1; }
}

# Everything under / that the image's user could write to, but its own home, the ACME storage volume
# (/data/acme, server.tls.acme.storage) and the sticky, world-writable temp folders every image has (/tmp,
# /var/tmp): the gateway's code and config must be out of its reach.
WRITABLE_JS='
const fs = require("node:fs");
const skip = new Set(["/proc", "/sys", "/dev", "/run", "/home/nonroot", "/data/acme", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"]);
const found = [];
(function walk(p) {
  let st; try { st = fs.lstatSync(p); } catch { return; }
  if (skip.has(p) || st.isSymbolicLink()) return;
  const tempDir = st.isDirectory() && (st.mode & 0o1777) === 0o1777;
  if (!tempDir) try { fs.accessSync(p, fs.constants.W_OK); found.push(p); } catch {}
  let entries = []; if (st.isDirectory() && !tempDir) try { entries = fs.readdirSync(p); } catch {}
  for (const e of entries) walk(p === "/" ? "/" + e : p + "/" + e);
})("/");
for (const p of ["/app/dist/bin.js", "/app/x", "/etc/lucid-gateway/x", "/nodejs/bin/node", "/etc/passwd"]) {
  try { fs.writeFileSync(p, "x"); found.push(p + " (written)"); } catch {}
}
console.log(found.join("\n"));
process.exit(found.length ? 1 : 0);'

# run_checks PLATFORM IMAGE: runs the image as it ships and proves what it does.
run_checks() {
  local platform="$1" image="$2" ctr="lucid-image-test-$1" port t0 ready pid rss status token body
  port="$(free_port)"
  static_checks "$platform" "$image"

  check "$platform" read-only "nothing but ~nonroot and the sticky temp folders is writable by the image's user" \
    pm run --rm --no-healthcheck "${RUN_OPTS[@]}" --entrypoint /nodejs/bin/node "$image" -e "$WRITABLE_JS"

  # The gateway as deployed: its default command, the config found in its working directory, and no
  # writable path at all (--read-only without the tmpfs podman would add).
  t0=$(now_ms)
  # Without systemd podman cannot schedule the HEALTHCHECK (it says so, loudly); it is run by hand below.
  pm run -d --name "$ctr" "${RUN_OPTS[@]}" --read-only --read-only-tmpfs=false \
    -e "PORT=$port" -e "JWT_SECRET_KEY=$SECRET" -v "$CONF:/etc/lucid-gateway:ro" "$image" >/dev/null 2>"$WORK/run-$platform.err" ||
    { fail "$platform" "start: $(cat "$WORK/run-$platform.err")"; return; }
  until [ "$(http_status "http://127.0.0.1:$port/health/live")" = 200 ]; do
    if [ "$(pm inspect -f '{{.State.Running}}' "$ctr")" != true ] || [ $(($(now_ms) - t0)) -gt 240000 ]; then
      fail "$platform" "start: the gateway did not serve /health/live: $(pm logs "$ctr" 2>&1 | tail -n 20)"
      pm rm -f -t 0 "$ctr" >/dev/null 2>&1
      return
    fi
    sleep 0.2
  done
  ready=$((($(now_ms) - t0) / 100))
  pass "$platform" "start: ready in $((ready / 10)).$((ready % 10)) s"

  local arch_inside
  arch_inside="$(pm exec "$ctr" /nodejs/bin/node -p '({ x64: "amd64" })[process.arch] ?? process.arch' 2>&1)"
  check "$platform" process-arch "node inside reports $arch_inside" test "$arch_inside" = "$platform"
  pid="$(pm inspect -f '{{.State.Pid}}' "$ctr")"
  status="$(cat "/proc/$pid/status")"
  check "$platform" uid "the gateway runs as $(awk '/^Uid:/{print $2}' <<<"$status"):$(awk '/^Gid:/{print $2}' <<<"$status")" \
    test "$(awk '/^Uid:/{print $2 $3 $4 $5}' <<<"$status"):$(awk '/^Gid:/{print $2}' <<<"$status")" = "65532655326553265532:65532"
  body="$(curl -s --max-time 30 "http://127.0.0.1:$port/health")"
  check "$platform" health "/health: $body" grep -q '"status":"healthy"' <<<"$body"
  check "$platform" healthcheck-run "podman healthcheck run (the image's own HEALTHCHECK)" pm healthcheck run "$ctr"
  check "$platform" config-mounted "a route of the mounted config reaches the upstream" \
    expect_status 200 "http://127.0.0.1:$port/public/hello"
  check "$platform" no-token "a protected route without a token is refused (401)" \
    expect_status 401 "http://127.0.0.1:$port/private/data"
  token="$(pm run --rm --no-healthcheck "${RUN_OPTS[@]}" -e "JWT_SECRET_KEY=$SECRET" -v "$CONF:/etc/lucid-gateway:ro" "$image" \
    token --sub image-user --tier tiny 2>"$WORK/token.err")" || token="(token failed: $(cat "$WORK/token.err"))"
  check "$platform" token "a token from the image's own \`token\` command is accepted" \
    expect_status 200 -H "authorization: Bearer $token" "http://127.0.0.1:$port/private/data"
  local codes="" i
  for i in 1 2 3; do
    codes="$codes $(http_status -H "authorization: Bearer $token" "http://127.0.0.1:$port/private/data")"
  done
  check "$platform" redis-limit "tier tiny (3/min) in Redis: the 4th request is limited (${codes# })" \
    test "${codes# }" = "200 200 429"
  check "$platform" redis-keys "the limit's keys are in the host's Redis" \
    test -n "$(redis-cli -p "$REDIS_PORT" --scan --pattern 'lucid:image-test:*' | head -n1)"
  redis-cli -p "$REDIS_PORT" flushall >/dev/null

  rss=$(awk '/^VmRSS:/{print int($2 / 1024)}' "/proc/$pid/status")
  local size
  size=$(($(pm image inspect --format '{{.Size}}' "$image") / 1000000))
  pass "$platform" "size: image $size MB, idle RSS of the gateway $rss MB$([ "$platform" = "$(dpkg --print-architecture)" ] || echo ' (qemu included)')"

  # docker stop: SIGTERM with a request in flight; it must complete, and the gateway exit 0 soon after.
  local slow_out="$WORK/slow-$platform" stop_ms code
  curl -s -o "$slow_out" -w '%{http_code}' --max-time 60 "http://127.0.0.1:$port/public/slow" >"$slow_out.status" &
  local slow_pid=$!
  t0=$(now_ms)
  until [ "$(curl -s "$UPSTREAM/__held")" = 1 ]; do
    [ $(($(now_ms) - t0)) -lt 60000 ] || break
    sleep 0.05
  done
  pm kill --signal TERM "$ctr" >/dev/null
  # Draining: new requests are turned away (503 from /health/ready, or no connection) while the slow one
  # holds the process open until the upstream answers.
  local draining ready_status
  t0=$(now_ms)
  while ready_status="$(http_status "http://127.0.0.1:$port/health/ready")" && [ "$ready_status" = 200 ]; do
    [ $(($(now_ms) - t0)) -lt 30000 ] || break
    sleep 0.05
  done
  draining="$(pm inspect -f '{{.State.Running}}' "$ctr")"
  curl -s -X POST "$UPSTREAM/__release" >/dev/null
  t0=$(now_ms)
  code="$(pm wait "$ctr")"
  stop_ms=$(($(now_ms) - t0))
  wait "$slow_pid" || true
  check "$platform" drain "SIGTERM with a request in flight: /health/ready then $ready_status, the request completed ($(cat "$slow_out.status")), exit $code ${stop_ms} ms after it" \
    test "$draining:$([ "$ready_status" != 200 ] && echo refusing):$(cat "$slow_out.status"):$code" = "true:refusing:200:0"
  summary+=("$platform|$size|$rss|$((ready / 10)).$((ready % 10))|$stop_ms")
  pm rm -f -t 0 "$ctr" >/dev/null 2>&1
}

# --- the images --------------------------------------------------------------------------------------
builds=()
# acme_checks PLATFORM IMAGE: the image gets a certificate from Pebble (Let's Encrypt's test CA, Debian's
# package) by http-01, read-only root file system and user 65532 as above, its storage the volume /data/acme.
acme_checks() {
  local platform="$1" image="$2" ctr="lucid-image-test-acme-$1" t0 acme_port mgmt_port dns_port chall_port http_port tls_port
  if ! command -v pebble >/dev/null || ! command -v pebble-challtestsrv >/dev/null; then
    fail "$platform" "acme: pebble is not installed (apt-get install pebble)"
    return
  fi
  local dir="$WORK/acme" name=image.lucid.test
  mkdir -p "$dir/conf" "$dir/data"
  chmod 0755 "$dir" "$dir/conf"
  chown 65532:65532 "$dir/data"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$dir/pebble.key" -out "$dir/pebble.pem" 2>/dev/null
  cp "$dir/pebble.pem" "$dir/conf/pebble-ca.pem"
  acme_port="$(free_port)" mgmt_port="$(free_port)" dns_port="$(free_port)" chall_port="$(free_port)"
  http_port="$(free_port)" tls_port="$(free_port)"
  cat >"$dir/pebble.json" <<JSON
{ "pebble": { "listenAddress": "127.0.0.1:$acme_port", "managementListenAddress": "127.0.0.1:$mgmt_port",
  "certificate": "$dir/pebble.pem", "privateKey": "$dir/pebble.key", "httpPort": $http_port, "tlsPort": $tls_port,
  "ocspResponderURL": "", "externalAccountBindingRequired": false } }
JSON
  pebble-challtestsrv -dns01 "127.0.0.1:$dns_port" -http01 '' -https01 '' -tlsalpn01 '' \
    -management "127.0.0.1:$chall_port" -defaultIPv4 127.0.0.1 -defaultIPv6 '' >"$dir/challtestsrv.log" 2>&1 &
  pids+=($!)
  PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 pebble -config "$dir/pebble.json" -dnsserver "127.0.0.1:$dns_port" \
    >"$dir/pebble.log" 2>&1 &
  pids+=($!)
  t0=$(now_ms)
  until curl -s --cacert "$dir/pebble.pem" -o /dev/null "https://127.0.0.1:$acme_port/dir"; do
    [ $(($(now_ms) - t0)) -lt 30000 ] || { fail "$platform" "acme: pebble did not start: $(tail -n 5 "$dir/pebble.log")"; return; }
    sleep 0.1
  done
  cat >"$dir/conf/lucid-gateway.config.yaml" <<YAML
# Written by scripts/test-image.sh: the gateway's own certificate from Pebble.
server:
  host: 127.0.0.1
  port: $tls_port
  tls:
    acme:
      domains: [$name]
      directory: https://127.0.0.1:$acme_port/dir
      directoryCa: /etc/lucid-gateway/pebble-ca.pem
      storage: /data/acme
      httpPort: $http_port
logging: { level: info, pretty: false }
YAML
  chmod 0644 "$dir/conf/"*
  pm run -d --name "$ctr" "${RUN_OPTS[@]}" --read-only --read-only-tmpfs=false \
    -v "$dir/conf:/etc/lucid-gateway:ro" -v "$dir/data:/data/acme" "$image" >/dev/null 2>"$dir/run.err" ||
    { fail "$platform" "acme: start: $(cat "$dir/run.err")"; return; }
  curl -s --cacert "$dir/pebble.pem" "https://127.0.0.1:$mgmt_port/roots/0" >"$dir/root.pem"
  t0=$(now_ms)
  until [ "$(http_status --cacert "$dir/root.pem" --resolve "$name:$tls_port:127.0.0.1" "https://$name:$tls_port/health/live")" = 200 ]; do
    if [ "$(pm inspect -f '{{.State.Running}}' "$ctr")" != true ] || [ $(($(now_ms) - t0)) -gt 180000 ]; then
      fail "$platform" "acme: no certificate from Pebble: $(pm logs "$ctr" 2>&1 | tail -n 20)"
      pm rm -f -t 0 "$ctr" >/dev/null 2>&1
      return
    fi
    sleep 0.2
  done
  pass "$platform" "acme: a certificate from Pebble by http-01, verified, in $((($(now_ms) - t0) / 1000)) s (read-only root, uid 65532)"
  local stored
  stored="$(find "$dir/data" -name certificate.pem)"
  check "$platform" acme-storage "the certificate is stored in the volume, 0600, owned by 65532: $(stat -c '%a %u' "$stored" 2>&1)" \
    test "$(stat -c '%a %u' "$stored")" = "600 65532"
  check "$platform" acme-redirect "the plain port redirects to HTTPS (308)" \
    expect_status 308 -H "host: $name" "http://127.0.0.1:$http_port/anything"
  pm rm -f -t 5 "$ctr" >/dev/null 2>&1
}

for platform in "${platforms[@]}"; do
  say "building linux/$platform from $ROOT/Dockerfile"
  t0=$(now_ms)
  if build "$platform" "localhost/lucid-gateway:test-$platform" >"$WORK/build-$platform.log" 2>&1; then
    builds+=("$platform|$((($(now_ms) - t0) / 1000))")
    pass "$platform" "build: $((($(now_ms) - t0) / 1000)) s"
    run_checks "$platform" "localhost/lucid-gateway:test-$platform"
    # Once, on the machine's own architecture: the certificate path does not differ under qemu.
    [ "$platform" != "$(dpkg --print-architecture)" ] || acme_checks "$platform" "localhost/lucid-gateway:test-$platform"
  else
    fail "$platform" "build: $(tail -n 30 "$WORK/build-$platform.log")"
  fi
done

# --- wrong images must be refused --------------------------------------------------------------------
# refused ID IMAGE CHECK: the named static check must fail on the broken copy.
refused() {
  local id="$1" image="$2" fn="$3" arg why
  case "$fn" in
    check_arch)
      local mnt
      mnt="$(pm image mount "$image")"
      arg="$(file -L "$mnt/nodejs/bin/node")"
      pm image unmount "$image" >/dev/null
      why="$(check_arch "$(pm image inspect --format '{{.Architecture}}' "$image")" "${arg#*: }")" &&
        { fail negative "$id: accepted"; return; }
      ;;
    check_healthcheck)
      why="$(check_healthcheck "$(healthcheck_of "$image")")" &&
        { fail negative "$id: accepted"; return; }
      ;;
    check_user)
      why="$(check_user "$(pm image inspect --format '{{.Config.User}}' "$image")")" &&
        { fail negative "$id: accepted"; return; }
      ;;
  esac
  pass negative "$id: refused: $why"
}

# The Dockerfile's runtime stage alone (with its global ARGs), its files taken from an image already
# built: the stage that decides what an image declares, without rebuilding the bundle. The bundle
# (/out in the builder) is /app in the image; anything else copied from the builder (the ACME storage
# folder) is at its destination there.
runtime_stage_of() {
  local dockerfile="$1" from_image="$2" first last
  first="$(grep -n '^FROM ' "$dockerfile" | head -n1 | cut -d: -f1)"
  last="$(grep -n '^FROM ' "$dockerfile" | tail -n1 | cut -d: -f1)"
  { head -n "$((first - 1))" "$dockerfile"; tail -n "+$last" "$dockerfile"; } |
    sed -E -e "s#^COPY --from=builder (.*)/out /app\$#COPY --from=$from_image \1/app /app#" \
      -e "s#^COPY --from=builder (.*) [^ ]+ ([^ ]+)\$#COPY --from=$from_image \1 \2 \2#"
}

if [ "$negative" = 1 ] && pm image exists "localhost/lucid-gateway:test-${platforms[0]}"; then
  base="${platforms[0]}"
  other=arm64
  [ "$base" = arm64 ] && other=amd64
  good="localhost/lucid-gateway:test-$base"
  # 1. A label that lies: the $base image relabelled $other.
  wc="$(bh from --pull-never "$good")"
  bh config --arch "$other" "$wc"
  bh commit --quiet --format docker "$wc" localhost/lucid-gateway:broken-arch >/dev/null
  bh rm "$wc" >/dev/null
  refused "broken-arch ($other label over $base node)" localhost/lucid-gateway:broken-arch check_arch
  # 2 and 3. The runtime stage without its HEALTHCHECK, and with a root USER.
  runtime_stage_of "$ROOT/Dockerfile" "$good" >"$WORK/Dockerfile.runtime"
  grep -q "^COPY --from=$good " "$WORK/Dockerfile.runtime" || die "the Dockerfile's runtime stage no longer copies /out to /app"
  awk '/^HEALTHCHECK/{skip=1} skip{if(!/\\$/)skip=0; next} {print}' "$WORK/Dockerfile.runtime" >"$WORK/Dockerfile.no-healthcheck"
  sed -E 's/^USER .*/USER root/' "$WORK/Dockerfile.runtime" >"$WORK/Dockerfile.root"
  if build "$base" localhost/lucid-gateway:broken-healthcheck "$WORK/Dockerfile.no-healthcheck" >"$WORK/build-nh.log" 2>&1; then
    refused "no-healthcheck (Dockerfile without HEALTHCHECK)" localhost/lucid-gateway:broken-healthcheck check_healthcheck
  else
    fail negative "no-healthcheck: the broken copy did not build: $(tail -n 20 "$WORK/build-nh.log")"
  fi
  if build "$base" localhost/lucid-gateway:broken-root "$WORK/Dockerfile.root" >"$WORK/build-root.log" 2>&1; then
    refused "root-user (Dockerfile with USER root)" localhost/lucid-gateway:broken-root check_user
  else
    fail negative "root-user: the broken copy did not build: $(tail -n 20 "$WORK/build-root.log")"
  fi
  # The unbroken runtime stage, built the same way, passes them (a check that refuses all proves nothing).
  if build "$base" localhost/lucid-gateway:control "$WORK/Dockerfile.runtime" >"$WORK/build-control.log" 2>&1; then
    static_checks control localhost/lucid-gateway:control
  else
    fail control "build: the unbroken runtime stage did not build: $(tail -n 20 "$WORK/build-control.log")"
  fi
fi

# --- the numbers -------------------------------------------------------------------------------------
echo
printf '%-9s %9s %10s %10s %12s %16s\n' platform "build s" "image MB" "idle RSS" "ready s" "exit after drain"
for row in "${summary[@]}"; do
  IFS='|' read -r p size rss ready stop <<<"$row"
  b="?"
  for br in "${builds[@]}"; do [ "${br%%|*}" = "$p" ] && b="${br#*|}"; done
  printf '%-9s %9s %10s %10s %12s %16s\n' "$p" "$b" "$size" "$rss MB" "$ready" "$stop ms"
done
echo
if [ "$failed" -gt 0 ]; then
  say "$failed of $((passed + failed)) checks failed"
  exit 1
fi
say "all $passed checks passed"
