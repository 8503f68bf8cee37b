<?php
/**
 * The module's settings, read from `tbladdonmodules` (hooks do not get `$vars`) and parsed by a
 * pure function so the rules (defaults, fail mode, hook selection) are tested without a database.
 */

namespace WHMCS\Module\Addon\WhmcsBridge;

use WHMCS\Database\Capsule;

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

final class Settings
{
    public const DEFAULT_TIMEOUT_MS = 2500;
    public const MIN_TIMEOUT_MS = 200;
    public const MAX_TIMEOUT_MS = 10000;

    private static ?Settings $cached = null;

    /**
     * @param list<string> $forwarded hook names to forward
     */
    public function __construct(
        public readonly string $bridgeUrl,
        public readonly string $secret,
        public readonly string $token,
        public readonly int $timeoutMs,
        public readonly string $failMode,
        public readonly array $forwarded,
        public readonly string $logLevel,
        public readonly string $dashboardUrl,
        public readonly string $panelPosition,
    ) {
    }

    /** Parse raw setting values (strings as WHMCS stores them); unknown/empty -> defaults. */
    public static function fromArray(array $raw): self
    {
        $str = static fn (string $key): string => trim((string) ($raw[$key] ?? ''));

        $timeout = $str('timeout_ms');
        $timeoutMs = preg_match('/^\d{1,6}$/', $timeout) === 1 ? (int) $timeout : self::DEFAULT_TIMEOUT_MS;
        $timeoutMs = max(self::MIN_TIMEOUT_MS, min(self::MAX_TIMEOUT_MS, $timeoutMs));

        // Anything but an explicit "open" fails closed: a typo must not open the gates.
        $failMode = strtolower($str('fail_mode')) === 'open' ? 'open' : 'closed';

        $logLevel = strtolower($str('log_level'));
        if (!in_array($logLevel, ['off', 'errors', 'all'], true)) {
            $logLevel = 'errors';
        }

        $position = strtolower($str('panel_position'));
        if (!in_array($position, ['main', 'sidebar', 'both', 'off'], true)) {
            $position = 'main';
        }

        $bridgeUrl = rtrim($str('bridge_url'), '/');
        $dashboard = rtrim($str('dashboard_url'), '/');

        return new self(
            $bridgeUrl,
            self::reveal($str('webhook_secret')),
            self::reveal($str('api_token')),
            $timeoutMs,
            $failMode,
            self::parseHooks($raw['forward_hooks'] ?? null),
            $logLevel,
            $dashboard !== '' ? $dashboard : $bridgeUrl,
            $position,
        );
    }

    /**
     * The hooks to forward: a comma/space/newline separated list; empty or "*" means all.
     * Names that are not forwardable are ignored (a typo forwards nothing extra).
     *
     * @return list<string>
     */
    public static function parseHooks(mixed $value): array
    {
        $text = trim((string) ($value ?? ''));
        if ($text === '' || $text === '*') {
            return HookList::FORWARDED;
        }
        $wanted = preg_split('/[\s,;]+/', $text, -1, PREG_SPLIT_NO_EMPTY) ?: [];
        return array_values(array_intersect(HookList::FORWARDED, $wanted));
    }

    /**
     * `password` fields may be stored encrypted (UNVERIFIED in the reference); when WHMCS's
     * decrypt() helper exists and yields something, use that, else the stored text.
     */
    private static function reveal(string $value): string
    {
        if ($value === '' || str_starts_with($value, 'whsec_') || !function_exists('decrypt')) {
            return $value;
        }
        try {
            $plain = decrypt($value);
        } catch (\Throwable $e) {
            return $value;
        }
        return is_string($plain) && $plain !== '' ? $plain : $value;
    }

    /** Settings of this request (one query per page load). */
    public static function load(): self
    {
        if (self::$cached === null) {
            $rows = Capsule::table('tbladdonmodules')->where('module', Module::NAME)
                ->pluck('value', 'setting');
            self::$cached = self::fromArray(is_array($rows) ? $rows : $rows->all());
        }
        return self::$cached;
    }

    /** Drop the per-request cache (settings saved, or a test changing them). */
    public static function forget(): void
    {
        self::$cached = null;
    }

    public function isConfigured(): bool
    {
        return $this->bridgeUrl !== '' && $this->secret !== '';
    }

    public function forwards(string $hook): bool
    {
        return in_array($hook, $this->forwarded, true);
    }

    public function failsClosed(): bool
    {
        return $this->failMode !== 'open';
    }

    /** Secrets to blank out of module-log entries (logModuleCall's $replaceVars). */
    public function secrets(): array
    {
        return array_values(array_filter([$this->secret, $this->token], static fn ($s) => $s !== ''));
    }
}
