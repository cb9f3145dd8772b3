"""Checks mamba_ref.py against the HF transformers cases in ../shared.

    /usr/bin/python3 compare/reference/check_shared.py [SHARED_DIR]

Runs check_case.py on every case under SHARED_DIR/reference/hf-transformers
(tiny, oddvocab: logits computed by HF transformers' MambaForCausalLM, which no
one in this project wrote). SHARED_DIR defaults to ../shared beside the project
root. Exits 0 with a one-line message when it is absent; 1 on a mismatch.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_case  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SHARED = os.path.join(HERE, "..", "..", "..", "shared")


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_SHARED
    root = os.path.join(shared, "reference", "hf-transformers")
    if not os.path.isdir(root):
        print(f"skip: {os.path.normpath(root)} is absent (shared reference data is not part of a clone)")
        return 0
    cases = [os.path.join(root, n) for n in sorted(os.listdir(root))
             if os.path.isfile(os.path.join(root, n, "logits.npy"))]
    return check_case.main(cases)


if __name__ == "__main__":
    sys.exit(main())
