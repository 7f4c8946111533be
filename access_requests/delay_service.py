"""Materialised delays (filled in by the delay engine)."""


def materialise_request(request_id: int) -> None:
    return None
