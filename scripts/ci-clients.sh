#!/usr/bin/env bash
# Real clients of both protocol eras against the built server (issue 25, item 6), called by .ci/run
# with the Node 24 binary as $1 (the conformance suite needs Node >= 22):
#  1. the official conformance suite, newest release that has the 2026 scenarios (a pre-release), once
#     per era (--requirements 2025-11-25 and 2026-07-28), each against its expected-failures baseline
#     (.ci/conformance-<era>.yml, one reason per entry): a newly failing check fails the run;
#  2. the Python MCP SDK 2.x client (PyPI `mcp`) in a venv, over stdio and HTTP in both modes: a local
#     job to download, a paid job confirmed against the Jogg fake (test/ecosystem/python-client.test.ts);
#     where pip cannot install it, the run says so plainly.
# The v2 TypeScript client pinned to 2026-07-28, the 1.x client (test/e2e/eras.test.ts,
# confirm-2026.test.ts) and the MCP Inspector 2.x CLI (test/e2e/inspector.test.ts, Node 24 leg) run in
# the test suites. Every step prints its figures. Needs `npm run build` done (dist/).
set -euo pipefail
cd "$(dirname "$0")/.."
node24=${1:?usage: scripts/ci-clients.sh NODE24_BINARY}
CONFORMANCE=@modelcontextprotocol/conformance@0.2.0-alpha.12
PYTHON_MCP='mcp==2.3.0'

work=$(mktemp -d)
server_pid=
finish() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap finish EXIT

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
LIPSYNC_HOME="$work/home" node dist/bin/lipsync-mcp.js serve --http --host 127.0.0.1 --port "$port" 2>"$work/server.log" &
server_pid=$!
up=
for _ in $(seq 1 100); do
  if node -e 'require("net").connect(+process.argv[1],"127.0.0.1").on("connect",()=>process.exit(0)).on("error",()=>process.exit(1))' "$port"; then
    up=1
    break
  fi
  sleep 0.1
done
[ -n "$up" ] || { echo "serve --http did not start:" >&2; tail -20 "$work/server.log" >&2; exit 1; }

status=0
for era in 2025-11-25 2026-07-28; do
  echo "== MCP conformance $CONFORMANCE --requirements $era against serve --http"
  out="$work/conformance-$era"
  set +e
  PATH="$(dirname "$node24"):$PATH" npx -y "$CONFORMANCE" server --url "http://127.0.0.1:$port/mcp" \
    --requirements "$era" --expected-failures ".ci/conformance-$era.yml" -o "$out" >"$out.txt" 2>&1
  rc=$?
  set -e
  # The baseline verdict, then the figures (checks, not scenarios), counted from checks.json.
  grep -E 'Baseline (check passed|is stale)|Unexpected failures detected' "$out.txt" | sed 's/\x1b\[[0-9;]*m//g' || true
  node -e '
    const fs = require("fs"), path = require("path"), yaml = fs.readFileSync(process.argv[2], "utf8");
    const listed = new Set([...yaml.matchAll(/^\s*-\s*(\S+)/gm)].map((m) => m[1]));
    let pass = 0, fail = 0, expected = 0, warnings = 0;
    for (const d of fs.readdirSync(process.argv[1])) {
      const f = path.join(process.argv[1], d, "checks.json");
      if (!fs.existsSync(f)) continue;
      const scenario = d.replace(/^server-/, "").replace(/-\d{4}-\d\d-\d\dT.*$/, "");
      for (const c of JSON.parse(fs.readFileSync(f, "utf8"))) {
        if (c.status === "SUCCESS") pass++;
        else if (c.status === "FAILURE" || c.status === "WARNING") {
          if (c.status === "WARNING") warnings++;
          if (listed.has(scenario + ":" + c.id) || listed.has(scenario)) expected++;
          else fail++;
        }
      }
    }
    console.log(`MCP conformance ${process.argv[3]}: ${pass} checks pass; ${expected} fail as expected (${warnings} of them warnings; each listed with its reason in ${process.argv[2]}); ${fail} fail unexpectedly`);
  ' "$out" ".ci/conformance-$era.yml" "$era"
  if [ "$rc" != 0 ]; then
    echo "MCP conformance $era: the baseline check failed (exit $rc); the run's output:" >&2
    cat "$out.txt" >&2
    tail -30 "$work/server.log" >&2
    status=1
  fi
done
kill "$server_pid" 2>/dev/null || true
server_pid=

# The Python SDK in a venv kept between runs (like the npm cache); pip reads the registries configured on
# the machine. A missing Python or a failed install is said plainly, and the Python legs do not run.
echo "== the Python MCP SDK client ($PYTHON_MCP) over stdio and HTTP, 2026-07-28 and 2025-11-25"
venv="${LIPSYNC_CI_CACHE:-$HOME/.cache/lipsync-ci}/python-mcp-venv"
python=
# A CI machine gets Debian's Python with venv, as .ci/run does for its other system tools.
if [ "${CI:-}" = true ] && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  apt-get update && apt-get install -y python3 python3-venv || true
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "Python client: NOT RUN: python3 is not installed here"
elif [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import importlib.metadata as m; assert m.version("mcp") == "'"${PYTHON_MCP#mcp==}"'"' 2>/dev/null; then
  python="$venv/bin/python"
elif rm -rf "$venv" && python3 -m venv "$venv" >"$work/pip.log" 2>&1 &&
  "$venv/bin/pip" install --disable-pip-version-check -q "$PYTHON_MCP" >>"$work/pip.log" 2>&1; then
  python="$venv/bin/python"
else
  echo "Python client: NOT RUN: pip could not install $PYTHON_MCP here:"
  grep -vE '^WARNING: (Retrying|Location)' "$work/pip.log" | tail -5
fi
if [ -n "$python" ]; then
  echo "Python client: mcp $("$python" -c 'import importlib.metadata as m; print(m.version("mcp"))') on $("$python" --version)"
  LIPSYNC_TEST_PYTHON="$python" node scripts/run-tests.mjs dist/test/ecosystem/python-client.test.js || status=1
fi
exit "$status"
