"""Texts the bridge writes about verification, in Vietnamese and English.

Replies tell the customer which proofs are accepted and how to give them *safely*: never by
typing a password into e-mail, a ticket or chat. Staff notes say who proved what, never the
proof itself.
"""

from __future__ import annotations

from typing import Any

CHANGE_NAMES = {
    "vi": {"package_change": "thay đổi cấu hình gói dịch vụ",
           "customer_details_change": "thay đổi thông tin khách hàng",
           "software_install": "cài đặt phần mềm"},
    "en": {"package_change": "changing a hosting package",
           "customer_details_change": "changing customer information",
           "software_install": "installing software"},
}

METHOD_NAMES = {
    "vi": {"client_login": "e-mail và mật khẩu khu vực khách hàng",
           "service_login": "tên đăng nhập và mật khẩu cPanel",
           "card_last4": "4 số cuối thẻ thanh toán", "payment": "thông tin thanh toán gần nhất",
           "in_person": "CCCD/giấy giới thiệu tại văn phòng",
           "link": "liên kết xác minh qua e-mail"},
    "en": {"client_login": "client-area e-mail and password",
           "service_login": "cPanel username and password", "card_last4": "last 4 card digits",
           "payment": "most recent payment details",
           "in_person": "national ID / introduction letter in person",
           "link": "e-mail verification link"},
}

_TEXTS: dict[str, dict[str, str]] = {
    "vi": {
        "required": (
            "Kính chào Quý khách,\n\nYêu cầu {tid} ({changes}) cần xác minh quyền sở hữu tài "
            "khoản trước khi chúng tôi thực hiện, vì yêu cầu không được gửi từ khu vực khách hàng "
            "đã đăng nhập.\n\nQuý khách có thể xác minh bằng một trong các cách sau:\n"
            "- Nhấn vào liên kết xác minh chúng tôi gửi tới địa chỉ e-mail đăng ký của tài khoản "
            "(cách an toàn và nhanh nhất);\n"
            "- Đăng nhập khu vực khách hàng và gửi lại yêu cầu từ đó;\n"
            "- Gọi hotline: nhân viên sẽ hỏi e-mail/mật khẩu khu vực khách hàng, tên đăng nhập/"
            "mật khẩu cPanel, 4 số cuối thẻ đã thanh toán, hoặc thông tin lần thanh toán gần "
            "nhất (phương thức, số tiền, ngày);\n"
            "- Đến văn phòng với CCCD (và giấy giới thiệu nếu là tổ chức).\n\n"
            "Vì an toàn, tuyệt đối KHÔNG gửi mật khẩu hay số thẻ qua e-mail, ticket hoặc chat. "
            "Nếu không nhận được xác minh trong {hours} giờ, yêu cầu sẽ bị từ chối theo quy định."
        ),
        "refused": (
            "Yêu cầu {tid} ({changes}) đã bị từ chối vì chưa xác minh được quyền sở hữu tài "
            "khoản theo quy định hỗ trợ. Quý khách vui lòng đăng nhập khu vực khách hàng và gửi "
            "lại yêu cầu, hoặc liên hệ hotline."
        ),
        "locked": (
            "Yêu cầu {tid}: đã có quá nhiều lần xác minh không đúng cho tài khoản này. Để bảo vệ "
            "tài khoản, chúng tôi chỉ chấp nhận liên kết xác minh gửi tới e-mail đăng ký hoặc "
            "xác minh trực tiếp tại văn phòng."
        ),
        "verified": (
            "Cảm ơn Quý khách, quyền sở hữu tài khoản cho yêu cầu {tid} đã được xác minh. Chúng "
            "tôi sẽ tiếp tục xử lý yêu cầu."
        ),
        "leaked": (
            "Tin nhắn của Quý khách trong yêu cầu {tid} có chứa thông tin bí mật ({kinds}). "
            "Chúng tôi đã ẩn thông tin này và sẽ không dùng nó để xác minh. Vui lòng đổi ngay "
            "mật khẩu/khoá đó và không gửi thông tin đăng nhập qua e-mail, ticket hay chat."
        ),
        "chat_warning": (
            "Theo quy định, không cung cấp thông tin cá nhân hay thông tin đăng nhập qua chat. "
        ),
        "gate_required": (
            "Chưa thể thực hiện thay đổi này: yêu cầu {tid} của khách hàng đang chờ xác minh "
            "quyền sở hữu tài khoản."
        ),
        "gate_locked": (
            "Chưa thể thực hiện thay đổi này: tài khoản bị khoá xác minh (yêu cầu {tid}) do "
            "xác minh sai nhiều lần; cần liên kết e-mail hoặc xác minh trực tiếp."
        ),
        "gate_refused": (
            "Không thể thực hiện thay đổi này: yêu cầu {tid} đã bị từ chối vì không xác minh "
            "được quyền sở hữu tài khoản."
        ),
    },
    "en": {
        "required": (
            "Hello,\n\nRequest {tid} ({changes}) needs proof that you own the account before we "
            "carry it out, because it did not come from a logged-in client-area session.\n\n"
            "You can prove ownership in one of these ways:\n"
            "- Click the verification link we send to the account's e-mail address on file "
            "(the safest and quickest);\n"
            "- Log in to the client area and send the request from there;\n"
            "- Call our hotline: staff will ask for your client-area e-mail and password, your "
            "cPanel username and password, the last 4 digits of the card you paid with, or the "
            "details of your most recent payment (method, amount, date);\n"
            "- Visit our office with your national ID (and an introduction letter for an "
            "organisation).\n\n"
            "For your safety, NEVER send passwords or card numbers by e-mail, ticket or chat. "
            "Without verification within {hours} hours the request will be refused, as our "
            "support policy requires."
        ),
        "refused": (
            "Request {tid} ({changes}) has been refused because account ownership could not be "
            "verified, as our support policy requires. Please log in to the client area and send "
            "the request again, or call our hotline."
        ),
        "locked": (
            "Request {tid}: there have been too many incorrect verification attempts for this "
            "account. To protect it, we now only accept the verification link sent to the "
            "e-mail address on file, or verification in person at our office."
        ),
        "verified": (
            "Thank you: account ownership for request {tid} has been verified. We will now "
            "continue with your request."
        ),
        "leaked": (
            "Your message in request {tid} contained secret information ({kinds}). We have "
            "hidden it and will not accept it as proof of ownership. Please change that "
            "password/key now, and never send login details by e-mail, ticket or chat."
        ),
        "chat_warning": (
            "Our policy: never give personal information or login credentials over chat. "
        ),
        "gate_required": (
            "This change cannot be made yet: the client's request {tid} is waiting for "
            "ownership verification."
        ),
        "gate_locked": (
            "This change cannot be made yet: verification for this account is locked after "
            "repeated failures (request {tid}); an e-mail link or an in-person check is needed."
        ),
        "gate_refused": (
            "This change cannot be made: request {tid} was refused because ownership could not "
            "be verified."
        ),
    },
}


def changes_text(lang: str, changes: Any) -> str:
    names = CHANGE_NAMES[lang]
    return ", ".join(names.get(c, c) for c in sorted(changes))


def text(lang: str, key: str, **values: Any) -> str:
    return _TEXTS[lang if lang in _TEXTS else "vi"][key].format(**values)


def staff_note(*, tid: str, method: str, outcome: str, actor: str | None, channel: str | None,
               reason: str | None, reference: str | None = None) -> str:
    """The internal note for one attempt (English: staff tooling language), no proof value."""
    parts = [f"[whmcs-bridge] Ownership verification for {tid}: {outcome}",
             f"method: {METHOD_NAMES['en'].get(method, method)}"]
    if actor:
        parts.append(f"by: {actor}")
    if channel:
        parts.append(f"via: {channel}")
    if reason:
        parts.append(f"reason: {reason}")
    if reference:
        parts.append(f"reference: {reference}")
    return "\n".join(parts)


#: What staff see about a request's owner (panel, dashboard, notes), English and Vietnamese.
OWNER_TEXTS = {
    "en": {"unmatched": "sender not matched to any client",
           "ambiguous": "sender matches several clients: all are blocked",
           "matched": "owner found from the sender / domains named",
           "pending": "owner lookup pending", "ticket": "ticket's client"},
    "vi": {"unmatched": "người gửi không khớp với khách hàng nào",
           "ambiguous": "người gửi khớp nhiều khách hàng: tất cả đều bị chặn",
           "matched": "xác định chủ sở hữu từ người gửi / tên miền",
           "pending": "đang tìm chủ sở hữu", "ticket": "khách hàng của ticket"},
}


def owner_note(tid: str, state: str, candidates: Any) -> str:
    """The staff note after an owner lookup: the state and every candidate (ids, sources)."""
    found = ", ".join(f"client #{cid} ({'/'.join(sorted(src))})"
                      for cid, src in sorted(candidates.items())) or "none"
    text_ = OWNER_TEXTS["en"].get(state, state)
    if state == "unmatched":
        text_ += ": no client's gates are blocked; link the ticket to the client in WHMCS"
    return f"[whmcs-bridge] Ownership verification for {tid}: {text_}. Candidates: {found}."
