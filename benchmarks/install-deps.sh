#!/usr/bin/env bash
# Install what `python -m benchmarks` needs beyond qwen-lsp's dev extras (pytest, aiohttp...):
# matplotlib from PyPI, and the peer server tabby-agent from npm into
# benchmarks/peers/node_modules (pinned by peers/package-lock.json; gitignored).
# Idempotent: a second run installs nothing. Needs Node.js >= 18 and npm for the peer.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"

if ! "$python" -c "import matplotlib" 2>/dev/null; then
    "$python" -m pip install --quiet --disable-pip-version-check "matplotlib>=3.8"
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "install-deps: npm not found; install Node.js >= 18 to benchmark against tabby-agent" >&2
    exit 1
fi

wanted="$(node -p "require('$here/peers/package.json').dependencies['tabby-agent']")"
installed="$(node -p "try { require('$here/peers/node_modules/tabby-agent/package.json').version }
    catch { '' }")"
if [ "$installed" != "$wanted" ]; then
    npm ci --prefix "$here/peers" --no-audit --no-fund --loglevel=error
fi
echo "install-deps: matplotlib and tabby-agent $wanted are installed"
