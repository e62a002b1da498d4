# Shared by scripts/test, scripts/demo and scripts/bench-convert: find the repository, install
# what is missing, build.  Source it; it sets REPO and SHARED and cds to REPO.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# ../shared next to the repository (the corpus and the benchmark generator), wherever it is cloned.
SHARED="$(cd "$REPO/.." && pwd)/shared"
cd "$REPO"

# ensure_packages PKG... installs the Debian packages that are absent, when we are root.
# Without root (or apt-get) it says what is missing and, under CI=true, fails: a run that could
# not install what its tests need is not green.  By hand, the tests that need a missing
# package then skip.
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "missing packages (install them as root): ${missing[*]}" >&2
        [ "${CI:-}" != true ] || exit 1
        return 0
    fi
    echo "installing: ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

BUILD_PACKAGES=(liblzma-dev zlib1g-dev pkg-config python3 xz-utils gzip tar)

# executable_products: the package's executables (the tools), one a line, as Package.swift
# declares them.
executable_products() {
    swift package describe --type json | python3 -c '
import json, sys
for product in json.load(sys.stdin)["products"]:
    if "executable" in product["type"]:
        print(product["name"])'
}
