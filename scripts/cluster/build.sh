#!/usr/bin/env bash
# Builds the local control plane's programs (etcd, kube-apiserver, kube-controller-manager, kubectl)
# from the Go modules pinned in scripts/cluster/go/, once per version, into a cache outside the repository,
# and prints the folder that holds them. Later runs find them there and build nothing.
#
#   bash scripts/cluster/build.sh            # prints e.g. ~/.cache/mlflow-gke/cluster/v1.36.3-v3.6.16-1a2b3c4d/bin
#
# Needs Go 1.26 (scripts/cluster/go/*/go.mod say `go 1.26.0`). Go's own build and module caches keep their
# defaults, so a rebuild after a version change only compiles what changed.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
kube_mod="$root/scripts/cluster/go/kube"
etcd_mod="$root/scripts/cluster/go/etcd"

command -v go > /dev/null || {
  echo "cluster: Go is not on PATH; the control plane is built from Go modules (Go 1.26 or newer)" >&2
  exit 1
}

module_version() { (cd "$1" && go list -m -f '{{.Version}}' "$2"); }
kube_version="$(module_version "$kube_mod" k8s.io/kubernetes)"
etcd_version="$(module_version "$etcd_mod" go.etcd.io/etcd/server/v3)"

# The cache key: both versions, and a hash of the wrapper modules and of this script, so that a
# changed dependency or build flag never reuses an old build.
key_hash="$(cat "$kube_mod/go.mod" "$kube_mod/go.sum" "$etcd_mod/go.mod" "$etcd_mod/go.sum" "$0" | sha256sum | cut -c1-8)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/mlflow-gke/cluster/$kube_version-$etcd_version-$key_hash"
bin="$cache/bin"
programs=(etcd kube-apiserver kube-controller-manager kubectl)

built() { for p in "${programs[@]}"; do [ -x "$bin/$p" ] || return 1; done; }
if built; then
  echo "$bin"
  exit 0
fi

mkdir -p "$cache"
# One build at a time per version: a second caller waits for the first, then finds the programs.
exec 9> "$cache/.lock"
flock 9
if built; then
  echo "$bin"
  exit 0
fi

# Static, path-free builds, as Kubernetes' own release builds are: CGO_ENABLED=0 for kube-apiserver,
# kube-controller-manager and kubectl (KUBE_STATIC_BINARIES in hack/lib/golang.sh of
# k8s.io/kubernetes v1.36.3); etcd's server module has no cgo code, so it builds the same way.
# -trimpath keeps the machine's paths out of the binaries. Two cores: two compilers at once.
export CGO_ENABLED=0
export GOFLAGS="-trimpath -mod=readonly"
parallel=(-p 2)

# The version strings `kubectl version` and the API server report, set as Kubernetes' build sets them
# (kube::version::ldflags in hack/lib/version.sh of k8s.io/kubernetes v1.36.3): the same variables in
# k8s.io/component-base/version and k8s.io/client-go/pkg/version. buildDate stays fixed so the same
# sources give the same binaries.
minor="${kube_version#v1.}"
minor="${minor%%.*}"
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
# etcd reports its version from a constant of go.etcd.io/etcd/api/v3/version (version.go, v3.6.16);
# GitSHA there is a variable that says "Not provided" unless set: the module version stands in for it.
etcd_ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$etcd_version"

staging="$cache/bin.partial"
rm -rf "$staging"
mkdir -p "$staging"
started=$SECONDS
build() {
  local name="$1" dir="$2" ldflags="$3" package="$4"
  echo "cluster: building $name ($package) into $bin: the first build takes many minutes, later runs reuse it" >&2
  (cd "$dir" && go build "${parallel[@]}" -ldflags "$ldflags" -o "$staging/$name" "$package")
}
build etcd "$etcd_mod" "$etcd_ldflags" go.etcd.io/etcd/server/v3
build kube-apiserver "$kube_mod" "$kube_ldflags" k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager "$kube_mod" "$kube_ldflags" k8s.io/kubernetes/cmd/kube-controller-manager
build kubectl "$kube_mod" "$kube_ldflags" k8s.io/kubernetes/cmd/kubectl
rm -rf "$bin"
mv "$staging" "$bin"
echo "cluster: built in $((SECONDS - started)) s: $(du -sh "$bin" | cut -f1) in $bin" >&2
echo "$bin"
