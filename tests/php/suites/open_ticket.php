<?php
/**
 * Fire one ticket-opening hook through the real module, as WHMCS would, so the bridge's worker
 * builds its state from it (ticket store, verification request). The bridge must accept it.
 * Env: WB_BRIDGE_URL, WB_SECRET, WB_HOOK (TicketOpen|TicketOpenAdmin), WB_TICKET_ID,
 * WB_TICKET_MASK, WB_CLIENT_ID, WB_SUBJECT, WB_MESSAGE.
 */

$url = env_required('WB_BRIDGE_URL');

t('the ticket event is accepted by the bridge', function () use ($url) {
    configure($url);
    clear_spool();
    $hook = env_required('WB_HOOK');
    $hook === 'TicketOpenAdmin' ? StandIn::loginAdmin(1, 'alice') : StandIn::logout();
    $mark = last_log_id();
    StandIn::runHook($hook, [
        'ticketid' => (int) env_required('WB_TICKET_ID'), 'ticketmask' => env_required('WB_TICKET_MASK'),
        'userid' => (int) env_required('WB_CLIENT_ID'), 'deptid' => 1, 'deptname' => 'Technical Support',
        'subject' => env_required('WB_SUBJECT'), 'message' => env_required('WB_MESSAGE'), 'priority' => 'Medium',
    ]);
    StandIn::logout();
    end_page();
    same([], spool_rows(), 'nothing spooled');
    $log = module_log($mark);
    same(1, count($log));
    truthy(str_starts_with($log[0]->response, 'HTTP 202'), 'accepted: ' . $log[0]->response);
});
