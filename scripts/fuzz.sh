#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, ASan and UBSan in
# build-fuzz and runs each for a bounded time on a scratch copy of its seed
# corpus and past crashes. Fails on any crash, leak, timeout, out-of-memory
# or broken property, after running every target; prints executions and
# executions per second per target.
#
#   scripts/fuzz.sh                      # CI: 30 s per target
#   scripts/fuzz.sh --long               # 10 min per target
#   REVOCA_FUZZ_SECONDS=3600 scripts/fuzz.sh http_request   # one target, an hour
#
# A crashing input is left in build-fuzz/fuzz-runs/<target>/; fuzz/README.md
# says how to replay it and keep it as a regression test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${REVOCA_FUZZ_SECONDS:-30}
build=${REVOCA_FUZZ_BUILD:-$root/build-fuzz}
jobs=${REVOCA_FUZZ_JOBS:-$(nproc)}
all_targets=(ocsp_request ocsp_get http_request declarations duration declaration_pass apiserver_object)

targets=()
for arg in "$@"; do
  case "$arg" in
    --long) seconds=${REVOCA_FUZZ_LONG_SECONDS:-600} ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *)
      if [[ " ${all_targets[*]} " != *" $arg "* ]]; then
        echo "fuzz.sh: unknown target '$arg'; the targets are: ${all_targets[*]}" >&2
        exit 2
      fi
      targets+=("$arg") ;;
  esac
done
((${#targets[@]})) || targets=("${all_targets[@]}")

# The longest input worth trying per surface: a request with every CertID a
# client would send; a GET URL; a request at the responder's header limit
# (8 KiB) plus its body limit (10 KiB); a declaration file; a duration;
# a declaration file again (the pass target skips longer ones); one object
# as JSON.
declare -A max_len=([ocsp_request]=4096 [ocsp_get]=6144 [http_request]=20480 [declarations]=8192 [duration]=64 [declaration_pass]=8192 [apiserver_object]=8192)

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found; run scripts/install-deps.sh" >&2; exit 2; }
# -O1 and assertions kept (no NDEBUG): Beast's and our asserts are findings too.
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DCMAKE_CXX_FLAGS="-fno-sanitize-recover=all" \
  -DREVOCA_FUZZ=ON -DREVOCA_SANITIZE=ON -DREVOCA_TESTS=OFF >/dev/null
build_started=$SECONDS
cmake --build "$build" --target fuzzers -j "$jobs"
echo "fuzz.sh: built the targets in $((SECONDS - build_started)) s"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=()
summary=()
for target in "${targets[@]}"; do
  run="$build/fuzz-runs/$target"
  rm -rf "$run" && mkdir -p "$run/corpus"
  # The committed corpus stays as it is; new inputs go to the scratch copy.
  cp "$root/fuzz/corpus/$target/"* "$run/corpus/"
  [ -d "$root/fuzz/regressions/$target" ] && cp "$root/fuzz/regressions/$target/"* "$run/corpus/" 2>/dev/null || true
  echo "fuzz.sh: $target for ${seconds} s (log: $run/log)"
  status=0
  "$build/bin/fuzz_$target" "$run/corpus" -max_total_time="$seconds" -max_len="${max_len[$target]}" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$run/" \
    >"$run/log" 2>&1 || status=$?
  stat() { sed -n "s/^stat::$1: *//p" "$run/log" | tail -1; }
  line=$(printf '%-13s %10s execs %7s exec/s %5s new %5s MB peak RSS' "$target" \
    "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" "$(stat new_units_added)" "$(stat peak_rss_mb)")
  if ((status != 0)); then
    failed+=("$target")
    line+="  FAILED (exit $status)"
    grep -E "^==[0-9]+==ERROR|SUMMARY|fuzz property broken|runtime error|Test unit written" "$run/log" | head -20 >&2 || true
  fi
  summary+=("$line")
done

echo
echo "fuzz.sh: ${seconds} s per target"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz.sh: FAILED: ${failed[*]}. The input is build-fuzz/fuzz-runs/<target>/crash-* (or leak-, timeout-, oom-);" >&2
  echo "  replay it with build-fuzz/bin/fuzz_<target> <file>, fix the bug, and copy the file to" >&2
  echo "  fuzz/regressions/<target>/<what-it-was> so it stays a test." >&2
  exit 1
fi
