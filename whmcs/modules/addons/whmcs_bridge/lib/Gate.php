<?php
/**
 * Gates: ask the bridge (POST {bridge}/gates/<HookName>, signed, synchronous, short timeout)
 * whether an account change may go ahead. When the bridge cannot answer, the configured fail
 * mode decides: closed (default) refuses, open allows; both are logged.
 */

namespace WHMCS\Module\Addon\WhmcsBridge;

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

final class Gate
{
    public const PATH = '/gates/';

    public function __construct(
        private readonly Settings $settings,
        private readonly Http $http,
        private readonly Log $log,
    ) {
    }

    public function decide(string $hook, array $vars, array $actor): Decision
    {
        if (!$this->settings->isConfigured()) {
            // Gates start working once the bridge URL and secret are saved: activating the
            // module must not lock every account change before it is configured.
            return new Decision(true, '', 'not_configured');
        }
        // The client the change is about, when WHMCS does not put it in $vars itself.
        if (!isset($vars['userid']) && !isset($vars['params']) && ($clientId = Actor::clientIdFor($vars, $actor)) !== null) {
            $vars['userid'] = $clientId;
        }
        $body = Envelope::build($hook, $vars, $actor);
        $eventId = Signer::newId();
        $headers = array_merge(Signer::headers($this->settings->secret, $eventId, $body), [
            'Content-Type: application/json',
        ]);
        $answer = $this->http->send('POST', $this->settings->bridgeUrl . self::PATH . rawurlencode($hook), $headers, $body);
        $decision = Decision::fromResponse($answer);
        $this->log->call('gate ' . $hook, $body, $answer, $decision === null);
        if ($decision === null) {
            return $this->failMode($hook, $answer->describe());
        }
        if (!$decision->allow) {
            $this->activity(sprintf('whmcs-bridge refused %s (%s)%s', $hook, $decision->reason ?: 'no reason',
                $decision->ticketId !== null ? ' ticket #' . $decision->ticketId : ''), $actor);
        }
        return $decision;
    }

    private function failMode(string $hook, string $why): Decision
    {
        $closed = $this->settings->failsClosed();
        $this->log->error('gate ' . $hook, sprintf('bridge gave no usable answer (%s); fail mode %s: %s',
            $why, $this->settings->failMode, $closed ? 'refused' : 'allowed'));
        return new Decision(!$closed, '', 'bridge_unavailable', null, true);
    }

    private function activity(string $message, array $actor): void
    {
        if (function_exists('logActivity')) {
            try {
                logActivity($message, (int) ($actor['client_id'] ?? 0));
            } catch (\Throwable $e) {
            }
        }
    }
}
