<?php

declare(strict_types=1);

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

$_ADDONLANG['fail_closed_message'] = 'Hiện chưa thể xác nhận thay đổi này. Vui lòng thử lại sau vài phút hoặc liên hệ bộ phận hỗ trợ.';
$_ADDONLANG['refused_message'] = 'Thay đổi này cần xác minh bạn là chủ tài khoản trước. Vui lòng phản hồi ticket hỗ trợ hoặc liên hệ bộ phận hỗ trợ.';
$_ADDONLANG['bridge_unavailable'] = 'whmcs-bridge không phản hồi: tạm thời không hiển thị được SLA và trạng thái xác minh.';
$_ADDONLANG['ticket_unknown'] = 'whmcs-bridge chưa nhận được ticket này.';
$_ADDONLANG['bridge_slow'] = 'whmcs-bridge đang phản hồi chậm: bảng SLA và xác minh đã được bỏ qua để trang này không bị chậm. Tải lại trang để thử lại.';
$_ADDONLANG['circuit_closed'] = 'Kết nối tới bridge: bình thường (mạch đóng).';
$_ADDONLANG['circuit_open'] = 'Bridge lỗi lúc %s UTC (%s). Đến %s UTC, sự kiện chờ trong hàng đợi và các cổng kiểm tra áp dụng chế độ khi lỗi mà không hỏi bridge; sau đó một lần gọi sẽ kiểm tra lại. Kiểm tra kết nối thành công sẽ đóng mạch ngay.';
$_ADDONLANG['verify_title'] = 'Ghi nhận xác minh chủ sở hữu';
$_ADDONLANG['verify_method'] = 'Phương thức';
$_ADDONLANG['verify_submit'] = 'Gửi xác minh';
$_ADDONLANG['verify_hint'] = 'Mở một phương thức, điền các trường của nó rồi gửi. WHMCS không lưu những gì nhập ở đây.';
$_ADDONLANG['verify_send_link'] = 'Gửi liên kết';
$_ADDONLANG['verify_field_email'] = 'E-mail khách hàng';
$_ADDONLANG['verify_field_password'] = 'Mật khẩu';
$_ADDONLANG['verify_field_service_id'] = 'Mã dịch vụ';
$_ADDONLANG['verify_field_username'] = 'Tên đăng nhập dịch vụ';
$_ADDONLANG['verify_field_last4'] = '4 số cuối thẻ';
$_ADDONLANG['verify_field_payment_method'] = 'Phương thức thanh toán';
$_ADDONLANG['verify_field_amount'] = 'Số tiền đã trả';
$_ADDONLANG['verify_field_date'] = 'Ngày trả (YYYY-MM-DD)';
$_ADDONLANG['verify_field_reference'] = 'Giấy tờ tùy thân / mã tham chiếu';
$_ADDONLANG['method_client_login'] = 'Đăng nhập khu vực khách hàng';
$_ADDONLANG['method_service_login'] = 'Đăng nhập dịch vụ';
$_ADDONLANG['method_card_last4'] = '4 số cuối thẻ đã lưu';
$_ADDONLANG['method_payment'] = 'Một giao dịch thanh toán gần đây';
$_ADDONLANG['method_in_person'] = 'Trực tiếp / đã kiểm tra giấy tờ';
$_ADDONLANG['method_link'] = 'Gửi liên kết xác minh qua e-mail';
$_ADDONLANG['verify_done'] = 'Bridge đã ghi nhận xác minh. Trạng thái: %s.';
$_ADDONLANG['verify_failed'] = 'Bridge không chấp nhận xác minh: %s';
$_ADDONLANG['verify_bad_token'] = 'Biểu mẫu đã hết hạn hoặc không được gửi từ WHMCS này. Hãy mở lại ticket và thử lại.';
$_ADDONLANG['back_to_ticket'] = 'Quay lại ticket #%d';
$_ADDONLANG['page_title'] = 'whmcs-bridge';
$_ADDONLANG['not_configured'] = 'Hãy nhập URL của bridge và khóa ký webhook trong Setup > Addon Modules trước.';
$_ADDONLANG['connection_test'] = 'Kiểm tra kết nối';
$_ADDONLANG['test_reachable'] = 'Kết nối được tới bridge (GET /healthz)';
$_ADDONLANG['test_signature'] = 'Sự kiện thử có chữ ký được chấp nhận (khóa khớp)';
$_ADDONLANG['test_token'] = 'Token API nhân viên được chấp nhận';
$_ADDONLANG['ok'] = 'OK';
$_ADDONLANG['failed'] = 'LỖI';
$_ADDONLANG['spool'] = 'Sự kiện chờ gửi lại';
$_ADDONLANG['spool_pending'] = 'Đang chờ gửi lại';
$_ADDONLANG['spool_dead'] = 'Đã bỏ (bị từ chối hoặc thử quá nhiều lần)';
$_ADDONLANG['spool_oldest'] = 'Chờ từ';
$_ADDONLANG['spool_flush'] = 'Gửi ngay các sự kiện đang chờ';
$_ADDONLANG['spool_requeue'] = 'Đưa các sự kiện đã bỏ vào hàng chờ lại';
$_ADDONLANG['spool_purge'] = 'Xóa các sự kiện đã bỏ';
$_ADDONLANG['spool_result'] = 'Đã gửi %d, vẫn lỗi %d, đã bỏ %d.';
$_ADDONLANG['requeued'] = 'Đã đưa %d sự kiện vào hàng chờ lại.';
$_ADDONLANG['purged'] = 'Đã xóa %d sự kiện.';
$_ADDONLANG['last_errors'] = 'Lỗi gần đây';
$_ADDONLANG['no_errors'] = 'Chưa có lỗi nào.';
$_ADDONLANG['dashboard'] = 'Mở bảng điều khiển của bridge';
$_ADDONLANG['settings_summary'] = 'Chế độ khi lỗi: %s. Thời gian chờ: %d ms. Chuyển tiếp %d/%d sự kiện.';
