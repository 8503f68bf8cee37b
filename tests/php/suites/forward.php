<?php
/**
 * (b) TicketOpen fired through the real hook reaches the real bridge, which verifies the
 * signature and stores it (202); so do AfterModuleChangePassword, ClientEdit and TicketSplit
 * with their documented vars, secrets removed. A wrong secret is answered 401: kept dead,
 * never retried.
 * Env: WB_BRIDGE_URL, WB_SECRET, WB_TOKEN, WB_TICKET_ID.
 */

use WHMCS\Module\Addon\WhmcsBridge\Spool;

$url = env_required('WB_BRIDGE_URL');
$ticketId = (int) env_required('WB_TICKET_ID');

t('TicketOpen is accepted by the bridge (202) and nothing is spooled', function () use ($url, $ticketId) {
    configure($url);
    clear_spool();
    StandIn::loginClient(4242, 77);
    $mark = last_log_id();
    same([null], StandIn::runHook('TicketOpen', [
        'ticketid' => $ticketId, 'ticketmask' => 'ABC-' . $ticketId, 'userid' => 4242, 'deptid' => 1,
        'deptname' => 'Support', 'subject' => 'Website is down', 'message' => 'Please help, my site is down.',
        'priority' => 'High', 'password' => 'must-not-leave',
    ]));
    StandIn::logout();
    end_page(); // the event leaves once the page has been sent
    same([], spool_rows(), 'spool');
    $log = module_log($mark);
    same(1, count($log), 'one request logged (log level all)');
    same('event TicketOpen', $log[0]->action);
    truthy(str_starts_with($log[0]->response, 'HTTP 202'), 'answer was 202, got: ' . $log[0]->response);
});

t('AfterModuleChangePassword, ClientEdit and TicketSplit with their documented vars are accepted (202), secrets never sent', function () use ($url, $ticketId) {
    configure($url);
    clear_spool();
    StandIn::loginAdmin(3, 'lan');
    $mark = last_log_id();
    // hooks-reference/module.md, client.md, ticket.md (newTicketId: the spelling some releases send)
    StandIn::runHook('AfterModuleChangePassword', ['serviceid' => $ticketId, 'oldpassword' => 'old-pw-must-not-leave',
        'newpassword' => 'new-pw-must-not-leave']);
    StandIn::runHook('ClientEdit', ['userid' => $ticketId, 'email' => 'an@example.com', 'authmodule' => 'totp',
        'authdata' => 'otp-seed-must-not-leave', 'olddata' => ['email' => 'old@example.com', 'authdata' => 'old-seed-must-not-leave']]);
    StandIn::runHook('TicketSplit', ['originalTicketId' => $ticketId, 'newTicketId' => $ticketId + 1]);
    StandIn::logout();
    end_page(); // the events leave once the page has been sent
    same([], spool_rows(), 'nothing spooled or kept dead');
    $log = module_log($mark);
    same(['event AfterModuleChangePassword', 'event ClientEdit', 'event TicketSplit'], array_map(static fn ($r) => $r->action, $log));
    foreach ($log as $row) {
        truthy(str_starts_with($row->response, 'HTTP 202'), $row->action . ' answered ' . $row->response);
        lacks('must-not-leave', $row->request, 'no secret in what was sent');
        lacks('totp', $row->request, 'no two-factor module in what was sent');
    }
});

t('a wrong secret is refused (401): logged, kept dead, not retried by the cron', function () use ($url, $ticketId) {
    configure($url, ['webhook_secret' => 'whsec_' . base64_encode(random_bytes(32))]);
    StandIn::runHook('TicketClose', ['ticketid' => $ticketId]);
    end_page();
    $rows = spool_rows();
    same(1, count($rows));
    same('dead', $rows[0]->status);
    same(401, (int) $rows[0]->last_status);
    $mark = last_log_id();
    StandIn::runHook('AfterCronJob', []);
    same([], array_filter(module_log($mark), static fn ($r) => str_starts_with($r->action, 'event')), 'no retry');
    clear_spool();
});
