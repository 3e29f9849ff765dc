"""The bundled table of devices for the roofline (devices.toml), read only when a device is asked for."""

from __future__ import annotations

from pathlib import Path

from .errors import did_you_mean
from .memory import DTYPES
from .records import record
from .roofline import GIGA, TERA, Roofline, parse_rate

DEVICES_TOML = Path(__file__).with_name("devices.toml")


@record
class Source:
    """A vendor document a figure comes from."""

    key: str
    title: str
    url: str


@record
class Figure:
    """One number of the table as written (decimal text), its source and the words it stands in."""

    value: str
    source: Source
    quote: str


@record
class Device:
    """A device: memory bandwidth (GB/s) and peak TFLOP/s (TOPS for int8) per dtype it has."""

    name: str
    label: str
    kind: str
    bandwidth_gbs: Figure
    peak_tflops: tuple[tuple[str, Figure], ...]  # (dtype, figure), in the order of DTYPES

    @property
    def dtypes(self) -> tuple[str, ...]:
        return tuple(d for d, _ in self.peak_tflops)

    def peak(self, dtype: str) -> Figure:
        for d, figure in self.peak_tflops:
            if d == dtype:
                return figure
        have = ", ".join(self.dtypes)
        raise ValueError(f"device '{self.name}' has no {dtype} peak in the table (it has {have}); "
                         f"choose --dtype {self.dtypes[0]}, or give --peak-tflops and --bandwidth-gbs")

    def roofline(self, dtype: str) -> Roofline:
        """The roofline of this device for one dtype."""
        peak = self.peak(dtype)
        return Roofline(parse_rate(peak.value, f"{self.name} {dtype} peak") * TERA,
                        parse_rate(self.bandwidth_gbs.value, f"{self.name} bandwidth") * GIGA)


def _table(value: object, where: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a table")
    return value


def _text(table: dict, key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where} needs a non-empty string '{key}'")
    return value


def _figure(value: object, sources: dict[str, Source], where: str) -> Figure:
    table = _table(value, where)
    unknown = set(table) - {"value", "source", "quote"}
    if unknown:
        raise ValueError(f"{where} has unknown keys {sorted(unknown)}")
    text = _text(table, "value", where)
    parse_rate(text, where)  # a bad number in the table is caught when the table is read
    key = _text(table, "source", where)
    if key not in sources:
        raise ValueError(f"{where} cites source '{key}', which is not under [sources]")
    return Figure(text, sources[key], _text(table, "quote", where))


def parse_devices(data: dict) -> dict[str, Device]:
    """Devices from the parsed TOML document; ValueError for anything missing or uncited."""
    sources = {}
    for key, value in _table(data.get("sources"), "[sources]").items():
        table = _table(value, f"[sources.{key}]")
        sources[key] = Source(key, _text(table, "title", f"[sources.{key}]"),
                              _text(table, "url", f"[sources.{key}]"))
    devices = {}
    for name, value in _table(data.get("devices"), "[devices]").items():
        where = f"[devices.{name}]"
        table = _table(value, where)
        unknown = set(table) - {"label", "kind", "bandwidth_gbs", "peak_tflops"}
        if unknown:
            raise ValueError(f"{where} has unknown keys {sorted(unknown)}")
        peaks = _table(table.get("peak_tflops"), f"{where}.peak_tflops")
        wrong = [d for d in peaks if d not in DTYPES]
        if wrong or not peaks:
            raise ValueError(f"{where}.peak_tflops needs dtypes among {', '.join(DTYPES)}, not {wrong}")
        devices[name] = Device(
            name, _text(table, "label", where), _text(table, "kind", where),
            _figure(table.get("bandwidth_gbs"), sources, f"{where}.bandwidth_gbs"),
            tuple((d, _figure(peaks[d], sources, f"{where}.peak_tflops.{d}")) for d in DTYPES if d in peaks))
    return devices


def load_devices(path: Path = DEVICES_TOML) -> dict[str, Device]:
    """Read the device table (tomllib is imported here: only runs that ask for a device pay for it)."""
    import tomllib

    with open(path, "rb") as f:
        return parse_devices(tomllib.load(f))


def device_names(path: Path = DEVICES_TOML) -> tuple[str, ...]:
    """The names `--device` accepts, in table order."""
    return tuple(load_devices(path))


def device(name: str, path: Path = DEVICES_TOML) -> Device:
    """One device by name; ValueError listing the names, with a did-you-mean, for an unknown one."""
    devices = load_devices(path)
    try:
        return devices[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown device {name!r}; choose one of {', '.join(devices)}"
                         f"{did_you_mean(name, devices)}") from None
