<?php
/**
 * Sends hook events to the bridge (POST {bridge}/webhooks/whmcs) without holding up the page
 * that fired them, spooling what it cannot deliver and re-sending the spool from the cron hook.
 *
 * Inside the hook, forward() only writes the event to the spool (one INSERT) and defers the
 * send to the end of the page (AfterResponse). There, sendHeld() makes one short try unless the
 * circuit breaker is open; on success the row goes, anything retryable stays pending for the
 * cron. A 4xx is final: logged and kept as a dead row for the admin, never retried
 * automatically.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

final class Forwarder
{
    public const PATH = '/webhooks/whmcs';

    private readonly Breaker $breaker;

    public function __construct(
        private readonly Settings $settings,
        private readonly Http $http,
        private readonly Log $log,
        ?Breaker $breaker = null,
    ) {
        $this->breaker = $breaker ?? Breaker::forSettings($settings, $log);
    }

    /**
     * Take one hook firing: "queued" (in the spool, sent once the page has gone), or "skipped"
     * (not configured / not selected).
     */
    public function forward(string $hook, array $vars, ?array $actor = null, ?int $now = null): string
    {
        if (!$this->settings->isConfigured() || !$this->settings->forwards($hook)) {
            return 'skipped';
        }
        $now ??= time();
        $eventId = Signer::newId();
        $body = Envelope::build($hook, $vars, $actor ?? Actor::detect());
        try {
            Spool::hold($eventId, $hook, $body, $now);
        } catch (\Throwable $e) {
            // No spool table (module not upgraded, database trouble): still send it after the
            // page, as the module did before it had a spool, and say why it could not be kept.
            $this->log->error($hook, 'could not spool the event (' . $e->getMessage() . '); sending it without a copy');
            AfterResponse::defer(function () use ($eventId, $body, $hook): void {
                $answer = $this->breaker->allows(time()) ? $this->deliver($eventId, $body, $hook) : null;
                if ($answer !== null) {
                    $this->breaker->record($answer, time());
                }
                if ($answer === null || !$answer->isSuccess()) {
                    $this->log->error($hook, 'event ' . $eventId . ' lost: ' . ($answer?->describe() ?? 'circuit open'));
                }
            });
            return 'queued';
        }
        AfterResponse::defer(function () use ($eventId): void {
            $this->sendHeld($eventId);
        });
        return 'queued';
    }

    /**
     * At the end of the page: send one held event. Returns "sent", "spooled" (retryable
     * failure, or not tried because the circuit is open), "rejected" (4xx), or "gone" (the row
     * is no longer there: a cron run or the admin took it).
     */
    public function sendHeld(string $eventId, ?int $now = null): string
    {
        $now ??= time();
        $row = Spool::find($eventId);
        if ($row === null || (int) $row->attempts !== 0 || $row->status !== 'pending') {
            return 'gone';
        }
        if (!$this->breaker->allows($now)) {
            Spool::postpone($row, 'not sent: circuit open after the bridge failed', $now);
            return 'spooled';
        }
        $answer = $this->deliver($eventId, (string) $row->body, (string) $row->hook);
        $this->breaker->record($answer, time());
        if ($answer->isSuccess()) {
            Spool::delivered($row);
            return 'sent';
        }
        $retryable = $answer->isRetryable();
        Spool::failed($row, $answer, $now);
        $this->log->error((string) $row->hook, ($retryable ? 'spooled for retry: ' : 'refused by the bridge: ')
            . $answer->describe() . ($retryable ? '' : ' ' . Text::cut($answer->body, 300)));
        return $retryable ? 'spooled' : 'rejected';
    }

    /** One signed delivery; the timestamp and signature are made now, the id is the event's. */
    public function deliver(string $eventId, string $body, string $hook): Response
    {
        $headers = array_merge(Signer::headers($this->settings->secret, $eventId, $body), [
            'Content-Type: application/json',
        ]);
        $answer = $this->http->send('POST', $this->settings->bridgeUrl . self::PATH, $headers, $body);
        $this->log->call('event ' . $hook, $body, $answer, !$answer->isSuccess());
        return $answer;
    }

    /**
     * Re-send due spooled events, oldest first, within a count and time budget so one cron run
     * never hangs on a dead bridge. Stops at the first "no answer": the bridge is still down.
     * It calls even while the circuit is open (nobody waits on the cron) and records the result,
     * so a bridge that is back closes the circuit here too.
     *
     * @return array{sent: int, failed: int, dead: int}
     */
    public function flushSpool(int $limit = 100, float $budgetSeconds = 20.0, ?int $now = null): array
    {
        $result = ['sent' => 0, 'failed' => 0, 'dead' => 0];
        if (!$this->settings->isConfigured()) {
            return $result;
        }
        $now ??= time();
        $started = microtime(true);
        foreach (Spool::due($now, $limit) as $row) {
            if (microtime(true) - $started > $budgetSeconds) {
                break;
            }
            if (!Spool::claim($row, $now)) {
                continue; // another cron run has it
            }
            $answer = $this->deliver((string) $row->event_id, (string) $row->body, (string) $row->hook);
            $this->breaker->record($answer, time());
            if ($answer->isSuccess()) {
                Spool::delivered($row);
                $result['sent']++;
                continue;
            }
            Spool::failed($row, $answer, $now);
            if ($answer->isRetryable()) {
                $result['failed']++;
            } else {
                $result['dead']++;
                $this->log->error((string) $row->hook, 'refused by the bridge: ' . $answer->describe());
            }
            if ($answer->status === 0) {
                $this->log->error('AfterCronJob', 'bridge unreachable, spool kept: ' . $answer->describe());
                break;
            }
        }
        Spool::purgeDead($now - Spool::DEAD_KEPT_DAYS * 86400);
        return $result;
    }
}
