"""Traceability a regulator can audit: an append-only, hash-chained audit log beside the runs
(:mod:`~valkit.audit.log`), protocol locks checked before the test labels are read
(:mod:`~valkit.audit.lock`), the timeline and test-set reuse history a run records
(:mod:`~valkit.audit.timeline`), electronic signatures bound to a results.json digest
(:mod:`~valkit.audit.signatures`), the verifier (:mod:`~valkit.audit.verify`) and the
determinism check (:mod:`~valkit.audit.determinism`). See docs/traceability.md.
"""
