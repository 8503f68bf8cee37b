"""Realistic ticket texts (subject | message) with the change kinds a human reader assigns.

``P`` package change, ``D`` customer details change, ``S`` software install, ``-`` none.
Near-misses are deliberate: price questions, how-to questions, and reports about a change that
already happened are *not* requests for staff to change the account (decision documented in the
README: the customer asking "how much is the upgrade?" gets an answer, not a proof demand; once
they ask for it to be done, the request is classified).
"""

from __future__ import annotations

P, D, S = "package_change", "customer_details_change", "software_install"

CORPUS: list[tuple[str, set[str]]] = [
    # --- Vietnamese, with diacritics: real requests
    ("Nâng cấp gói hosting | Chào anh chị, nhờ nâng cấp gói hosting của em lên gói Business.", {P}),
    ("Yêu cầu hạ cấp | Vui lòng hạ cấp VPS xuống gói nhỏ hơn từ tháng sau.", {P}),
    ("Đổi gói | Mình muốn đổi sang gói Pro cho domain abc.vn", {P}),
    ("Tăng dung lượng | Cần tăng dung lượng ổ cứng thêm 20GB cho hosting.", {P}),
    ("Thêm RAM | Em cần thêm RAM cho VPS, hiện đang 2GB.", {P}),
    ("Cập nhật thông tin | Cho tôi đổi thông tin công ty trên tài khoản.", {D}),
    ("Đổi email | Xin đổi email tài khoản sang ketoan@congty.vn", {D}),
    ("Thay đổi địa chỉ | Công ty chuyển văn phòng, nhờ cập nhật địa chỉ mới.", {D}),
    ("Đổi số điện thoại | Giúp mình sửa số điện thoại liên hệ thành 0912 345 678", {D}),
    ("Chuyển chủ sở hữu | Muốn chuyển quyền sở hữu dịch vụ sang công ty mới.", {D}),
    ("Quên mật khẩu | Nhờ reset mật khẩu đăng nhập khu vực khách hàng giúp em.", {D}),
    ("Cài đặt phần mềm | Nhờ kỹ thuật cài đặt phần mềm ioncube trên hosting.", {S}),
    ("Cài WordPress | Giúp em cài WordPress cho tên miền mới.", {S}),
    ("Cài SSL | Nhờ cài SSL cho website shop.vn", {S}),
    ("Yêu cầu | Cài thêm PHP 8.2 và extension imagick giúp mình.", {S}),
    ("Nâng cấp và cài đặt | Nâng cấp lên gói VPS 4GB rồi cài Docker giúp em.", {P, S}),
    ("Thông tin | Đổi tên công ty trên hóa đơn và nâng cấp gói email lên 50 hộp thư.", {D, P}),
    ("Hosting | Em muốn nâng cấp hosting vì web chạy chậm quá.", {P}),
    ("Cần hỗ trợ | Bên em cần cập nhật mã số thuế mới cho tài khoản.", {D}),
    ("Mở rộng | Mở rộng dung lượng email cho domain công ty.", {P}),
    # --- Vietnamese without diacritics (e-mail from phones, chat)
    ("nang cap goi | nho nang cap goi hosting len goi cao hon giup em", {P}),
    ("doi goi vps | minh muon doi sang goi lon hon", {P}),
    ("doi email | giup toi doi email tai khoan sang email moi", {D}),
    ("cap nhat thong tin | nho cap nhat thong tin lien he cua cong ty", {D}),
    ("cai dat phan mem | can cai dat phan mem tren vps", {S}),
    ("cai wordpress | cai giup em wordpress tren hosting moi mua", {S}),
    ("tang ram | tang ram vps len 8gb nhe", {P}),
    ("reset mat khau | cap lai mat khau cho tai khoan cua em", {D}),
    # --- English: real requests
    ("Upgrade | Please upgrade my plan to the Business package.", {P}),
    ("Downgrade request | I'd like to downgrade my VPS at renewal.", {P}),
    ("Plan change | Can you change my hosting plan to Starter?", {P}),
    ("More disk | We need more disk space on the shared hosting account.", {P}),
    ("Switch plan | Please switch us to the annual Pro plan.", {P}),
    ("Email change | Please change my email address to new@example.com", {D}),
    ("Update details | Update our billing address, we moved offices.", {D}),
    ("Account owner | We want to transfer the account to our new company.", {D}),
    ("Password | Please reset my client area password, I can't get in.", {D}),
    ("Install WordPress | Could you install WordPress on example.com?", {S}),
    ("Software | Please install ioncube loader on my server.", {S}),
    ("SSL | Kindly set up an SSL certificate for my shop.", {S}),
    ("Install | Can you install the Redis extension for PHP?", {S}),
    ("Upgrade and install | Upgrade to the 4 GB VPS and install Docker please.", {P, S}),
    ("Phone number | Please update the phone number on file to +84 28 1234 5678.", {D}),
    ("Name | Please correct the company name on my account.", {D}),
    # --- hidden from a plain reading: zero-width characters, soft hyphens, look-alike letters
    # (written as escapes, since the point is that they do not show)
    ("Hosting | Please up\u200bgrade my hos\u200bting plan.", {P}),
    ("Plan | Please up\u00adgrade my hosting plan to Business.", {P}),
    ("Plan | Please u\u0440gr\u0430d\u0435 my hosting plan.", {P}),  # Cyrillic р а е
    ("\u0415mail | Pl\u0435ase ch\u0430nge my em\u200ba\u200bil address to x@example.com", {D}),
    ("Cài đặt | Nhờ c\u2060ài WordPr\u0435ss giúp em.", {S}),
    ("Gói | Nhờ nâ\u200bng c\u00adấ\u0440 gói hosting giúp em.", {P}),
    # --- near-misses and ordinary tickets (no change requested)
    ("Hỏi giá | Tôi muốn hỏi giá gói nâng cấp VPS 4GB.", set()),
    ("Báo giá | Cho mình xin báo giá nâng cấp lên gói Business.", set()),
    ("Hướng dẫn | Làm sao để đổi mật khẩu email?", set()),
    ("Lỗi | Sau khi nâng cấp PHP website bị lỗi 500.", set()),
    ("Website chậm | Website của em tải rất chậm từ sáng nay.", set()),
    ("Không vào được | Không đăng nhập được cPanel, báo sai mật khẩu.", set()),
    ("Email | Email gửi đi bị vào spam, nhờ kiểm tra.", set()),
    ("Hóa đơn | Hóa đơn #10234 đã thanh toán nhưng chưa cập nhật trạng thái.", set()),
    ("Tên miền | Tên miền abc.vn hết hạn khi nào?", set()),
    ("Sự cố | Server down, không truy cập được website.", set()),
    ("Price | How much does it cost to upgrade to the Business plan?", set()),
    ("Question | How do I change my email address in the client area?", set()),
    ("Broken | Since the upgrade last night my site shows a blank page.", set()),
    ("Slow site | My website is very slow today, please check.", set()),
    ("Invoice | I paid invoice 10234 but it still shows unpaid.", set()),
    ("Down | Server 203.0.113.10 is not responding to ping.", set()),
    ("Spam | Our outgoing emails are being marked as spam.", set()),
    ("DNS | Please check DNS for example.com, it does not resolve.", set()),
    ("Backup | Can you restore yesterday's backup of my database?", set()),
    ("Thanks | Thanks, the issue is solved. You can close the ticket.", set()),
    ("Pricing | What is the price of the Pro plan per year?", set()),
    ("Không cần | Tạm thời bên em không cần nâng cấp, cảm ơn.", set()),
    ("Chat | Cho hỏi gói hosting nào hỗ trợ Node.js, giá bao nhiêu?", set()),
    ("Lỗi WordPress | WordPress bị lỗi trắng trang sau khi cập nhật plugin.", set()),
    ("Hotline | Gọi 1900 6046 không ai nghe máy.", set()),
    # hidden characters do not make a question a request
    ("Price | How much does it cost to u\u0440gr\u0430d\u0435 my hosting plan?", set()),
    ("Hỏi giá | Cho mình xin báo giá nâ\u200bng cấp lên gói Business.", set()),
    # text in another script folds to words no rule spells
    ("Сайт | Сайт не открывается с утра, проверьте пожалуйста.", set()),
    ("Ιστοσελίδα | Η ιστοσελίδα μου δεν λειτουργεί από το πρωί.", set()),
]
