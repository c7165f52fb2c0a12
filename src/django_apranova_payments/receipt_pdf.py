"""A receipt as a PDF, with fpdf2 (the ``pdf`` extra): pure Python, no system library.

The text is shaped by HarfBuzz (``uharfbuzz``), so Devanagari's conjuncts and vowel signs come
out right, in the Noto fonts the package ships (``fonts/``, SIL Open Font License): Noto Sans,
with Noto Sans Devanagari for what it lacks.
Only the glyphs used are embedded. Without the extra, :func:`render_pdf` raises
:class:`PDFUnavailable` and the receipt endpoint answers 501 naming :data:`PDF_INSTALL`.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from .receipts import Receipt

__all__ = ["PDF_INSTALL", "PDFUnavailable", "pdf_installed", "render_pdf"]

PDF_INSTALL = 'pip install "django-apranova-payments[pdf]"'
FONTS = Path(__file__).resolve().parent / "fonts"

_LATIN, _DEVANAGARI = "NotoSans", "NotoSansDevanagari"
#: Languages whose labels are written in Devanagari.
DEVANAGARI_LANGUAGES = frozenset({"hi", "mr", "ne", "sa", "kok", "mai"})
_DEVANAGARI_TEXT = re.compile("[\u0900-\u097f\ua8e0-\ua8ff\u1cd0-\u1cff]")
_GREY = (87, 96, 106)
_INK = (31, 35, 40)


class PDFUnavailable(RuntimeError):
    """fpdf2 or uharfbuzz is not installed (the ``pdf`` extra)."""


def pdf_installed() -> bool:
    """Whether the ``pdf`` extra is installed (the HTML receipt links its PDF only then)."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in ("fpdf", "uharfbuzz"))
    except ValueError:  # a module in sys.modules without a spec (tests make it unimportable)
        return False


def render_pdf(receipt: Receipt) -> bytes:
    """``receipt`` as a one-page A4 PDF, its labels in the active language."""
    try:
        from fpdf import FPDF
    except ImportError as exc:
        raise PDFUnavailable(f"PDF receipts need fpdf2 and uharfbuzz: {PDF_INSTALL}") from exc
    if importlib.util.find_spec("uharfbuzz") is None:  # fpdf2's text shaping: Devanagari without it is wrong
        raise PDFUnavailable(f"PDF receipts need fpdf2 and uharfbuzz: {PDF_INSTALL}")
    language = (translation.get_language() or "en").lower()
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=18)
    families = [(_LATIN, "NotoSans")]
    # Every font added is subset into the document, the most costly step: Noto Sans
    # Devanagari only when the labels or the receipt's own text need it.
    if language.split("-")[0] in DEVANAGARI_LANGUAGES or _DEVANAGARI_TEXT.search(repr(receipt)):
        families.append((_DEVANAGARI, "NotoSansDevanagari"))
    for family, stem in families:
        pdf.add_font(family, "", str(FONTS / f"{stem}-Regular.ttf"))
        pdf.add_font(family, "B", str(FONTS / f"{stem}-Bold.ttf"))
    # Noto Sans first in every language: its digits, punctuation and currency signs are the
    # ones a reader (and a PDF's text extraction) maps back exactly; Devanagari runs fall back
    # to Noto Sans Devanagari and are shaped there.
    if len(families) > 1:
        pdf.set_fallback_fonts([_DEVANAGARI])
    pdf.set_text_shaping(True)
    title = _("Receipt %(number)s") % {"number": receipt.number}
    pdf.set_title(f"{title} · {receipt.seller.name}")
    pdf.set_author(receipt.seller.name)
    pdf.set_creator("django-apranova-payments")
    pdf.set_lang(language)
    pdf.add_page()
    _Page(pdf, _LATIN, receipt).draw()
    return bytes(pdf.output())


class _Page:
    def __init__(self, pdf: Any, family: str, receipt: Receipt) -> None:
        self.pdf, self.family, self.receipt = pdf, family, receipt
        self.width = pdf.w - pdf.l_margin - pdf.r_margin

    def font(self, size: float, bold: bool = False, grey: bool = False) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.set_text_color(*(_GREY if grey else _INK))

    def line(self, text: str, size: float = 10, bold: bool = False, grey: bool = False, height: float = 5.2) -> None:
        self.font(size, bold, grey)
        self.pdf.multi_cell(self.width / 2 - 4, height, text, new_x="LEFT", new_y="NEXT")

    def row(self, label: str, amount: str, bold: bool = False, grey: bool = False, rule: float = 0) -> None:
        pdf = self.pdf
        if rule:
            pdf.set_line_width(rule)
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + self.width, pdf.get_y())
            pdf.ln(1.2)
        size = 12 if bold else 10
        self.font(size, bold, grey)
        y = pdf.get_y()
        pdf.multi_cell(self.width - 45, 6.5, label, new_x="RIGHT", new_y="TOP")
        bottom = pdf.get_y()
        pdf.set_xy(pdf.l_margin + self.width - 45, y)
        pdf.cell(45, 6.5, amount, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(max(bottom, pdf.get_y(), y + 6.5))

    def draw(self) -> None:
        pdf, receipt = self.pdf, self.receipt
        self.font(20, bold=True)
        pdf.cell(0, 10, _("Receipt"), new_x="LMARGIN", new_y="NEXT")
        self.font(9, grey=True)
        pdf.cell(0, 5, _("Receipt number"), new_x="LMARGIN", new_y="NEXT")
        self.font(11, bold=True)
        pdf.cell(0, 6, receipt.number, new_x="LMARGIN", new_y="NEXT")
        self.font(9, grey=True)
        pdf.cell(0, 5, _("Date paid"), new_x="LMARGIN", new_y="NEXT")
        self.font(11)
        pdf.cell(0, 6, receipt.paid_on, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)

        top = pdf.get_y()
        seller = receipt.seller
        self.line(_("Seller"), 9, grey=True)
        self.line(seller.name, bold=True)
        for text in seller.address:
            self.line(text)
        if seller.tax_id:
            self.line(f"{_('Tax ID')}: {seller.tax_id}")
        if seller.email:
            self.line(seller.email)
        left_bottom = pdf.get_y()
        pdf.set_xy(pdf.l_margin + self.width / 2 + 4, top)
        self.line(_("Billed to"), 9, grey=True)
        self.line(receipt.buyer_name, bold=True)
        for text in (receipt.buyer_email, *receipt.buyer_address):
            if text:
                self.line(text)
        pdf.set_xy(pdf.l_margin, max(left_bottom, pdf.get_y()) + 8)

        self.row(_("Description"), _("Amount (%(currency)s)") % {"currency": receipt.currency}, grey=True)
        self.row(receipt.product, receipt.price, rule=0.2)
        if receipt.discount:
            self.row(_("Discount (%(code)s)") % {"code": receipt.coupon_code}, f"-{receipt.discount}")
        if receipt.subtotal:
            self.row(_("Subtotal"), receipt.subtotal)
        for tax in receipt.taxes_added:
            self.row(tax.label, tax.amount)
        self.row(_("Total paid"), receipt.total, bold=True, rule=0.5)
        for tax in receipt.taxes_included:
            self.row(tax.label, tax.amount, grey=True)
        if receipt.card:
            self.row(_("Paid with"), receipt.card, grey=True)

        if receipt.refunds:
            pdf.ln(6)
            self.font(9, grey=True)
            pdf.cell(0, 5, _("Refunds"), new_x="LMARGIN", new_y="NEXT")
            for refund in receipt.refunds:
                self.row(_("Refunded on %(date)s") % {"date": refund.date}, f"-{refund.amount}", rule=0.2)
            self.row(_("Amount refunded"), f"-{receipt.refunded}", grey=True)
            self.row(_("Net paid"), receipt.net, bold=True, rule=0.5)
