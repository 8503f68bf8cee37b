<?php
/**
 * Loads the real module as WHMCS would on PHP 7.4 (WHMCS_BRIDGE_PHP_VERSION_ID stands in for
 * PHP_VERSION_ID): hooks.php on two page loads, then _config and _activate. Prints JSON for
 * tests/test_php_module.py. Usage: php old_php.php <stand-in db file>
 */

define('WHMCS_BRIDGE_PHP_VERSION_ID', 70433);
require __DIR__ . '/standin/whmcs.php';

use WHMCS\Database\Capsule;

StandIn::boot($argv[1]);
require StandIn::MODULE_DIR . '/whmcs_bridge.php';
include StandIn::MODULE_DIR . '/hooks.php';
include StandIn::MODULE_DIR . '/hooks.php';
$config = whmcs_bridge_config();
echo json_encode([
    'hooks' => StandIn::registeredHooks(),
    'activate' => whmcs_bridge_activate(),
    'config_description' => $config['description'],
    'config_fields' => $config['fields'],
    'activity' => Capsule::table('tblactivitylog')->orderBy('id')->get()->all(),
    'module_classes' => array_values(array_filter(get_declared_classes(),
        static fn ($c) => str_starts_with($c, 'WHMCS\\Module\\Addon\\WhmcsBridge\\'))),
]), "\n";
