<?php
/**
 * The module's PHP requirement, checked before any class is loaded. The classes use PHP 8.1
 * syntax (readonly, promoted constructor properties); loading one on older PHP is a fatal
 * error inside a WHMCS page. This file, whmcs_bridge.php, hooks.php, lib/autoload.php and
 * lib/Module.php therefore keep to syntax PHP 7.1 parses (a unit test checks their tokens),
 * so the module can say why it will not run instead.
 */

declare(strict_types=1);

/** PHP_VERSION_ID the classes need (8.1.0). */
const WHMCS_BRIDGE_MIN_PHP_ID = 80100;

/** The running PHP; WHMCS_BRIDGE_PHP_VERSION_ID (defined only by the tests) stands in for it. */
function whmcs_bridge_php_version_id()
{
    return defined('WHMCS_BRIDGE_PHP_VERSION_ID') ? (int) WHMCS_BRIDGE_PHP_VERSION_ID : PHP_VERSION_ID;
}

/** Why the module cannot run on this PHP, or null when it can. */
function whmcs_bridge_requirement_problem($versionId = null)
{
    $id = $versionId === null ? whmcs_bridge_php_version_id() : (int) $versionId;
    if ($id >= WHMCS_BRIDGE_MIN_PHP_ID) {
        return null;
    }
    $running = intdiv($id, 10000) . '.' . intdiv($id % 10000, 100) . '.' . ($id % 100);
    return 'whmcs-bridge needs PHP 8.1 or later; this WHMCS runs PHP ' . $running
        . '. The module stays inactive (no hooks run) until PHP is upgraded (WHMCS 8.6 or later supports PHP 8.1).';
}

/**
 * Say it once in the Activity Log (hooks.php is loaded on every page): the last message logged
 * is kept as a module setting row, and only a different one is logged again.
 */
function whmcs_bridge_log_requirement_once($problem)
{
    if (!function_exists('logActivity') || !class_exists('\WHMCS\Database\Capsule')) {
        return;
    }
    try {
        $rows = function () {
            return \WHMCS\Database\Capsule::table('tbladdonmodules')->where('module', 'whmcs_bridge')
                ->where('setting', 'requirement_logged');
        };
        if ($rows()->value('value') === $problem) {
            return;
        }
        $rows()->delete();
        \WHMCS\Database\Capsule::table('tbladdonmodules')->insert(
            ['module' => 'whmcs_bridge', 'setting' => 'requirement_logged', 'value' => $problem]);
        logActivity($problem);
    } catch (\Exception $e) {
        // the database failing must not break the page
    } catch (\Throwable $e) {
    }
}
