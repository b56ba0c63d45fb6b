"""`valkit manifest build|check`: make a manifest from DICOM headers, or validate one."""
from __future__ import annotations

import argparse

from valkit.commands import add_quiet, progress_of


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("manifest", help="build or check an image manifest")
    sub = p.add_subparsers(dest="manifest_command", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="scan a DICOM folder (headers only) and write a manifest CSV")
    b.add_argument("dicom_dir", help="folder searched recursively for DICOM files")
    b.add_argument("--labels", help="CSV with the reference standard (joined on sop_instance_uid or path)")
    b.add_argument("--out", required=True, help="manifest CSV to write, e.g. datasets/manifests/x.csv")
    b.add_argument("--pseudonym-key", metavar="PATH",
                   help="file holding the project's pseudonym key (created on first use, mode 0600); default "
                        "$VALKIT_PSEUDONYM_KEY, else .valkit/pseudonym.key in the current folder")
    add_quiet(b)
    b.set_defaults(func=run_build)
    c = sub.add_parser("check", help="validate a manifest and report every bad row")
    c.add_argument("manifest")
    c.add_argument("--no-labels", action="store_true", help="the manifest is unlabelled (no label column needed)")
    c.add_argument("--image-root", metavar="DIR",
                   help="folder every image path must resolve into (the protocol's image_root); "
                        "default: the manifest's folder")
    add_quiet(c)
    c.set_defaults(func=run_check)


def run_build(args: argparse.Namespace) -> int:
    from valkit.manifest import build_manifest

    s = build_manifest(args.dicom_dir, out=args.out, labels=args.labels, key=args.pseudonym_key,
                       progress=progress_of(args))
    print(f"wrote {s.out}: {s.n_rows} image(s) from {s.n_files} file(s)")
    if s.key is not None:
        if s.key.created:
            print(f"created the pseudonym key {s.key.path} (fingerprint {s.key.fingerprint}): keep it private and "
                  "backed up, never share it with outputs; the same key gives the same pseudonyms")
        else:
            print(f"pseudonyms made with the key {s.key.path} (fingerprint {s.key.fingerprint})")
    if s.n_skipped:
        print(f"skipped {s.n_skipped} file(s) that are not usable DICOM; reasons in {s.errors_path}")
    if s.n_sidecar_ignored:
        print(f"ignored {s.n_sidecar_ignored} non-image sidecar file(s) (.csv, .json, ...)")
    if args.labels is None:
        print("no --labels given: the label column is empty (an unlabelled archive)")
    elif s.n_unlabelled:
        print(f"warning: {s.n_unlabelled} image(s) have no row in {args.labels}; their label is empty")
    if args.labels is not None and s.label_rows_without_image:
        print(f"warning: {s.label_rows_without_image} row(s) of {args.labels} match no DICOM file")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from valkit.manifest import load_manifest

    m = load_manifest(args.manifest, label_column=None if args.no_labels else "label", image_root=args.image_root,
                      image_root_key="--image-root")
    print(f"{args.manifest}: {len(m.table)} row(s), valid (sha256 {m.sha256[:12]}…)")
    for note in m.notes:
        print(f"note: {note}")
    return 0
