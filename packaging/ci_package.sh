#!/usr/bin/env bash
# Build the Linux bundle, .deb and .tar.gz, then test what a user would install:
# unpack the .deb into a temporary root, run its --smoke-test offscreen, and run
# `iris ask --demo` / `iris image` from the frozen bundle. Non-zero on any failure.
# Needs: .venv with the project installed (.ci/run makes it), dpkg-deb, binutils (strip).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$PY" -m pip install -q "pyinstaller>=6.10,<7"

for tool in dpkg-deb strip; do
    command -v "$tool" >/dev/null || { echo "ci_package: $tool is missing (apt-get install dpkg binutils)" >&2; exit 1; }
done

echo "== build the Linux bundle, .deb and .tar.gz"
"$PY" packaging/build.py linux

version=$("$PY" -c 'import desktop_app; print(desktop_app.__version__)')
arch=$(dpkg --print-architecture)
deb="dist/iris_${version}_${arch}.deb"
tarball="dist/iris-${version}-linux-${arch}.tar.gz"
test -s "$deb" && test -s "$tarball"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root="$tmp/root"
dpkg-deb -x "$deb" "$root"
dpkg-deb --field "$deb" Package Version Architecture Depends >/dev/null
for f in usr/bin/iris opt/iris/iris \
         usr/share/applications/io.github.iris_desktop.Iris.desktop \
         usr/share/metainfo/io.github.iris_desktop.Iris.metainfo.xml \
         usr/share/icons/hicolor/scalable/apps/io.github.iris_desktop.Iris.svg \
         usr/share/icons/hicolor/256x256/apps/io.github.iris_desktop.Iris.png; do
    test -e "$root/$f" || { echo "ci_package: $f missing from the .deb" >&2; exit 1; }
done
# The interface icons ship as masks under resources/icons/ui, with their licence.
for f in icons/ui/copy.png icons/ui/svg/LICENSE; do
    find "$root/opt/iris" -path "*/resources/$f" | grep -q . \
        || { echo "ci_package: resources/$f missing from the bundle" >&2; exit 1; }
done
if find "$root" -xtype l | grep -q .; then
    echo "ci_package: dangling symlinks in the .deb:" >&2; find "$root" -xtype l >&2; exit 1
fi
# Run from somewhere else, with no Python on the path, so nothing leaks in from the tree.
export QT_QPA_PLATFORM=offscreen
export IRIS_CONFIG_DIR="$tmp/config" IRIS_DATA_DIR="$tmp/data" IRIS_CACHE_DIR="$tmp/cache"
export PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring
iris="$root/opt/iris/iris"
cd "$tmp"

echo "== --smoke-test from the unpacked .deb"
start=$(date +%s%N)
out=$(env -u PYTHONPATH -u VIRTUAL_ENV PATH=/usr/bin:/bin "$iris" --smoke-test)
wall_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "$out"
grep -q '^startup_ms=[0-9]' <<<"$out" || { echo "ci_package: no startup_ms printed" >&2; exit 1; }

echo "== iris ask --demo from the bundle"
answer=$(env -u PYTHONPATH -u VIRTUAL_ENV PATH=/usr/bin:/bin "$iris" ask --demo "hello")
test -n "$answer" || { echo "ci_package: empty answer" >&2; exit 1; }
printf '%s\n' "$answer" | head -3

echo "== iris image from the bundle (Pillow and the model catalog)"
env -u PYTHONPATH -u VIRTUAL_ENV PATH=/usr/bin:/bin "$iris" image "$OLDPWD/resources/icons/iris-512.png" | head -c 300
echo

echo "== platform plugins load (no display here, so each must fail to *connect*)"
# Only meaningful where the .deb's Depends are installed (the plugins link them).
depends=$(dpkg-deb --field "$OLDPWD/$deb" Depends | tr -d ' ' | tr ',' '\n' | sed 's/(.*//')
if dpkg -s $depends >/dev/null 2>&1; then strict=1; else strict=0
    echo "(the .deb's Depends are not all installed here: plugin check is informational)"
fi
for platform in xcb wayland; do
    log=$(env -u DISPLAY -u WAYLAND_DISPLAY QT_QPA_PLATFORM=$platform XDG_RUNTIME_DIR="$tmp" \
          timeout 20 "$iris" --smoke-test 2>&1 || true)
    if grep -qi 'could not connect\|failed to create wayland connection\|failed to create wl_display' <<<"$log"; then
        echo "$platform: plugin loaded (no display to connect to, as expected)"
    elif [ "$strict" = 1 ]; then
        echo "ci_package: the $platform plugin did not load:" >&2; echo "$log" >&2; exit 1
    else
        echo "$platform: plugin did not load: $(grep -m1 -i 'plugin' <<<"$log" || true)"
    fi
done
cd "$OLDPWD"

bundle_mb=$(du -s --apparent-size --block-size=1 "$root/opt/iris" | awk '{printf "%.1f", $1/1e6}')
deb_mb=$(stat -c %s "$deb" | awk '{printf "%.1f", $1/1e6}')
tar_mb=$(stat -c %s "$tarball" | awk '{printf "%.1f", $1/1e6}')
startup_ms=${out#startup_ms=}
echo "== targets"
echo "bundle unpacked: ${bundle_mb} MB (target < 150)"
echo ".deb:            ${deb_mb} MB (target < 60)"
echo ".tar.gz:         ${tar_mb} MB"
echo "--smoke-test:    startup_ms=${startup_ms}, wall ${wall_ms} ms (target < 1000)"
# Over a target by a little is reported (the figures go in README); far over means
# something large slipped into the bundle, and that fails the run.
awk -v b="$bundle_mb" -v d="$deb_mb" 'BEGIN { exit !(b < 150 && d < 60) }' \
    || echo "ci_package: WARNING: a size target is missed (bundle < 150 MB, .deb < 60 MB)" >&2
awk -v b="$bundle_mb" -v d="$deb_mb" 'BEGIN { exit !(b < 165 && d < 66) }' \
    || { echo "ci_package: the bundle grew far past its size target" >&2; exit 1; }
echo "ci_package: OK"
