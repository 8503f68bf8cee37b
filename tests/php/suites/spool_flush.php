<?php
/**
 * (c) part 2, the bridge is back: the cron re-sends the spool (once the backoff has passed),
 * every row is accepted and removed, and a second cron run sends nothing.
 */

use WHMCS\Database\Capsule;
use WHMCS\Module\Addon\WhmcsBridge\Spool;

$url = env_required('WB_BRIDGE_URL');

t('nothing is re-sent before its backoff has passed', function () use ($url) {
    configure($url);
    same(3, count(spool_rows('pending')));
    Capsule::table(Spool::TABLE)->update(['next_attempt_at' => time() + 3600]);
    $mark = last_log_id();
    StandIn::runHook('AfterCronJob', []);
    same(3, count(spool_rows('pending')));
    same([], module_log($mark));
});

t('the cron delivers every spooled event, then the spool is empty', function () {
    Capsule::table(Spool::TABLE)->update(['next_attempt_at' => time()]); // the backoff has passed
    $ids = array_map(static fn ($r) => $r->event_id, spool_rows());
    $mark = last_log_id();
    StandIn::runHook('AfterCronJob', []);
    same([], spool_rows());
    $sent = array_values(array_filter(module_log($mark), static fn ($r) => str_starts_with($r->action, 'event')));
    same(3, count($sent));
    foreach ($sent as $row) {
        truthy(str_starts_with($row->response, 'HTTP 202'), 'accepted: ' . $row->response);
    }
    Tester::$data['event_ids'] = $ids;
    same(0, (int) Capsule::table(\WHMCS\Module\Addon\WhmcsBridge\Breaker::TABLE)
        ->where('bridge', sha1(env_required('WB_BRIDGE_URL')))->value('open_until'), 'the cron\'s answer closed the circuit');
});

t('a second cron run sends nothing', function () {
    $mark = last_log_id();
    StandIn::runHook('AfterCronJob', []);
    same([], module_log($mark));
});
