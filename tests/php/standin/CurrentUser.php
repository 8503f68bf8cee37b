<?php
/**
 * Stand-in for WHMCS\Authentication\CurrentUser (WHMCS 8+). Tests set who is "logged in"
 * through the static StandIn::login*() helpers; the module only calls the documented methods.
 */

namespace WHMCS\Authentication;

final class CurrentUser
{
    /** @var array{user: ?object, client: ?object, admin: ?object, masquerading: bool} */
    public static array $state = ['user' => null, 'client' => null, 'admin' => null, 'masquerading' => false];

    public function isAuthenticatedUser(): bool
    {
        return self::$state['user'] !== null;
    }

    public function isAuthenticatedAdmin(): bool
    {
        return self::$state['admin'] !== null;
    }

    public function isMasqueradingAdmin(): bool
    {
        return self::$state['masquerading'];
    }

    public function user(): ?object
    {
        return self::$state['user'];
    }

    public function client(): ?object
    {
        return self::$state['client'];
    }

    public function admin(): ?object
    {
        return self::$state['admin'];
    }
}
