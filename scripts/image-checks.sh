#!/usr/bin/env bash
# What a Lucid Gateway image must declare, checked from its metadata alone: scripts/test-image.sh runs
# these against every image it builds (and against deliberately broken copies), and the test suite runs
# them against crafted metadata. Each prints why it refuses and returns 1.
#
#   bash scripts/image-checks.sh check_arch arm64 "$(file -L node)"
#   bash scripts/image-checks.sh check_healthcheck '{"Test":["CMD","/nodejs/bin/node","-e","..."]}'
#   bash scripts/image-checks.sh check_user 65532:65532

# The image architecture (GOARCH names) an ELF binary is built for, from `file`'s description of it.
arch_of_elf() {
  case "$1" in
    *"ELF 64-bit"*x86-64*) echo amd64 ;;
    *"ELF 64-bit"*"ARM aarch64"*) echo arm64 ;;
    *"ELF 32-bit"*ARM*) echo arm ;;
    *) echo unknown ;;
  esac
}

# The architecture the image says it is must be the one its node binary runs on: a wrong label starts
# under emulation, or not at all, on the machine that trusts it.
check_arch() {
  local label="$1" described="$2" actual
  actual="$(arch_of_elf "$described")"
  if [ -z "$label" ] || [ "$label" != "$actual" ]; then
    echo "the image says architecture \"$label\" but its node binary is $actual: $described"
    return 1
  fi
}

# `podman image inspect --format '{{json .Healthcheck}}'` (Docker's image config): a command that runs.
check_healthcheck() {
  local json="$1"
  case "$json" in
    "" | null | "{}" | *'"Test":null'* | *'"Test":[]'*)
      echo "the image declares no HEALTHCHECK (built with --format docker? OCI images drop it)"
      return 1
      ;;
    *'"Test":["NONE"'*)
      echo "the image disables its HEALTHCHECK (HEALTHCHECK NONE)"
      return 1
      ;;
    *'"Test":["CMD'*) return 0 ;;
    *)
      echo "the image's HEALTHCHECK is not a command: $json"
      return 1
      ;;
  esac
}

# The image's USER: numeric (Kubernetes' runAsNonRoot can verify only a number) and distroless's 65532.
check_user() {
  local user="$1" uid gid
  uid="${user%%:*}"
  gid="${user#*:}"
  [ "$gid" = "$user" ] && gid=""
  if [ -z "$uid" ]; then
    echo "the image sets no USER: it runs as root"
    return 1
  fi
  if [ "$uid" = root ] || [ "$gid" = root ]; then
    echo "the image runs as root (USER $user)"
    return 1
  fi
  if ! [[ "$uid" =~ ^[0-9]+$ ]]; then
    echo "the image's USER \"$user\" is a name, not a number (runAsNonRoot cannot verify it)"
    return 1
  fi
  if [ "$uid" -eq 0 ] || { [ -n "$gid" ] && [ "$gid" = 0 ]; }; then
    echo "the image runs as root (USER $user)"
    return 1
  fi
  if [ "$uid" != 65532 ]; then
    echo "the image's USER $user is not distroless's nonroot (65532)"
    return 1
  fi
}

# Run as a script: the first argument names the check.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    arch_of_elf | check_arch | check_healthcheck | check_user) "$@" ;;
    *)
      echo "usage: image-checks.sh arch_of_elf|check_arch|check_healthcheck|check_user ARGS..." >&2
      exit 2
      ;;
  esac
fi
