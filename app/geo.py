"""Where a visitor is: a trusted proxy header for the country, or a GeoIP2/GeoLite2 file."""

from flask import current_app, request


def _reader():
    path = current_app.config.get("GEOIP_DB_PATH")
    if not path:
        return None
    readers = current_app.extensions.setdefault("geoip_readers", {})
    if path not in readers:
        import geoip2.database

        readers[path] = geoip2.database.Reader(path)
    return readers[path]


def client_ip() -> str:
    return request.remote_addr or ""


def visitor_location() -> dict | None:
    """The envelope's `contact.location` shape, or None when nothing is known."""
    location = _from_database(client_ip())
    header_country = request.headers.get(current_app.config.get("COUNTRY_HEADER") or "", "")
    if location is None and len(header_country) == 2 and header_country.upper() not in {"XX", "T1"}:
        location = {"city": None, "region": None, "country": None, "countryCode": header_country.upper(),
                    "timezone": None, "latitude": None, "longitude": None}
    return location


def visitor_country() -> str | None:
    """ISO country code of the visitor, or None (unknown countries are shown the badge)."""
    location = visitor_location()
    return location["countryCode"] if location else None


def _from_database(ip: str) -> dict | None:
    reader = _reader()
    if reader is None or not ip:
        return None
    import geoip2.errors

    try:
        city = reader.city(ip)
    except (geoip2.errors.AddressNotFoundError, ValueError):
        return None
    return {
        "city": city.city.name, "region": city.subdivisions.most_specific.iso_code,
        "country": city.country.name, "countryCode": city.country.iso_code,
        "timezone": city.location.time_zone, "latitude": city.location.latitude,
        "longitude": city.location.longitude,
    }
