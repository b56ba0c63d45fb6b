"""Radiology CAD/AI product codes and the classification regulation (21 CFR) each belongs to.

Source: FDA product classification database (accessdata.fda.gov/scripts/cdrh/cfdocs/cfpcd/
classification.cfm), as read through these public copies when this table was written:

* MYN (Analyzer, medical image) -> 892.2070: Federal Register 85 FR 3545 (2020-00494), "Radiology
  Devices; Reclassification of Medical Image Analyzers" (regulated under product code MYN), and the
  510(k) K230144 (regulation 892.2070) listed under MYN.
* QAS (Radiological computer-assisted triage and notification software) -> 892.2080: openFDA 510(k)
  record K200921 (product code QAS), whose summary gives regulation 892.2080.
* POK (Computer-assisted diagnostic software for lesions suspicious for cancer) -> 892.2060: the
  product-code page (510k.innolitics.com, mirroring the FDA database).
* QBS (Radiological computer assisted detection/diagnosis software for fracture) -> 892.2090 and
  QDQ (... for lesions suspicious for cancer) -> 892.2090: FDA classification records (openFDA
  copies at api.ai-analytics.org/device-classification/QBS, /QDQ).

Only codes checked this way are listed; others (for example QFM, QIH, LLZ) are unknown to valkit
until someone checks them and adds them here with their source. An unknown code is never an error.
"""
from __future__ import annotations

import re
from typing import NamedTuple


class ProductCode(NamedTuple):
    code: str
    name: str
    regulation: str  # "892.2070"


PRODUCT_CODES: dict[str, ProductCode] = {p.code: p for p in (
    ProductCode("MYN", "Analyzer, medical image", "892.2070"),
    ProductCode("QAS", "Radiological computer-assisted triage and notification software", "892.2080"),
    ProductCode("POK", "Computer-assisted diagnostic software for lesions suspicious for cancer", "892.2060"),
    ProductCode("QBS", "Radiological computer assisted detection/diagnosis software for fracture", "892.2090"),
    ProductCode("QDQ", "Radiological computer assisted detection/diagnosis software for lesions suspicious for "
                       "cancer", "892.2090"),
)}

_REG = re.compile(r"^(?:21\s*C\.?F\.?R\.?)?\s*(?:§|Sec\.?|section)?\s*(\d{3}\.\d{4})\s*$", re.IGNORECASE)


def regulation_section(text: str | None) -> str | None:
    """'21 CFR 892.2070' / '892.2070' / '21 CFR § 892.2070' -> '892.2070'; None when it is not one.

    >>> regulation_section("21 CFR 892.2090")
    '892.2090'
    >>> regulation_section("§ 892.2070")
    '892.2070'
    >>> regulation_section("Class II") is None
    True
    """
    m = _REG.match((text or "").strip())
    return m.group(1) if m else None


def expected_regulation(product_code: str | None) -> ProductCode | None:
    """The table's entry for a product code (case-insensitive), None when valkit does not know it."""
    return PRODUCT_CODES.get((product_code or "").strip().upper())


__all__ = ["PRODUCT_CODES", "ProductCode", "expected_regulation", "regulation_section"]
