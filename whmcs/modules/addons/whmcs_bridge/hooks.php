<?php
/**
 * whmcs-bridge hooks: forward events, ask the gates, show the ticket panel, retry the spool.
 * WHMCS loads this file on every page while the module is active; the callbacks live in
 * lib/Hooks.php and never throw into WHMCS.
 */

declare(strict_types=1);

use WHMCS\Module\Addon\WhmcsBridge\HookList;
use WHMCS\Module\Addon\WhmcsBridge\Hooks;

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

require_once __DIR__ . '/lib/requirements.php';

// On PHP older than the classes need, register nothing (a hook loading them would be a fatal
// error inside a WHMCS page) and say why once in the Activity Log.
$whmcsBridgeProblem = whmcs_bridge_requirement_problem();
if ($whmcsBridgeProblem !== null) {
    whmcs_bridge_log_requirement_once($whmcsBridgeProblem);
    unset($whmcsBridgeProblem);
    return;
}
unset($whmcsBridgeProblem);

require_once __DIR__ . '/lib/autoload.php';

foreach (HookList::FORWARDED as $whmcsBridgeHook) {
    add_hook($whmcsBridgeHook, 1, static function (array $vars) use ($whmcsBridgeHook) {
        Hooks::event($whmcsBridgeHook, $vars);
    });
}

foreach (HookList::gates() as $whmcsBridgeHook) {
    add_hook($whmcsBridgeHook, 1, static function (array $vars) use ($whmcsBridgeHook) {
        return Hooks::gate($whmcsBridgeHook, $vars);
    });
}

add_hook('AdminAreaViewTicketPage', 1, static function (array $vars) {
    return Hooks::panel('main', $vars);
});

add_hook('AdminAreaViewTicketPageSidebar', 1, static function (array $vars) {
    return Hooks::panel('sidebar', $vars);
});

add_hook(HookList::CRON, 1, static function (array $vars) {
    Hooks::cron();
});

unset($whmcsBridgeHook);
