"""The static files storage used with DEBUG off (``STORAGES["staticfiles"]`` in settings)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from whitenoise.storage import CompressedManifestStaticFilesStorage


class HashedCompressedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's hashed and compressed storage, compressing only the hashed copies.

    Pages link to the hashed names (``{% static %}`` reads the manifest), so those are the files
    worth sending compressed. The files under their original names stay, for what names them
    without the template tag (the DSFR's ``manifest.webmanifest`` lists its icons by plain name),
    and are sent uncompressed. Compressing them too (WhiteNoise's default) doubles the time of
    ``collectstatic`` (brotli at its best quality is most of it: about 30 s of CPU for the DSFR's
    and the admin's files on this project's 2-core machine).
    """

    def compress_files(self, paths: Iterable[str]) -> Iterator[tuple[str, str]]:
        hashed = set(self.hashed_files.values())
        return super().compress_files([path for path in paths if path in hashed])
