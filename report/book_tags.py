"""One structure tree for the handout, joined from the trees of its parts, and the page numbers as artifacts.

Each part is a tagged PDF of its own (WeasyPrint, pdf_tags): a /Document element whose content is
found through the part's ParentTree, keyed by the /StructParents of its pages. Put side by side,
those keys collide (every part counts its pages from 0) and only one StructTreeRoot can be the
book's. So each part's /Document becomes a /Part of one /Document, and the ParentTree keys are
renumbered: one per page in book order, then one per tagged annotation. The page-number overlay
is drawn into every page as a form XObject inside an /Artifact sequence: screen readers skip it.
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
    """The parts' trees as one, under the book's catalog. The parts' pages must already be in the
    book, copied from these same `parts` (starting at `starts`): qpdf then maps every reference to
    a part's page or annotation to the book's copy of it."""
    root = book.make_indirect(Dictionary(Type=Name.StructTreeRoot))
    document = book.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document, P=root, K=Array()))
    root.K = Array([document])
    entries: list[tuple[int, object]] = []
    next_key = len(book.pages)  # keys 0..n-1: the pages; then the annotations
    for part, start in zip(parts, starts):
        tree = part.Root.get("/StructTreeRoot")
        if tree is None:
            continue
        for element in _kids(tree):
            copied = book.copy_foreign(element)
            copied.P = document  # was the part's root, which the book does not keep
            if copied.get("/S") == Name.Document:
                copied.S = Name.Part
            document.K.append(copied)
        keys = {}
        old = list(tree.ParentTree.Nums)
        for key, value in zip(old[::2], old[1::2]):
            if key < len(part.pages):
                keys[key] = start + key
            else:
                keys[key], next_key = next_key, next_key + 1
            entries.append((keys[key], _copy(book, value)))
        for page in book.pages[start:start + len(part.pages)]:
            if "/StructParents" in page.obj:
                page.obj.StructParents = keys[int(page.obj.StructParents)]
            for annotation in page.obj.get("/Annots", []):
                if "/StructParent" in annotation:
                    annotation.StructParent = keys[int(annotation.StructParent)]
    root.ParentTree = book.make_indirect(Dictionary(Nums=Array([x for entry in sorted(entries, key=lambda e: e[0])
                                                                 for x in entry])))
    root.ParentTreeNextKey = next_key
    book.Root.StructTreeRoot = root
    book.Root.MarkInfo = Dictionary(Marked=True)
    book.Root.Lang = pikepdf.String(lang)
    book.Root.ViewerPreferences = Dictionary(DisplayDocTitle=True)


def _copy(book: Pdf, obj):
    """A ParentTree value: an element, or a direct array of elements (one per MCID)."""
    if isinstance(obj, pikepdf.Array) and not obj.is_indirect:
        return Array([_copy(book, item) for item in obj])
    if isinstance(obj, pikepdf.Object) and obj.is_indirect:
        return book.copy_foreign(obj)
    return obj


def adopt_orphans(pdf: Pdf) -> int:
    """WeasyPrint 70 leaves some text of links (a /NonStruct holding a /Span whose kids name one MCID
    twice) out of the tree, though the ParentTree names them as that text's owners: screen readers
    and reflow, which follow the tree, skip the words. Each such element joins the tree right after
    the element drawn just before it on its page (reading order), or at the end of the parent it
    names. The number of elements adopted."""
    tree = pdf.Root.get("/StructTreeRoot")
    if tree is None:
        return 0
    listed = {tree.objgen} | {kid.objgen for _, kid in walk(tree) if isinstance(kid, pikepdf.Dictionary)}
    drawn_by = {(page.objgen, mcid): element for element, page, mcid in marked_content(tree)}
    parent_tree = _numbers(tree.ParentTree)
    adopted = 0
    for page in pdf.pages:
        key = page.obj.get("/StructParents")
        owners = parent_tree.get(int(key)) if key is not None else None
        if owners is None or owners._type_code != pikepdf.ObjectType.array:
            continue
        for mcid, element in enumerate(owners):
            if not isinstance(element, pikepdf.Dictionary) or element.objgen in listed:
                continue
            if all(isinstance(kid, int) for kid in _kids(element)):  # [m, m]: the words would be read twice
                element.K = Array(list(dict.fromkeys(_kids(element))))
            top = element
            while "/P" in top and top.P.objgen not in listed:
                top = top.P
            before = drawn_by.get((page.obj.objgen, mcid - 1))
            if before is not None and "/P" in before:
                parent, kids = before.P, _kids(before.P)
                at = next(i for i, kid in enumerate(kids) if isinstance(kid, pikepdf.Dictionary) and kid.objgen == before.objgen)
                parent.K = Array([*kids[:at + 1], top, *kids[at + 1:]])
                top.P = parent
            elif "/P" in top:
                top.P.K = Array([*_kids(top.P), top])
            else:
                continue
            for _, kid in walk(Dictionary(K=Array([top]))):
                if isinstance(kid, pikepdf.Dictionary):
                    listed.add(kid.objgen)
            listed.add(top.objgen)
            drawn_by[page.obj.objgen, mcid] = element
            adopted += 1
    return adopted


def _numbers(tree: Dictionary) -> dict[int, object]:
    """A number tree's keys and values (WeasyPrint writes one /Nums; a tree may also have /Kids)."""
    nums = list(tree.get("/Nums", []))
    found = {int(key): value for key, value in zip(nums[::2], nums[1::2])}
    for kid in tree.get("/Kids", []):
        found.update(_numbers(kid))
    return found


def overlay_artifacts(book: Pdf, overlay: Pdf) -> None:
    """Page i of `overlay` drawn over page i of the book, marked as a pagination artifact."""
    for number, (page, numbers) in enumerate(zip(book.pages, overlay.pages, strict=True)):
        form = book.copy_foreign(numbers.as_form_xobject())
        page.add_resource(form, Name.XObject, Name(OVERLAY % number), replace_existing=False)
        page.contents_add(pikepdf.Stream(book, b"q\n"), prepend=True)
        page.contents_add(pikepdf.Stream(book, b"Q\n" + FOOTER % number))


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
