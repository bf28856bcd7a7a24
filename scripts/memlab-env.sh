# Sourced by the scripts that run memlab: installs memlab 2.x's packages once into
# ~/.cache/heapsight-oracle (npm, no browser download) and sets MEMLAB_MODULES to their
# node_modules folder, for NODE_PATH.
MEMLAB_MODULES=${HOME}/.cache/heapsight-oracle/node_modules
if [ ! -d "$MEMLAB_MODULES/@memlab/heap-analysis" ]; then
  mkdir -p "${MEMLAB_MODULES%/node_modules}" && (cd "${MEMLAB_MODULES%/node_modules}" && npm init -y >/dev/null &&
    PUPPETEER_SKIP_DOWNLOAD=1 npm install --ignore-scripts @memlab/core @memlab/heap-analysis memlab >/dev/null 2>&1)
fi
