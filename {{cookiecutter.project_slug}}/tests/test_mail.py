from django.core import mail


def test_a_mail_is_sent_through_the_configured_backend(settings):
    # The testing settings keep mail in memory (locmem): nothing leaves the machine.
    assert settings.EMAIL_BACKEND == "django.core.mail.backends.locmem.EmailBackend"

    sent = mail.send_mail("Welcome", "Hello Ada.", None, ["ada@example.com"])

    assert sent == 1
    (message,) = mail.outbox
    assert message.from_email == "noreply@{{ cookiecutter.domain_name }}"
    assert (message.subject, message.to) == ("Welcome", ["ada@example.com"])
