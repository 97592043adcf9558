#!/usr/bin/python3
"""Build GovChannel's pinned font files from Debian packages.

Run from anywhere (it writes next to itself, into fonts/):

    /usr/bin/python3 fonts/make-subsets.py          # (re)build every file
    /usr/bin/python3 fonts/make-subsets.py --check  # build in a temporary
                                                    # directory and compare with
                                                    # fonts/SHA256SUMS

Inputs (Debian 12 "bookworm" packages; other versions give other bytes):

    fonts-noto-cjk     NotoSansCJK-{Regular,Bold}.ttc, face "Noto Sans CJK SC"
    fonts-lxgw-wenkai  LXGWWenKai-{Regular,Bold}.ttf (last-resort glyphs only)
    unicode-data       Unihan (kTGHZ2013 field) for the 8105-character list
    python3-fonttools  pyftsubset (fontTools.subset), run as
                       `/usr/bin/python3 -m fontTools.subset`

Outputs (paths relative to fonts/):

    tongyong-8105.txt                    the 8105 characters of the 2013 Table of
                                         General Standard Chinese Characters
    NotoSansSC-{Regular,Bold}-subset.otf primary faces
    fallback/NotoSansSC-{W}-fb-XXXX-YYYY.otf
                                         every other CJK ideograph of the SC face,
                                         in chunks of ~2000-3000 glyphs by code point
    lastresort/GovLastResortKai-{W}.ttf  the few CJK ideographs that the SC face
                                         lacks (U+9FF0..9FFF, U+4DB6..4DBF), from
                                         LXGW WenKai, renamed (OFL Reserved Font Name)
    OFL.txt, fallback/OFL.txt, lastresort/OFL.txt
                                         licences, taken from the Debian packages
    MANIFEST.tsv                         one line per font: file, weight, first and
                                         last code point, glyphs, mapped code points,
                                         bytes
    SHA256SUMS                           sha256 of every generated file

The build is byte-reproducible: pyftsubset keeps the source's head.modified
(--no-recalc-timestamp), SOURCE_DATE_EPOCH is pinned for anything else in
fontTools that would read the clock, and every set is processed in sorted order.
"""

from __future__ import annotations

import argparse
import bz2
import concurrent.futures
import glob
import hashlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont

HERE = Path(__file__).resolve().parent

NOTO = {
    "Regular": "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "Bold": "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
}
# Collection index of "Noto Sans CJK SC" in Debian's .ttc files (checked below).
NOTO_SC_INDEX = 2
NOTO_SC_FAMILY = "Noto Sans CJK SC"
NOTO_COPYRIGHT_FILE = "/usr/share/doc/fonts-noto-cjk/copyright"

WENKAI = {
    "Regular": "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf",
    "Bold": "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Bold.ttf",
}
WENKAI_COPYRIGHT_FILE = "/usr/share/doc/fonts-lxgw-wenkai/copyright"
# LXGW WenKai reserves the font names "霞鹜" and "LXGW": a subset is a Modified
# Version under the OFL, so it gets a name of its own.
LASTRESORT_FAMILY = "GovChannel Last Resort Kai"
LASTRESORT_PS = "GovChannelLastResortKai"

UNIHAN_GLOB = "/usr/share/unicode/Unihan_*.txt.bz2"

# The versions this repository's SHA256SUMS were made with.
EXPECTED_PACKAGES = {
    "fonts-noto-cjk": "1:20220127+repack1-1",
    "fonts-lxgw-wenkai": "1.250+repack-1",
    "unicode-data": "15.0.0-1",
    "python3-fonttools": "4.38.0-1+deb12u1",
}

# Pinned so that nothing in fontTools stamps the build time (2021-01-01T00:00:00Z).
SOURCE_DATE_EPOCH = "1609459200"

WEIGHTS = ("Regular", "Bold")
# Fallback chunks are shipped for these weights. Both fit the 30 MB budget
# (checked in build()); with Bold only, the renderer would use Bold for both.
FALLBACK_WEIGHTS = ("Regular", "Bold")
FALLBACK_BUDGET_BYTES = 30 * 1000 * 1000
# A chunk holds at most this many code points; each block group is cut into
# ceil(n / CHUNK_MAX) chunks of nearly equal size.
CHUNK_MAX = 3000

# CJK ideograph blocks whose code points go to the fallback chunks when not in
# the primary subset. Each group is chunked on its own, so a chunk never spans
# two groups (a miss on, say, an emoji never loads an ideograph chunk).
IDEOGRAPH_GROUPS = [
    ("ExtA", 0x3400, 0x4DBF),
    ("URO", 0x4E00, 0x9FFF),
    ("Compat", 0xF900, 0xFAFF),
    ("ExtB+", 0x20000, 0x3FFFF),
]

# Blocks (or parts) copied into the primary subset where the SC face has them.
PRIMARY_RANGES = [
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1 Supplement
    (0x0100, 0x024F),  # Latin Extended-A and -B (Hanyu Pinyin tone letters)
    (0x0250, 0x02AF),  # IPA Extensions (ɑ ɡ of Pinyin)
    (0x02B0, 0x02FF),  # Spacing Modifier Letters (ˇ ˉ ˊ ˋ ˙)
    (0x0300, 0x036F),  # Combining Diacritical Marks
    (0x0370, 0x03FF),  # Greek
    (0x0400, 0x045F),  # Cyrillic (basic Russian set)
    (0x1E3E, 0x1E3F),  # Ḿ ḿ (Pinyin)
    (0x2000, 0x206F),  # General Punctuation
    (0x2070, 0x209F),  # Superscripts and Subscripts
    (0x20A0, 0x20CF),  # Currency Symbols
    (0x2100, 0x214F),  # Letterlike Symbols (℃ № ™)
    (0x2150, 0x218F),  # Number Forms (Ⅰ-Ⅻ ⅰ-ⅻ)
    (0x2190, 0x21FF),  # Arrows
    (0x2200, 0x22FF),  # Mathematical Operators
    (0x2300, 0x23FF),  # Miscellaneous Technical (⌒)
    (0x2460, 0x24FF),  # Enclosed Alphanumerics (①-⑳ ⑴-⒇ ⒈-⒛)
    (0x2500, 0x257F),  # Box Drawing
    (0x2580, 0x259F),  # Block Elements
    (0x25A0, 0x25FF),  # Geometric Shapes
    (0x2600, 0x26FF),  # Miscellaneous Symbols (★ ☆)
    (0x2700, 0x27BF),  # Dingbats (✓ ❶)
    (0x2E3A, 0x2E3B),  # two- and three-em dash
    (0x2E80, 0x2EFF),  # CJK Radicals Supplement
    (0x2F00, 0x2FDF),  # Kangxi Radicals (common in text copied out of PDFs)
    (0x2FF0, 0x2FFF),  # Ideographic Description Characters
    (0x3000, 0x303F),  # CJK Symbols and Punctuation
    (0x3040, 0x309F),  # Hiragana
    (0x30A0, 0x30FF),  # Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x31C0, 0x31EF),  # CJK Strokes
    (0x3200, 0x32FF),  # Enclosed CJK Letters and Months (㈠ ㊀)
    (0x3300, 0x33FF),  # CJK Compatibility (㎡ ㎏ ㎞)
    (0xFE10, 0xFE1F),  # Vertical Forms
    (0xFE30, 0xFE4F),  # CJK Compatibility Forms
    (0xFE50, 0xFE6F),  # Small Form Variants
    (0xFF00, 0xFFEF),  # Halfwidth and Fullwidth Forms
    (0xFFFD, 0xFFFD),  # replacement character
]

# Characters the primary subset must have (the build fails otherwise).
REQUIRED_SYMBOLS = (
    "，。、；：？！“”‘’《》〈〉（）【】〔〕「」『』—…·•–"
    "℃％№‰¥©®™×÷±≤≥≠"
    "★☆●○■□▲△◆◇→←↑↓"
    + "".join(chr(c) for c in range(0x2460, 0x2474))  # ①-⑳
    + "".join(chr(c) for c in range(0x2474, 0x2488))  # ⑴-⒇
    + "".join(chr(c) for c in range(0x2488, 0x249C))  # ⒈-⒛
    + "".join(chr(c) for c in range(0x2160, 0x216C))  # Ⅰ-Ⅻ
    + "".join(chr(c) for c in range(0x2170, 0x217C))  # ⅰ-ⅻ
    + "０１２３４５６７８９ＡＺａｚ　〇々"
    + "─│┌┐└┘├┤┬┴┼"
)

COMMON_SUBSET_ARGS = [
    "--no-hinting",
    "--notdef-outline",
    "--name-IDs=*",
    "--name-languages=*",
    "--no-recalc-timestamp",
]
# Primary faces keep the vertical-writing substitutions (about 50 glyphs, 20 kB);
# fontdue does not shape, so everything else in GSUB/GPOS is dropped.
PRIMARY_LAYOUT_ARGS = ["--layout-features=vert,vrt2"]
# Fallback and last-resort faces keep no layout tables at all.
NO_LAYOUT_ARGS = ["--layout-features=", "--drop-tables+=GSUB,GPOS,GDEF,BASE"]


def fail(message: str) -> None:
    print(f"make-subsets: error: {message}", file=sys.stderr)
    sys.exit(1)


def check_packages() -> None:
    for package, expected in EXPECTED_PACKAGES.items():
        try:
            found = subprocess.run(
                ["dpkg-query", "-W", "-f=${Version}", package],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            fail(f"Debian package {package} is not installed (apt-get install {package})")
        if found != expected:
            print(
                f"make-subsets: warning: {package} is {found}, SHA256SUMS was made "
                f"with {expected}; the output will differ",
                file=sys.stderr,
            )


def tongyong_8105() -> list[int]:
    """Code points with a kTGHZ2013 field in Unihan, sorted."""
    files = sorted(glob.glob(UNIHAN_GLOB))
    if not files:
        fail(f"no Unihan files at {UNIHAN_GLOB} (apt-get install unicode-data)")
    found = set()
    for path in files:
        with bz2.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                if line.startswith("#"):
                    continue
                fields = line.rstrip("\n").split("\t")
                if len(fields) >= 2 and fields[1] == "kTGHZ2013":
                    found.add(int(fields[0][2:], 16))
    if len(found) != 8105:
        fail(f"expected 8105 kTGHZ2013 code points in Unihan, found {len(found)}")
    return sorted(found)


def is_ideograph(cp: int) -> bool:
    return any(lo <= cp <= hi for _, lo, hi in IDEOGRAPH_GROUPS)


def gbk_symbols() -> set[int]:
    """Every non-ideograph character of GBK (GB 2312's symbols, kana, Greek,
    Cyrillic, Pinyin, Bopomofo, box drawing, plus GBK's additions)."""
    found = set()
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            if trail == 0x7F:
                continue
            try:
                text = bytes((lead, trail)).decode("gbk")
            except UnicodeDecodeError:
                continue
            for ch in text:
                cp = ord(ch)
                if not is_ideograph(cp) and not 0xE000 <= cp <= 0xF8FF:
                    found.add(cp)
    return found


def open_noto(weight: str) -> TTFont:
    font = TTCollection(NOTO[weight], lazy=True).fonts[NOTO_SC_INDEX]
    family = font["name"].getDebugName(1)
    if family != NOTO_SC_FAMILY:
        fail(f"{NOTO[weight]} face {NOTO_SC_INDEX} is {family!r}, expected {NOTO_SC_FAMILY!r}")
    return font


def hex_list(cps) -> str:
    return "".join(f"{cp:04X}\n" for cp in sorted(cps))


def run_subset(source: str, font_number: int | None, cps, extra_args, output: Path, work: Path) -> None:
    unicodes = work / (output.name + ".unicodes")
    unicodes.write_text(hex_list(cps), encoding="ascii")
    cmd = [sys.executable, "-m", "fontTools.subset", source]
    if font_number is not None:
        cmd.append(f"--font-number={font_number}")
    cmd += [f"--unicodes-file={unicodes}", f"--output-file={output}"]
    cmd += COMMON_SUBSET_ARGS + extra_args
    env = dict(os.environ, SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH, PYTHONHASHSEED="0")
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"pyftsubset failed for {output.name}:\n{result.stderr}")


def rename_lastresort(path: Path, weight: str) -> None:
    """Give the WenKai subset a name without the Reserved Font Names."""
    font = TTFont(path, recalcTimestamp=False)
    name = font["name"]
    keep = {0, 2, 5, 7, 8, 9, 11, 12, 13, 14}
    name.names = [r for r in name.names if r.nameID in keep]
    full = f"{LASTRESORT_FAMILY} {weight}" if weight != "Regular" else LASTRESORT_FAMILY
    postscript = f"{LASTRESORT_PS}-{weight}"
    new = {
        1: LASTRESORT_FAMILY,
        2: weight,
        3: f"{postscript};1.250;GovChannel subset",
        4: full,
        6: postscript,
        10: (
            "Modified Version (subset: the CJK ideographs missing from Noto Sans CJK SC) "
            "of the OFL font LXGW WenKai 1.250 from Debian's fonts-lxgw-wenkai, made for "
            "GovChannel by fonts/make-subsets.py; renamed because the original reserves "
            "its font names."
        ),
    }
    for name_id, value in new.items():
        name.setName(value, name_id, 3, 1, 0x409)
    font.save(path, reorderTables=True)
    font.close()


def licence_text(copyright_file: str, licence_name: str) -> str:
    """The body of `License: <licence_name>` in a Debian copyright file."""
    text = Path(copyright_file).read_text(encoding="utf-8")
    match = re.search(
        rf"^License: {re.escape(licence_name)}\n((?: .*\n?)+)", text, flags=re.MULTILINE
    )
    if match is None:
        fail(f"no 'License: {licence_name}' paragraph in {copyright_file}")
    lines = []
    for line in match.group(1).splitlines():
        line = line[1:]
        lines.append("" if line == "." else line)
    return "\n".join(lines).strip("\n") + "\n"


def write_licences(out: Path) -> None:
    noto_ofl = licence_text(NOTO_COPYRIGHT_FILE, "SIL-1.1")
    noto_header = (
        "Noto Sans CJK SC (Regular, Bold), version 2.004, as packaged in Debian's\n"
        "fonts-noto-cjk 1:20220127+repack1-1. The files in this directory are\n"
        "Modified Versions (subsets) made by make-subsets.py.\n"
        "\n"
        "Copyright © 2014-2021 Adobe (http://www.adobe.com/).\n"
        "  (font name table, name ID 0)\n"
        "Copyright 2010-2012, Google Corporation.\n"
        "  (Debian copyright file of fonts-noto-cjk)\n"
        "Noto is a trademark of Google Inc.\n"
        "\n"
        "No Reserved Font Name is declared for Noto Sans CJK, so the subsets keep\n"
        "their original names.\n"
        "\n"
        "This Font Software is licensed under the SIL Open Font License, Version 1.1,\n"
        "copied below from the Debian package (/usr/share/doc/fonts-noto-cjk/copyright).\n"
        "\n"
    )
    (out / "OFL.txt").write_text(noto_header + noto_ofl, encoding="utf-8")
    (out / "fallback").mkdir(parents=True, exist_ok=True)
    (out / "fallback" / "OFL.txt").write_text(noto_header + noto_ofl, encoding="utf-8")

    wenkai_ofl = licence_text(WENKAI_COPYRIGHT_FILE, "OFL-1.1")
    wenkai_header = (
        "The fonts in this directory are Modified Versions (subsets of a few dozen\n"
        "glyphs) of LXGW WenKai 1.250 (Regular, Bold), as packaged in Debian's\n"
        "fonts-lxgw-wenkai 1.250+repack-1, made by ../make-subsets.py.\n"
        "\n"
        "Copyright 2021-2023 LXGW (https://github.com/lxgw/LxgwWenKai)\n"
        "Copyright 2020 The Klee Project Authors (https://github.com/fontworks-fonts/Klee)\n"
        "  (font name table, name ID 0)\n"
        "Klee is a trademark of Fontworks Inc.\n"
        "\n"
        'Reserved Font Names: "霞鹜" and "LXGW" (Debian copyright file). As required\n'
        "by condition 3 of the licence, these Modified Versions do not use them: they\n"
        f'are named "{LASTRESORT_FAMILY}".\n'
        "\n"
        "This Font Software is licensed under the SIL Open Font License, Version 1.1,\n"
        "copied below from the Debian package (/usr/share/doc/fonts-lxgw-wenkai/copyright).\n"
        "\n"
    )
    (out / "lastresort").mkdir(parents=True, exist_ok=True)
    (out / "lastresort" / "OFL.txt").write_text(wenkai_header + wenkai_ofl, encoding="utf-8")


def chunk(cps: list[int]) -> list[list[int]]:
    count = -(-len(cps) // CHUNK_MAX)
    size = -(-len(cps) // count)
    return [cps[i : i + size] for i in range(0, len(cps), size)]


def cmap_of(path: Path) -> tuple[dict[int, str], int]:
    font = TTFont(path, lazy=True)
    result = dict(font.getBestCmap()), font["maxp"].numGlyphs
    font.close()
    return result


def build(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("fallback", "lastresort"):
        target = out / sub
        if target.exists():
            for old in target.glob("*.[ot]tf"):
                old.unlink()
        target.mkdir(parents=True, exist_ok=True)

    common = tongyong_8105()
    (out / "tongyong-8105.txt").write_text("".join(chr(cp) + "\n" for cp in common), encoding="utf-8")

    faces = {weight: open_noto(weight) for weight in WEIGHTS}
    cmaps = {weight: set(face.getBestCmap()) for weight, face in faces.items()}
    if cmaps["Regular"] != cmaps["Bold"]:
        fail("the Regular and Bold SC faces map different code points")
    sc_cmap = cmaps["Regular"]
    missing_common = [cp for cp in common if cp not in sc_cmap]
    if missing_common:
        fail("the SC face lacks " + " ".join(f"U+{cp:04X}" for cp in missing_common))

    wanted = set(common) | gbk_symbols()
    for lo, hi in PRIMARY_RANGES:
        wanted.update(range(lo, hi + 1))
    primary = {cp for cp in wanted if cp in sc_cmap}

    jobs = []  # (source, font number, code points, extra args, output, weight, first, last)
    for weight in WEIGHTS:
        jobs.append(
            (NOTO[weight], NOTO_SC_INDEX, primary, PRIMARY_LAYOUT_ARGS,
             out / f"NotoSansSC-{weight}-subset.otf", weight, None, None)
        )

    fallback_chunks = []
    for _, lo, hi in IDEOGRAPH_GROUPS:
        rest = sorted(cp for cp in sc_cmap if lo <= cp <= hi and cp not in primary)
        if rest:
            fallback_chunks.extend(chunk(rest))
    for weight in FALLBACK_WEIGHTS:
        for cps in fallback_chunks:
            name = f"NotoSansSC-{weight}-fb-{cps[0]:04X}-{cps[-1]:04X}.otf"
            jobs.append(
                (NOTO[weight], NOTO_SC_INDEX, cps, NO_LAYOUT_ARGS,
                 out / "fallback" / name, weight, cps[0], cps[-1])
            )

    # Last resort: assigned ideographs of the URO and Extension A (both are fully
    # assigned in Unicode 15) that the SC face lacks.
    gaps = [
        cp
        for lo, hi in ((0x3400, 0x4DBF), (0x4E00, 0x9FFF))
        for cp in range(lo, hi + 1)
        if cp not in sc_cmap
    ]
    lastresort_jobs = []
    if gaps:
        for weight in WEIGHTS:
            wenkai = TTFont(WENKAI[weight], lazy=True)
            have = set(wenkai.getBestCmap())
            wenkai.close()
            lacking = [cp for cp in gaps if cp not in have]
            if lacking:
                fail("LXGW WenKai lacks " + " ".join(f"U+{cp:04X}" for cp in lacking))
            output = out / "lastresort" / f"GovLastResortKai-{weight}.ttf"
            jobs.append((WENKAI[weight], None, gaps, NO_LAYOUT_ARGS, output, weight, gaps[0], gaps[-1]))
            lastresort_jobs.append((output, weight))

    with tempfile.TemporaryDirectory(prefix="make-subsets-") as work_dir:
        work = Path(work_dir)
        workers = max(1, min(len(jobs), os.cpu_count() or 1))
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [
                pool.submit(run_subset, source, number, cps, args, output, work)
                for source, number, cps, args, output, _, _, _ in jobs
            ]
            for future in futures:
                future.result()
    for output, weight in lastresort_jobs:
        rename_lastresort(output, weight)

    # Verify what was written and describe it.
    manifest = ["file\tweight\tfirst\tlast\tglyphs\tcode_points\tbytes"]
    covered = set()
    fallback_bytes = 0
    for _source, _number, cps, _args, output, weight, first, last in jobs:
        cmap, glyphs = cmap_of(output)
        if set(cmap) != set(cps):
            fail(f"{output.name}: cmap does not match the requested code points")
        if first is not None and (min(cmap) != first or max(cmap) != last):
            fail(f"{output.name}: cmap range is not U+{first:04X}..U+{last:04X}")
        if output.parent.name == "fallback":
            fallback_bytes += output.stat().st_size
        covered.update(cmap)
        rel = output.relative_to(out).as_posix()
        manifest.append(
            f"{rel}\t{weight}\t{'' if first is None else f'{first:04X}'}\t"
            f"{'' if last is None else f'{last:04X}'}\t{glyphs}\t{len(cmap)}\t{output.stat().st_size}"
        )
    if fallback_bytes > FALLBACK_BUDGET_BYTES:
        fail(f"fallback chunks total {fallback_bytes} bytes, over the budget: ship Bold only")
    for weight in WEIGHTS:
        cmap, _ = cmap_of(out / f"NotoSansSC-{weight}-subset.otf")
        lacking = [ch for ch in REQUIRED_SYMBOLS if ord(ch) not in cmap]
        lacking += [chr(cp) for cp in common if cp not in cmap]
        if lacking:
            fail(f"primary {weight} lacks {''.join(lacking)!r}")
    uncovered = [cp for cp in range(0x4E00, 0xA000) if cp not in covered]
    if uncovered:
        fail("no face covers " + " ".join(f"U+{cp:04X}" for cp in uncovered))
    (out / "MANIFEST.tsv").write_text("\n".join(manifest) + "\n", encoding="utf-8")

    write_licences(out)
    write_sums(out)

    print("\n".join(manifest))
    print(f"fallback total: {fallback_bytes} bytes")
    print("\nRust table for server/src/fonts.rs (FALLBACK):")
    for _source, _number, cps, _args, output, weight, first, last in jobs:
        if output.parent.name == "fallback":
            print(
                f'    fallback!({weight}, 0x{first:04X}, 0x{last:04X}, "{output.name}"),'
            )


def generated_files(out: Path) -> list[str]:
    names = ["tongyong-8105.txt", "MANIFEST.tsv", "OFL.txt", "fallback/OFL.txt", "lastresort/OFL.txt"]
    names += [p.relative_to(out).as_posix() for p in out.glob("NotoSansSC-*-subset.otf")]
    names += [p.relative_to(out).as_posix() for p in out.glob("fallback/*.otf")]
    names += [p.relative_to(out).as_posix() for p in out.glob("lastresort/*.ttf")]
    return sorted(names)


def sums(out: Path) -> str:
    lines = []
    for name in generated_files(out):
        digest = hashlib.sha256((out / name).read_bytes()).hexdigest()
        lines.append(f"{digest}  {name}\n")
    return "".join(lines)


def write_sums(out: Path) -> None:
    (out / "SHA256SUMS").write_text(sums(out), encoding="ascii")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="build in a temporary directory and compare with fonts/SHA256SUMS",
    )
    options = parser.parse_args()
    check_packages()
    if not options.check:
        build(HERE)
        return
    with tempfile.TemporaryDirectory(prefix="make-subsets-check-") as tmp:
        out = Path(tmp)
        build(out)
        committed = (HERE / "SHA256SUMS").read_text(encoding="ascii")
        rebuilt = (out / "SHA256SUMS").read_text(encoding="ascii")
        if committed != rebuilt:
            sys.stdout.writelines(
                line + "\n" for line in sorted(set(rebuilt.splitlines()) ^ set(committed.splitlines()))
            )
            fail("the rebuilt files differ from fonts/SHA256SUMS")
        print("make-subsets: rebuilt files match fonts/SHA256SUMS")


if __name__ == "__main__":
    main()
