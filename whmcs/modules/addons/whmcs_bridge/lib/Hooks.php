<?php
/**
 * The hook callbacks hooks.php registers. Each one is a wall: whatever goes wrong inside (no
 * database, bad settings, a bug) is caught and logged, and WHMCS carries on. Only the gates'
 * fail mode may refuse on an error, because that is their job.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

final class Hooks
{
    /**
     * Take one event: spooled now, sent once the page has gone (Forwarder::forward). Returns
     * nothing to WHMCS (TicketPiping would read a return value).
     */
    public static function event(string $hook, array $vars): void
    {
        try {
            $settings = Settings::load();
            (new Forwarder($settings, Http::forSettings($settings), new Log($settings)))->forward($hook, $vars);
        } catch (\Throwable $e) {
            self::swallow($hook, $e);
        }
    }

    /** Ask the bridge whether the change may go ahead; returns what WHMCS expects of the hook. */
    public static function gate(string $hook, array $vars): array
    {
        $actor = Actor::detect();
        try {
            $settings = Settings::load();
            $decision = (new Gate($settings, Http::forSettings($settings), new Log($settings)))->decide($hook, $vars, $actor);
            $fallback = $decision->fromFailMode ? 'fail_closed_message' : 'refused_message';
            return $decision->toHookResult($hook, Lang::get($fallback, Lang::current($actor)));
        } catch (\Throwable $e) {
            self::swallow($hook, $e);
            // Settings may be what failed: the documented default (closed) applies.
            $closed = true;
            try {
                $closed = Settings::load()->failsClosed();
            } catch (\Throwable $ignored) {
            }
            $fallback = Gate::fallback($closed, $actor, 'module_error');
            return $fallback->toHookResult($hook, Lang::get('fail_closed_message', Lang::current($actor)));
        }
    }

    /** Print the bridge panel on the admin ticket page ("main") or its sidebar. */
    public static function panel(string $where, array $vars): string
    {
        try {
            $settings = Settings::load();
            $position = $settings->panelPosition;
            if ($position === 'off' || ($position !== 'both' && $position !== $where)) {
                return '';
            }
            $ticketId = (int) ($vars['ticketid'] ?? 0);
            $actor = Actor::detect();
            $adminId = (int) ($actor['admin_id'] ?? ($_SESSION['adminid'] ?? 0));
            $panel = new Panel($settings, Http::forSettings($settings), new Log($settings));
            return $panel->render($ticketId, Lang::current($actor), $adminId, (string) session_id());
        } catch (\Throwable $e) {
            self::swallow('panel', $e);
            return Panel::notice(Lang::get('bridge_unavailable'));
        }
    }

    /** Re-send spooled events (AfterCronJob). */
    public static function cron(): void
    {
        try {
            $settings = Settings::load();
            (new Forwarder($settings, Http::forSettings($settings), new Log($settings)))->flushSpool();
        } catch (\Throwable $e) {
            self::swallow('AfterCronJob', $e);
        }
    }

    private static function swallow(string $where, \Throwable $e): void
    {
        $message = get_class($e) . ': ' . $e->getMessage();
        try {
            (new Log(Settings::load()))->error($where, $message);
        } catch (\Throwable $ignored) {
            Log::activity('whmcs-bridge ' . $where . ' failed: ' . Text::cut($message, 200));
        }
    }
}
