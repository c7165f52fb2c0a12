from django.apps import AppConfig


class TallyConfig(AppConfig):
    name = "tests.load.tally"
    label = "load_tally"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
