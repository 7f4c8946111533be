"""``manage.py import_history FILE.csv``: bring in the history of requests from a previous tool.

A thin wrapper around ``access_requests.history_import.import_history``; the module's
docstring describes the file format and the rules.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from access_requests.history_import import DEFAULT_BATCH_SIZE, HistoryImportError, import_history


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]  # translated when the parser is built
        return _(
            "Importe l'historique des demandes depuis un fichier CSV UTF-8 d'en-tête "
            "reference,at,state,datasets,requires_matching,title (colonne route facultative), une ligne par "
            "état atteint, instants ISO 8601 avec décalage UTC ou Z. Sans colonne route, la procédure est "
            "déduite : un historique qui passe directement de submitted à contracting est « simplified » si sa "
            "seule base est esnd, sinon « reference_methodology » ; tout autre historique est « standard ». "
            "Toute erreur est signalée avec son numéro de ligne et rien n'est importé. Réimporter le même "
            "fichier ne change rien ; un historique déjà importé et prolongé dans le fichier est complété."
        )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help=_("fichier CSV à importer"))
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                            help=_("nombre de lignes écrites par requête (défaut : %(default)s)"))

    def handle(self, *args, file: str, batch_size: int, **options) -> None:
        if batch_size < 1:
            raise CommandError(_("--batch-size doit être un entier positif."))
        verbose = options.get("verbosity", 1) > 1
        try:
            result = import_history(file, batch_size=batch_size,
                                    progress=self.stdout.write if verbose else None)
        except HistoryImportError as exc:
            for issue in exc.issues:
                self.stderr.write(str(issue))
            raise CommandError(
                _("Import annulé : %(count)d erreur(s), rien n'a été importé.") % {"count": len(exc.issues)}
            ) from None
        self.stdout.write(_(
            "Import terminé : %(created)d demandes créées, %(extended)d complétées, %(unchanged)d inchangées, "
            "%(events)d événements écrits en %(elapsed).1f s."
        ) % {"created": result.created, "extended": result.extended, "unchanged": result.unchanged,
             "events": result.events_written, "elapsed": result.elapsed})
