"""One structure tree for the handout, joined from the trees of its parts, and the page numbers as artifacts.

Each part is a tagged PDF of its own (WeasyPrint, pdf_tags): a /Document element whose content is
found through the part's ParentTree, keyed by the /StructParents of its pages. Put side by side,
those keys collide (every part counts its pages from 0) and only one StructTreeRoot can be the
book's. So each part's /Document becomes a /Part of one /Document, its elements are copied with
their page references moved to the book's pages, and the ParentTree is made again from the copied
tree: one key per page and per tagged annotation, in page order. The page-number overlay is drawn
into every page as a form XObject inside an /Artifact sequence, so that screen readers skip it.
"""
from __future__ import annotations

from collections.abc import Iterator

import pikepdf
from pikepdf import Array, Dictionary, Name, Pdf

# Named by page number, not at random: the same input gives the same bytes. (A part's pages share
# one /Resources dictionary, so each page's overlay needs a name of its own.)
OVERLAY = "/PageNumbers%d"
FOOTER = b"/Artifact <</Type /Pagination /Subtype /Footer>> BDC q /PageNumbers%d Do Q EMC\n"


def join_structure(book: Pdf, parts: list[Pdf], starts: list[int], lang: str) -> None:
    """The parts' trees as one, under the book's catalog (the parts' pages start at `starts`)."""
    root = book.make_indirect(Dictionary(Type=Name.StructTreeRoot))
    document = book.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document, P=root, K=Array()))
    root.K = Array([document])
    for part, start in zip(parts, starts):
        tree = part.Root.get("/StructTreeRoot")
        if tree is None:
            continue
        copier = _Copier(book, part, start, document)
        for element in _kids(tree):
            copied = copier.copy(element)
            if copied.get("/S") == Name.Document:
                copied.S = Name.Part
            document.K.append(copied)
    root.ParentTree = book.make_indirect(Dictionary(Nums=_parent_tree(book, root)))
    root.ParentTreeNextKey = len(book.pages) + _annotation_count(root)
    book.Root.StructTreeRoot = root
    book.Root.MarkInfo = Dictionary(Marked=True)
    book.Root.Lang = pikepdf.String(lang)
    book.Root.ViewerPreferences = Dictionary(DisplayDocTitle=True)


def overlay_artifacts(book: Pdf, overlay: Pdf) -> None:
    """Page i of `overlay` drawn over page i of the book, marked as a pagination artifact."""
    for number, (page, numbers) in enumerate(zip(book.pages, overlay.pages, strict=True)):
        form = book.copy_foreign(numbers.as_form_xobject())
        page.add_resource(form, Name.XObject, Name(OVERLAY % number), replace_existing=False)
        page.contents_add(pikepdf.Stream(book, b"q\n"), prepend=True)
        page.contents_add(pikepdf.Stream(book, b"Q\n" + FOOTER % number))


class _Copier:
    """A deep copy of structure elements from a part: the part's pages and annotations become the book's."""

    def __init__(self, book: Pdf, part: Pdf, start: int, parent: Dictionary):
        self.book = book
        self.memo: dict[tuple[int, int], object] = {part.Root.StructTreeRoot.objgen: parent}
        for number, page in enumerate(part.pages):
            target = book.pages[start + number]
            self.memo[page.obj.objgen] = target.obj
            self.memo.update(_annotation_map(page.obj, target.obj))

    def copy(self, obj):
        if not isinstance(obj, pikepdf.Object):
            return obj  # numbers, booleans: already Python values
        if obj.is_indirect:
            if obj.objgen in self.memo:
                return self.memo[obj.objgen]
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == Name.Annot:
                return None  # an annotation the book does not have: its reference is dropped
        if isinstance(obj, pikepdf.Dictionary):
            copied = Dictionary()
            if obj.is_indirect:
                copied = self.book.make_indirect(copied)
                self.memo[obj.objgen] = copied  # before the children: they point back at it with /P
            for key, value in obj.items():
                value = self.copy(value)
                if value is not None:
                    copied[key] = value
            if copied.get("/Type") == Name.OBJR and "/Obj" not in copied:
                return None
            return copied
        if isinstance(obj, pikepdf.Array):
            return Array([c for c in (self.copy(item) for item in obj) if c is not None])
        if isinstance(obj, pikepdf.Stream):
            return self.book.copy_foreign(obj)
        return obj  # names, numbers, strings, null


def _annotation_map(source: Dictionary, target: Dictionary) -> dict[tuple[int, int], Dictionary]:
    """Annotations of a part's page -> the same ones in the book (same subtype and rectangle)."""
    def key(annotation):
        return str(annotation.get("/Subtype")), tuple(round(float(v), 2) for v in annotation.Rect)

    book = {}
    for annotation in target.get("/Annots", []):
        book.setdefault(key(annotation), []).append(annotation)
    found = {}
    for annotation in source.get("/Annots", []):
        candidates = book.get(key(annotation))
        if candidates:
            found[annotation.objgen] = candidates.pop(0)
    return found


def _kids(element: Dictionary) -> list:
    kids = element.get("/K")
    if kids is None:
        return []
    return list(kids) if isinstance(kids, pikepdf.Array) else [kids]


def walk(root: Dictionary) -> Iterator[tuple[Dictionary, object]]:
    """(element, kid) for every kid of every structure element, depth first, in reading order."""
    stack = [iter(_kids(root))]
    parents = [root]
    while stack:
        kid = next(stack[-1], None)
        if kid is None:
            stack.pop()
            parents.pop()
            continue
        yield parents[-1], kid
        if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") not in (Name.MCR, Name.OBJR):
            stack.append(iter(_kids(kid)))
            parents.append(kid)


def marked_content(root: Dictionary) -> Iterator[tuple[Dictionary, Dictionary, int]]:
    """(element, page, MCID) for every piece of page content the tree reaches."""
    for element, kid in walk(root):
        if isinstance(kid, int):
            yield element, element.Pg, kid
        elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == Name.MCR:
            yield element, kid.get("/Pg", element.get("/Pg")), int(kid.MCID)


def _annotation_elements(root: Dictionary) -> Iterator[tuple[Dictionary, Dictionary]]:
    for element, kid in walk(root):
        if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == Name.OBJR:
            yield element, kid.Obj


def _annotation_count(root: Dictionary) -> int:
    return sum(1 for _ in _annotation_elements(root))


def _parent_tree(book: Pdf, root: Dictionary) -> Array:
    """Keys 0..n-1: the pages' MCIDs -> elements; then one key per annotation in the tree."""
    by_page: dict[tuple[int, int], dict[int, Dictionary]] = {}
    for element, page, mcid in marked_content(root):
        by_page.setdefault(page.objgen, {})[mcid] = element
    nums = Array()
    for number, page in enumerate(book.pages):
        elements = by_page.get(page.obj.objgen, {})
        page.obj.StructParents = number
        nums.extend([number, Array([elements.get(i) for i in range(max(elements, default=-1) + 1)])])
    for key, (element, annotation) in enumerate(_annotation_elements(root), start=len(book.pages)):
        annotation.StructParent = key
        nums.extend([key, element])
    return nums


def content_mcids(page: pikepdf.Page) -> set[int]:
    """The MCIDs of the marked-content sequences in a page's content stream (what the tree must reach)."""
    found = set()
    for operands, _ in pikepdf.parse_content_stream(page, "BDC"):
        properties = operands[1]
        if isinstance(properties, pikepdf.Name):
            properties = page.Resources.Properties[properties]
        if "/MCID" in properties:
            found.add(int(properties.MCID))
    return found
