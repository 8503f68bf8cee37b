<?php
/**
 * (d) part 2, the real bridge is stopped: every gate applies the fail mode, closed refuses and
 * open allows. Env: WB_BRIDGE_URL (nothing listening).
 */

use WHMCS\Module\Addon\WhmcsBridge\HookList;

$url = env_required('WB_BRIDGE_URL');

t('fail mode closed: every gate refuses while the bridge is down', function () use ($url) {
    configure($url, ['timeout_ms' => '1000', 'fail_mode' => 'closed']);
    StandIn::loginAdmin(1, 'alice');
    foreach (HookList::ERROR_GATES as $hook) {
        $result = StandIn::runHook($hook, gate_vars($hook, 4242))[0];
        same(1, count($result), "{$hook} refuses");
        contains('cannot confirm', $result[0], $hook);
    }
    foreach (HookList::ABORT_GATES as $hook) {
        $result = StandIn::runHook($hook, gate_vars($hook, 4242))[0];
        same(true, $result['abortcmd'] ?? null, $hook);
        contains('cannot confirm', (string) ($result['abortWithError'] ?? ''), $hook);
    }
    StandIn::logout();
});

t('fail mode open: every gate allows while the bridge is down', function () use ($url) {
    configure($url, ['timeout_ms' => '1000', 'fail_mode' => 'open']);
    StandIn::loginAdmin(1, 'alice');
    foreach (HookList::gates() as $hook) {
        same([], StandIn::runHook($hook, gate_vars($hook, 4242))[0], $hook);
    }
    StandIn::logout();
});
