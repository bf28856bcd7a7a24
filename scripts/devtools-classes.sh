#!/bin/bash
# Write Chrome DevTools' Summary class table for one V8 heap snapshot next to it, as
# SNAPSHOT-without-extension.devtools-classes.tsv (class, count, self size, retained size, distance; sorted),
# using ../shared/oracle/devtools_dump.mjs (DevTools' own heap snapshot worker, via the npm package
# heap-snapshot-toolkit 1.1.3). tests/devtools_classes.rs compares heapsight's Summary with these files.
# usage: scripts/devtools-classes.sh SNAPSHOT…      (run from the project's root; needs node + npm;
#        a SNAPSHOT.gz is unpacked into a temporary folder first)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
oracle=${HEAPSIGHT_ORACLE:-$here/../../shared/oracle}
cache=${HOME}/.cache/heapsight-devtools
if [ ! -d "$cache/node_modules/heap-snapshot-toolkit" ]; then
  mkdir -p "$cache" && (cd "$cache" && npm init -y >/dev/null && npm install heap-snapshot-toolkit@1.1.3 >/dev/null 2>&1)
fi
cp "$oracle/devtools_dump.mjs" "$cache/devtools_dump.mjs"   # ES modules resolve packages next to the script
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for snap in "$@"; do
  # A gzipped sample is unpacked first; its table goes beside it as for the plain file.
  plain=${snap%.gz}
  out=${plain%.*}.devtools-classes.tsv
  if [ "$plain" != "$snap" ]; then
    gunzip -c "$snap" > "$tmp/snapshot.heapsnapshot" || exit 1
    snap=$tmp/snapshot.heapsnapshot
  fi
  node --max-old-space-size=16000 "$cache/devtools_dump.mjs" "$snap" "$tmp/nodes.tsv" "$tmp/classes.tsv"
  LC_ALL=C sort "$tmp/classes.tsv" > "$out"
  echo "$out: $(wc -l < "$out") classes"
done
