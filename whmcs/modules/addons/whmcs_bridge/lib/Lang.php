<?php
/**
 * The module's strings (lang/<language>.php, WHMCS's $_ADDONLANG convention) for places that
 * get no `$vars['_lang']`: hooks. English is the fallback for every key.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

use WHMCS\Database\Capsule;

final class Lang
{
    /** @var array<string, array<string, string>> */
    private static array $loaded = [];

    /** @return array<string, string> */
    public static function strings(string $language): array
    {
        $language = preg_replace('/[^a-z]/', '', strtolower($language)) ?: 'english';
        if (!isset(self::$loaded[$language])) {
            $file = dirname(__DIR__) . '/lang/' . $language . '.php';
            $_ADDONLANG = [];
            if (is_file($file)) {
                include $file;
            }
            self::$loaded[$language] = is_array($_ADDONLANG) ? $_ADDONLANG : [];
        }
        return self::$loaded[$language];
    }

    public static function get(string $key, string $language = 'english'): string
    {
        return self::strings($language)[$key] ?? self::strings('english')[$key] ?? $key;
    }

    /** "vi" or "en", the panel's `lang` query value, for a WHMCS language name. */
    public static function code(string $language): string
    {
        return str_starts_with(strtolower($language), 'vietnam') ? 'vi' : 'en';
    }

    /** The language of the person in front of the screen (client session, else admin profile). */
    public static function current(?array $actor = null): string
    {
        $session = $_SESSION['Language'] ?? ($_SESSION['adminlang'] ?? null);
        if (is_string($session) && $session !== '') {
            return strtolower($session);
        }
        $adminId = $actor['admin_id'] ?? (isset($_SESSION['adminid']) ? (int) $_SESSION['adminid'] : null);
        if ($adminId) {
            try {
                $lang = Capsule::table('tbladmins')->where('id', $adminId)->value('language');
                if (is_string($lang) && $lang !== '') {
                    return strtolower($lang);
                }
            } catch (\Throwable $e) {
            }
        }
        return 'english';
    }
}
