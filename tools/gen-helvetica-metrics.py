#!/usr/bin/env python3
"""Generate lib/helvetica-metrics.inc for printguard.

Reads the AFM of a Helvetica metric-compatible font (default: URW Nimbus Sans
Regular from fonts-urw-base35) and writes two C++ tables indexed by
WinAnsiEncoding code (PDF 32000-1:2008, Annex D.2):

  pg_helvetica_widths[256]  advance width in 1/1000 em of the code's glyph,
                            0 for codes that have no glyph in WinAnsiEncoding
  pg_winansi_unicode[256]   Unicode scalar value of the code, 0 for codes that
                            are undefined (0x7F, 0x81, 0x8D, 0x8F, 0x90, 0x9D)
                            and for the control codes 0x00..0x1F

Usage: gen-helvetica-metrics.py [AFM] [OUTPUT]   (OUTPUT "-" = stdout)

Python 3 standard library only.  The output is deterministic.
"""

import os
import sys

DEFAULT_AFM = "/usr/share/fonts/type1/urw-base35/NimbusSans-Regular.afm"
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "..", "lib", "helvetica-metrics.inc")

# WinAnsiEncoding glyph names, PDF 32000-1:2008 Annex D.2 (table D.2, "WIN"
# column).  None = code not assigned.  Note: the spec assigns 0xA0 to "space"
# (non-breaking space) and 0xAD to "hyphen" (soft hyphen) and footnote 5 says
# viewers may show unused codes > 0x20 as bullets; we report them as 0.
WINANSI = [None] * 256

_ASCII = (
    "space exclam quotedbl numbersign dollar percent ampersand quotesingle "
    "parenleft parenright asterisk plus comma hyphen period slash "
    "zero one two three four five six seven eight nine colon semicolon "
    "less equal greater question at "
    "A B C D E F G H I J K L M N O P Q R S T U V W X Y Z "
    "bracketleft backslash bracketright asciicircum underscore grave "
    "a b c d e f g h i j k l m n o p q r s t u v w x y z "
    "braceleft bar braceright asciitilde"
).split()
assert len(_ASCII) == 0x7F - 0x20
for _i, _n in enumerate(_ASCII):
    WINANSI[0x20 + _i] = _n

_HIGH = {
    0x80: "Euro",           0x82: "quotesinglbase", 0x83: "florin",
    0x84: "quotedblbase",   0x85: "ellipsis",       0x86: "dagger",
    0x87: "daggerdbl",      0x88: "circumflex",     0x89: "perthousand",
    0x8A: "Scaron",         0x8B: "guilsinglleft",  0x8C: "OE",
    0x8E: "Zcaron",
    0x91: "quoteleft",      0x92: "quoteright",     0x93: "quotedblleft",
    0x94: "quotedblright",  0x95: "bullet",         0x96: "endash",
    0x97: "emdash",         0x98: "tilde",          0x99: "trademark",
    0x9A: "scaron",         0x9B: "guilsinglright", 0x9C: "oe",
    0x9E: "zcaron",         0x9F: "Ydieresis",
}
WINANSI[0x80:0xA0] = [_HIGH.get(c) for c in range(0x80, 0xA0)]

_LATIN1 = (
    "space exclamdown cent sterling currency yen brokenbar section "
    "dieresis copyright ordfeminine guillemotleft logicalnot hyphen "
    "registered macron degree plusminus twosuperior threesuperior acute mu "
    "paragraph periodcentered cedilla onesuperior ordmasculine "
    "guillemotright onequarter onehalf threequarters questiondown "
    "Agrave Aacute Acircumflex Atilde Adieresis Aring AE Ccedilla "
    "Egrave Eacute Ecircumflex Edieresis Igrave Iacute Icircumflex Idieresis "
    "Eth Ntilde Ograve Oacute Ocircumflex Otilde Odieresis multiply "
    "Oslash Ugrave Uacute Ucircumflex Udieresis Yacute Thorn germandbls "
    "agrave aacute acircumflex atilde adieresis aring ae ccedilla "
    "egrave eacute ecircumflex edieresis igrave iacute icircumflex idieresis "
    "eth ntilde ograve oacute ocircumflex otilde odieresis divide "
    "oslash ugrave uacute ucircumflex udieresis yacute thorn ydieresis"
).split()
assert len(_LATIN1) == 0x60
WINANSI[0xA0:0x100] = _LATIN1


def winansi_unicode(code):
    """Unicode scalar of a WinAnsi code (Windows-1252), 0 if undefined."""
    if WINANSI[code] is None:
        return 0
    # cp1252 maps 0xA0 -> U+00A0 and 0xAD -> U+00AD, which is what text in
    # the document means even though the glyphs drawn are space / hyphen.
    return ord(bytes([code]).decode("cp1252"))


def parse_afm(path):
    """Return {glyph name: advance width} from the CharMetrics of an AFM."""
    widths = {}
    in_metrics = False
    with open(path, encoding="latin-1") as f:
        for line in f:
            line = line.strip()
            if line.startswith("StartCharMetrics"):
                in_metrics = True
                continue
            if line.startswith("EndCharMetrics"):
                break
            if not in_metrics or not line:
                continue
            name = None
            wx = None
            for item in line.split(";"):
                tok = item.split()
                if not tok:
                    continue
                if tok[0] in ("WX", "W0X") and len(tok) >= 2:
                    wx = int(round(float(tok[1])))
                elif tok[0] == "N" and len(tok) >= 2:
                    name = tok[1]
            if name is not None and wx is not None:
                widths.setdefault(name, wx)
    if not widths:
        raise SystemExit("%s: no CharMetrics found" % path)
    return widths


def c_comment(code, u):
    """ASCII-only description of a code for a C++ comment."""
    if u == 0:
        return "undefined" if code >= 0x20 else "control"
    return "U+%04X %s" % (u, WINANSI[code])


def generate(afm_path):
    """Build the text of the .inc file."""
    widths = parse_afm(afm_path)
    missing = [n for n in WINANSI if n is not None and n not in widths]
    if missing:
        raise SystemExit("%s: glyphs missing: %s" % (afm_path, " ".join(missing)))

    w = [widths[n] if n is not None else 0 for n in WINANSI]
    u = [winansi_unicode(c) for c in range(256)]

    # Sanity checks against published Adobe Helvetica metrics.
    expect = {0x20: 278, ord("A"): 667, ord("a"): 556, ord("W"): 944,
              0xE9: 556, 0xDF: 611, 0x80: 556, 0xA0: 278, 0xAD: 333}
    for code, width in expect.items():
        if w[code] != width:
            raise SystemExit("width of 0x%02X is %d, expected %d"
                             % (code, w[code], width))
    for code in (0x7F, 0x81, 0x8D, 0x8F, 0x90, 0x9D):
        assert u[code] == 0 and w[code] == 0

    afm_name = os.path.basename(afm_path)
    out = []
    out.append("// GENERATED FILE - DO NOT EDIT.")
    out.append("//")
    out.append("// Generated by tools/gen-helvetica-metrics.py from")
    out.append("//   %s" % afm_path)
    out.append("// (URW Nimbus Sans Regular, metric-compatible with Helvetica).")
    out.append("// Regenerate with:  python3 tools/gen-helvetica-metrics.py")
    out.append("//")
    out.append("// Both tables are indexed by WinAnsiEncoding code (PDF 32000-1:2008,")
    out.append("// Annex D.2).  pg_helvetica_widths: advance width in 1/1000 em, 0 if the")
    out.append("// code has no glyph.  pg_winansi_unicode: Unicode scalar value, 0 for")
    out.append("// control codes (< 0x20) and undefined codes (0x7F 0x81 0x8D 0x8F 0x90")
    out.append("// 0x9D).  0xA0 draws 'space' and 0xAD draws 'hyphen'.")
    out.append("")
    out.append("static const unsigned short pg_helvetica_widths[256] = {")
    for code in range(256):
        name = WINANSI[code] or "-"
        out.append("    %4d, // 0x%02X %s" % (w[code], code, name))
    out.append("};")
    out.append("")
    out.append("static const char32_t pg_winansi_unicode[256] = {")
    for code in range(256):
        out.append("    0x%04X, // 0x%02X %s" % (u[code], code, c_comment(code, u[code])))
    out.append("};")
    out.append("")
    return "\n".join(out)


def main(argv):
    afm = argv[1] if len(argv) > 1 else DEFAULT_AFM
    dest = argv[2] if len(argv) > 2 else DEFAULT_OUT
    text = generate(afm)
    if dest == "-":
        sys.stdout.write(text)
    else:
        with open(dest, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
