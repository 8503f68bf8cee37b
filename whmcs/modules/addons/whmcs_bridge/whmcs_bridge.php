<?php
/**
 * whmcs-bridge addon module: forwards WHMCS events to the whmcs-bridge service, asks it before
 * account changes (gates), and shows its SLA/verification panel on admin ticket pages.
 *
 * Setup > Addon Modules > whmcs-bridge: activate, then set the bridge URL, the webhook signing
 * secret (whsec_...) and the staff API token. See the project README, "Install in WHMCS".
 */

declare(strict_types=1);

use WHMCS\Module\Addon\WhmcsBridge\AdminPage;
use WHMCS\Module\Addon\WhmcsBridge\Breaker;
use WHMCS\Module\Addon\WhmcsBridge\HookList;
use WHMCS\Module\Addon\WhmcsBridge\Http;
use WHMCS\Module\Addon\WhmcsBridge\Lang;
use WHMCS\Module\Addon\WhmcsBridge\Log;
use WHMCS\Module\Addon\WhmcsBridge\Module;
use WHMCS\Module\Addon\WhmcsBridge\Settings;
use WHMCS\Module\Addon\WhmcsBridge\Spool;

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

require_once __DIR__ . '/lib/requirements.php';
require_once __DIR__ . '/lib/autoload.php';

// Below: PHP 7.1 syntax only, and no class but Module before the PHP check (lib/requirements.php).

function whmcs_bridge_config()
{
    $problem = whmcs_bridge_requirement_problem();
    if ($problem !== null) {
        return ['name' => 'whmcs-bridge', 'description' => $problem, 'version' => Module::VERSION,
            'author' => 'whmcs-bridge', 'language' => 'english', 'fields' => []];
    }
    return [
        'name' => 'whmcs-bridge',
        'description' => 'Support policy enforcement: forwards ticket and account events to whmcs-bridge, '
            . 'asks it before account changes, and shows SLA and verification on ticket pages.',
        'version' => Module::VERSION,
        'author' => 'whmcs-bridge',
        'language' => 'english',
        'fields' => [
            'bridge_url' => [
                'FriendlyName' => 'Bridge URL',
                'Type' => 'text',
                'Size' => '60',
                'Default' => 'https://bridge.example.com',
                'Description' => 'Base URL of whmcs-bridge serve (HTTPS in production).',
            ],
            'webhook_secret' => [
                'FriendlyName' => 'Webhook signing secret',
                'Type' => 'password',
                'Size' => '60',
                'Description' => 'whsec_... - the same value as WHMCS_BRIDGE_WEBHOOK_SECRET on the bridge.',
            ],
            'api_token' => [
                'FriendlyName' => 'Staff API token',
                'Type' => 'password',
                'Size' => '60',
                'Description' => 'One of WHMCS_BRIDGE_API_TOKEN; used for the ticket panel and verification.',
            ],
            'timeout_ms' => [
                'FriendlyName' => 'Timeout (ms)',
                'Type' => 'text',
                'Size' => '6',
                'Default' => (string) Settings::DEFAULT_TIMEOUT_MS,
                'Description' => 'Per request, ' . Settings::MIN_TIMEOUT_MS . '-' . Settings::MAX_TIMEOUT_MS
                    . '. Events are sent after the page has gone; those that fail are spooled and re-sent by the cron.',
            ],
            'fail_mode' => [
                'FriendlyName' => 'Gate fail mode',
                'Type' => 'dropdown',
                'Options' => ['closed' => 'closed: refuse account changes while the bridge is unreachable',
                    'open' => 'open: allow them (and log it)'],
                'Default' => 'closed',
            ],
            'forward_hooks' => [
                'FriendlyName' => 'Forwarded events',
                'Type' => 'textarea',
                'Rows' => '6',
                'Cols' => '60',
                'Default' => implode(', ', HookList::FORWARDED),
                'Description' => 'Hook names, comma or newline separated; empty or * = all.',
            ],
            'log_level' => [
                'FriendlyName' => 'Module log',
                'Type' => 'dropdown',
                'Options' => ['errors' => 'errors only', 'all' => 'every request', 'off' => 'off'],
                'Default' => 'errors',
                'Description' => 'What goes to Utilities > Logs > Module Log (secrets blanked), which WHMCS writes only '
                    . 'while Module Debug Mode is on. Errors always reach the Activity Log and this module\'s page.',
            ],
            'panel_position' => [
                'FriendlyName' => 'Ticket panel',
                'Type' => 'dropdown',
                'Options' => ['main' => 'above the ticket', 'sidebar' => 'in the sidebar', 'both' => 'both', 'off' => 'off'],
                'Default' => 'main',
            ],
            'dashboard_url' => [
                'FriendlyName' => 'Dashboard URL',
                'Type' => 'text',
                'Size' => '60',
                'Description' => 'Public base URL for the dashboard link, if not the bridge URL.',
            ],
        ],
    ];
}

function whmcs_bridge_activate()
{
    $problem = whmcs_bridge_requirement_problem();
    if ($problem !== null) {
        return ['status' => 'error', 'description' => $problem];
    }
    try {
        Spool::createTable();
        Log::createTable();
        Breaker::createTable();
        return ['status' => 'success', 'description' => 'whmcs-bridge activated. Configure the bridge URL, secret and token.'];
    } catch (\Throwable $e) {
        return ['status' => 'error', 'description' => 'Could not create the module tables: ' . $e->getMessage()];
    }
}

function whmcs_bridge_deactivate()
{
    $problem = whmcs_bridge_requirement_problem();
    if ($problem !== null) {
        return ['status' => 'success', 'description' => 'whmcs-bridge deactivated; its tables were left in place. ' . $problem];
    }
    try {
        Spool::dropTable();
        Log::dropTable();
        Breaker::dropTable();
        return ['status' => 'success', 'description' => 'whmcs-bridge deactivated; its spool, error and circuit tables were removed.'];
    } catch (\Throwable $e) {
        return ['status' => 'error', 'description' => 'Could not drop the module tables: ' . $e->getMessage()];
    }
}

/** Schema changes between versions; every step is idempotent ($vars['version'] = the old one). */
function whmcs_bridge_upgrade($vars)
{
    if (whmcs_bridge_requirement_problem() !== null) {
        return;
    }
    try {
        // 1.0.0: spool and error tables (created here too for installs activated before they existed)
        Spool::createTable();
        Log::createTable();
        // 1.1.0: the circuit breaker's table (until it exists, the module runs without a breaker)
        Breaker::createTable();
    } catch (\Throwable $e) {
        if (function_exists('logActivity')) {
            logActivity('whmcs-bridge upgrade from ' . ($vars['version'] ?? '?') . ' failed: ' . $e->getMessage());
        }
    }
}

function whmcs_bridge_output($vars)
{
    $problem = whmcs_bridge_requirement_problem();
    if ($problem !== null) {
        echo '<div class="alert alert-danger">' . htmlspecialchars($problem, ENT_QUOTES) . '</div>';
        return;
    }
    try {
        Settings::forget();
        $settings = Settings::fromArray(is_array($vars) ? $vars : []);
        $adminId = (int) ($_SESSION['adminid'] ?? 0);
        $page = new AdminPage($settings, Http::forSettings($settings), new Log($settings),
            Lang::current(), $adminId, (string) session_id());
        echo $page->handle((string) ($_SERVER['REQUEST_METHOD'] ?? 'GET'), $_GET, $_POST);
    } catch (\Throwable $e) {
        echo '<div class="alert alert-danger">whmcs-bridge: ' . htmlspecialchars($e->getMessage(), ENT_QUOTES) . '</div>';
    }
}
