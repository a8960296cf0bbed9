#!/usr/bin/env bash
# Installs what building and testing dtvm needs, skipping whatever is already there:
# rustfmt and clippy (through rustup) and a C compiler with binutils (through apt).
set -euo pipefail

log() { echo "setup: $*"; }

# apt needs root; use sudo when we are not root and it is available.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        echo "setup: need root to run: $*" >&2
        return 1
    fi
}

apt_updated=false
apt_install() {
    if ! $apt_updated; then
        as_root apt-get update -qq
        apt_updated=true
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

rust_components() {
    local component
    for component in rustfmt clippy; do
        # `cargo fmt` / `cargo clippy` work iff the component is installed.
        if cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
            log "$component present"
        elif command -v rustup >/dev/null; then
            log "installing $component"
            rustup component add "$component"
        else
            echo "setup: $component missing and no rustup to install it" >&2
            return 1
        fi
    done
}

c_toolchain() {
    # cc builds the C examples; nm (binutils) checks the exported symbol.
    if command -v cc >/dev/null && command -v nm >/dev/null; then
        log "C compiler present ($(cc --version | head -n1))"
    else
        log "installing a C compiler"
        apt_install gcc libc6-dev binutils
    fi
}

rust_components
c_toolchain
