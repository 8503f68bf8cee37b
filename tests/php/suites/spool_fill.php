<?php
/**
 * (c) part 1, the bridge is stopped: three events fire on one page, none can be delivered, all
 * are spooled as pending with their event ids. At the end of the page the first send fails and
 * opens the circuit, so the other two are not tried. Env: WB_BRIDGE_URL (nothing listening),
 * WB_TICKET_ID.
 */

$url = env_required('WB_BRIDGE_URL');
$first = (int) env_required('WB_TICKET_ID');

t('with the bridge down, events are spooled and no hook throws', function () use ($url, $first) {
    configure($url, ['timeout_ms' => '1000']);
    clear_spool();
    StandIn::loginAdmin(1, 'alice');
    same([null], StandIn::runHook('TicketOpenAdmin', ['ticketid' => $first, 'subject' => 'Opened by staff', 'message' => 'x', 'priority' => 'Low', 'deptid' => 1]));
    same([null], StandIn::runHook('TicketAdminReply', ['ticketid' => $first + 1, 'replyid' => 5, 'message' => 'Hello', 'admin' => 'Alice', 'status' => 'Answered', 'deptid' => 1, 'subject' => 's', 'priority' => 'Low']));
    same([null], StandIn::runHook('TicketStatusChange', ['ticketid' => $first + 2, 'status' => 'On Hold', 'adminid' => 1]));
    StandIn::logout();
    same(3, count(spool_rows()), 'all three in the spool before the page ends');
    end_page();
    $rows = spool_rows();
    same(['TicketOpenAdmin', 'TicketAdminReply', 'TicketStatusChange'], array_map(static fn ($r) => $r->hook, $rows));
    foreach ($rows as $row) {
        same('pending', $row->status);
        same(0, (int) $row->last_status, 'no answer at all');
        truthy(preg_match('/^msg_[0-9a-f]{32}$/', $row->event_id) === 1, 'event id');
    }
    same([1, 0, 0], array_map(static fn ($r) => (int) $r->attempts, $rows), 'one try, then the circuit is open');
    contains('circuit open', $rows[2]->last_error);
    $open = (int) \WHMCS\Database\Capsule::table(\WHMCS\Module\Addon\WhmcsBridge\Breaker::TABLE)
        ->where('bridge', sha1($url))->value('open_until');
    truthy($open > time(), 'the circuit is open for the stopped bridge');
    Tester::$data['event_ids'] = array_map(static fn ($r) => $r->event_id, $rows);
});

t('the cron keeps them while the bridge is still down', function () {
    \WHMCS\Database\Capsule::table(\WHMCS\Module\Addon\WhmcsBridge\Spool::TABLE)->update(['next_attempt_at' => 0]);
    StandIn::runHook('AfterCronJob', []);
    $rows = spool_rows();
    same(3, count($rows));
    same(2, (int) $rows[0]->attempts, 'the first row was tried again');
    same(0, (int) $rows[1]->attempts, 'the run stopped at the first "no answer"');
    truthy((int) $rows[0]->next_attempt_at > time(), 'backed off');
});
