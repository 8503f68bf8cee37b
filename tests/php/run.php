<?php
/**
 * PHP test runner: `php tests/php/run.php <suite>` with suites in tests/php/suites/<suite>.php.
 *
 * Environment: WB_DB (stand-in WHMCS database file; kept between suites so the spool survives
 * a bridge restart), WB_BRIDGE_URL / WB_SECRET / WB_TOKEN (the real bridge, for the
 * integration suites). Exit 0 when every test passed.
 */

require __DIR__ . '/standin/whmcs.php';
require __DIR__ . '/Tester.php';
require __DIR__ . '/helpers.php';

$suite = $argv[1] ?? '';
$file = __DIR__ . '/suites/' . basename($suite) . '.php';
if ($suite === '' || !is_file($file)) {
    fwrite(STDERR, "usage: php run.php <suite>   (suites: " . implode(', ', array_map(
        static fn ($f) => basename($f, '.php'), glob(__DIR__ . '/suites/*.php'))) . ")\n");
    exit(2);
}

$db = getenv('WB_DB') ?: tempnam(sys_get_temp_dir(), 'wb-whmcs-');
StandIn::boot($db);
StandIn::loadModule();
whmcs_bridge_activate();

require $file;
exit(Tester::finish());
