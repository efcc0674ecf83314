#!/usr/bin/env bash
# Upgrade rehearsal for the warm pool: the project's dev requirements with another Dagster
# release (the newest on PyPI, or the one given) in a throwaway venv, then two passes:
#   (a) as shipped: guard and fallback tests and the parity suite. On an untested release the
#       warm pool must fall back to Dagster's multiprocess executor with its WARNING and the runs
#       still succeed (the test that the installed Dagster is the tested one is left out there).
#   (b) guard widened to that release (WARM_POOL_SUPPORTED_DAGSTER_VERSIONS, no code edited):
#       the warm pool itself runs; adapter pins, isolation, the guard's own check that the pool
#       ran, and the parity suite.
# Usage: scripts/upgrade_rehearsal.sh [DAGSTER_VERSION]     e.g. 1.13.29, or none for the newest
# Exit 0 if both passes pass, else 1 naming the failed passes (2: the venv could not be built).
# The tests start their own throwaway Postgres containers (Docker). Logs of each pass are kept
# in test-artifacts/upgrade-rehearsal/<version>/; the venv is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
set -a; . registryless/images.env; set +a   # POSTGRES_IMAGE for the tests' Postgres

work=$(mktemp -d -t upgrade-rehearsal.XXXXXX)
trap 'rm -rf "$work"' EXIT

say() { printf '[rehearsal] %s\n' "$*"; }
# Pass (a) is the package as shipped: no operator override from the caller's shell.
unset WARM_POOL_SUPPORTED_DAGSTER_VERSIONS DAGSTER_WARM_POOL_SUPPORTED_VERSIONS

say "choosing versions (PyPI)"
python3 scripts/rehearsal_versions.py "$work" "${1:-}"
# shellcheck source=/dev/null
. "$work/plan.env"
logs=$root/test-artifacts/upgrade-rehearsal/$DAGSTER_VERSION
rm -rf "$logs" && mkdir -p "$logs"
cp "$work/constraints.txt" "$logs/constraints.txt"

# pip's own messages go to the log; the host's pip config adds a warning per package.
pip_install() { "$work/venv/bin/pip" install --disable-pip-version-check "$@" >>"$logs/venv.log" 2>&1; }
venv_failed() {
  say "FAILED: building the venv for dagster $DAGSTER_VERSION; last lines of $logs/venv.log:"
  grep -v 'is ignored: it is neither a file nor a directory' "$logs/venv.log" | tail -n 25
  exit 2
}

say "building a throwaway venv with dagster $DAGSTER_VERSION (log: $logs/venv.log)"
start=$SECONDS
python3 -m venv "$work/venv"
py=$work/venv/bin/python
if [ -z "$HELD_BACK" ]; then
  pip_install -c "$work/constraints.txt" -r requirements/dev.in || venv_failed
else
  # A held-back library pins the older core exactly, so no resolver accepts the set: install
  # the project's pinned set, then move the core packages to the new release over it.
  say "held back (no $DAGSTER_VERSION / $LIBRARY_VERSION release on PyPI): $HELD_BACK"
  pip_install -c requirements/constraints.txt -r requirements/dev.in || venv_failed
  # shellcheck disable=SC2086
  pip_install -c "$work/constraints.txt" $UPGRADES || venv_failed
fi
installed=$("$py" -c 'import dagster; print(dagster.__version__)')
[ "$installed" = "$DAGSTER_VERSION" ] || { say "venv has dagster $installed, not $DAGSTER_VERSION"; venv_failed; }
"$work/venv/bin/pip" check >"$logs/pip-check.txt" 2>&1 || true
conflicts=$(grep -c . "$logs/pip-check.txt" | tr -d ' ')
grep -q 'No broken requirements' "$logs/pip-check.txt" && conflicts=0
venv_seconds=$((SECONDS - start))
"$work/venv/bin/pip" freeze --exclude-editable 2>/dev/null | grep -i '^dagster' >"$logs/dagster-packages.txt"

tested=$("$py" -c 'import dagster; from dagster_warm_pool.guard import version_problem; print("no" if version_problem(dagster.__version__) else "yes")' 2>>"$logs/venv.log")

# One pytest run of a pass; its summary line and status into pass_<name>_*.
run_pass() {
  local name=$1; shift
  local log=$logs/pass-$name.log t0=$SECONDS rc=0
  PATH="$work/venv/bin:$PATH" "$py" -m pytest -p no:cacheprovider -q -rP "$@" >"$log" 2>&1 || rc=$?
  printf -v "pass_${name}_seconds" '%s' "$((SECONDS - t0))"
  printf -v "pass_${name}_rc" '%s' "$rc"
  printf -v "pass_${name}_summary" '%s' "$(grep -E '^=*.* in [0-9.]+s' "$log" | tail -n 1 | tr -d '=' | sed 's/^ *//;s/ *$//')"
}

pass_a=(warmpool/tests/test_guard.py warmpool/tests/test_fallback.py tests/parity)
if [ "$tested" = no ]; then
  # It asserts that the installed Dagster is the tested one: false here by construction.
  pass_a+=(--deselect warmpool/tests/test_guard.py::test_installed_dagster_is_a_tested_version)
fi
say "pass (a), as shipped: ${pass_a[*]:0:3} (log: $logs/pass-a.log)"
run_pass a "${pass_a[@]}"
shipped_warning=$(grep -m 1 '^Warm pool not used for this run:' "$logs/pass-a.log" || true)

pass_b=(warmpool/tests/test_dagster_adapter.py warmpool/tests/test_isolation.py
  warmpool/tests/test_fallback.py::test_the_default_range_follows_the_installed_version
  tests/parity)
say "pass (b), guard widened to ==$DAGSTER_VERSION: adapter, isolation, parity (log: $logs/pass-b.log)"
export WARM_POOL_SUPPORTED_DAGSTER_VERSIONS="==$DAGSTER_VERSION"
run_pass b "${pass_b[@]}"

result() { [ "$1" = 0 ] && echo PASS || echo FAIL; }
{
  echo
  echo "Upgrade rehearsal: dagster $DAGSTER_VERSION (libraries $LIBRARY_VERSION), tested by the guard: $tested"
  [ -n "$HELD_BACK" ] && echo "held back (not on PyPI in this release): $HELD_BACK"
  printf '%-52s %-6s %6s  %s\n' step result time detail
  printf '%-52s %-6s %5ss  %s\n' "venv (dev requirements)" ok "$venv_seconds" "pip check: $conflicts conflict(s)"
  printf '%-52s %-6s %5ss  %s\n' "(a) as shipped: guard, fallback, parity" "$(result "$pass_a_rc")" "$pass_a_seconds" "$pass_a_summary"
  printf '%-52s %-6s %5ss  %s\n' "(b) guard ==$DAGSTER_VERSION: adapter, isolation, parity" "$(result "$pass_b_rc")" "$pass_b_seconds" "$pass_b_summary"
  if [ "$tested" = no ]; then
    echo "guard as shipped printed: ${shipped_warning:-(no fallback warning seen!)}"
  fi
  [ "$conflicts" != 0 ] && sed 's/^/pip check: /' "$logs/pip-check.txt"
  echo "logs: $logs"
} | tee "$logs/summary.txt"

failed=()
[ "$pass_a_rc" = 0 ] || failed+=("(a) as shipped")
[ "$pass_b_rc" = 0 ] || failed+=("(b) guard widened")
if [ "$tested" = no ] && [ -z "$shipped_warning" ]; then failed+=("(a): no fallback warning"); fi
if [ ${#failed[@]} -gt 0 ]; then
  say "FAILED: ${failed[*]} (see $logs)"
  exit 1
fi
say "both passes passed on dagster $DAGSTER_VERSION"
