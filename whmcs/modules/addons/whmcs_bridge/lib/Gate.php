<?php
/**
 * Gates: ask the bridge (POST {bridge}/gates/<HookName>, signed, synchronous, short timeout)
 * whether an account change may go ahead. A client being added has nothing to verify and is
 * allowed without asking. When the bridge cannot answer, the configured fail mode decides for
 * staff and API changes: closed (default) refuses, open allows. A change by the client or the
 * system (cron, automatic provisioning after payment: WHMCS never retries an aborted one) is
 * never refused by the fail mode. Every fail-mode decision is logged.
 *
 * While the circuit breaker is open (the bridge failed a moment ago, in this or another request)
 * the bridge is not asked: the fail mode applies at once, so a dead bridge costs one timeout per
 * back-off period, not one per gate.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

final class Gate
{
    public const PATH = '/gates/';

    private readonly Breaker $breaker;

    public function __construct(
        private readonly Settings $settings,
        private readonly Http $http,
        private readonly Log $log,
        ?Breaker $breaker = null,
    ) {
        $this->breaker = $breaker ?? Breaker::forSettings($settings, $log);
    }

    public function decide(string $hook, array $vars, array $actor): Decision
    {
        if (Actor::addsNewClient($hook, $vars, $actor, Actor::currentArea(),
            (string) ($_SERVER['SCRIPT_NAME'] ?? $_SERVER['SCRIPT_FILENAME'] ?? ''), $_REQUEST)) {
            return new Decision(true, '', 'new_client');
        }
        if (!$this->settings->isConfigured()) {
            // Gates start working once the bridge URL and secret are saved: activating the
            // module must not lock every account change before it is configured.
            return new Decision(true, '', 'not_configured');
        }
        // The client the change is about, when WHMCS does not put it in $vars itself.
        if (!isset($vars['userid']) && !isset($vars['params']) && ($clientId = Actor::clientIdFor($vars, $actor)) !== null) {
            $vars['userid'] = $clientId;
        }
        $now = time();
        if (!$this->breaker->allows($now)) {
            return $this->failMode($hook, 'bridge not asked: circuit open after a failure', $actor);
        }
        $body = Envelope::build($hook, $vars, $actor);
        $eventId = Signer::newId();
        $headers = array_merge(Signer::headers($this->settings->secret, $eventId, $body), [
            'Content-Type: application/json',
        ]);
        $answer = $this->http->send('POST', $this->settings->bridgeUrl . self::PATH . rawurlencode($hook), $headers, $body);
        $this->breaker->record($answer, time());
        $decision = Decision::fromResponse($answer);
        $this->log->call('gate ' . $hook, $body, $answer, $decision === null);
        if ($decision === null) {
            return $this->failMode($hook, $answer->describe(), $actor);
        }
        if (!$decision->allow) {
            Log::activity(sprintf('whmcs-bridge refused %s for %s (%s)%s: %s', $hook, $actor['type'] ?? 'system',
                $decision->reason ?: 'no reason', $decision->ticketId !== null ? ', ticket #' . $decision->ticketId : '',
                $decision->message !== '' ? $decision->message : '-'), (int) ($actor['client_id'] ?? 0));
        }
        return $decision;
    }

    /** The decision when the bridge gave no answer (unreachable, error, nonsense). */
    public static function fallback(bool $failsClosed, array $actor, string $reason = 'bridge_unavailable'): Decision
    {
        $refuse = $failsClosed && in_array($actor['type'] ?? 'system', Actor::FAIL_MODE_REFUSES, true);
        return new Decision(!$refuse, '', $reason, null, true);
    }

    private function failMode(string $hook, string $why, array $actor): Decision
    {
        $decision = self::fallback($this->settings->failsClosed(), $actor);
        $this->log->error('gate ' . $hook, sprintf('bridge gave no usable answer (%s); fail mode %s, actor %s: %s',
            $why, $this->settings->failMode, $actor['type'] ?? 'system', $decision->allow ? 'allowed' : 'refused'));
        return $decision;
    }
}
