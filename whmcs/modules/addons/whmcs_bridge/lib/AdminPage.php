<?php
/**
 * The module's admin page (addonmodules.php?module=whmcs_bridge): connection test, spool size
 * and actions, last errors, dashboard link, and the verification proxy the ticket panel posts
 * to. This class decides what the page says; templates/admin.php holds the markup. Returns
 * the HTML (the caller echoes it) so it can be tested as a string.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

final class AdminPage
{
    /** What templates/admin.php shows when nothing is set: every part left out. */
    private const NOTHING = ['alert' => null, 'checks' => null, 'overview' => null, 'backToTicket' => null];

    public function __construct(
        private readonly Settings $settings,
        private readonly Http $http,
        private readonly Log $log,
        private readonly string $language,
        private readonly int $adminId,
        private readonly string $sessionId,
    ) {
    }

    private function t(string $key): string
    {
        return Lang::get($key, $this->language);
    }

    /** Token for the page's own buttons (same idea as the panel's, another purpose). */
    private function pageToken(): string
    {
        return hash_hmac('sha256', 'page|' . $this->adminId . '|' . $this->sessionId, 'csrf|' . $this->settings->secret);
    }

    /** @param array<string, mixed> $get @param array<string, mixed> $post */
    public function handle(string $method, array $get, array $post): string
    {
        $action = Input::text($get, 'action');
        if ($action === 'verify' && $method === 'POST') {
            return Template::render('admin', array_merge(self::NOTHING, $this->verify($post)));
        }
        $view = self::NOTHING;
        if ($method === 'POST' && in_array($action, ['test', 'flush', 'requeue', 'purge'], true)) {
            if (!hash_equals($this->pageToken(), Input::text($post, 'wb_csrf'))) {
                $view['alert'] = self::alert('danger', $this->t('verify_bad_token'));
            } else {
                $view = array_merge($view, $this->runAction($action));
            }
        }
        $view['overview'] = $this->overviewView();
        return Template::render('admin', $view);
    }

    /** @return array{level: string, text: string} */
    private static function alert(string $level, string $text): array
    {
        return ['level' => $level, 'text' => $text];
    }

    /** The part of the page an action's result fills: the checks of a test, else an alert. */
    private function runAction(string $action): array
    {
        $now = time();
        switch ($action) {
            case 'test':
                return ['checks' => $this->connectionChecks()];
            case 'flush':
                $r = (new Forwarder($this->settings, $this->http, $this->log))->flushSpool(500, 25.0, $now);
                $text = sprintf($this->t('spool_result'), $r['sent'], $r['failed'], $r['dead']);
                break;
            case 'requeue':
                $text = sprintf($this->t('requeued'), Spool::requeueDead($now));
                break;
            default:
                $text = sprintf($this->t('purged'), Spool::purgeDead());
        }
        return ['alert' => self::alert('info', $text)];
    }

    /** The connection test's table on its own. */
    public function connectionTest(): string
    {
        return Template::render('admin', array_merge(self::NOTHING, ['checks' => $this->connectionChecks()]));
    }

    /**
     * Three checks: reachable, secret matches (signed event accepted), token accepted.
     *
     * @return list<array{string, string, string}> label, OK/FAILED, what the bridge answered
     */
    private function connectionChecks(): array
    {
        $checks = [];
        $health = $this->http->send('GET', $this->settings->bridgeUrl . '/healthz');
        $checks[] = [$this->t('test_reachable'), $health->status === 200, $health->describe()];
        // the admin's test is a probe too: an answer closes the circuit, no answer keeps it open
        Breaker::forSettings($this->settings, $this->log)->record($health, time());

        $id = Signer::newId();
        $body = Envelope::build('WhmcsBridgeConnectionTest', [
            'source' => 'admin page',
            // what this module forwards: `whmcs-bridge doctor` fails when TicketPiping is missing
            'forwarded' => $this->settings->forwarded,
            'module_version' => Module::VERSION,
        ], Actor::make('admin', null, null, $this->adminId));
        $signed = $this->http->send('POST', $this->settings->bridgeUrl . Forwarder::PATH,
            array_merge(Signer::headers($this->settings->secret, $id, $body), ['Content-Type: application/json']), $body);
        $checks[] = [$this->t('test_signature'), $signed->isSuccess(), $signed->describe()];

        $token = $this->http->send('GET', $this->settings->bridgeUrl . '/api/tickets/0',
            ['Authorization: Bearer ' . $this->settings->token]);
        // 404 (no ticket 0) proves the token passed; 401 means it did not
        $checks[] = [$this->t('test_token'), in_array($token->status, [200, 404], true), $token->describe()];

        return array_map(fn (array $check): array => [$check[0], $check[1] ? $this->t('ok') : $this->t('failed'), $check[2]],
            $checks);
    }

    /** @return array{action: string, csrf: string, label: string} one of the page's POST buttons */
    private function button(string $action, string $label): array
    {
        return ['action' => Panel::MODULE_LINK . '&action=' . $action, 'csrf' => $this->pageToken(), 'label' => $label];
    }

    /**
     * What the overview shows (templates/admin.php). Until the module is configured only the
     * version line and the not-configured warning (notConfigured, else null).
     */
    public function overviewView(): array
    {
        $view = ['version' => Module::VERSION, 'userAgent' => Module::userAgent(), 'notConfigured' => null];
        if (!$this->settings->isConfigured()) {
            $view['notConfigured'] = $this->t('not_configured');
            return $view;
        }
        $circuit = Breaker::forSettings($this->settings, $this->log)->state(time());
        $counts = Spool::counts();
        $errors = [];
        foreach (Log::recent(20) as $row) {
            $errors[] = ['time' => gmdate('Y-m-d H:i:s', (int) $row->created_at), 'action' => (string) $row->action,
                'message' => (string) $row->message];
        }
        return $view + [
            'summary' => sprintf($this->t('settings_summary'), $this->settings->failMode, $this->settings->timeoutMs,
                count($this->settings->forwarded), count(HookList::FORWARDED)),
            'testButton' => $this->button('test', $this->t('connection_test')),
            'dashboardHref' => $this->settings->dashboardUrl . '/dashboard',
            'dashboardLabel' => $this->t('dashboard'),
            'circuit' => $circuit['open']
                ? sprintf($this->t('circuit_open'), gmdate('Y-m-d H:i:s', $circuit['opened_at']), $circuit['error'],
                    gmdate('Y-m-d H:i:s', $circuit['until']))
                : $this->t('circuit_closed'),
            'spoolTitle' => $this->t('spool'),
            'pendingLabel' => $this->t('spool_pending'),
            'pending' => $counts['pending'],
            'deadLabel' => $this->t('spool_dead'),
            'dead' => $counts['dead'],
            'oldestLabel' => $this->t('spool_oldest'),
            'oldest' => $counts['oldest'] === null ? null : gmdate('Y-m-d H:i:s', $counts['oldest']),
            'spoolButtons' => [$this->button('flush', $this->t('spool_flush')),
                $this->button('requeue', $this->t('spool_requeue')), $this->button('purge', $this->t('spool_purge'))],
            'errorsTitle' => $this->t('last_errors'),
            'noErrors' => $this->t('no_errors'),
            'errors' => $errors,
        ];
    }

    /**
     * The panel's form lands here: check the CSRF token, proxy to the bridge, say what happened
     * (an alert and the link back to the ticket).
     */
    private function verify(array $post): array
    {
        $ticketId = (int) Input::text($post, 'ticketid');
        $result = fn (string $level, string $text): array => ['alert' => self::alert($level, $text), 'backToTicket' => [
            'href' => 'supporttickets.php?action=view&id=' . $ticketId, 'label' => sprintf($this->t('back_to_ticket'), $ticketId)]];
        $expected = Panel::csrfToken($this->settings->secret, $this->adminId, $this->sessionId, $ticketId);
        if ($ticketId <= 0 || $this->adminId <= 0 || !hash_equals($expected, Input::text($post, 'wb_csrf'))) {
            return $result('danger', $this->t('verify_bad_token'));
        }
        $actor = Actor::detect();
        $username = $actor['admin_username'] ?? ('admin#' . $this->adminId);
        $panel = new Panel($this->settings, $this->http, $this->log);
        $answer = $panel->submitVerification($ticketId, Panel::verificationRequest($post, (string) $username));
        $data = $answer->json() ?? [];
        $outcome = is_string($data['outcome'] ?? null) ? $data['outcome'] : '';
        if ($answer->isSuccess() && in_array($outcome, ['verified', 'link_sent', ''], true)) {
            $state = $data['verification']['state'] ?? ($data['state'] ?? '?');
            return $result('success', sprintf($this->t('verify_done'), (string) $state));
        }
        if ($answer->isSuccess()) { // the bridge checked the proof and it did not hold
            $why = $outcome . (is_string($data['reason'] ?? null) ? ' (' . $data['reason'] . ')' : '');
            return $result('danger', sprintf($this->t('verify_failed'), $why));
        }
        $why = is_string($data['message'] ?? null) ? $data['message'] : $answer->describe();
        if (isset($data['errors']) && is_array($data['errors'])) {
            $why .= ' ' . json_encode($data['errors'], JSON_UNESCAPED_UNICODE);
        }
        $this->log->error('verification', 'ticket ' . $ticketId . ': ' . $answer->describe());
        return $result('danger', sprintf($this->t('verify_failed'), $why));
    }
}
