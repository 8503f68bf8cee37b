<?php
/**
 * Loads the module's classes. WHMCS autoloads `WHMCS\Module\Addon\<Name>\` from lib/ by itself
 * on recent versions; this keeps older versions (and the test stand-in) working too.
 *
 * Unlike the class files (which only declare), this file does something when included, so it
 * refuses to run outside WHMCS like the entry files do.
 */

declare(strict_types=1);

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

spl_autoload_register(static function (string $class): void {
    $prefix = 'WHMCS\\Module\\Addon\\WhmcsBridge\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $file = __DIR__ . '/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require_once $file;
    }
});
