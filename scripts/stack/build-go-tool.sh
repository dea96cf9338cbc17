#!/usr/bin/env bash
# Builds one Go command from source through the Go module proxy into $PEERLOG_CACHE/bin, in a
# wrapper module of its own so its dependency selection stays apart from every other tool's.
#   build-go-tool.sh <binary-name> <module> <version> <package>
set -euo pipefail
name=${1:?binary name} module=${2:?module} version=${3:?version} pkg=${4:?package}
cache=${PEERLOG_CACHE:-$HOME/.cache/peerlog}
out="$cache/bin/$name-$version"
[ -x "$out" ] && exit 0
work="$cache/build/$name-$version"
mkdir -p "$cache/bin" "$work"
cd "$work"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
cat > go.mod <<MOD
module peerlog.dev/stack/$name

go 1.24

require $module $version
MOD
printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" > tools.go
echo "[build-go-tool] resolving $module@$version" >&2
go mod tidy >&2
start=$(date +%s)
echo "[build-go-tool] building $name $version (cold builds take minutes)" >&2
go build -trimpath -ldflags "-s -w" -o "$out.tmp" "$pkg"
mv "$out.tmp" "$out"
echo "[build-go-tool] built $name in $(( $(date +%s) - start ))s" >&2
