<?php
/**
 * (d) Every gate against the real bridge, which decides from its verification store.
 * Env: WB_BRIDGE_URL, WB_SECRET, WB_CLIENT_BLOCKED (a client with an open unverified
 * account-change request on ticket WB_BLOCKING_TID), WB_CLIENT_FREE (a client with none),
 * WB_EXPECT = "refuse" (before verification) or "allow" (after it).
 */

use WHMCS\Module\Addon\WhmcsBridge\HookList;

$url = env_required('WB_BRIDGE_URL');
$blocked = (int) env_required('WB_CLIENT_BLOCKED');
$free = (int) env_required('WB_CLIENT_FREE');
$expect = env_required('WB_EXPECT');

/** Run one gate hook as the given actor; returns the hook's single result. */
function gate_as(string $hook, int $clientId, string $actor): array
{
    match ($actor) {
        'admin' => StandIn::loginAdmin(1, 'alice'),
        'masquerading_admin' => StandIn::masquerade(1, 'alice', $clientId, 500 + $clientId),
        'client' => StandIn::loginClient($clientId, 500 + $clientId),
        'api' => $_SERVER['SCRIPT_NAME'] = '/includes/api.php',
    };
    $vars = gate_vars($hook, $clientId);
    if ($actor === 'client' && $hook === 'ShoppingCartValidateUpgrade') {
        unset($vars['userid']); // WHMCS gives only id/pid; the client comes from the session
    }
    try {
        $results = StandIn::runHook($hook, $vars);
    } finally {
        StandIn::logout();
        unset($_SERVER['SCRIPT_NAME']);
    }
    same(1, count($results), "one callback on {$hook}");
    return $results[0];
}

function assert_refused(string $hook, array $result, string $tid): void
{
    // the refusal must be the bridge's decision, not the fail mode: the logged answer says so
    $logged = \WHMCS\Database\Capsule::table('tblmodulelog')->where('action', 'gate ' . $hook)->orderBy('id', 'desc')->first();
    truthy($logged !== null, "{$hook}: request logged");
    truthy(str_starts_with($logged->response, 'HTTP 200'), "{$hook}: bridge answered 200, got " . substr($logged->response, 0, 200));
    truthy(preg_match('/"allow"\s*:\s*false/', $logged->response) === 1, "{$hook}: bridge said allow=false");
    if (in_array($hook, HookList::ABORT_GATES, true)) {
        same(true, $result['abortcmd'] ?? null, "{$hook}: abortcmd (admin, API and cron paths)");
        contains($tid, (string) ($result['abortWithError'] ?? ''), "{$hook}: abortWithError carries the bridge's message");
        return;
    }
    same(1, count($result), "{$hook}: one error");
    contains($tid, $result[0], "{$hook}: the bridge's message names the ticket");
    lacks('cannot confirm', $result[0], "{$hook}: not the fail-mode message");
}

t("gates about a client with nothing pending allow, for every actor", function () use ($url, $free) {
    configure($url);
    foreach (HookList::gates() as $hook) {
        foreach (['admin', 'masquerading_admin', 'api'] as $actor) {
            same([], gate_as($hook, $free, $actor), "{$hook} as {$actor}");
        }
    }
});

t("the client's own logged-in change is allowed even while verification is pending", function () use ($url, $blocked) {
    configure($url);
    foreach (['ClientDetailsValidation', 'ContactDetailsValidation', 'ShoppingCartValidateUpgrade'] as $hook) {
        same([], gate_as($hook, $blocked, 'client'), $hook);
    }
});

if ($expect === 'refuse') {
    t('staff, a masquerading admin and the API are refused with the bridge\'s message', function () use ($url, $blocked) {
        configure($url);
        $tid = env_required('WB_BLOCKING_TID');
        $mark = last_log_id();
        foreach (HookList::gates() as $hook) {
            foreach (['admin', 'masquerading_admin', 'api'] as $actor) {
                assert_refused($hook, gate_as($hook, $blocked, $actor), $tid);
            }
        }
        $activity = \WHMCS\Database\Capsule::table('tblactivitylog')->where('userid', 0)->orderBy('id', 'desc')->value('description');
        contains('refused', (string) $activity, 'refusals are written to the activity log');
        foreach (module_log($mark) as $row) {
            lacks('svc-secret', $row->request, 'service passwords never leave WHMCS');
            lacks('root-secret', $row->request, 'server passwords never leave WHMCS');
        }
    });
} else {
    t('after verification, staff changes for the verified change kinds are allowed', function () use ($url, $blocked) {
        configure($url);
        foreach (HookList::gates() as $hook) {
            same([], gate_as($hook, $blocked, 'admin'), $hook);
        }
    });
}
