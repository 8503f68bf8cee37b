<?php
/**
 * Who is making the current change, so the bridge can tell a client's own change from one made
 * on someone's behalf (contract: docs/CONTRACTS.md, "actor").
 *
 * WHMCS 8 exposes WHMCS\Authentication\CurrentUser; older installs (and odd entry points) fall
 * back to the session keys WHMCS has always set (`adminid`, `uid`). API calls come through
 * includes/api.php; cron and other command-line runs are the system.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

use WHMCS\Database\Capsule;

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

    /**
     * Where the request runs: "api" (includes/api.php), "admin" (a page of the admin folder,
     * which WHMCS marks with the ADMINAREA constant) or "client" (anything else: client area,
     * cart, gateway callbacks, cron). Pure: the caller passes the request's facts.
     */
    public static function area(string $scriptName, bool $adminAreaConstant, string $adminFolder): string
    {
        $script = str_replace('\\', '/', $scriptName);
        if (basename($script) === 'api.php') {
            return 'api';
        }
        if ($adminAreaConstant) {
            return 'admin';
        }
        $folder = trim($adminFolder, '/');
        return $folder !== '' && basename(dirname($script)) === $folder ? 'admin' : 'client';
    }

    /** The area of the current request (see area()). */
    public static function currentArea(): string
    {
        return self::area((string) ($_SERVER['SCRIPT_NAME'] ?? $_SERVER['SCRIPT_FILENAME'] ?? ''),
            defined('ADMINAREA'), self::adminFolder());
    }

    /** WHMCS's admin folder name ($customadminpath in configuration.php; "admin" by default). */
    private static function adminFolder(): string
    {
        try {
            if (class_exists('\App') && method_exists('\App', 'get_admin_folder_name')) {
                $name = \App::get_admin_folder_name();
                if (is_string($name) && $name !== '') {
                    return $name;
                }
            }
        } catch (\Throwable $e) {
        }
        $custom = $GLOBALS['customadminpath'] ?? null;
        return is_string($custom) && $custom !== '' ? $custom : 'admin';
    }

    private static function detectOrFail(): array
    {
        $area = self::currentArea();
        if ($area === 'api') {
            return self::make('api');
        }

        // An admin who used "Login as Owner" keeps that client session while working in the
        // admin area: there the admin acts as staff on the client of the page, not as the owner.
        if (class_exists('\WHMCS\Authentication\CurrentUser')) {
            $current = new \WHMCS\Authentication\CurrentUser();
            $admin = $current->isAuthenticatedAdmin() ? $current->admin() : null;
            if ($area === 'admin' && $admin !== null) {
                return self::make('admin', null, null, self::id($admin), self::username($admin));
            }
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
            if ($adminId > 0 && ($area === 'admin' || $clientId === 0)) {
                return self::make('admin', null, null, $adminId, self::adminUsername($adminId));
            }
            if ($adminId > 0) {
                return self::make('masquerading_admin', $clientId, null, $adminId, self::adminUsername($adminId));
            }
            if ($clientId > 0) {
                return self::make('client', $clientId);
            }
        }
        return self::make('system'); // cron, a gateway callback, or nobody logged in
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

    /** Actor types the gates' fail mode may refuse: staff and the API. */
    public const FAIL_MODE_REFUSES = ['admin', 'masquerading_admin', 'api'];

    /** Sign-up pages per area, where ClientDetailsValidation runs before a client is added. */
    public const SIGNUP_PAGES = ['client' => ['register.php', 'cart.php'], 'admin' => ['clientsadd.php']];

    /**
     * The client a gate is about: from $vars when WHMCS gives it, else from the actor, else from
     * the request (the admin page's clientsprofile.php?userid=N, API UpdateClient's clientid,
     * or its clientemail: "Either $clientid or $clientemail is required", api-reference/
     * updateclient.md). A target left unknown would reach the bridge as no client at all.
     */
    public static function clientIdFor(array $vars, array $actor): ?int
    {
        $fromVars = self::idIn($vars);
        if ($fromVars !== null) {
            return $fromVars;
        }
        if ($actor['client_id'] !== null) {
            return $actor['client_id'];
        }
        return self::idIn($_REQUEST) ?? self::clientIdByEmail($_REQUEST['clientemail'] ?? null);
    }

    /** The client whose e-mail address this is (tblclients), as UpdateClient looks it up. */
    private static function clientIdByEmail(mixed $email): ?int
    {
        if (!is_string($email) || trim($email) === '') {
            return null;
        }
        return self::positive(\WHMCS\Database\Capsule::table('tblclients')->where('email', trim($email))->value('id'));
    }

    /**
     * Whether this ClientDetailsValidation is about a client not yet added (sign-up, checkout
     * with a new account, the admin's Add New Client, API AddClient): WHMCS then gives no client
     * id, and the page is one that adds clients. An admin editing client B
     * (clientsprofile.php?userid=B) or a logged-in client editing their details is not new.
     * Pure: the caller passes the area, script and request.
     */
    public static function addsNewClient(string $hook, array $vars, array $actor, string $area, string $script, array $request): bool
    {
        if ($hook !== 'ClientDetailsValidation' || self::idIn($vars) !== null) {
            return false;
        }
        $page = basename(str_replace('\\', '/', $script));
        if ($area === 'api') {
            return strcasecmp(trim((string) ($request['action'] ?? '')), 'AddClient') === 0;
        }
        if ($area === 'admin') {
            return in_array($page, self::SIGNUP_PAGES['admin'], true) && self::positive($request['userid'] ?? null) === null;
        }
        return $actor['client_id'] === null && in_array($page, self::SIGNUP_PAGES['client'], true);
    }

    private static function idIn(array $vars): ?int
    {
        foreach (['userid', 'clientId', 'client_id', 'clientid'] as $key) {
            $id = self::positive($vars[$key] ?? null);
            if ($id !== null) {
                return $id;
            }
        }
        return isset($vars['params']) && is_array($vars['params']) ? self::idIn($vars['params']) : null;
    }

    private static function positive(mixed $value): ?int
    {
        return is_numeric($value) && (int) $value > 0 ? (int) $value : null;
    }
}
