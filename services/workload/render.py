"""Letters and summaries as HTML (Jinja2, autoescaped) and PDF (fpdf2, core fonts, no external tools)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fpdf import FPDF
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.workload.domain.letters import Escalation, ProviderLetter

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def letter_html(letter: ProviderLetter, response_days: int) -> str:
    return _env().get_template("provider_letter.html.j2").render(letter=letter, response_days=response_days)


def escalation_html(esc: Escalation) -> str:
    return _env().get_template("escalation.html.j2").render(esc=esc)


def _latin1(text: str) -> str:
    """Core PDF fonts are Latin-1: map the few typographic characters we use, replace anything else."""
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'").replace("\u2018", "'")
    return text.encode("latin-1", "replace").decode("latin-1")


class _Doc(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(15, 15, 15)
        self.add_page()

    def para(self, text: str, size: float = 10, style: str = "") -> None:
        self.set_font("Helvetica", style, size)
        self.multi_cell(0, size * 0.5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)

    def grid(self, headings: list[str], rows: list[list[str]], widths: list[int]) -> None:
        self.set_font("Helvetica", "", 8)
        with self.table(col_widths=widths, text_align="LEFT", line_height=4.2) as table:
            head = table.row()
            for h in headings:
                head.cell(_latin1(h))
            for values in rows:
                row = table.row()
                for v in values:
                    row.cell(_latin1(v))
        self.ln(2)


def letter_pdf(letter: ProviderLetter, response_days: int) -> bytes:
    doc = _Doc()
    doc.para(f"{letter.practice_name} ({letter.practice_ods})\n{letter.written_on.strftime('%-d %B %Y')}")
    doc.para(f"To: {letter.provider_name} ({letter.provider_ods}), interface and contracting leads")
    doc.para(
        f"Work passed to our practice between {letter.period_from.strftime('%-d %B %Y')} and "
        f"{letter.period_to.strftime('%-d %B %Y')}",
        13,
        "B",
    )
    doc.para(
        "We have kept a record of requests from your organisation that, under the NHS Standard Contract, "
        "are the responsibility of the provider. Each one below took time from our clinical and "
        "administrative team that was not available to our own patients. We ask you to review them with "
        "the clinical teams concerned and to arrange that this work is carried out by your services in "
        "future."
    )
    doc.para(
        f"Items logged: {len(letter.lines)}. Staff time: {letter.total_minutes / 60:.1f} hours. "
        f"Estimated cost to the practice: GBP {letter.total_cost:,.2f}.",
        10,
        "B",
    )
    doc.grid(
        ["Ref", "Received", "What was passed to us", "Specialty", "Site", "Provision", "Min", "Status"],
        [
            [
                ln.reference,
                ln.received_on.isoformat(),
                ln.category,
                ln.specialty,
                ln.site,
                ln.clause,
                "-" if ln.minutes is None else str(ln.minutes),
                ln.status,
            ]
            for ln in letter.lines
        ],
        [16, 20, 40, 22, 22, 28, 10, 22],
    )
    if letter.clauses:
        doc.para("The provisions concerned", 12, "B")
        for note in letter.clauses:
            plural = "s" if note.items != 1 else ""
            doc.para(f"{note.number}: {note.title} ({note.year}, {note.items} item{plural})", 10, "B")
            doc.para(note.requirement)
            if not note.verified:
                doc.para(
                    f"Clause number as given in LMC and BMA guidance; please read it against the Service "
                    f"Conditions of the {note.year} edition.",
                    8,
                )
        if letter.edition_note:
            doc.para(letter.edition_note, 8)
    doc.para(
        "References are our internal item numbers; we hold the patient details for each and can share "
        "them through a secure route when you reply. Please reply within "
        f"{response_days} days saying what will change. A summary of unresolved items is shared with the "
        "Integrated Care Board."
    )
    doc.para(f"Yours sincerely,\n\n{letter.practice_name}")
    return bytes(doc.output())


def escalation_pdf(esc: Escalation) -> bytes:
    doc = _Doc()
    doc.para(f"{esc.practice_name} ({esc.practice_ods})\n{esc.written_on.strftime('%-d %B %Y')}")
    icb = esc.icb_name or "the Integrated Care Board"
    doc.para(f"To: {icb}{f' ({esc.icb_ods})' if esc.icb_ods else ''}, primary care and contracting teams")
    doc.para(
        f"Escalation: work transferred by providers, {esc.period_from.isoformat()} to "
        f"{esc.period_to.isoformat()}",
        13,
        "B",
    )
    doc.para(
        "As commissioner of these NHS Standard Contracts, we ask the ICB to take up with each provider "
        f"below the work it passed to the practice. In this period we logged {esc.total_items} items "
        f"taking {esc.total_hours} hours of staff time, at an estimated cost of GBP {esc.total_cost:,.2f}. "
        f"'Unanswered' counts items raised with the provider more than {esc.response_days} days ago "
        "without a response."
    )
    doc.grid(
        ["Provider", "Items", "Hours", "Cost (GBP)", "Open", "Unanswered", "Most frequent"],
        [
            [
                f"{r.provider_name} ({r.provider_ods})",
                str(r.items),
                str(r.hours),
                f"{r.cost:,.2f}",
                str(r.open_items),
                str(r.unanswered),
                "; ".join(f"{lbl} ({n})" for lbl, n in r.top_categories),
            ]
            for r in esc.rows
        ],
        [40, 12, 14, 20, 12, 18, 64],
    )
    doc.para(
        "The summary holds no patient details. The itemised log for each provider is available on request."
    )
    return bytes(doc.output())
