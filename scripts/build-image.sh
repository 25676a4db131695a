#!/usr/bin/env bash
# Builds the Lucid Gateway image with docker buildx for linux/amd64 and linux/arm64 (Raspberry Pi 4/5
# on a 64-bit OS). No emulation is needed: the builder stage runs on this machine's architecture and
# the runtime stage only copies files.
#
#   scripts/build-image.sh IMAGE[:TAG] [--push] [--platform LIST] [--dry-run]
#
#   scripts/build-image.sh ghcr.io/acme/lucid-gateway --push         # both platforms, :VERSION and :latest
#   scripts/build-image.sh lucid-gateway:dev --platform linux/arm64  # one platform, loaded into docker
#
# Without --push, a single platform is loaded into the local docker; both platforms are built into the
# build cache only (the classic docker image store holds one platform per tag).
# --dry-run prints the docker commands instead of running them.
set -euo pipefail

usage() {
  echo "usage: scripts/build-image.sh IMAGE[:TAG] [--push] [--platform LIST] [--dry-run]" >&2
  exit 2
}

image=""
push=0
dry=0
platforms="linux/amd64,linux/arm64"
while [ $# -gt 0 ]; do
  case "$1" in
    --push) push=1 ;;
    --dry-run) dry=1 ;;
    --platform) [ $# -ge 2 ] || usage; platforms="$2"; shift ;;
    --platform=*) platforms="${1#--platform=}" ;;
    -h | --help) usage ;;
    -*) echo "build-image: unknown option $1" >&2; usage ;;
    *) [ -z "$image" ] || usage; image="$1" ;;
  esac
  shift
done
[ -n "$image" ] || usage

cd "$(dirname "$0")/.."
if [ "$dry" = 0 ] && ! docker buildx version >/dev/null 2>&1; then
  echo "build-image: needs docker with the buildx plugin (https://docs.docker.com/build/install-buildx/)" >&2
  exit 1
fi
version="$(sed -nE 's/^[[:space:]]*"version":[[:space:]]*"([^"]+)".*/\1/p' packages/cli/package.json | head -n1)"
revision="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

# A tag is what follows the last ":" after the last "/" (a registry's ":5000" is not a tag).
tags=()
if [[ "${image##*/}" == *:* ]]; then
  tags=(--tag "$image")
else
  tags=(--tag "$image:$version" --tag "$image:latest")
fi

run() {
  if [ "$dry" = 1 ]; then
    printf '%q ' "$@"
    echo
  else
    "$@"
  fi
}

output=()
if [ "$push" = 1 ]; then
  output=(--push)
elif [[ "$platforms" != *,* ]]; then
  output=(--load)
else
  echo "build-image: building $platforms into the build cache only (add --push, or --platform one to --load)" >&2
fi

# Several platforms at once need a builder with the docker-container driver; make one if the current
# builder cannot, without changing the user's default builder.
builder=()
if [[ "$platforms" == *,* ]]; then
  driver="$( (docker buildx inspect 2>/dev/null || true) | sed -nE 's/^Driver:[[:space:]]*//p' | head -n1)"
  if [ "$driver" != "docker-container" ] && [ "$driver" != "kubernetes" ] && [ "$driver" != "remote" ]; then
    if [ "$dry" = 1 ] || ! docker buildx inspect lucid-gateway-builder >/dev/null 2>&1; then
      run docker buildx create --name lucid-gateway-builder --driver docker-container
    fi
    builder=(--builder lucid-gateway-builder)
  fi
fi

run docker buildx build "${builder[@]}" \
  --platform "$platforms" \
  --build-arg "VERSION=$version" \
  --build-arg "REVISION=$revision" \
  "${tags[@]}" \
  "${output[@]}" \
  --file Dockerfile \
  .
