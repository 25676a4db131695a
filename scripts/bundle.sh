#!/usr/bin/env bash
# Writes the production bundle of the lucid-gateway CLI: a self-contained folder with
#   OUT/package.json  OUT/dist/bin.js  OUT/node_modules (production dependencies only)
# that runs with plain Node: `node OUT/dist/bin.js start --config FILE`.
# The Dockerfile's builder stage runs this script, and test/container runs it too, so the folder the
# tests prove is the folder the image ships.
#
#   scripts/bundle.sh OUT_DIR [--skip-build]
#
# --skip-build uses the packages' existing dist/ folders (after `pnpm build`).
set -euo pipefail

usage() {
  echo "usage: scripts/bundle.sh OUT_DIR [--skip-build]" >&2
  exit 2
}

out=""
build=1
for arg in "$@"; do
  case "$arg" in
    --skip-build) build=0 ;;
    -h | --help) usage ;;
    -*) echo "bundle: unknown option $arg" >&2; usage ;;
    *) [ -z "$out" ] || usage; out="$arg" ;;
  esac
done
[ -n "$out" ] || usage

cd "$(dirname "$0")/.."
root="$(pwd)"
case "$out" in /*) ;; *) out="$root/$out" ;; esac
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "bundle: $out is not empty; give a new or empty folder" >&2
  exit 1
fi

# The CLI and every workspace package it depends on, built in dependency order.
packages=(cli core middleware-auth middleware-ratelimit mesh-consul tracing)
if [ "$build" = 1 ]; then
  pnpm --filter 'lucid-gateway...' run build
fi
for p in "${packages[@]}"; do
  if [ ! -f "packages/$p/dist/index.js" ]; then
    echo "bundle: packages/$p/dist/index.js is missing; run without --skip-build (or pnpm build)" >&2
    exit 1
  fi
done
[ -f packages/cli/dist/bin.js ] || { echo "bundle: packages/cli/dist/bin.js is missing" >&2; exit 1; }

# --legacy: the newer deploy needs inject-workspace-packages for the whole workspace. It copies each
# workspace package as its "files" list says and installs only "dependencies", from the lockfile.
# Deployed inside the repository first, then moved: given a target outside it, pnpm's legacy deploy
# also leaves a stray copy of the target's path under packages/ (which then looks like a package).
stage="$root/.bundle-stage-$$"
trap 'rm -rf "$stage"' EXIT
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "bundle: $out is not empty" >&2
  exit 1
fi
rm -rf "$stage"
pnpm --filter lucid-gateway deploy --prod --legacy --prefer-offline "$stage"
mkdir -p "$(dirname "$out")"
[ -d "$out" ] && rmdir "$out"
mv "$stage" "$out"

# cosmiconfig's optional peer; the CLI loads TypeScript configs with Node's own type stripping.
rm -rf "$out"/node_modules/.pnpm/typescript@*
find "$out/node_modules" -xtype l -delete
# /docs serves three of Swagger UI's files from @fastify/swagger-ui's static/ (packages/openapi/src/docs-page.ts);
# its other builds of the UI are unused.
for ui in "$out"/node_modules/.pnpm/@fastify+swagger-ui@*/node_modules/@fastify/swagger-ui/static; do
  [ -d "$ui" ] || continue
  rm -f "$ui"/swagger-ui.js "$ui"/swagger-ui-standalone-preset.js
done

# The OpenTelemetry packages (loaded only with `tracing`) are run from their CommonJS builds: their source
# maps and type declarations are two thirds of their 20 MB.
find "$out"/node_modules/.pnpm -path '*/@opentelemetry/*' \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -type f -delete

[ -f "$out/dist/bin.js" ] || { echo "bundle: $out/dist/bin.js is missing after deploy" >&2; exit 1; }
# Native addons would tie the bundle to the builder's architecture (the Dockerfile builds once for all).
addons="$(find "$out" -name '*.node' -type f)"
if [ -n "$addons" ]; then
  echo "bundle: native addons found; the image's builder stage must then run per platform:" >&2
  echo "$addons" >&2
  exit 1
fi

echo "bundle: $out ($(du -sh "$out" | cut -f1)) - run it with: node $out/dist/bin.js start --config FILE"
