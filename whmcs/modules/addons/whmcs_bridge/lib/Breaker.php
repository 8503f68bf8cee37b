<?php
/**
 * The circuit breaker every WHMCS request shares (one row per bridge URL in the module's own
 * table), so that a bridge that is down costs WHMCS one timeout per back-off period instead of
 * one per hook call.
 *
 * Closed: calls go ahead. A call that gets no answer, a 5xx, 408 or 429 (Response::isRetryable)
 * opens the circuit for openSeconds(failures): while it is open, live event sends and gates skip
 * the bridge (events stay in the spool, gates apply the fail mode at once). Once the period has
 * passed, exactly one request wins the probe (an atomic UPDATE on the row); its answer closes
 * the circuit, or opens it again for a longer period. Any answer at all (2xx, 4xx) means the
 * bridge is up. The cron's spool flush and the admin page's connection test always call, and
 * their result is recorded like any other.
 *
 * A missing table (module not upgraded yet) or a database error makes the breaker permissive:
 * the module then behaves as it did without one. Never throws.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

use WHMCS\Database\Capsule;

final class Breaker
{
    public const TABLE = 'mod_whmcs_bridge_circuit';
    public const BASE_OPEN = 30;          // seconds open after the first failure
    public const MAX_OPEN = 300;          // cap of the doubling
    public const PROBE_LEASE = 60;        // a probe that died is replaced after this (> the 10 s max timeout)

    /** The row as last read or written by this instance; null = closed (no row). */
    private ?object $row = null;
    private bool $loaded = false;
    private bool $probing = false;

    public function __construct(
        private readonly string $bridgeUrl,
        private readonly Log $log,
    ) {
    }

    public static function forSettings(Settings $settings, Log $log): self
    {
        return new self($settings->bridgeUrl, $log);
    }

    public static function createTable(): void
    {
        if (Capsule::schema()->hasTable(self::TABLE)) {
            return;
        }
        Capsule::schema()->create(self::TABLE, function ($table) {
            $table->string('bridge', 40)->unique();   // sha1 of the bridge URL
            $table->unsignedInteger('failures')->default(0);
            $table->unsignedInteger('open_until')->default(0);
            $table->unsignedInteger('probe_until')->default(0);
            $table->unsignedInteger('opened_at')->default(0);
            $table->string('last_error', 255)->default('');
        });
    }

    public static function dropTable(): void
    {
        Capsule::schema()->dropIfExists(self::TABLE);
    }

    /** How long the circuit stays open after the n-th failure in a row: 30, 60, 120, 240, 300 s. Pure. */
    public static function openSeconds(int $failures): int
    {
        $exp = min(max($failures, 1) - 1, 8);
        return min(self::BASE_OPEN * (2 ** $exp), self::MAX_OPEN);
    }

    /**
     * May this request call the bridge now? True while closed, and for the one request that wins
     * the probe once the open period has passed; false for everyone else while it is open.
     */
    public function allows(int $now): bool
    {
        $this->probing = false;
        $row = $this->read();
        if ($row === null || (int) $row->open_until === 0) {
            return true;
        }
        if ($now < (int) $row->open_until || (int) $row->probe_until > $now) {
            return false;
        }
        try {
            $won = Capsule::table(self::TABLE)->where('bridge', $this->key())
                ->where('open_until', (int) $row->open_until)->where('probe_until', (int) $row->probe_until)
                ->update(['probe_until' => $now + self::PROBE_LEASE]);
        } catch (\Throwable $e) {
            return true;
        }
        $this->probing = $won === 1;
        return $this->probing;
    }

    /** Did the last allows() make this request the probe? */
    public function probing(): bool
    {
        return $this->probing;
    }

    /** Record what the bridge did: no answer or a retryable status is a failure, anything else success. */
    public function record(Response $answer, int $now): void
    {
        if ($answer->isRetryable()) {
            $this->failure($answer->describe(), $now);
        } else {
            $this->success($now);
        }
    }

    /** The bridge answered: close the circuit (no write when it was closed already). */
    public function success(int $now): void
    {
        $this->probing = false;
        $row = $this->loaded ? $this->row : $this->read();
        if ($row === null || ((int) $row->open_until === 0 && (int) $row->failures === 0)) {
            return;
        }
        $this->write(['failures' => 0, 'open_until' => 0, 'probe_until' => 0, 'last_error' => '']);
        Log::activity(sprintf('whmcs-bridge: the bridge answers again; circuit closed (it opened %s UTC after: %s)',
            gmdate('Y-m-d H:i:s', (int) $row->opened_at), (string) $row->last_error));
    }

    /** The bridge failed: open the circuit for the next back-off period and say so once. */
    public function failure(string $why, int $now): void
    {
        $this->probing = false;
        $row = $this->loaded ? $this->row : $this->read();
        $failures = (int) ($row->failures ?? 0) + 1;
        $seconds = self::openSeconds($failures);
        $this->write(['failures' => $failures, 'open_until' => $now + $seconds, 'probe_until' => 0,
            'opened_at' => $now, 'last_error' => Text::cut($why, 255)]);
        $this->log->error('circuit', sprintf('bridge failed (%s): not called for %d s; events wait in the spool '
            . 'and gates apply the fail mode until one probe gets an answer', $why, $seconds));
    }

    /** @return array{open: bool, until: int, failures: int, error: string, opened_at: int} for the admin page */
    public function state(int $now): array
    {
        $row = $this->read();
        $until = (int) ($row->open_until ?? 0);
        return ['open' => $until !== 0, 'until' => $until, 'failures' => (int) ($row->failures ?? 0),
            'error' => (string) ($row->last_error ?? ''), 'opened_at' => (int) ($row->opened_at ?? 0)];
    }

    private function key(): string
    {
        return sha1($this->bridgeUrl);
    }

    private function read(): ?object
    {
        $this->loaded = true;
        try {
            $this->row = Capsule::table(self::TABLE)->where('bridge', $this->key())->first();
        } catch (\Throwable $e) {
            $this->row = null;
        }
        return $this->row;
    }

    /** Update this bridge's row, or insert it the first time (a concurrent insert is retried as an update). */
    private function write(array $values): void
    {
        try {
            $changed = Capsule::table(self::TABLE)->where('bridge', $this->key())->update($values);
            if ($changed === 0) {
                try {
                    Capsule::table(self::TABLE)->insert(array_merge(['bridge' => $this->key(), 'failures' => 0,
                        'open_until' => 0, 'probe_until' => 0, 'opened_at' => 0, 'last_error' => ''], $values));
                } catch (\Throwable $e) {
                    Capsule::table(self::TABLE)->where('bridge', $this->key())->update($values);
                }
            }
            $this->row = (object) array_merge((array) ($this->row ?? ['failures' => 0, 'open_until' => 0,
                'probe_until' => 0, 'opened_at' => 0, 'last_error' => '']), $values);
        } catch (\Throwable $e) {
            // no table yet (module not upgraded): behave as without a breaker
        }
    }
}
