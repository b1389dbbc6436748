#!/usr/bin/env bash
# Refresh static/vendor/ from the npm packages pinned in tools/vendor/package.json, and
# static/fonts/ with the handout font, pre-subset by subset_fonts.py (fontTools).
# Needs Node and npm; running Tandem does not. Usage: make vendor
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dest="$root/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp "$here/package.json" "$work/"
[ -f "$here/package-lock.json" ] && cp "$here/package-lock.json" "$work/"
(cd "$work" && npm install --ignore-scripts --no-audit --no-fund --silent)
cp "$work/package-lock.json" "$here/package-lock.json"
mods="$work/node_modules"

copy() {  # copy PACKAGE FILE... into static/vendor/PACKAGE/ with its licence
  local pkg=$1; shift
  local out="$dest/${pkg#@*/}"
  rm -rf "$out"; mkdir -p "$out"
  for file in "$@"; do cp "$mods/$pkg/$file" "$out/"; done
  for licence in LICENSE LICENSE.md LICENSE.txt; do
    [ -f "$mods/$pkg/$licence" ] && cp "$mods/$pkg/$licence" "$out/"
  done
  node -e "process.stdout.write(require('$mods/$pkg/package.json').version)" > "$out/VERSION"
}

copy @picocss/pico css/pico.jade.min.css
copy htmx.org dist/htmx.min.js
copy sortablejs Sortable.min.js
copy axe-core axe.min.js

# The handout font: Source Sans 3 (SIL OFL 1.1), subset to the scripts handouts print and
# renamed "Tandem Sans" as the licence asks of modified fonts. See static/fonts/README.md.
python=${PYTHON:-"$root/.venv/bin/python"}
[ -x "$python" ] || python=python3
fonts="$root/static/fonts"
"$python" "$here/subset_fonts.py" "$mods/source-sans/TTF" "$fonts"
cp "$mods/source-sans/LICENSE.md" "$fonts/LICENSE.md"
node -e "process.stdout.write(require('$mods/source-sans/package.json').version)" > "$fonts/VERSION"

echo "static/vendor refreshed:"
for dir in "$dest"/*/; do printf '  %s %s\n' "$(basename "$dir")" "$(cat "$dir/VERSION")"; done
printf '  fonts (source-sans) %s\n' "$(cat "$fonts/VERSION")"
