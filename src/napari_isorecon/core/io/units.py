"""Length units as the formats spell them, converted to nanometres (the unit voxel sizes cross this package in).

OME-TIFF uses the OME schema's symbols (``nm``, ``µm``, ``Å``; ``µm`` when the attribute is absent),
OME-Zarr the UDUNITS-2 names (``nanometer``, ``micrometer``), ImageJ its own words (``micron``, ``nm``,
``\\u00B5m``). ``pixel``-like units carry no physical size.
"""

from __future__ import annotations

_METRE_POWERS = {
    "yotta": 24, "zetta": 21, "exa": 18, "peta": 15, "tera": 12, "giga": 9, "mega": 6, "kilo": 3, "hecto": 2,
    "deca": 1, "": 0, "deci": -1, "centi": -2, "milli": -3, "micro": -6, "nano": -9, "pico": -12,
    "femto": -15, "atto": -18, "zepto": -21, "yocto": -24,
}
_SYMBOLS = {"Ym": 24, "Zm": 21, "Em": 18, "Pm": 15, "Tm": 12, "Gm": 9, "Mm": 6, "km": 3, "hm": 2, "dam": 1,
            "m": 0, "dm": -1, "cm": -2, "mm": -3, "µm": -6, "μm": -6, "um": -6, "nm": -9, "pm": -12,
            "fm": -15, "am": -18, "zm": -21, "ym": -24}
_OTHER_NM = {"angstrom": 0.1, "Å": 0.1, "inch": 2.54e7, "in": 2.54e7, "foot": 3.048e8, "ft": 3.048e8,
             "yard": 9.144e8, "yd": 9.144e8, "mile": 1.609344e12, "mi": 1.609344e12, "parsec": 3.0856775814913673e25,
             "pc": 3.0856775814913673e25, "micron": 1e3, "microns": 1e3, "\\u00b5m": 1e3, "thou": 25400.0,
             "pt": 352777.77777777775}
NO_PHYSICAL_SIZE = {"pixel", "pixels", "px", "reference frame", "referenceframe", ""}


def nm_per_unit(unit: str | None) -> float | None:
    """How many nanometres one ``unit`` is; None for pixel-like units; raises KeyError for unknown ones."""
    if unit is None:
        return None
    text = str(unit).strip()
    if text.lower() in NO_PHYSICAL_SIZE:
        return None
    if text in _SYMBOLS:
        return 10.0 ** (_SYMBOLS[text] + 9)
    lower = text.lower()
    if lower in _OTHER_NM:
        return _OTHER_NM[lower]
    if text in _OTHER_NM:
        return _OTHER_NM[text]
    for name in ("meter", "metre"):
        for suffix in ("", "s"):
            if lower.endswith(name + suffix):
                prefix = lower[: -len(name + suffix)]
                if prefix in _METRE_POWERS:
                    return 10.0 ** (_METRE_POWERS[prefix] + 9)
    raise KeyError(unit)
