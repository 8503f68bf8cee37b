<?php
/**
 * Events the bridge did not take yet, in the module's own table, re-sent on AfterCronJob with
 * exponential backoff. Every event is written here first (hold(), inside the hook, before the
 * page ends) and sent from here once the page has gone (Forwarder::sendHeld), so a page that
 * dies, a bridge that is down or a circuit that is open loses nothing. The row keeps the event's webhook-id and body, so a retry is the same
 * event (the bridge stores it once) and only the timestamp and signature are new.
 *
 * Rows are `pending` (retried automatically) or `dead` (gave up, or the bridge refused with a
 * 4xx); dead rows stay for the admin to re-queue or purge from the module page.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

use WHMCS\Database\Capsule;

final class Spool
{
    public const TABLE = 'mod_whmcs_bridge_spool';
    public const MAX_ATTEMPTS = 50;          // ~2 days at the 1 h cap
    public const BASE_DELAY = 60;
    public const MAX_DELAY = 3600;
    public const LEASE = 300;                // a claimed or held row is retried after this if its run died
    public const DEAD_KEPT_DAYS = 30;

    public static function createTable(): void
    {
        if (Capsule::schema()->hasTable(self::TABLE)) {
            return;
        }
        Capsule::schema()->create(self::TABLE, function ($table) {
            $table->increments('id');
            $table->string('event_id', 64)->unique();
            $table->string('hook', 64);
            $table->mediumText('body');
            $table->string('status', 16)->default('pending');
            $table->unsignedInteger('attempts')->default(0);
            $table->unsignedInteger('next_attempt_at')->default(0);
            $table->integer('last_status')->default(0);
            $table->string('last_error', 255)->default('');
            $table->unsignedInteger('created_at')->default(0);
            $table->index(['status', 'next_attempt_at']);
        });
    }

    public static function dropTable(): void
    {
        Capsule::schema()->dropIfExists(self::TABLE);
    }

    /** Delay before attempt n+1 after n failed attempts: 60 s, 120 s, … capped at 1 h. Pure. */
    public static function backoffSeconds(int $attempts): int
    {
        $exp = min(max($attempts, 1) - 1, 16);
        return min(self::BASE_DELAY * (2 ** $exp), self::MAX_DELAY);
    }

    /**
     * Keep an event that this page will send once it has been sent (attempts 0). It is leased to
     * this request: the cron leaves it alone for LEASE seconds, then sends it if the page died.
     */
    public static function hold(string $eventId, string $hook, string $body, int $now): void
    {
        Capsule::table(self::TABLE)->insert([
            'event_id' => $eventId,
            'hook' => $hook,
            'body' => $body,
            'status' => 'pending',
            'attempts' => 0,
            'next_attempt_at' => $now + self::LEASE,
            'last_status' => 0,
            'last_error' => 'not sent yet: waiting for the end of the page',
            'created_at' => $now,
        ]);
    }

    /** One row by its event id (a held event, at the end of the page), or null if it is gone. */
    public static function find(string $eventId): ?object
    {
        return Capsule::table(self::TABLE)->where('event_id', $eventId)->first();
    }

    /** Not tried now (the circuit is open): due at the next cron run, attempts unchanged. */
    public static function postpone(object $row, string $why, int $now): void
    {
        Capsule::table(self::TABLE)->where('id', $row->id)->update([
            'next_attempt_at' => $now,
            'last_error' => self::short($why),
        ]);
    }

    /** Pending rows whose time has come, oldest first. @return list<object> */
    public static function due(int $now, int $limit): array
    {
        $rows = Capsule::table(self::TABLE)
            ->where('status', 'pending')
            ->where('next_attempt_at', '<=', $now)
            ->orderBy('id')
            ->limit($limit)
            ->get();
        return is_array($rows) ? $rows : $rows->all();
    }

    /**
     * Claim a row for this run (so two overlapping cron runs do not both send it): succeeds only
     * if nobody changed it since it was read.
     */
    public static function claim(object $row, int $now): bool
    {
        $changed = Capsule::table(self::TABLE)
            ->where('id', $row->id)
            ->where('status', 'pending')
            ->where('attempts', $row->attempts)
            ->where('next_attempt_at', $row->next_attempt_at)
            ->update(['next_attempt_at' => $now + self::LEASE]);
        return $changed === 1;
    }

    public static function delivered(object $row): void
    {
        Capsule::table(self::TABLE)->where('id', $row->id)->delete();
    }

    /** Record a failed retry: back off, or give up (dead) on a final answer or too many tries. */
    public static function failed(object $row, Response $answer, int $now): void
    {
        $attempts = (int) $row->attempts + 1;
        $dead = !$answer->isRetryable() || $attempts >= self::MAX_ATTEMPTS;
        Capsule::table(self::TABLE)->where('id', $row->id)->update([
            'attempts' => $attempts,
            'status' => $dead ? 'dead' : 'pending',
            'next_attempt_at' => $now + self::backoffSeconds($attempts),
            'last_status' => $answer->status,
            'last_error' => self::short($answer->describe()),
        ]);
    }

    /** @return array{pending: int, dead: int, oldest: ?int} */
    public static function counts(): array
    {
        $pending = Capsule::table(self::TABLE)->where('status', 'pending')->count();
        $dead = Capsule::table(self::TABLE)->where('status', 'dead')->count();
        $oldest = Capsule::table(self::TABLE)->where('status', 'pending')->orderBy('created_at')->value('created_at');
        return ['pending' => (int) $pending, 'dead' => (int) $dead, 'oldest' => $oldest === null ? null : (int) $oldest];
    }

    /** Give dead rows another chance (after the admin fixed the secret, say). */
    public static function requeueDead(int $now): int
    {
        return (int) Capsule::table(self::TABLE)->where('status', 'dead')
            ->update(['status' => 'pending', 'attempts' => 0, 'next_attempt_at' => $now]);
    }

    public static function purgeDead(?int $olderThan = null): int
    {
        $query = Capsule::table(self::TABLE)->where('status', 'dead');
        if ($olderThan !== null) {
            $query = $query->where('created_at', '<', $olderThan);
        }
        return (int) $query->delete();
    }

    private static function short(string $text): string
    {
        return Text::cut($text, 255);
    }
}
