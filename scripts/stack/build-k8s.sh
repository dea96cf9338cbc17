#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler and kubectl from the Go module
# proxy into $PEERLOG_CACHE/bin (no prebuilt binary is downloaded).
# k8s.io/kubernetes cannot be `go install`ed directly (its go.mod replaces k8s.io/* with
# ./staging/...), so a wrapper module requires it and maps every staging module to its published
# v0.<minor>.<patch> tag.
set -euo pipefail
version=${1:?usage: build-k8s.sh v1.35.4}
cache=${PEERLOG_CACHE:-$HOME/.cache/peerlog}
bin="$cache/bin"
work="$cache/build/kubernetes-$version"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
cmds=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

missing=()
for c in "${cmds[@]}"; do [ -x "$bin/$c-$version" ] || missing+=("$c"); done
[ ${#missing[@]} -eq 0 ] && exit 0
mkdir -p "$bin" "$work"
cd "$work"

minor=${version#v1.}; staging_version="v0.$minor"
upstream_mod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
go_line=$(grep -m1 '^go ' "$upstream_mod")
godebug_line=$(grep -m1 '^godebug ' "$upstream_mod" || true)
{
  echo "module peerlog.dev/stack/kubernetes"
  echo
  echo "$go_line"
  [ -n "$godebug_line" ] && echo "$godebug_line"
  echo
  echo "require k8s.io/kubernetes $version"
  echo
  echo "replace ("
  grep -E '^\s+k8s.io/[a-z0-9-]+ => ./staging/' "$upstream_mod" | awk -v v="$staging_version" '{print "\t" $1 " => " $1 " " v}'
  echo ")"
} > go.mod
cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
echo "[build-k8s] resolving modules for $version" >&2
go mod tidy -e >&2

ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor%%.*}"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
for c in "${missing[@]}"; do
  start=$(date +%s)
  echo "[build-k8s] building $c $version (cold builds take minutes)" >&2
  go build -trimpath -ldflags "-s -w $ldflags" -o "$bin/$c-$version.tmp" "k8s.io/kubernetes/cmd/$c"
  mv "$bin/$c-$version.tmp" "$bin/$c-$version"
  echo "[build-k8s] built $c in $(( $(date +%s) - start ))s" >&2
done
