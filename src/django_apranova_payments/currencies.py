"""Stripe's currency facts: which currencies it takes, how many decimals each has, the
minimum charge and the largest amount. Data only; ``money`` applies them."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

# fmt: off
#: Stripe's presentment currencies (docs.stripe.com/currencies, "Supported presentment
#: currencies"), plus the three-decimal currencies that page documents as having API support.
STRIPE_CURRENCIES: frozenset[str] = frozenset({
    "usd", "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam",
    "bbd", "bdt", "bgn", "bhd", "bif", "bmd", "bnd", "bob", "brl", "bsd", "bwp", "byn",
    "bzd", "cad", "cdf", "chf", "clp", "cny", "cop", "crc", "cve", "czk", "djf", "dkk",
    "dop", "dzd", "egp", "etb", "eur", "fjd", "fkp", "gbp", "gel", "gip", "gmd", "gnf",
    "gtq", "gyd", "hkd", "hnl", "htg", "huf", "idr", "ils", "inr", "isk", "jmd", "jod",
    "jpy", "kes", "kgs", "khr", "kmf", "krw", "kwd", "kyd", "kzt", "lak", "lbp", "lkr",
    "lrd", "lsl", "mad", "mdl", "mga", "mkd", "mmk", "mnt", "mop", "mur", "mvr", "mwk",
    "mxn", "myr", "mzn", "nad", "ngn", "nio", "nok", "npr", "nzd", "omr", "pab", "pen",
    "pgk", "php", "pkr", "pln", "pyg", "qar", "ron", "rsd", "rub", "rwf", "sar", "sbd",
    "scr", "sek", "sgd", "shp", "sle", "sos", "srd", "std", "szl", "thb", "tjs", "tnd",
    "top", "try", "ttd", "twd", "tzs", "uah", "ugx", "uyu", "uzs", "vnd", "vuv", "wst",
    "xaf", "xcd", "xcg", "xof", "xpf", "yer", "zar", "zmw",
})
# fmt: on

# fmt: off
#: Currencies whose Stripe amount is the amount itself (500 JPY -> ``500``).
ZERO_DECIMAL: frozenset[str] = frozenset({
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
    "vuv", "xaf", "xof", "xpf",
})
# fmt: on

#: Currencies sent in thousandths whose last minor-unit digit must be 0 (5.12 KWD -> ``5120``).
THREE_DECIMAL: frozenset[str] = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

#: Charged in whole units but sent with two decimals (5 ISK -> ``500``).
WHOLE_UNITS_SENT_AS_CENTS: frozenset[str] = frozenset({"isk", "ugx"})

#: Stripe's published minimum charge per settlement currency, in major units.
MINIMUM_CHARGE: Mapping[str, Decimal] = MappingProxyType(
    {
        "usd": Decimal("0.50"),
        "aed": Decimal("2.00"),
        "aud": Decimal("0.50"),
        "bgn": Decimal("1.00"),
        "brl": Decimal("0.50"),
        "cad": Decimal("0.50"),
        "chf": Decimal("0.50"),
        "czk": Decimal("15.00"),
        "dkk": Decimal("2.50"),
        "eur": Decimal("0.50"),
        "gbp": Decimal("0.30"),
        "hkd": Decimal("4.00"),
        "huf": Decimal("175.00"),
        "inr": Decimal("0.50"),
        "jpy": Decimal(50),
        "mxn": Decimal(10),
        "myr": Decimal(2),
        "nok": Decimal("3.00"),
        "nzd": Decimal("0.50"),
        "pln": Decimal("2.00"),
        "ron": Decimal("2.00"),
        "sek": Decimal("3.00"),
        "sgd": Decimal("0.50"),
        "thb": Decimal(10),
    }
)

#: Stripe's ``amount`` allows 8 digits (999,999.99 USD).
MAX_MINOR_UNITS = 99_999_999
#: IDR allows 12 digits (9,999,999,999.99 IDR).
MAX_MINOR_UNITS_IDR = 999_999_999_999
