<?php
/**
 * Module identity: name, version and the User-Agent every request carries.
 *
 * The bridge stores the User-Agent of each event (`events.source`) and `whmcs-bridge doctor`
 * shows the newest one, so an admin can see which module version is calling in.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

final class Module
{
    public const NAME = 'whmcs_bridge';
    public const VERSION = '1.1.0';

    /** `whmcs-bridge-addon/<module version> WHMCS/<whmcs version>` (contract in CONTRACTS.md). */
    public static function userAgent(): string
    {
        return 'whmcs-bridge-addon/' . self::VERSION . ' WHMCS/' . self::whmcsVersion();
    }

    /** WHMCS's own version ("8.10.1"), or "unknown" when it cannot be read. */
    public static function whmcsVersion(): string
    {
        $raw = '';
        $config = $GLOBALS['CONFIG'] ?? null;
        if (is_array($config) && isset($config['Version']) && is_string($config['Version'])) {
            $raw = $config['Version'];
        }
        if ($raw === '' && class_exists('\WHMCS\Database\Capsule')) {
            try {
                $value = \WHMCS\Database\Capsule::table('tblconfiguration')
                    ->where('setting', 'Version')->value('value');
                $raw = is_string($value) ? $value : '';
            } catch (\Throwable $e) {
                $raw = '';
            }
        }
        return self::cleanVersion($raw);
    }

    /** "8.10.1-release.1" -> "8.10.1"; anything unexpected -> "unknown" (keeps the header tidy). */
    public static function cleanVersion(string $raw): string
    {
        return preg_match('/^\d+(\.\d+){0,3}/', trim($raw), $m) === 1 ? $m[0] : 'unknown';
    }
}
