from bot.blocks.links import thread_url


def test_thread_url_from_workspace_url() -> None:
    assert (
        thread_url("https://acme.slack.com/", "C0CARE", "1700000000.000100")
        == "https://acme.slack.com/archives/C0CARE/p1700000000000100"
    )
    assert thread_url("https://acme.slack.com", "C0CARE", "1.2") == "https://acme.slack.com/archives/C0CARE/p12"


def test_thread_url_falls_back_to_deep_link_and_none() -> None:
    assert thread_url(None, "C0CARE", "1.2") == "slack://channel?id=C0CARE&message=1.2"
    assert thread_url("https://acme.slack.com/", "C0CARE", None) is None
