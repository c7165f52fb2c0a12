"""Write the Stripe objects the test kit's ``StripeMock`` is built from.

Reads ``openapi/fixtures3.json`` from Stripe's public ``stripe/openapi`` repository (the
published fixture of every resource) and keeps only what the mock and the event corpus need:
the PaymentIntent, Refund, Charge, Dispute, Checkout Session, Stripe Tax calculation and
transaction and Event objects, and the
shape of a list. The result is data only: ``src/django_apranova_payments/testing/stripe_fixtures.json``.

    python scripts/extract_stripe_fixtures.py path/to/fixtures3.json --source "stripe/openapi@<commit>"
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESOURCES = (
    "payment_intent", "refund", "charge", "dispute", "event", "customer", "payment_method", "checkout.session",
    "tax.calculation", "tax.transaction",
)
ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "src" / "django_apranova_payments" / "testing" / "stripe_fixtures.json"


def extract(fixtures: dict, source: str) -> dict:
    resources = fixtures["resources"]
    kept = {name: resources[name] for name in RESOURCES}
    # fixtures3.json has no list resource; a Charge's ``refunds`` is Stripe's list object.
    list_shape = dict(resources["charge"]["refunds"])
    list_shape["data"] = []
    kept["list"] = list_shape
    return {"source": source, "resources": kept}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fixtures3", type=Path, help="path to stripe/openapi's openapi/fixtures3.json")
    parser.add_argument("--source", required=True, help='where it came from, e.g. "stripe/openapi@<commit>"')
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    data = extract(json.loads(args.fixtures3.read_text()), args.source)
    args.output.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.output} ({', '.join(sorted(data['resources']))})")


if __name__ == "__main__":
    main()
