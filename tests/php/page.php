<?php
/**
 * One WHMCS page in a process of its own, so PHP's real shutdown runs at its end: fires one hook
 * through the real module and exits. With "fpm", a stand-in fastcgi_finish_request() (PHP-FPM
 * has it; the CLI has not) writes {"method": "FINISH"} to $WB_FAKE_LOG when called, so the test
 * sees whether the page was released before the bridge was called.
 * Prints JSON: the hook's return values and the spool as the page ends (before shutdown).
 * Usage: php page.php <stand-in db file> <hook> <vars json> [fpm]
 */

require __DIR__ . '/standin/whmcs.php';

use WHMCS\Database\Capsule;

if (($argv[4] ?? '') === 'fpm') {
    function fastcgi_finish_request(): bool
    {
        file_put_contents((string) getenv('WB_FAKE_LOG'), json_encode(['method' => 'FINISH']) . "\n", FILE_APPEND | LOCK_EX);
        return true;
    }
}

StandIn::boot($argv[1]);
StandIn::loadModule();
$results = StandIn::runHook($argv[2], json_decode($argv[3], true));
echo json_encode(['results' => $results,
    'spool' => Capsule::table('mod_whmcs_bridge_spool')->orderBy('id')->get()->all()]), "\n";
