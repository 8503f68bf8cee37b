<?php
/**
 * (e) The ticket panel from the real bridge, printed by the real hook; the verification proxy
 * and the admin page's connection test against the real bridge.
 * Env: WB_BRIDGE_URL, WB_SECRET, WB_TOKEN, WB_TICKET_ID (a ticket the bridge knows),
 * WB_VERIFY_TICKET_ID (optional: a ticket awaiting verification), WB_UNKNOWN_TICKET_ID.
 */

use WHMCS\Module\Addon\WhmcsBridge\AdminPage;
use WHMCS\Module\Addon\WhmcsBridge\Http;
use WHMCS\Module\Addon\WhmcsBridge\Log;
use WHMCS\Module\Addon\WhmcsBridge\Panel;
use WHMCS\Module\Addon\WhmcsBridge\Settings;

$url = env_required('WB_BRIDGE_URL');
$ticketId = (int) env_required('WB_TICKET_ID');

t('AdminAreaViewTicketPage prints the bridge panel and the verification form', function () use ($url, $ticketId) {
    configure($url);
    StandIn::loginAdmin(1, 'alice');
    $html = StandIn::runHook('AdminAreaViewTicketPage', ['ticketid' => $ticketId])[0];
    contains('<div class="whmcs-bridge-panel">', $html);
    lacks('whmcs-bridge-unavailable', $html);
    contains('name="wb_csrf"', $html);
    lacks(Settings::load()->token, $html, 'the staff token never reaches the browser');
    Tester::$data['panel_en'] = $html;
    StandIn::loginAdmin(2, 'binh');
    Panel::forget();
    Tester::$data['panel_vi'] = StandIn::runHook('AdminAreaViewTicketPage', ['ticketid' => $ticketId])[0];
    StandIn::logout();
});

t('a ticket the bridge does not know prints a short line, not an error', function () use ($url) {
    configure($url);
    StandIn::loginAdmin(1, 'alice');
    $html = StandIn::runHook('AdminAreaViewTicketPage', ['ticketid' => (int) env_required('WB_UNKNOWN_TICKET_ID')])[0];
    contains('has not seen this ticket', $html);
    StandIn::logout();
});

t('the connection test passes against the real bridge', function () use ($url) {
    configure($url);
    $settings = Settings::load();
    $page = new AdminPage($settings, Http::forSettings($settings), new Log($settings), 'english', 1, 'sess');
    $html = $page->connectionTest();
    same(3, substr_count($html, '<strong>OK</strong>'), $html);
    configure($url, ['api_token' => 'wrong-token-' . str_repeat('z', 20)]);
    $settings = Settings::load();
    $page = new AdminPage($settings, Http::forSettings($settings), new Log($settings), 'english', 1, 'sess');
    contains('FAILED</strong></td><td>HTTP 401', $page->connectionTest(), 'a wrong token is reported');
});

$verifyTicket = (int) (getenv('WB_VERIFY_TICKET_ID') ?: 0);
if ($verifyTicket > 0) {
    t('the panel form, proxied by the module page, records an in-person verification', function () use ($url, $verifyTicket) {
        configure($url);
        StandIn::loginAdmin(1, 'alice');
        $settings = Settings::load();
        $page = new AdminPage($settings, Http::forSettings($settings), new Log($settings), 'english', 1, 'sess');
        $html = $page->handle('POST', ['action' => 'verify'], ['ticketid' => (string) $verifyTicket,
            'method' => 'in_person', 'f_reference' => 'passport checked at the front desk',
            'wb_csrf' => Panel::csrfToken($settings->secret, 1, 'sess', $verifyTicket)]);
        contains('Verification state: verified', $html);
        StandIn::logout();
    });
}
