"""Customer-facing texts the tickets room posts (vi/en)."""

from __future__ import annotations

from collections.abc import Sequence

BILLING_REPLY = {
    "vi": ("Chào bạn,\n\nCác vấn đề về hóa đơn / thanh toán được giải quyết nhanh nhất qua "
           "điện thoại. Xin vui lòng liên hệ bộ phận hỗ trợ tại số {numbers} để được giải quyết "
           "trong thời gian ngắn nhất.\n\nYêu cầu của bạn vẫn được ghi nhận; bộ phận thanh toán "
           "sẽ phản hồi tại đây."),
    "en": ("Hello,\n\nBilling and payment questions are resolved fastest by phone. Please call "
           "our hotline on {numbers} for the quickest answer.\n\nYour request has been recorded "
           "and the billing team will also reply here."),
}
_OR = {"vi": " hoặc ", "en": " or "}


def billing_reply(language: str, numbers: Sequence[str]) -> str:
    lang = language if language in BILLING_REPLY else "en"
    joined = _OR[lang].join(numbers) if len(numbers) <= 2 else ", ".join(numbers)
    return BILLING_REPLY[lang].format(numbers=joined)
