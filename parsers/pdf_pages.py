"""A PDF page's characters and ruling lines read with pypdfium2, in pdfplumber's shapes:
chars as pdfplumber's char dicts (text, x0, x1, top, bottom, size, fontname, upright) and
drawn paths as pdfplumber's rect, line and curve edges (pdfminer's rules for telling them
apart). PDFium parses the page in C, where pdfminer's Python parser is most of the time
pdfplumber takes; pdfplumber's text-line and table algorithms then run on these objects
unchanged (pdf_reader, pdf_text). Coordinates are pdfplumber's: points from the top-left of
the page, through pdfminer's rotation and MediaBox offset."""
from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pdfplumber.utils import obj_to_edges

MAX_OBJECTS = 100_000  # page objects looked at on one page (text, paths, images, in forms too)
MAX_SEGMENTS = 60_000  # path points looked at on one page

_PATH, _IMAGE, _FORM = (pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_IMAGE,
                        pdfium_c.FPDF_PAGEOBJ_FORM)
_MOVE, _BEZIER = pdfium_c.FPDF_SEGMENT_MOVETO, pdfium_c.FPDF_SEGMENT_BEZIERTO


@dataclass
class PageContent:
    """One page as pdfplumber would describe it; `unmapped` counts the chars whose glyph has
    no Unicode mapping (pdfplumber's `(cid:N)`), which carry that text."""

    height: float
    counted: int = 0  # pdfium's characters, the ones it adds between words and lines included
    chars: list[dict] = field(default_factory=list)
    edges: list[dict] = field(default_factory=list)
    rules: int = 0  # rects, lines and curves drawn (pdfplumber's counts)
    images: int = 0
    unmapped: int = 0
    truncated: bool = False  # more objects than MAX_OBJECTS or path points than MAX_SEGMENTS


class Transform:
    """PDF user space -> pdfplumber's (x, top): pdfminer's page CTM (rotation, MediaBox
    origin) followed by pdfplumber's flip and MediaBox shift."""

    def __init__(self, plumber_page) -> None:
        x0, y0, x1, y1 = plumber_page.page_obj.mediabox
        rotate = plumber_page.page_obj.rotate
        if rotate == 90:
            ctm = (0, -1, 1, 0, -y0, x1)
        elif rotate == 180:
            ctm = (-1, 0, 0, -1, x1, y1)
        elif rotate == 270:
            ctm = (0, 1, -1, 0, y1, -x0)
        else:
            ctm = (1, 0, 0, 1, -x0, -y0)
        a, b, c, d, e, f = ctm
        mb_x0, mb_top = plumber_page.mediabox[:2]
        self.height = plumber_page.height
        # x = a*u + c*v + e + mb_x0 ; top = height + mb_top - (b*u + d*v + f)
        self.m = (a, c, e + mb_x0, -b, -d, self.height + mb_top - f)
        self.linear = (a, b, c, d)  # pdfminer's y-up page space, for telling upright text
        self.plain = self.linear == (1, 0, 0, 1)

    def point(self, u: float, v: float) -> tuple[float, float]:
        a, c, e, b, d, f = self.m
        return a * u + c * v + e, b * u + d * v + f


def read_page(pdf: pdfium.PdfDocument, index: int, plumber_page, *, max_chars: int,
              drawings: bool = True) -> PageContent:
    """Page `index` of the pypdfium2 document, in the coordinates of the same page opened by
    pdfplumber; TooManyChars past `max_chars`. `drawings=False` skips edges and images."""
    page = pdf[index]
    try:
        tf = Transform(plumber_page)
        content = PageContent(height=tf.height)
        textpage = page.get_textpage()
        try:
            _read_chars(textpage, tf, content, max_chars)
        finally:
            textpage.close()
        if drawings:
            _read_objects(page, tf, content)
        return content
    finally:
        page.close()


def _by_address(fn, restype, *argtypes):
    """`fn` with handles passed and returned as plain addresses (ints): hashable, so the
    per-text-object and per-font caches below can key on them."""
    return ctypes.CFUNCTYPE(restype, *argtypes)(ctypes.cast(fn, ctypes.c_void_p).value)


def _untyped(fn, restype=ctypes.c_int):
    """`fn` without declared argument types, for the calls made for every character: ctypes
    then passes ints, c_void_p handles and byref() outputs as they are, several times faster
    than checking each against the declared types. Callers pass only those."""
    bare = type(fn)(ctypes.cast(fn, ctypes.c_void_p).value)
    bare.restype = restype
    return bare


_VOID = ctypes.c_void_p
_get_font = _by_address(pdfium_c.FPDFTextObj_GetFont, _VOID, _VOID)
_font_name = _by_address(pdfium_c.FPDFFont_GetBaseFontName, ctypes.c_size_t, _VOID,
                         ctypes.c_char_p, ctypes.c_size_t)
_font_width = _by_address(pdfium_c.FPDFFont_GetGlyphWidth, ctypes.c_int, _VOID, ctypes.c_uint32,
                          ctypes.c_float, ctypes.POINTER(ctypes.c_float))
_get_unicode = _untyped(pdfium_c.FPDFText_GetUnicode, ctypes.c_uint)
_get_textobj = _untyped(pdfium_c.FPDFText_GetTextObject, _VOID)
_loose_box = _untyped(pdfium_c.FPDFText_GetLooseCharBox)
_tight_box = _untyped(pdfium_c.FPDFText_GetCharBox)
_hyphen = _untyped(pdfium_c.FPDFText_IsHyphen)
_origin = _untyped(pdfium_c.FPDFText_GetCharOrigin)
_map_error = _untyped(pdfium_c.FPDFText_HasUnicodeMapError)
_generated = _untyped(pdfium_c.FPDFText_IsGenerated)
_get_matrix = _untyped(pdfium_c.FPDFText_GetMatrix)
_get_font_size = _untyped(pdfium_c.FPDFText_GetFontSize, ctypes.c_double)


class TooManyChars(Exception):
    """The page has more characters than the caller's cap (the count is the argument)."""


def _read_chars(textpage, tf: Transform, content: PageContent, max_chars: int) -> None:
    """pdfplumber-shaped chars. x0 is the glyph's origin and x1 the end of its advance; bottom
    is the baseline and top one font size above it: pdfminer's box for fonts whose descriptor
    gives no descent, a little higher than pdfminer's where it gives one."""
    n = content.counted = pdfium_c.FPDFText_CountChars(textpage.raw)
    if n > max_chars:
        raise TooManyChars(n)
    raw = ctypes.c_void_p(ctypes.cast(textpage.raw, ctypes.c_void_p).value)
    rect = pdfium_c.FS_RECTF()
    ox, oy = ctypes.c_double(), ctypes.c_double()
    rect_out, ox_out, oy_out = ctypes.byref(rect), ctypes.byref(ox), ctypes.byref(oy)
    styles: dict = {}
    fonts: dict = {}
    widths: dict = {}
    append = content.chars.append
    _, _, dx, _, _, dy = tf.m
    plain = tf.plain
    unicode, textobj, origin, loose, map_error, generated = (
        _get_unicode, _get_textobj, _origin, _loose_box, _map_error, _generated)
    prev = None  # (text object, origin x, char dict, loose right) of the last char
    for i in range(n):
        code = unicode(raw, i)
        if code <= 0x20:
            if generated(raw, i):
                continue  # spaces and line breaks pdfium inserts: not in the page
            if code == 2 and _hyphen(raw, i):
                code = 0x2D  # pdfium's mark for a hyphen ending a line
        obj = textobj(raw, i)
        style = styles.get(obj)
        if style is None:
            style = styles[obj] = _style(raw, i, obj, fonts, tf)
        size, fontname, upright, straight, font, advance, vectors = style
        origin(raw, i, ox_out, oy_out)
        loose(raw, i, rect_out)
        if straight:
            if plain:
                x0, bottom = ox.value + dx, dy - oy.value
                x1 = rect.right + dx
            else:  # a rotated page whose text is drawn turned back upright
                x0, bottom = tf.point(ox.value, oy.value)
                x1 = max(tf.point(rect.left, rect.bottom)[0], tf.point(rect.right, rect.top)[0])
            loose_x1 = x1
            if prev is not None and prev[0] == obj and prev[1] == x0:
                # one glyph read as several chars (a ligature): its width in the font is not
                # the width of any one of them
                prev[2]["x1"], prev[2]["width"] = prev[3], prev[3] - x0
            else:
                width = widths.get((font, code))
                if width is None:
                    width = widths[font, code] = _glyph_width(font, code)
                # the loose box also covers ink past the advance ('f' in a serif font): then
                # the font's width for the glyph gives the advance
                if x0 + width * advance < x1 - 0.01 and _ink_right(raw, i, tf) >= x1 - 0.01:
                    x1 = x0 + width * advance
            top = bottom - size
        else:
            x0, top, x1, bottom = _turned_box(raw, i, tf, rect, ox.value, oy.value, vectors,
                                              widths.get((font, code)) or _glyph_width(font, code))
            loose_x1 = x1
        char = {"text": chr(code) if code < 0x110000 else "\ufffd", "x0": x0, "x1": x1,
                "top": top, "bottom": bottom, "doctop": top, "width": x1 - x0,
                "height": bottom - top, "size": size, "fontname": fontname, "upright": upright}
        if map_error(raw, i):
            content.unmapped += 1
            char["text"], char["cid"] = f"(cid:{code})", code
        append(char)
        prev = (obj, x0, char, loose_x1)


def _style(raw, i: int, obj, fonts: dict, tf: Transform) -> tuple:
    """What every char of one text object shares: font size (scaled by the text matrix, as
    pdfminer reports it), font name, pdfminer's uprightness on the page as displayed, whether
    the text runs left to right unturned (boxes from the baseline), the font, and the factor
    from the font's glyph widths (per unit of font size) to advances on the page."""
    m = pdfium_c.FS_MATRIX()
    _get_matrix(raw, i, ctypes.byref(m))
    a, b, c, d = m.a, m.b, m.c, m.d
    if not tf.plain:
        A, B, C, D = tf.linear
        a, b, c, d = a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D
    font_size = _get_font_size(raw, i)
    font = _get_font(obj) if obj else None
    name = fonts.get(font)
    if name is None:
        name = fonts[font] = _name_of(font)
    upright = a * d > 0 and b * c <= 0
    straight = a > 0 and d > 0 and abs(b) <= 1e-6 * a
    vectors = (m.a * font_size, m.b * font_size, m.c * font_size, m.d * font_size)  # user space
    return font_size * math.hypot(c, d), name, upright, straight, font, font_size * a, vectors


def _turned_box(raw, i, tf: Transform, rect, u: float, v: float, vectors: tuple,
                width: float) -> tuple:
    """Turned text: pdfminer's box, the glyph's advance by one font size from the origin
    (the baseline), turned with the text and the page; pdfium's loose box when the font
    does not know the glyph's width."""
    if width == math.inf:
        corners = [(rect.left, rect.bottom), (rect.right, rect.top)]
    else:
        a, b, c, d = vectors
        corners = [(u, v), (u + a * width, v + b * width), (u + c, v + d),
                   (u + a * width + c, v + b * width + d)]
    xs, tops = zip(*(tf.point(x, y) for x, y in corners))
    return min(xs), min(tops), max(xs), max(tops)


def _glyph_width(font, code: int) -> float:
    """The font's advance for the char (pdfium looks the code up from its Unicode), per unit
    of font size; infinite when unknown, so the loose box is kept."""
    width = ctypes.c_float()
    if not font or not _font_width(font, code, 1.0, width):
        return math.inf
    return width.value


def _ink_right(raw, i: int, tf: Transform) -> float:
    """The right edge of the glyph's ink on the page."""
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    _tight_box(raw, i, ctypes.byref(left), ctypes.byref(right), ctypes.byref(bottom),
               ctypes.byref(top))
    return max(tf.point(left.value, bottom.value)[0], tf.point(right.value, top.value)[0])


def _name_of(font) -> str:
    """The font's BaseFont (pdfium drops the subset tag), GBK names decoded."""
    if not font:
        return ""
    n = _font_name(font, None, 0)
    if n <= 1:
        return ""
    buf = ctypes.create_string_buffer(n)
    _font_name(font, buf, n)
    name = buf.raw[: n - 1]
    try:
        return name.decode("utf-8")
    except UnicodeDecodeError:
        return name.decode("gb18030", errors="replace")


_page_objects = _untyped(pdfium_c.FPDFPage_CountObjects)
_page_object = _untyped(pdfium_c.FPDFPage_GetObject, _VOID)
_form_objects = _untyped(pdfium_c.FPDFFormObj_CountObjects)
_form_object = _untyped(pdfium_c.FPDFFormObj_GetObject, _VOID)
_object_type = _untyped(pdfium_c.FPDFPageObj_GetType)
_object_matrix = _untyped(pdfium_c.FPDFPageObj_GetMatrix)
_segments = _untyped(pdfium_c.FPDFPath_CountSegments)
_segment = _untyped(pdfium_c.FPDFPath_GetPathSegment, _VOID)
_segment_point = _untyped(pdfium_c.FPDFPathSegment_GetPoint)
_segment_type = _untyped(pdfium_c.FPDFPathSegment_GetType)
_segment_close = _untyped(pdfium_c.FPDFPathSegment_GetClose)


def _read_objects(page, tf: Transform, content: PageContent) -> None:
    """Paths become pdfplumber edges, images are counted; forms are entered with their
    matrix. Stops at MAX_OBJECTS objects or MAX_SEGMENTS path points."""
    budget = [MAX_OBJECTS, MAX_SEGMENTS]
    identity = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    handle = ctypes.c_void_p(ctypes.cast(page.raw, ctypes.c_void_p).value)
    stack = [(_page_objects(handle), _page_object, handle, identity)]
    m = pdfium_c.FS_MATRIX()
    m_out = ctypes.byref(m)
    while stack:
        count, get, parent, outer = stack.pop()
        for k in range(count):
            budget[0] -= 1
            if budget[0] < 0 or budget[1] < 0:
                content.truncated = True
                return
            obj = ctypes.c_void_p(get(parent, k))
            kind = _object_type(obj)
            if kind == _IMAGE:
                content.images += 1
            elif kind in (_PATH, _FORM):
                _object_matrix(obj, m_out)
                matrix = _compose((m.a, m.b, m.c, m.d, m.e, m.f), outer)
                if kind == _FORM:
                    stack.append((_form_objects(obj), _form_object, obj, matrix))
                else:
                    budget[1] -= _path_edges(obj, matrix, tf, content)


def _compose(inner: tuple, outer: tuple) -> tuple:
    """The matrix applying `inner` then `outer` (PDF row-vector convention)."""
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D,
            e * A + f * C + E, e * B + f * D + F)


def _path_edges(obj, matrix: tuple, tf: Transform, content: PageContent) -> int:
    """Split the path into subpaths at each move, as pdfminer does, and turn each into
    pdfplumber edges; returns the number of points read."""
    n = _segments(obj)
    a, b, c, d, e, f = matrix
    x, y = ctypes.c_float(), ctypes.c_float()
    x_out, y_out = ctypes.byref(x), ctypes.byref(y)
    subpaths: list[tuple[str, list]] = []
    shape: list[str] = []
    pts: list = []
    bezier = 0
    for k in range(n):
        seg = ctypes.c_void_p(_segment(obj, k))
        kind = _segment_type(seg)
        _segment_point(seg, x_out, y_out)
        u, v = x.value, y.value
        pt = tf.point(a * u + c * v + e, b * u + d * v + f)
        if kind == _MOVE:
            if shape:
                subpaths.append(("".join(shape), pts))
            shape, pts, bezier = ["m"], [pt], 0
            continue
        if not shape:  # a path must start with a move; pdfminer drops it otherwise
            continue
        if kind == _BEZIER:
            bezier += 1
            if bezier % 3:
                continue  # control points: pdfminer keeps only each curve's end point
            shape.append("c")
        else:
            shape.append("l")
        pts.append(pt)
        if _segment_close(seg):
            # pdfium stores `re` and `... h` as a last line back to the start, closed
            if pt == pts[0] and shape[-1] == "l" and len(pts) > 2:
                shape[-1], pts[-1] = "h", pts[0]
            else:
                shape.append("h")
                pts.append(pts[0])
    if shape:
        subpaths.append(("".join(shape), pts))
    for shape_s, pts_s in subpaths:
        obj_dict = _classify(shape_s, pts_s, tf.height)
        if obj_dict is not None:
            content.rules += 1
            content.edges.extend(obj_to_edges(obj_dict))
    return n


def _classify(shape: str, pts: list, height: float) -> dict | None:
    """pdfminer's paint_path rules: a two-point path is a line, a closed axis-aligned
    four-sided one a rect, anything else a curve (through its points)."""
    if len(pts) < 2:
        return None
    if shape in ("mlh", "ml"):
        kind, pts = "line", pts[:2]
    elif shape in ("mlllh", "mllll"):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3), _ = pts
        square = (x0 == x1 and y1 == y2 and x2 == x3 and y3 == y0) or (
            y0 == y1 and x1 == x2 and y2 == y3 and x3 == x0)
        kind = "rect" if pts[0] == pts[4] and square else "curve"
    else:
        kind = "curve"
    xs = [p[0] for p in pts]
    tops = [p[1] for p in pts]
    x0, x1, top, bottom = min(xs), max(xs), min(tops), max(tops)
    return {"object_type": kind, "x0": x0, "x1": x1, "top": top, "bottom": bottom,
            "doctop": top, "y0": height - bottom, "y1": height - top, "width": x1 - x0,
            "height": bottom - top, "pts": pts}
