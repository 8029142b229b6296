#!/bin/sh
# run_integration.sh [KUBE_TESTS [GTEST_ARGS...]]: runs kubeclient_tests (default
# build/bin/kubeclient_tests) against a throwaway kube-apiserver + etcd from
# e2e/cluster, so its *Integration tests run instead of skipping.
# The cluster is stopped however this ends; its directory (logs, data) is
# removed after a pass and kept after a failure, for its logs.
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
tests=${1:-$repo/build/bin/kubeclient_tests}
[ $# -eq 0 ] || shift
[ -x "$tests" ] || { echo "no test binary at $tests (build kubeclient_tests first)" >&2; exit 2; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/revoca-kube-it.XXXXXX")
status=1
cleanup() {
  "$repo/e2e/cluster/stop.sh" "$dir" || true
  if [ "$status" -eq 0 ]; then
    rm -rf "$dir"
  else
    echo "cluster logs kept in $dir" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

REVOCA_TEST_KUBECONFIG=$("$repo/e2e/cluster/start.sh" "$dir")
export REVOCA_TEST_KUBECONFIG
set +e
"$tests" "$@"
status=$?
set -e
exit "$status"
