from tests.services.conftest import sessions

__all__ = ["sessions"]
