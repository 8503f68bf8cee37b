"""Every notification template, in both languages, renders from exactly the contract keys."""

from __future__ import annotations

import pytest
from jinja2 import UndefinedError, meta

from tests.notify.conftest import sample_payload
from whmcs_bridge.notify import render
from whmcs_bridge.notify.catalog import CUSTOMER, KINDS, LANGUAGES

CASES = [(name, lang) for name in KINDS for lang in LANGUAGES]


def _vars(name: str, lang: str, audience: str = "staff", **overrides) -> dict:
    return render.context(sample_payload(name, **overrides), language=lang,
                          tz="Asia/Ho_Chi_Minh", audience=audience,
                          ticket_url="https://whmcs.test/admin/supporttickets.php?id=1",
                          recipient_name="Nguyễn Văn A")


def _referenced(name: str, lang: str) -> set[str]:
    env = render._env(False)
    source = env.loader.get_source(env, render.template_name(name, lang))[0]
    return meta.find_undeclared_variables(env.parse(source))


@pytest.mark.parametrize(("name", "lang"), CASES)
def test_renders_with_contract_keys_in_both_audiences(name: str, lang: str) -> None:
    audiences = ["staff", "customer"] if CUSTOMER in KINDS[name].audiences else ["staff"]
    for audience in audiences:
        out = render.render(name, _vars(name, lang, audience), language=lang)
        assert out.subject and "\n" not in out.subject
        assert out.text and out.fragment in out.html
        assert f'<html lang="{lang}">' in out.html
        if "tid" in KINDS[name].keys:
            assert "ABC-123456" in out.subject + out.text
        line = render.render_line(name, _vars(name, lang), language=lang)
        assert line and "\n" not in line


@pytest.mark.parametrize(("name", "lang"), CASES)
def test_templates_use_only_contract_keys(name: str, lang: str) -> None:
    unknown = _referenced(name, lang) - set(KINDS[name].keys) - render.EXTRAS
    assert not unknown, f"{name}.{lang} uses keys outside the contract: {unknown}"


@pytest.mark.parametrize(("name", "lang"), CASES)
def test_a_missing_key_is_an_error_not_a_blank(name: str, lang: str) -> None:
    used = _referenced(name, lang) & set(KINDS[name].keys)
    assert used, "a template should say something specific"
    victim = sorted(used)[0]
    variables = _vars(name, lang)
    del variables[victim]
    with pytest.raises(UndefinedError):
        render.render(name, variables, language=lang)


def test_languages_really_differ_and_due_time_is_local() -> None:
    vi = render.render("sla_breached", _vars("sla_breached", "vi"), language="vi")
    en = render.render("sla_breached", _vars("sla_breached", "en"), language="en")
    assert "trễ hạn" in vi.text and "Việc cần làm" in vi.text
    assert "missed" in en.text and "What to do" in en.text
    # 08:30 UTC is 15:30 in Ho Chi Minh City (UTC+7)
    assert "15:30 ngày 25/11/2026 (Asia/Ho_Chi_Minh)" in vi.text
    assert "25 Nov 2026, 15:30 (Asia/Ho_Chi_Minh)" in en.text
    ny = render.context(sample_payload("sla_breached"), language="en", tz="America/New_York")
    assert "03:30 (America/New_York)" in render.render("sla_breached", ny, language="en").text


def test_html_is_escaped_and_text_is_not() -> None:
    out = render.render("urgent_ticket_opened", _vars("urgent_ticket_opened", "en"),
                        language="en")
    assert "<b>& slow</b>" in out.text and "<b>& slow</b>" in out.subject
    assert "&lt;b&gt;&amp; slow&lt;/b&gt;" in out.html and "<b>&" not in out.html
    assert '<a href="https://whmcs.test/admin/supporttickets.php?id=1">' in out.html


def test_verification_link_is_a_link_in_html_and_plain_in_text() -> None:
    out = render.render("verification_link",
                        _vars("verification_link", "vi", audience="customer"), language="vi")
    assert '<a href="https://bridge.test/v/abc?x=1&amp;y=2">Xác nhận yêu cầu</a>' in out.html
    assert "https://bridge.test/v/abc?x=1&y=2" in out.text
    assert "Nguyễn Văn A" in out.text


def test_customers_never_get_the_admin_link() -> None:
    variables = _vars("verification_locked", "en", audience="customer")
    assert variables["ticket_url"] is None
    out = render.render("verification_locked", variables, language="en")
    assert "admin" not in out.html and "for your safety" in out.subject


@pytest.mark.parametrize("lang", LANGUAGES)
def test_digest_and_test_templates(lang: str) -> None:
    items = [_vars("sla_breached", lang, tid=f"T-{i}") for i in range(3)]
    out = render.render_digest("sla_breached", items, language=lang)
    assert out.subject.startswith("3 ")
    assert all(f"T-{i}" in out.text for i in range(3))
    test = render.render("test", {"channel": "slack", "lang": lang}, language=lang)
    assert "slack" in test.text


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported language"):
        render.template_name("sla_breached", "fr")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_greeting_is_its_own_paragraph(lang: str) -> None:
    for name in ("verification_required", "billing_redirected"):
        for person in ("", "Trần Thị B"):
            variables = _vars(name, lang, audience="customer")
            variables["recipient_name"] = person
            first = render.render(name, variables, language=lang).text.split("\n\n")[0]
            assert first.endswith(",") and "\n" not in first and person in first


def test_several_changes_are_named_in_words() -> None:
    variables = _vars("verification_required", "en", audience="customer",
                      change="package_change,software_install")
    text = render.render("verification_required", variables, language="en").text
    assert "a change to your hosting package and a software installation" in text
