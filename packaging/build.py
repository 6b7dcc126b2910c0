"""Build the Iris installers: ``python packaging/build.py linux|windows|macos``.

Run from the project's environment (``pip install -e . pyinstaller``). Every
platform first freezes the app with PyInstaller (packaging/iris.spec) into
dist/iris/ (dist/Iris.app on macOS), then:

* linux: dist/iris_<version>_<arch>.deb (dpkg-deb) and
  dist/iris-<version>-linux-<arch>.tar.gz;
* windows: dist/Iris-<version>-setup.exe (Inno Setup 6, ``iscc``);
* macos: dist/Iris-<version>-macos-<arch>.dmg (``hdiutil``).

This is a script, not a module: ``packaging/`` must never hold an
``__init__.py`` (it would shadow the PyPI ``packaging`` library).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from xml.dom import minidom

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DIST = ROOT / "dist"
BUILD = ROOT / "build"
ICONS = ROOT / "resources" / "icons"
APP_ID = "io.github.iris_desktop.Iris"
SUMMARY = "Desktop chat and vision client for Claude"

# What Qt 6's xcb and wayland platform plugins load from the system and the bundle
# does not carry (PyInstaller leaves out libGL/libEGL and friends on purpose).
DEB_DEPENDS = [
    "libc6 (>= 2.34)",
    "libegl1",
    "libgl1",
    "libfontconfig1",
    "libfreetype6",
    "libdbus-1-3",
    "libx11-6",
    "libx11-xcb1",
    "libxcb1",
    "libxcb-cursor0",
    "libxcb-glx0",
    "libxcb-icccm4",
    "libxcb-image0",
    "libxcb-keysyms1",
    "libxcb-randr0",
    "libxcb-render0",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-shm0",
    "libxcb-sync1",
    "libxcb-util1",
    "libxcb-xfixes0",
    "libxcb-xkb1",
    "libxkbcommon0",
    "libxkbcommon-x11-0",
    "libwayland-client0",
    "libwayland-cursor0",
    "libwayland-egl1",
]


def version() -> str:
    """Return the version of the installed ``desktop_app`` package."""
    sys.path.insert(0, str(ROOT))
    import desktop_app

    return desktop_app.__version__


def run(*cmd: str | Path, **kwargs: object) -> None:
    """Echo and run a command; stop the build if it fails."""
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)  # type: ignore[call-overload]


def tree_size(path: Path) -> int:
    """Return the apparent size in bytes of every file under ``path`` (not following links)."""
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def mb(n: int) -> str:
    """Format a byte count in MB."""
    return f"{n / 1e6:.1f} MB"


def pyinstaller() -> None:
    """Freeze the app into dist/ with packaging/iris.spec."""
    started = time.perf_counter()
    run(
        sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level=WARN",
        "--distpath", DIST, "--workpath", BUILD / "pyinstaller", HERE / "iris.spec",
    )  # fmt: skip
    print(f"pyinstaller: {time.perf_counter() - started:.0f} s", flush=True)


# -- Linux -----------------------------------------------------------------------------


def desktop_entry() -> str:
    """Return the freedesktop .desktop file."""
    return f"""[Desktop Entry]
Type=Application
Name=Iris
GenericName=AI Chat
Comment={SUMMARY}
Exec=iris %F
TryExec=iris
Icon={APP_ID}
Terminal=false
Categories=Network;Chat;Utility;Qt;
Keywords=Claude;AI;chat;assistant;vision;
MimeType=image/png;image/jpeg;image/gif;image/webp;
StartupNotify=true
StartupWMClass=iris
"""


def metainfo(ver: str) -> str:
    """Return the AppStream metainfo (no screenshot URLs: none are published yet)."""
    today = time.strftime("%Y-%m-%d", time.gmtime(int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
                                                  or time.time()))  # fmt: skip
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<component type="desktop-application">
  <id>{APP_ID}</id>
  <metadata_license>CC0-1.0</metadata_license>
  <project_license>MIT</project_license>
  <name>Iris</name>
  <summary>{SUMMARY}</summary>
  <developer id="io.github.iris_desktop">
    <name>The Iris developers</name>
  </developer>
  <description>
    <p>
      Iris is a fast, Qt-native desktop client for Claude over the Anthropic Messages
      API: streaming chat with Markdown and highlighted code, and image questions with
      drag and drop or paste.
    </p>
    <p>
      Your API key stays in the system keychain. A built-in offline demo works
      without a key or a network connection.
    </p>
  </description>
  <launchable type="desktop-id">{APP_ID}.desktop</launchable>
  <icon type="stock">{APP_ID}</icon>
  <categories>
    <category>Network</category>
    <category>Chat</category>
  </categories>
  <provides>
    <binary>iris</binary>
  </provides>
  <requires>
    <internet>offline-only</internet>
  </requires>
  <supports>
    <control>pointing</control>
    <control>keyboard</control>
  </supports>
  <content_rating type="oars-1.1"/>
  <releases>
    <release version="{ver}" date="{today}"/>
  </releases>
</component>
"""


def arch_deb() -> str:
    """Return the Debian architecture of this machine."""
    out = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True)
    return out.stdout.strip() or {"x86_64": "amd64", "aarch64": "arm64"}[platform.machine()]


def build_deb(bundle: Path, ver: str, arch: str) -> Path:
    """Assemble dist/iris_<ver>_<arch>.deb from the frozen bundle."""
    root = BUILD / "deb" / "root"
    if root.exists():
        shutil.rmtree(root)
    opt = root / "opt" / "iris"
    shutil.copytree(bundle, opt, symlinks=True)

    usr_bin = root / "usr" / "bin"
    usr_bin.mkdir(parents=True)
    # A wrapper rather than a symlink: the bundle finds _internal/ next to the real file.
    (usr_bin / "iris").write_text('#!/bin/sh\nexec /opt/iris/iris "$@"\n')

    share = root / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    (share / "applications" / f"{APP_ID}.desktop").write_text(desktop_entry())
    (share / "metainfo").mkdir(parents=True)
    meta = share / "metainfo" / f"{APP_ID}.metainfo.xml"
    meta.write_text(metainfo(ver))
    minidom.parse(str(meta))  # well-formed, or the build stops here
    hicolor = share / "icons" / "hicolor"
    for png in sorted(ICONS.glob("iris-*.png")):
        n = png.stem.split("-")[1]
        target = hicolor / f"{n}x{n}" / "apps"
        target.mkdir(parents=True)
        shutil.copy2(png, target / f"{APP_ID}.png")
    (hicolor / "scalable" / "apps").mkdir(parents=True)
    shutil.copy2(ICONS / "iris.svg", hicolor / "scalable" / "apps" / f"{APP_ID}.svg")
    doc = share / "doc" / "iris"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "Iris: MIT License, the Iris developers.\n"
        "Bundled: Python (PSF), Qt 6 and PySide6 (LGPLv3), Pillow, httpx, keyring and\n"
        "other libraries under their own licenses; see /opt/iris/_internal.\n"
    )

    for path in root.rglob("*"):
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o755)
        else:
            path.chmod(0o755 if os.access(path, os.X_OK) or path.parent == usr_bin else 0o644)

    installed_kib = (tree_size(root) + 1023) // 1024
    debian = root / "DEBIAN"
    debian.mkdir()
    (debian / "control").write_text(
        f"""Package: iris
Version: {ver}
Architecture: {arch}
Maintainer: The Iris developers <iris@users.noreply.github.com>
Installed-Size: {installed_kib}
Depends: {", ".join(DEB_DEPENDS)}
Section: net
Priority: optional
Description: {SUMMARY}
 Iris is a fast, Qt-native desktop chat and vision client for Claude over the
 Anthropic Messages API. This package carries its own Python and Qt in /opt/iris.
"""
    )
    (debian / "postinst").write_text(
        "#!/bin/sh\nset -e\n"
        'if [ "$1" = configure ]; then\n'
        "  command -v gtk-update-icon-cache >/dev/null && "
        "gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true\n"
        "  command -v update-desktop-database >/dev/null && "
        "update-desktop-database -q /usr/share/applications || true\n"
        "fi\n"
    )
    (debian / "postinst").chmod(0o755)

    deb = DIST / f"iris_{ver}_{arch}.deb"
    run("dpkg-deb", "--root-owner-group", "-Zxz", "--build", root, deb)
    return deb


def build_tarball(bundle: Path, ver: str, arch: str) -> Path:
    """Pack the bundle as dist/iris-<ver>-linux-<arch>.tar.gz (top folder iris-<ver>/)."""
    out = DIST / f"iris-{ver}-linux-{arch}.tar.gz"
    with tarfile.open(out, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=f"iris-{ver}")
        for png in ("iris-256.png",):
            tar.add(ICONS / png, arcname=f"iris-{ver}/iris.png")
    return out


def linux() -> None:
    """Bundle, .deb and .tar.gz."""
    ver, arch = version(), arch_deb()
    pyinstaller()
    bundle = DIST / "iris"
    deb = build_deb(bundle, ver, arch)
    tarball = build_tarball(bundle, ver, arch)
    print(f"bundle (unpacked): {mb(tree_size(bundle))}  (target < 150 MB)")
    print(f"{deb.name}: {mb(deb.stat().st_size)}  (target < 60 MB)")
    print(f"{tarball.name}: {mb(tarball.stat().st_size)}")


# -- Windows ---------------------------------------------------------------------------


def windows() -> None:
    """Bundle, then the Inno Setup installer."""
    ver = version()
    pyinstaller()
    iscc = shutil.which("iscc") or r"C:\Program Files (x86)\Inno Setup 6\ISCC.exe"
    run(
        iscc, f"/DAppVersion={ver}", f"/DSourceDir={DIST / 'iris'}", f"/DOutputDir={DIST}",
        f"/DIconFile={ICONS / 'iris.ico'}", HERE / "windows" / "iris.iss",
    )  # fmt: skip
    for setup in DIST.glob("*-setup.exe"):
        print(f"{setup.name}: {mb(setup.stat().st_size)}")


# -- macOS -----------------------------------------------------------------------------


def macos() -> None:
    """Bundle as Iris.app, then a compressed .dmg with an Applications link."""
    ver = version()
    pyinstaller()
    stage = BUILD / "dmg"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    run("ditto", DIST / "Iris.app", stage / "Iris.app")
    (stage / "Applications").symlink_to("/Applications")
    dmg = DIST / f"Iris-{ver}-macos-{platform.machine()}.dmg"
    run(
        "hdiutil", "create", "-volname", "Iris", "-srcfolder", stage,
        "-fs", "HFS+", "-format", "UDZO", "-ov", dmg,
    )  # fmt: skip
    print(f"{dmg.name}: {mb(dmg.stat().st_size)}")


def main() -> None:
    """Parse the target and build it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("target", choices=["linux", "windows", "macos"])
    target = parser.parse_args().target
    DIST.mkdir(exist_ok=True)
    {"linux": linux, "windows": windows, "macos": macos}[target]()


if __name__ == "__main__":
    main()
