#!/usr/bin/env bash
# Mutation check: each tests/mutations/*.patch is a deliberate break of the product (or of what
# a test leans on) paired with the test command(s) that must FAIL with it. The script copies the
# tree to target/mutations/tree, checks that every command passes there unbroken (the baseline),
# then applies each patch in turn, runs its commands and puts the files back. A command that
# still passes with the break is a test that cannot fail: the mutation SURVIVED.
#
# Usage: tests/mutations/run.sh [--slow] [--no-baseline] [NAME...]
#   NAME          only these mutations (file names without .patch; all by default)
#   --slow        also run the `# slow-test:` commands (browser, schemathesis)
#   --no-baseline skip the unbroken runs (only when they were just seen passing)
# Environment: MUTATION_TIMEOUT (seconds per command, 1200 by default; a command killed by it
# counts as failing, and the table says so).
#
# Prints the table and writes it to target/mutations/results.md; logs of every run are in
# target/mutations/logs/. Exits 1 when a mutation survived, a patch no longer applies, a break
# does not build (a build error is not a failing test), or a baseline command fails.
#
# Patch format: a unified diff against the repository root, after header lines
#   # break: what the patch breaks
#   # test: the command that must fail (one or more lines)
#   # slow-test: a command that must fail, run only with --slow
# Builds are incremental: the scratch tree keeps its own target directory
# (target/mutations/target), seeded once from target/debug with timestamps kept (`cp -a`), and
# only files whose content changed are copied into the tree, so cargo rebuilds what a patch
# touches and no more.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$root/target/mutations"
tree="$work/tree"
logs="$work/logs"
export CARGO_TARGET_DIR="$work/target"
timeout_s="${MUTATION_TIMEOUT:-1200}"

slow=false
baseline=true
names=()
for arg in "$@"; do
  case "$arg" in
    --slow) slow=true ;;
    --no-baseline) baseline=false ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) names+=("$arg") ;;
  esac
done
if [ ${#names[@]} -eq 0 ]; then
  for patch in "$here"/*.patch; do
    names+=("$(basename "$patch" .patch)")
  done
fi

mkdir -p "$tree" "$logs" "$CARGO_TARGET_DIR"
if [ ! -d "$CARGO_TARGET_DIR/debug" ] && [ -d "$root/target/debug" ]; then
  echo "mutations: seeding $CARGO_TARGET_DIR from target/debug"
  cp -a "$root/target/debug" "$CARGO_TARGET_DIR/debug"
fi

# The tree's files (tracked, and new ones not ignored), copied only when their content differs.
sync_file() {
  local file=$1
  if [ -f "$root/$file" ] && ! cmp -s "$root/$file" "$tree/$file"; then
    mkdir -p "$(dirname "$tree/$file")"
    cp -p "$root/$file" "$tree/$file"
    touch "$tree/$file"
  fi
}
echo "mutations: copying the tree to $tree"
(cd "$root" && git ls-files --cached --others --exclude-standard -z) |
  while IFS= read -r -d '' file; do
    case "$file" in target/*) continue ;; esac
    sync_file "$file"
  done

# The commands a patch names for this run.
commands_of() {
  local patch=$1
  sed -n 's/^# test: //p' "$patch"
  if $slow; then
    sed -n 's/^# slow-test: //p' "$patch"
  fi
}

# Runs one command in the tree; its log goes to $2. Prints passed, failed, timeout or build.
run_command() {
  local command=$1 log=$2 status
  (cd "$tree" && timeout "$timeout_s" bash -c "$command") >"$log" 2>&1
  status=$?
  if [ $status -eq 0 ]; then
    echo passed
  elif grep -qE '^error\[E[0-9]+\]|could not compile|^error: no (test|bin|lib) target' "$log"; then
    echo build
  elif [ $status -eq 124 ]; then
    echo timeout
  else
    echo failed
  fi
}

declare -A baseline_of=()
defects=0
rows=()
started="$(date -u '+%Y-%m-%d %H:%M UTC')"

if $baseline; then
  n=0
  for name in "${names[@]}"; do
    while IFS= read -r command; do
      [ -n "$command" ] || continue
      [ -z "${baseline_of[$command]:-}" ] || continue
      n=$((n + 1))
      echo "mutations: baseline $n: $command"
      seconds=$SECONDS
      outcome="$(run_command "$command" "$logs/baseline-$n.log")"
      baseline_of[$command]="$outcome"
      echo "mutations:   $outcome in $((SECONDS - seconds)) s (log: logs/baseline-$n.log)"
      if [ "$outcome" != passed ]; then
        defects=$((defects + 1))
      fi
    done < <(commands_of "$here/$name.patch")
  done
fi

for name in "${names[@]}"; do
  patch="$here/$name.patch"
  if [ ! -f "$patch" ]; then
    echo "mutations: no such mutation $name" >&2
    defects=$((defects + 1))
    continue
  fi
  files=$(sed -n 's|^+++ b/||p' "$patch")
  if ! patch -d "$tree" -p1 --batch --forward --silent <"$patch" >"$logs/$name.patch.log" 2>&1; then
    rows+=("| $name | (patch) | - | does not apply | **DEFECT** | - |")
    defects=$((defects + 1))
  else
    for file in $files; do touch "$tree/$file"; done
    i=0
    while IFS= read -r command; do
      [ -n "$command" ] || continue
      i=$((i + 1))
      log="$logs/$name.$i.log"
      echo "mutations: $name: $command"
      seconds=$SECONDS
      outcome="$(run_command "$command" "$log")"
      took=$((SECONDS - seconds))
      echo "mutations:   $outcome in $took s (log: logs/$name.$i.log)"
      base="${baseline_of[$command]:-not run}"
      case "$outcome" in
        failed) verdict="killed" ;;
        timeout) verdict="killed (timed out after ${timeout_s} s)" ;;
        passed) verdict="**SURVIVED**"; defects=$((defects + 1)) ;;
        build) verdict="**DEFECT: the break does not build**"; defects=$((defects + 1)) ;;
      esac
      rows+=("| $name | \`$command\` | $base | $outcome | $verdict | $took |")
    done < <(commands_of "$patch")
  fi
  # Put the touched files back (newer than any build, so cargo rebuilds them).
  for file in $files; do
    rm -f "$tree/$file"
    sync_file "$file"
    touch "$tree/$file"
  done
done

{
  echo "# Mutation check: $started"
  echo
  echo "Command: \`tests/mutations/run.sh $*\`"
  echo
  echo "| mutation | command that must fail | unbroken | with the break | verdict | seconds |"
  echo "| --- | --- | --- | --- | --- | --- |"
  printf '%s\n' "${rows[@]}"
  echo
  failing_baselines=0
  for command in "${!baseline_of[@]}"; do
    if [ "${baseline_of[$command]}" != passed ]; then
      echo "Unbroken tree ${baseline_of[$command]}: \`$command\`"
      failing_baselines=$((failing_baselines + 1))
    fi
  done
  echo
  echo "Defects: $defects"
} >"$work/results.md"
cat "$work/results.md"

[ "$defects" -eq 0 ]
