<?php
/**
 * The module's settings, read from `tbladdonmodules` (hooks do not get `$vars`) and parsed by a
 * pure function so the rules (defaults, fail mode, hook selection) are tested without a database.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

use WHMCS\Database\Capsule;

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
            self::reveal($str('webhook_secret'), [self::class, 'isWebhookSecret']),
            self::reveal($str('api_token'), [self::class, 'isToken']),
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
     * WHMCS stores addon `password` settings as entered, and decrypt() corrupts a value that is
     * not its ciphertext (a 64-hex token comes back as garbage, then 401 everywhere). So the
     * stored value is used as it is; decrypt()'s output is taken only when the stored value is
     * not a valid secret and the decrypted one is (an install that did encrypt it).
     *
     * @param callable(string): bool $valid
     */
    public static function reveal(string $stored, callable $valid): string
    {
        if ($stored === '' || $valid($stored) || !function_exists('decrypt')) {
            return $stored;
        }
        try {
            $plain = decrypt($stored);
        } catch (\Throwable $e) {
            return $stored;
        }
        return is_string($plain) && $valid($plain) ? $plain : $stored;
    }

    /** A Standard Webhooks secret: whsec_ + base64 of at least 24 bytes (the bridge's own rule). */
    public static function isWebhookSecret(string $value): bool
    {
        if (!str_starts_with($value, 'whsec_')) {
            return false;
        }
        $key = base64_decode(substr($value, 6), true);
        return is_string($key) && strlen($key) >= 24;
    }

    /** A bearer token as the bridge issues them: 16 or more printable characters, no spaces. */
    public static function isToken(string $value): bool
    {
        return preg_match('/^[\x21-\x7e]{16,}$/', $value) === 1;
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
