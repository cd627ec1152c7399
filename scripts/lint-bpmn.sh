#!/usr/bin/env bash
# Lint every BPMN diagram in workflows/, tests/fixtures/bpmn/ and examples/ with bpmnlint and the
# repository's .bpmnlintrc (bpmnlint:recommended + camunda-compat Camunda Platform 7 rules).
#
#   bash scripts/lint-bpmn.sh            # or: npm run lint:bpmn
#
# Fixtures named invalid_* are broken on purpose (deploy-refusal tests) and are skipped.
# Exits non-zero if any diagram has a lint error; warnings are printed but do not fail.
# Needs node_modules: run `npm ci` first.
set -euo pipefail

cd "$(dirname "$0")/.."

bpmnlint=node_modules/.bin/bpmnlint
if [ ! -x "$bpmnlint" ]; then
  echo "lint-bpmn: $bpmnlint not found; run 'npm ci' in $(pwd) first" >&2
  exit 2
fi

files=()
for dir in workflows examples tests/fixtures/bpmn tests/clients tests/crash; do
  [ -d "$dir" ] || continue
  while IFS= read -r -d '' f; do
    files+=("$f")
  done < <(find "$dir" -maxdepth 1 -type f -name '*.bpmn' ! -name 'invalid_*' -print0 | sort -z)
done

if [ "${#files[@]}" -eq 0 ]; then
  echo "lint-bpmn: no .bpmn files to lint"
  exit 0
fi

echo "lint-bpmn: ${#files[@]} file(s): ${files[*]}"
# One bpmnlint run for all files: it prints a table per file with problems and exits 1 on any error.
# File names are passed as they are, never as globs (bpmnlint expands glob patterns itself).
"$bpmnlint" "${files[@]}"
echo "lint-bpmn: OK"
