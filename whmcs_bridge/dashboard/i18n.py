"""Dashboard wording in Vietnamese and English (one table, so a missing word is a test failure)."""

from __future__ import annotations

from whmcs_bridge.verification.messages import OWNER_TEXTS

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

STRINGS: dict[str, dict[str, str]] = {
    "title": {"en": "Support SLA dashboard", "vi": "Bảng theo dõi SLA hỗ trợ"},
    "login_title": {"en": "Staff sign-in", "vi": "Đăng nhập nhân viên"},
    "login_help": {"en": "Enter a staff API token.",
                   "vi": "Nhập mã truy cập API của nhân viên."},
    "token": {"en": "Token", "vi": "Mã truy cập"},
    "sign_in": {"en": "Sign in", "vi": "Đăng nhập"},
    "sign_out": {"en": "Sign out", "vi": "Đăng xuất"},
    "bad_token": {"en": "That token is not valid.", "vi": "Mã truy cập không hợp lệ."},
    "no_token": {"en": "Please enter a token.", "vi": "Vui lòng nhập mã truy cập."},
    "too_many_attempts": {"en": "Too many failed sign-ins from this address; try again in a "
                                "minute.",
                          "vi": "Đăng nhập sai quá nhiều lần từ địa chỉ này; vui lòng thử lại "
                                "sau một phút."},
    "open_tickets": {"en": "Open tickets by time to breach",
                     "vi": "Phiếu đang mở theo thời gian còn lại"},
    "none_open": {"en": "No open tickets.", "vi": "Không có phiếu nào đang mở."},
    "ticket": {"en": "Ticket", "vi": "Phiếu"},
    "subject": {"en": "Subject", "vi": "Tiêu đề"},
    "level": {"en": "Level", "vi": "Mức"},
    "channel": {"en": "Channel", "vi": "Kênh"},
    "status": {"en": "Status", "vi": "Trạng thái"},
    "sla": {"en": "SLA", "vi": "SLA"},
    "time_left": {"en": "Time left", "vi": "Còn lại"},
    "verification": {"en": "Verification", "vi": "Xác minh"},
    "compliance": {"en": "Compliance by level", "vi": "Tỉ lệ đạt SLA theo mức"},
    "last_days": {"en": "last {days} days", "vi": "{days} ngày qua"},
    "met_of": {"en": "{met} of {total} in time", "vi": "{met}/{total} đúng hạn"},
    "no_data": {"en": "no data", "vi": "chưa có dữ liệu"},
    "open_by_state": {"en": "Open tickets by SLA state", "vi": "Phiếu đang mở theo trạng thái SLA"},
    "breaches": {"en": "Breaches", "vi": "Vi phạm SLA"},
    "none_breached": {"en": "No breaches.", "vi": "Không có vi phạm."},
    "due": {"en": "Due", "vi": "Hạn"},
    "verifications": {"en": "Ownership verification", "vi": "Xác minh chủ sở hữu"},
    "none_verification": {"en": "No tickets need verification.",
                          "vi": "Không có phiếu cần xác minh."},
    "overdue": {"en": "overdue", "vi": "quá hạn"},
    # long overdue in words (the browser puts the number in place of {n})
    "overdue_days": {"en": "{n} days overdue", "vi": "quá hạn {n} ngày"},
    "overdue_hours": {"en": "{n} h overdue", "vi": "quá hạn {n} giờ"},
    "paused_label": {"en": "clock paused", "vi": "tạm dừng"},
    "updated": {"en": "Updated", "vi": "Cập nhật"},
    "language": {"en": "Language", "vi": "Ngôn ngữ"},
    "open_in_whmcs": {"en": "Open in WHMCS", "vi": "Mở trong WHMCS"},
    # the open-tickets table at volume: filters, search, paging, due time, billing mark
    "department": {"en": "Department", "vi": "Phòng ban"},
    "due_at": {"en": "Due at", "vi": "Hạn lúc"},
    "billing_hotline": {"en": "billing hotline", "vi": "hotline thanh toán"},
    "search": {"en": "Search", "vi": "Tìm kiếm"},
    "search_help": {"en": "Ticket number or subject", "vi": "Số phiếu hoặc tiêu đề"},
    "all_departments": {"en": "All departments", "vi": "Mọi phòng ban"},
    "all_levels": {"en": "All levels", "vi": "Mọi mức"},
    "all_states": {"en": "All SLA states", "vi": "Mọi trạng thái SLA"},
    "all_channels": {"en": "All channels", "vi": "Mọi kênh"},
    "filter": {"en": "Filter", "vi": "Lọc"},
    "clear_filters": {"en": "Clear filters", "vi": "Bỏ lọc"},
    "showing": {"en": "{first}–{last} of {total}", "vi": "{first}–{last} trên {total}"},
    "page": {"en": "Page", "vi": "Trang"},
    "page_of": {"en": "Page {n} of {pages}", "vi": "Trang {n}/{pages}"},
    "previous": {"en": "Previous", "vi": "Trang trước"},
    "next": {"en": "Next", "vi": "Trang sau"},
    "none_match": {"en": "No open tickets match these filters.",
                   "vi": "Không có phiếu đang mở nào khớp bộ lọc."},
    "ignored_filter": {"en": "Ignored {field} = “{value}”: not a valid value.",
                       "vi": "Đã bỏ qua {field} = “{value}”: giá trị không hợp lệ."},
    "all_breaches": {"en": "All {n} breaches", "vi": "Xem cả {n} vi phạm"},
    "and_more": {"en": "and {n} more", "vi": "và {n} phiếu khác"},
    "refreshes": {"en": "refreshes every {n} s", "vi": "tự làm mới mỗi {n} giây"},
    # SLA states
    "on_track": {"en": "on track", "vi": "trong hạn"},
    "at_risk": {"en": "at risk", "vi": "sắp quá hạn"},
    "breached": {"en": "breached", "vi": "vi phạm"},
    "met": {"en": "met", "vi": "đã đạt"},
    "paused": {"en": "paused", "vi": "tạm dừng"},
    "not_applicable": {"en": "no SLA", "vi": "không áp dụng"},
    # levels
    "urgent": {"en": "urgent", "vi": "khẩn cấp"},
    "normal": {"en": "normal", "vi": "bình thường"},
    "low": {"en": "low", "vi": "thấp"},
    # verification states
    "not_required": {"en": "not required", "vi": "không cần"},
    "required": {"en": "awaiting verification", "vi": "chờ xác minh"},
    "verified": {"en": "verified", "vi": "đã xác minh"},
    "locked": {"en": "locked", "vi": "đã khóa"},
    "refused": {"en": "refused", "vi": "bị từ chối"},
    # whose account a request is about, when staff must act (verification.messages)
    "owner_unmatched": {lang: OWNER_TEXTS[lang]["unmatched"] for lang in LANGUAGES},
    "owner_ambiguous": {lang: OWNER_TEXTS[lang]["ambiguous"] for lang in LANGUAGES},
    # channels
    "client_area": {"en": "client area", "vi": "khu vực khách hàng"},
    "email": {"en": "e-mail", "vi": "e-mail"},
    "phone": {"en": "phone", "vi": "điện thoại"},
    "chat": {"en": "chat", "vi": "chat"},
    "staff": {"en": "staff", "vi": "nhân viên"},
}


def pick_language(requested: str | None, remembered: str | None,
                  accept: str | None = None) -> str:
    """``?lang=`` wins, then the remembered choice, then the browser's best match."""
    for candidate in (requested, remembered, accept):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE


def translator(lang: str):
    """``t(key, **fmt)``: the word in ``lang``; unknown keys come back as themselves."""

    def t(key: str | None, **fmt: object) -> str:
        if key is None:
            return "–"
        entry = STRINGS.get(key)
        text = entry[lang] if entry else key
        return text.format(**fmt) if fmt else text

    return t
