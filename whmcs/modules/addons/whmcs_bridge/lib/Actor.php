<?php
/**
 * Who is making the current change, so the bridge can tell a client's own change from one made
 * on someone's behalf (contract: docs/CONTRACTS.md, "actor").
 *
 * WHMCS 8 exposes WHMCS\Authentication\CurrentUser; older installs (and odd entry points) fall
 * back to the session keys WHMCS has always set (`adminid`, `uid`). API calls come through
 * includes/api.php; cron and other command-line runs are the system.
 */

namespace WHMCS\Module\Addon\WhmcsBridge;

use WHMCS\Database\Capsule;

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

final class Actor
{
    public const TYPES = ['client', 'masquerading_admin', 'admin', 'api', 'system'];

    /** @return array{type: string, client_id: ?int, user_id: ?int, admin_id: ?int, admin_username: ?string} */
    public static function make(string $type, ?int $clientId = null, ?int $userId = null, ?int $adminId = null, ?string $adminUsername = null): array
    {
        return [
            'type' => in_array($type, self::TYPES, true) ? $type : 'system',
            'client_id' => $clientId,
            'user_id' => $userId,
            'admin_id' => $adminId,
            'admin_username' => $adminUsername,
        ];
    }

    /** Detect the actor of the current request; never throws (worst case: "system"). */
    public static function detect(): array
    {
        try {
            return self::detectOrFail();
        } catch (\Throwable $e) {
            return self::make('system');
        }
    }

    private static function detectOrFail(): array
    {
        $script = basename((string) ($_SERVER['SCRIPT_NAME'] ?? $_SERVER['SCRIPT_FILENAME'] ?? ''));
        if ($script === 'api.php') {
            return self::make('api');
        }

        if (class_exists('\WHMCS\Authentication\CurrentUser')) {
            $current = new \WHMCS\Authentication\CurrentUser();
            $admin = $current->isAuthenticatedAdmin() ? $current->admin() : null;
            $client = self::id($current->client());
            if ($current->isMasqueradingAdmin()) {
                return self::make('masquerading_admin', $client, self::id($current->user()),
                    self::id($admin), self::username($admin));
            }
            if ($current->isAuthenticatedUser()) {
                return self::make('client', $client, self::id($current->user()));
            }
            if ($admin !== null) {
                return self::make('admin', null, null, self::id($admin), self::username($admin));
            }
        } else {
            $adminId = isset($_SESSION['adminid']) ? (int) $_SESSION['adminid'] : 0;
            $clientId = isset($_SESSION['uid']) ? (int) $_SESSION['uid'] : 0;
            if ($adminId > 0 && $clientId > 0) {
                return self::make('masquerading_admin', $clientId, null, $adminId, self::adminUsername($adminId));
            }
            if ($clientId > 0) {
                return self::make('client', $clientId);
            }
            if ($adminId > 0) {
                return self::make('admin', null, null, $adminId, self::adminUsername($adminId));
            }
        }
        return self::make('system'); // cron, command line, or nobody logged in
    }

    private static function id(mixed $model): ?int
    {
        if (is_object($model) && isset($model->id) && is_numeric($model->id)) {
            return (int) $model->id;
        }
        return null;
    }

    private static function username(mixed $admin): ?string
    {
        if (is_object($admin) && isset($admin->username) && is_string($admin->username)) {
            return $admin->username;
        }
        return null;
    }

    private static function adminUsername(int $adminId): ?string
    {
        try {
            $name = Capsule::table('tbladmins')->where('id', $adminId)->value('username');
        } catch (\Throwable $e) {
            return null;
        }
        return is_string($name) && $name !== '' ? $name : null;
    }

    /**
     * The client a gate is about: from $vars when WHMCS gives it, else from the actor, else from
     * the admin page's request (clientsprofile.php?userid=N).
     */
    public static function clientIdFor(array $vars, array $actor): ?int
    {
        foreach (['userid', 'clientId', 'client_id', 'clientid'] as $key) {
            if (isset($vars[$key]) && is_numeric($vars[$key]) && (int) $vars[$key] > 0) {
                return (int) $vars[$key];
            }
        }
        if (isset($vars['params']) && is_array($vars['params'])) {
            return self::clientIdFor($vars['params'], $actor);
        }
        if ($actor['client_id'] !== null) {
            return $actor['client_id'];
        }
        $fromRequest = $_REQUEST['userid'] ?? null;
        return is_numeric($fromRequest) && (int) $fromRequest > 0 ? (int) $fromRequest : null;
    }
}
