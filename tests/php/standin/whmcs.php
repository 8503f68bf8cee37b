<?php
/**
 * The WHMCS stand-in: the functions and classes the module uses, backed by an SQLite file so
 * state (module settings, the spool) survives between test phases run as separate processes.
 *
 * Usage: require this file, then StandIn::boot($dbPath) and StandIn::loadModule().
 */

define('WHMCS', true);

require_once __DIR__ . '/Capsule.php';
require_once __DIR__ . '/CurrentUser.php';

use WHMCS\Authentication\CurrentUser;
use WHMCS\Database\Capsule;

$GLOBALS['CONFIG'] = ['Version' => '8.10.1-release.1'];

/** @var array<string, list<array{int, int, callable}>> hook point => [priority, order, callback] */
$GLOBALS['standin_hooks'] = [];

function add_hook(string $hookPointName, int $priority, callable $callback): void
{
    $GLOBALS['standin_hooks'][$hookPointName][] = [$priority, count($GLOBALS['standin_hooks'][$hookPointName] ?? []), $callback];
}

/** WHMCS writes the Module Log only while Module Debug Mode is on (Utilities > Logs > Module Log). */
function logModuleCall($module, $action, $request, $response, $processed = '', $replaceVars = []): void
{
    if (!StandIn::moduleDebug()) {
        return;
    }
    $scrub = static function ($value) use ($replaceVars) {
        $text = is_string($value) ? $value : json_encode($value);
        foreach ((array) $replaceVars as $secret) {
            if ($secret !== '' && $secret !== null) {
                $text = str_replace((string) $secret, '********', $text);
            }
        }
        return $text;
    };
    Capsule::table('tblmodulelog')->insert([
        'date' => gmdate('Y-m-d H:i:s'), 'module' => $module, 'action' => $action,
        'request' => $scrub($request), 'response' => $scrub($response), 'arrdata' => $scrub($processed),
    ]);
}

function logActivity($message, $userId = 0): void
{
    Capsule::table('tblactivitylog')->insert(['date' => gmdate('Y-m-d H:i:s'), 'description' => $message, 'userid' => (int) $userId]);
}

/**
 * WHMCS's decrypt(): it decodes only its own ciphertext (encrypt()'s output here); anything
 * else, such as a password setting stored as entered, comes back as garbage.
 */
function decrypt($value)
{
    $value = (string) $value;
    if (str_starts_with($value, StandIn::CIPHER_PREFIX)) {
        return (string) base64_decode(strrev(substr($value, strlen(StandIn::CIPHER_PREFIX))));
    }
    return substr(hash('sha256', $value, true), 0, 12);
}

function encrypt($value)
{
    return StandIn::CIPHER_PREFIX . strrev(base64_encode((string) $value));
}

final class StandIn
{
    public const CIPHER_PREFIX = 'wCipher:';

    /** What WHMCS shows staff when a hook aborts a module command with abortcmd. */
    public const ABORTED_BY_HOOK = 'Function Aborted by Action Hook Code';

    public const MODULE_DIR = __DIR__ . '/../../../whmcs/modules/addons/whmcs_bridge';

    /** The database file of this process (a page run in another process opens the same one). */
    public static string $dbPath = '';

    public static function boot(string $dbPath): void
    {
        self::$dbPath = $dbPath;
        Capsule::connect($dbPath);
        $pdo = Capsule::pdo();
        $pdo->exec('CREATE TABLE IF NOT EXISTS tbladdonmodules (module TEXT, setting TEXT, value TEXT)');
        $pdo->exec('CREATE TABLE IF NOT EXISTS tbladmins (id INTEGER PRIMARY KEY, username TEXT, language TEXT)');
        $pdo->exec('CREATE TABLE IF NOT EXISTS tblmodulelog (id INTEGER PRIMARY KEY AUTOINCREMENT, date TEXT, module TEXT, action TEXT, request TEXT, response TEXT, arrdata TEXT)');
        $pdo->exec('CREATE TABLE IF NOT EXISTS tblactivitylog (id INTEGER PRIMARY KEY AUTOINCREMENT, date TEXT, description TEXT, userid INTEGER)');
        $pdo->exec('CREATE TABLE IF NOT EXISTS tblconfiguration (setting TEXT PRIMARY KEY, value TEXT)');
        // WHMCS's clients table, with the two columns the module reads (UpdateClient by e-mail)
        $pdo->exec('CREATE TABLE IF NOT EXISTS tblclients (id INTEGER PRIMARY KEY, email TEXT)');
        $pdo->exec("INSERT OR IGNORE INTO tbladmins (id, username, language) VALUES (1, 'alice', 'english'), (2, 'binh', 'vietnamese')");
        if (session_status() === PHP_SESSION_NONE) {
            $GLOBALS['_SESSION'] = [];
        }
        self::logout();
    }

    /** Module Debug Mode (tblconfiguration ModuleDebugMode, off on a fresh install); set it when given. */
    public static function moduleDebug(?bool $on = null): bool
    {
        if ($on !== null) {
            Capsule::pdo()->prepare('INSERT OR REPLACE INTO tblconfiguration (setting, value) VALUES (?, ?)')
                ->execute(['ModuleDebugMode', $on ? 'on' : '']);
        }
        return Capsule::table('tblconfiguration')->where('setting', 'ModuleDebugMode')->value('value') === 'on';
    }

    /**
     * The page being served: a script path as the web server gives it ('/admin/clientsprofile.php'
     * is the admin area, '/includes/api.php' the API, '/clientarea.php', '/cart.php' ... the client
     * area) with its query; null = no web request (cron on the command line).
     */
    public static function request(?string $script, array $query = []): void
    {
        if ($script === null) {
            unset($_SERVER['SCRIPT_NAME']);
        } else {
            $_SERVER['SCRIPT_NAME'] = $script;
        }
        $_GET = $query;
        $_REQUEST = $query;
    }

    /** 'admin', 'api', 'client' or 'cron': the path a module command runs on. */
    public static function area(): string
    {
        $script = (string) ($_SERVER['SCRIPT_NAME'] ?? '');
        if ($script === '') {
            return 'cron';
        }
        if (basename($script) === 'api.php') {
            return 'api';
        }
        return basename(dirname($script)) === 'admin' ? 'admin' : 'client';
    }

    /**
     * Run a module command's Pre hook the way WHMCS does: the client-area service path aborts on
     * `abortWithError` (its message shown to the client) or `abortWithSuccess`; the admin, API and
     * cron paths abort on `abortcmd` and show staff only WHMCS's generic text.
     *
     * @return array{aborted: bool, message: string}
     */
    public static function moduleCommand(string $hook, array $vars): array
    {
        foreach (self::runHook($hook, $vars) as $result) {
            if (!is_array($result)) {
                continue;
            }
            if (self::area() === 'client') {
                if (isset($result['abortWithError']) && is_string($result['abortWithError']) && $result['abortWithError'] !== '') {
                    return ['aborted' => true, 'message' => $result['abortWithError']];
                }
                if (!empty($result['abortWithSuccess'])) {
                    return ['aborted' => true, 'message' => ''];
                }
            } elseif (($result['abortcmd'] ?? false) === true) {
                return ['aborted' => true, 'message' => self::ABORTED_BY_HOOK];
            }
        }
        return ['aborted' => false, 'message' => ''];
    }

    /** Load the real module files, as WHMCS does on an admin page. */
    public static function loadModule(): void
    {
        require_once self::MODULE_DIR . '/whmcs_bridge.php';
        require_once self::MODULE_DIR . '/hooks.php';
    }

    /** Save module settings the way WHMCS does (one tbladdonmodules row per field). */
    public static function settings(array $values): void
    {
        foreach ($values as $setting => $value) {
            Capsule::table('tbladdonmodules')->where('module', 'whmcs_bridge')->where('setting', $setting)->delete();
            Capsule::table('tbladdonmodules')->insert(['module' => 'whmcs_bridge', 'setting' => $setting, 'value' => (string) $value]);
        }
        \WHMCS\Module\Addon\WhmcsBridge\Settings::forget();
        \WHMCS\Module\Addon\WhmcsBridge\Panel::forget();
    }

    /** run_hook(): every callback of a hook point in priority order; their return values. */
    public static function runHook(string $hook, array $vars): array
    {
        $callbacks = $GLOBALS['standin_hooks'][$hook] ?? [];
        usort($callbacks, static fn ($a, $b) => [$a[0], $a[1]] <=> [$b[0], $b[1]]);
        $results = [];
        foreach ($callbacks as [, , $callback]) {
            $results[] = $callback($vars);
        }
        return $results;
    }

    /** @return list<string> hook points with at least one callback */
    public static function registeredHooks(): array
    {
        return array_keys($GLOBALS['standin_hooks']);
    }

    public static function logout(): void
    {
        CurrentUser::$state = ['user' => null, 'client' => null, 'admin' => null, 'masquerading' => false];
        $_SESSION = [];
    }

    public static function loginClient(int $clientId, int $userId): void
    {
        self::logout();
        CurrentUser::$state['user'] = (object) ['id' => $userId];
        CurrentUser::$state['client'] = (object) ['id' => $clientId];
    }

    public static function loginAdmin(int $adminId, string $username): void
    {
        self::logout();
        CurrentUser::$state['admin'] = (object) ['id' => $adminId, 'username' => $username];
        $_SESSION['adminid'] = $adminId;
    }

    public static function masquerade(int $adminId, string $username, int $clientId, int $userId): void
    {
        self::loginClient($clientId, $userId);
        CurrentUser::$state['admin'] = (object) ['id' => $adminId, 'username' => $username];
        CurrentUser::$state['masquerading'] = true;
        $_SESSION['adminid'] = $adminId;
    }
}
