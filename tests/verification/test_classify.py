"""The classification corpus: precision and recall printed, thresholds asserted."""

from __future__ import annotations

import pytest

from tests.verification.corpus import CORPUS
from whmcs_bridge.config import load_settings
from whmcs_bridge.settings import SettingsError
from whmcs_bridge.verification.classify import Classifier, fold, parse_custom_fields
from whmcs_bridge.verification.settings import VerificationSettings


def _classifier(**overrides) -> Classifier:
    return Classifier.from_settings(VerificationSettings().load(overrides))


def test_fold_removes_diacritics_and_case() -> None:
    assert fold("Nâng  Cấp GÓI") == "nang cap goi"
    assert fold("Đổi thông tin") == "doi thong tin"
    assert fold("cài đặt phần mềm") == fold("cai dat phan mem")


#: "upgrade my hosting plan" as a reader sees it, hidden from the rules: each variant is spelled
#: with characters that draw nothing or draw a Latin letter.
HIDDEN_UPGRADE = {
    "zero-width space": "Please up\u200bgrade my hos\u200bting plan",
    "zero-width non-joiner and joiner": "Please upg\u200crade my hosting pl\u200dan",
    "word joiner": "Please up\u2060grade my hosting plan",
    "byte order mark": "Please upgr\ufeffade my hosting plan",
    "soft hyphen": "Please up\u00adgrade my hos\u00adting plan",
    "combining grapheme joiner": "Please up\u034fgrade my hosting plan",
    "variation selector": "Please upgra\ufe00de my hosting plan",
    "cyrillic look-alikes": "Please u\u0440gr\u0430d\u0435 my h\u043esting plan",
    "greek look-alikes": "Please \u03c5pgr\u03b1de my hosting plan",
    "mixed": "Please up\u200bgr\u0430\u00adde my hosting plan",
    "right-to-left override": "Please \u202enalp gnitsoh ym edargpu\u202c, thanks",
    "right-to-left override to the end of the line": "Please \u202enalp gnitsoh ym edargpu",
}


@pytest.mark.parametrize("message", HIDDEN_UPGRADE.values(), ids=HIDDEN_UPGRADE.keys())
def test_invisible_and_look_alike_characters_do_not_hide_a_request(message) -> None:
    clf = _classifier()
    assert clf.classify("Hosting", message).kinds == {"package_change"}
    assert clf.classify(message, None).kinds == {"package_change"}  # in the subject too


@pytest.mark.parametrize("message", [
    "Nhờ nâ\u200bng cấp gói hosting giúp em",
    "Nhờ nâng c\u00adấp gói hosting giúp em",
    "Nhờ nâng cấ\u0440 gói hosting giúp em",  # Cyrillic р
])
def test_hidden_vietnamese_request_is_found(message) -> None:
    assert _classifier().classify("Gói", message).kinds == {"package_change"}


@pytest.mark.parametrize(("message", "kind"), [
    # handing the account to a new owner
    ("Please transfer ownership of the account to our new director.", "customer_details_change"),
    ("We sold the business; please transfer this account to the new owner.",
     "customer_details_change"),
    ("Please transfer the hosting account to the new owner.", "customer_details_change"),
    ("Please hand over the account to the new owner.", "customer_details_change"),
    ("Please make Tran Van Binh the new owner of our account.", "customer_details_change"),
    ("Change the account holder to Tran Van Binh please.", "customer_details_change"),
    ("Nhờ chuyển nhượng tài khoản cho chủ mới là anh Bình.", "customer_details_change"),
    ("Bên em muốn sang tên tài khoản hosting cho công ty mới.", "customer_details_change"),
    ("Chuyển giao tài khoản này cho người khác giúp em.", "customer_details_change"),
    # a service password reset, the new one sent
    ("Please reset the cPanel password and send me the new one.", "customer_details_change"),
    ("Please reset the FTP password for example.com and send it to me.",
     "customer_details_change"),
    ("Please reset the root password on my VPS and send me the new one.",
     "customer_details_change"),
    ("Can you send me a new cPanel password?", "customer_details_change"),
    ("Cấp mật khẩu mới cho cPanel giúp em nhé.", "customer_details_change"),
    ("Gửi lại mật khẩu mới của hosting qua email giúp mình.", "customer_details_change"),
    ("Reset cPanel giúp em với.", "customer_details_change"),
    # a named package
    ("Please move my site to the 10GB package.", "package_change"),
    ("Could you move our website to the 10 GB plan?", "package_change"),
    ("Move my hosting account to the 10GB package please.", "package_change"),
    ("Chuyển web của em sang gói 10GB giúp em.", "package_change"),
    ("Nhờ chuyển site qua gói 10GB nhé.", "package_change"),
    ("Cho em chuyển website lên gói 10GB.", "package_change"),
])
def test_owner_transfer_password_reset_and_named_package_are_requests(message, kind) -> None:
    assert _classifier().classify("Yêu cầu", message).kinds == {kind}


@pytest.mark.parametrize("message", [
    "I reset my cPanel password myself, all fine now, thanks.",
    "Em đã đổi mật khẩu cPanel rồi, giờ không vào được email.",
    "Sau khi chuyển sang gói 10GB website bị chậm.",
    "Giá chuyển sang gói 10GB bao nhiêu?",
    "Please make sure the new owner of the domain gets the invoice.",
])
def test_reports_and_questions_near_the_new_phrasings_are_not_requests(message) -> None:
    assert not _classifier().classify("Gói 10GB", message).is_change


def test_fold_reads_what_a_reader_sees() -> None:
    assert fold("nâ\u200bng c\u00adấ\u0440 GÓI") == "nang cap goi"
    assert fold("\u0405\u0435t \u041c\u0423 \u0440\u0430ss") == "set my pass"
    assert fold("\uff55\uff50\uff47\uff52\uff41\uff44\uff45") == "upgrade"  # full width
    # Vietnamese folds as it did: no Latin letter with a diacritic is a look-alike
    assert fold("Đổi tên chủ sở hữu, cài đặt phần mềm") == "doi ten chu so huu, cai dat phan mem"
    # a text wholly in Cyrillic keeps its other letters, so it folds to words no rule spells
    assert not fold("Сайт не работает").isascii()


def test_corpus_precision_and_recall(capsys) -> None:
    clf = _classifier()
    assert len(CORPUS) >= 60
    tp = fp = fn = 0
    exact = 0
    misses = []
    for text, expected in CORPUS:
        subject, _, message = text.partition(" | ")
        got = set(clf.classify(subject, message).kinds)
        exact += got == expected
        tp += len(got & expected)
        fp += len(got - expected)
        fn += len(expected - got)
        if got != expected:
            misses.append((text, sorted(expected), sorted(got)))
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    with capsys.disabled():
        print(f"\nclassification corpus: {len(CORPUS)} examples, precision {precision:.3f}, "
              f"recall {recall:.3f}, exact {exact}/{len(CORPUS)}")
        for miss in misses:
            print("  miss:", miss)
    assert precision >= 0.95
    assert recall >= 0.9


def test_near_miss_price_question_vs_real_request() -> None:
    clf = _classifier()
    assert not clf.classify("Hỏi giá", "tôi muốn hỏi giá gói nâng cấp").is_change
    assert clf.classify("Hỏi giá", "tôi muốn hỏi giá gói nâng cấp").excluded
    real = clf.classify("Nâng cấp", "tôi muốn nâng cấp gói, giá bao nhiêu cũng được")
    assert real.kinds == {"package_change"}


def test_department_and_custom_field_rules() -> None:
    clf = _classifier(departments={"4": "package_change"},
                      custom_fields={"7": "software_install"})
    got = clf.classify("Hello", "see attached", department_id=4,
                       custom_fields=parse_custom_fields([{"id": 7, "value": "on"}]))
    assert got.kinds == {"package_change", "software_install"}
    assert not clf.classify("Hello", "x", department_id=5,
                            custom_fields={"7": ""}).is_change


def test_rules_are_settings_data() -> None:
    s = load_settings(data={"verification": {"patterns": {"software_install": [r"\bcai game\b"]}}},
                      environ={})
    clf = Classifier.from_settings(s.verification)
    assert clf.classify("", "Cài game giúp em").kinds == {"software_install"}
    assert not clf.classify("", "Cài WordPress giúp em").is_change


def test_department_and_field_ids_must_fit_an_id() -> None:
    # "9" * 5000 passed the ^[0-9]+ check, then int() raised ValueError building the
    # classifier, in the handler of every ticket event
    for key in ("departments", "custom_fields"):
        with pytest.raises(SettingsError, match=f"verification.{key}"):
            load_settings(data={"verification": {key: {"9" * 5000: "package_change"}}},
                          environ={})
        with pytest.raises(SettingsError, match=f"verification.{key}"):
            load_settings(data={"verification": {key: {str(2**31): "package_change"}}},
                          environ={})
