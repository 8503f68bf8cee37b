<?php
/**
 * Sends hook events to the bridge (POST {bridge}/webhooks/whmcs), spooling what it cannot
 * deliver now and re-sending the spool from the cron hook.
 *
 * A live send gets one short try (WHMCS's user is waiting); anything retryable goes to the
 * spool and the cron takes over. A 4xx is final: logged and kept as a dead row for the admin,
 * never retried automatically.
 */

namespace WHMCS\Module\Addon\WhmcsBridge;

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

final class Forwarder
{
    public const PATH = '/webhooks/whmcs';

    public function __construct(
        private readonly Settings $settings,
        private readonly Http $http,
        private readonly Log $log,
    ) {
    }

    /**
     * Forward one hook firing. Returns what happened: "sent", "spooled", "rejected" (4xx),
     * "skipped" (not configured / not selected).
     */
    public function forward(string $hook, array $vars, ?array $actor = null, ?int $now = null): string
    {
        if (!$this->settings->isConfigured() || !$this->settings->forwards($hook)) {
            return 'skipped';
        }
        $now ??= time();
        $eventId = Signer::newId();
        $body = Envelope::build($hook, $vars, $actor ?? Actor::detect());
        $answer = $this->deliver($eventId, $body, $hook);
        if ($answer->isSuccess()) {
            return 'sent';
        }
        $retryable = $answer->isRetryable();
        Spool::add($eventId, $hook, $body, $answer, $now, !$retryable);
        $this->log->error($hook, ($retryable ? 'spooled for retry: ' : 'refused by the bridge: ')
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
