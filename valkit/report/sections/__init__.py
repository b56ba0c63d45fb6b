"""Context builders for the report sections, grouped by topic (see :mod:`valkit.report.context`)."""
