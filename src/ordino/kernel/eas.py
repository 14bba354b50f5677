"""Electronic addresses of e-invoicing parties: the EAS code list (ISO 6523 ICDs and CEF codes).

An electronic address is a scheme and an identifier: `9930` + `DE136695976` (a German VAT ID),
`0204` + a Leitweg-ID, `0088` + a GLN, `0208` + a Belgian enterprise number, `EM` + an e-mail.

Sources (public code lists, kept here as facts):
- `EN16931_SCHEMES`: the CEF "Electronic Address Scheme" code list as the CEN/TC434 EN 16931
  validation artefacts check it (rule BR-CL-25), ConnectingEurope/eInvoicing-EN16931;
- `PEPPOL_SCHEMES`: the OpenPeppol BIS Billing 3.0 rules (PEPPOL-EN16931-CL008), which leave out
  the CEF-only codes (`EM` e-mail, `AN`, `AQ`, `AS`, `AU` and a few newer ICDs);
- `VAT_SCHEMES`: the EAS codes whose identifier is a country's VAT number (99xx codes of the
  same list: 9925 BE, 9930 DE, 9957 FR …), used when a party has no electronic address of its own.
"""

from __future__ import annotations

from ordino.kernel.errors import FieldError, ValidationFailed


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


PEPPOL_SCHEMES = _codes(
    "0002 0007 0009 0037 0060 0088 0096 0097 0106 0130 0135 0142 0147 0151 0154 0158 0170 0177 0183 0184 "
    "0188 0190 0191 0192 0193 0194 0195 0196 0198 0199 0200 0201 0202 0203 0204 0205 0208 0209 0210 0211 "
    "0212 0213 0215 0216 0217 0218 0221 0225 0230 0235 0240 9910 9913 9914 9915 9918 9919 9920 9922 9923 "
    "9924 9925 9926 9927 9928 9929 9930 9931 9932 9933 9934 9935 9936 9937 9938 9939 9940 9941 9942 9943 "
    "9944 9945 9946 9947 9948 9949 9950 9951 9952 9953 9957 9959"
)
EN16931_SCHEMES = PEPPOL_SCHEMES | _codes("0219 0220 0242 0244 0245 0246 0248 AN AQ AS AU EM")

# VAT number schemes by the VAT ID's two-letter prefix (Greece's VAT IDs start with EL).
VAT_SCHEMES = {
    "HU": "9910", "AT": "9914", "ES": "9920", "AD": "9922", "AL": "9923", "BA": "9924", "BE": "9925",
    "BG": "9926", "CH": "9927", "CY": "9928", "CZ": "9929", "DE": "9930", "EE": "9931", "GB": "9932",
    "EL": "9933", "HR": "9934", "IE": "9935", "LI": "9936", "LT": "9937", "LU": "9938", "LV": "9939",
    "MC": "9940", "ME": "9941", "MK": "9942", "MT": "9943", "NL": "9944", "PL": "9945", "PT": "9946",
    "RO": "9947", "RS": "9948", "SI": "9949", "SK": "9950", "SM": "9951", "TR": "9952", "VA": "9953",
    "FR": "9957",
    "IT": "0211",  # Italy's Partita IVA scheme takes the VAT ID with its IT prefix
}
EMAIL_SCHEME = "EM"
LEITWEG_SCHEME = "0204"  # German public buyers' Leitweg-ID


def scheme_error(scheme: str | None) -> str | None:
    """Why `scheme` is not an EAS code, or None when it is one (or absent)."""
    if scheme is None or scheme in EN16931_SCHEMES:
        return None
    return f"'{scheme}' is not in the EAS code list (e.g. 0088 GLN, 0204 Leitweg-ID, 0208, 9930, EM)"


def vat_endpoint(vat_id: str | None) -> tuple[str, str] | None:
    """(scheme, identifier) of a VAT ID used as an electronic address, when its country has a scheme."""
    if not vat_id:
        return None
    scheme = VAT_SCHEMES.get(vat_id[:2].upper())
    return (scheme, vat_id) if scheme else None


def endpoint_pair_check(scheme: str | None, identifier: str | None) -> None:
    """Refuse (422) an electronic address given by half: a scheme needs its identifier and back."""
    if bool(scheme) != bool(identifier):
        field, other = ("endpoint_id", "endpoint_scheme") if scheme else ("endpoint_scheme", "endpoint_id")
        raise ValidationFailed([FieldError(field, f"is required with {other}: an electronic address is both")])
