<?php
/**
 * The module's admin page (addonmodules.php?module=whmcs_bridge): connection test, spool size
 * and actions, last errors, dashboard link, and the verification proxy the ticket panel posts
 * to. Returns HTML (the caller echoes it) so it can be tested without output buffering tricks.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

final class AdminPage
{
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

    private static function e(string $text): string
    {
        return htmlspecialchars($text, ENT_QUOTES);
    }

    /** Token for the page's own buttons (same idea as the panel's, another purpose). */
    private function pageToken(): string
    {
        return hash_hmac('sha256', 'page|' . $this->adminId . '|' . $this->sessionId, 'csrf|' . $this->settings->secret);
    }

    /** @param array<string, mixed> $get @param array<string, mixed> $post */
    public function handle(string $method, array $get, array $post): string
    {
        $action = (string) ($get['action'] ?? '');
        if ($action === 'verify' && $method === 'POST') {
            return $this->verify($post);
        }
        $notice = '';
        if ($method === 'POST' && in_array($action, ['test', 'flush', 'requeue', 'purge'], true)) {
            if (!hash_equals($this->pageToken(), (string) ($post['wb_csrf'] ?? ''))) {
                $notice = '<div class="alert alert-danger">' . self::e($this->t('verify_bad_token')) . '</div>';
            } else {
                $notice = $this->runAction($action);
            }
        }
        return $notice . $this->overview();
    }

    private function runAction(string $action): string
    {
        $now = time();
        switch ($action) {
            case 'test':
                return $this->connectionTest();
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
        return '<div class="alert alert-info">' . self::e($text) . '</div>';
    }

    /** Three checks: reachable, secret matches (signed event accepted), token accepted. */
    public function connectionTest(): string
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

        $html = '<table class="table table-condensed whmcs-bridge-test">';
        foreach ($checks as [$label, $ok, $detail]) {
            $html .= '<tr><td>' . self::e($label) . '</td><td><strong>' . self::e($ok ? $this->t('ok') : $this->t('failed'))
                . '</strong></td><td>' . self::e($detail) . '</td></tr>';
        }
        return $html . '</table>';
    }

    private function button(string $action, string $label): string
    {
        return '<form method="post" action="' . self::e(Panel::MODULE_LINK . '&action=' . $action) . '" style="display:inline">'
            . '<input type="hidden" name="wb_csrf" value="' . self::e($this->pageToken()) . '">'
            . '<button type="submit" class="btn btn-default btn-sm">' . self::e($label) . '</button></form> ';
    }

    private function overview(): string
    {
        $html = '<div class="whmcs-bridge-admin"><p>Module ' . self::e(Module::VERSION) . ' &middot; '
            . self::e(Module::userAgent()) . '</p>';
        if (!$this->settings->isConfigured()) {
            return $html . '<div class="alert alert-warning">' . self::e($this->t('not_configured')) . '</div></div>';
        }
        $html .= '<p>' . self::e(sprintf($this->t('settings_summary'), $this->settings->failMode, $this->settings->timeoutMs,
            count($this->settings->forwarded), count(HookList::FORWARDED))) . '</p>';
        $html .= '<p>' . $this->button('test', $this->t('connection_test'))
            . ' <a class="btn btn-link" target="_blank" rel="noopener" href="' . self::e($this->settings->dashboardUrl . '/dashboard') . '">'
            . self::e($this->t('dashboard')) . '</a></p>';

        $circuit = Breaker::forSettings($this->settings, $this->log)->state(time());
        $html .= '<p class="whmcs-bridge-circuit">' . self::e($circuit['open']
            ? sprintf($this->t('circuit_open'), gmdate('Y-m-d H:i:s', $circuit['opened_at']), $circuit['error'],
                gmdate('Y-m-d H:i:s', $circuit['until']))
            : $this->t('circuit_closed')) . '</p>';

        $counts = Spool::counts();
        $html .= '<h3>' . self::e($this->t('spool')) . '</h3><ul class="whmcs-bridge-spool">'
            . '<li>' . self::e($this->t('spool_pending')) . ': <strong class="pending">' . $counts['pending'] . '</strong></li>'
            . '<li>' . self::e($this->t('spool_dead')) . ': <strong class="dead">' . $counts['dead'] . '</strong></li>';
        if ($counts['oldest'] !== null) {
            $html .= '<li>' . self::e($this->t('spool_oldest')) . ': ' . gmdate('Y-m-d H:i:s', $counts['oldest']) . ' UTC</li>';
        }
        $html .= '</ul><p>' . $this->button('flush', $this->t('spool_flush'))
            . $this->button('requeue', $this->t('spool_requeue')) . $this->button('purge', $this->t('spool_purge')) . '</p>';

        $html .= '<h3>' . self::e($this->t('last_errors')) . '</h3>';
        $errors = Log::recent(20);
        if ($errors === []) {
            return $html . '<p>' . self::e($this->t('no_errors')) . '</p></div>';
        }
        $html .= '<table class="table table-condensed whmcs-bridge-errors">';
        foreach ($errors as $row) {
            $html .= '<tr><td>' . gmdate('Y-m-d H:i:s', (int) $row->created_at) . '</td><td>' . self::e((string) $row->action)
                . '</td><td>' . self::e((string) $row->message) . '</td></tr>';
        }
        return $html . '</table></div>';
    }

    /** The panel's form lands here: check the CSRF token, proxy to the bridge, say what happened. */
    private function verify(array $post): string
    {
        $ticketId = (int) ($post['ticketid'] ?? 0);
        $back = '<p><a href="supporttickets.php?action=view&amp;id=' . $ticketId . '">'
            . self::e(sprintf($this->t('back_to_ticket'), $ticketId)) . '</a></p>';
        $expected = Panel::csrfToken($this->settings->secret, $this->adminId, $this->sessionId, $ticketId);
        if ($ticketId <= 0 || $this->adminId <= 0 || !hash_equals($expected, (string) ($post['wb_csrf'] ?? ''))) {
            return '<div class="alert alert-danger">' . self::e($this->t('verify_bad_token')) . '</div>' . $back;
        }
        $actor = Actor::detect();
        $username = $actor['admin_username'] ?? ('admin#' . $this->adminId);
        $panel = new Panel($this->settings, $this->http, $this->log);
        $answer = $panel->submitVerification($ticketId, Panel::verificationRequest($post, (string) $username));
        $data = $answer->json() ?? [];
        $outcome = is_string($data['outcome'] ?? null) ? $data['outcome'] : '';
        if ($answer->isSuccess() && in_array($outcome, ['verified', 'link_sent', ''], true)) {
            $state = $data['verification']['state'] ?? ($data['state'] ?? '?');
            return '<div class="alert alert-success">' . self::e(sprintf($this->t('verify_done'), (string) $state)) . '</div>' . $back;
        }
        if ($answer->isSuccess()) { // the bridge checked the proof and it did not hold
            $why = $outcome . (is_string($data['reason'] ?? null) ? ' (' . $data['reason'] . ')' : '');
            return '<div class="alert alert-danger">' . self::e(sprintf($this->t('verify_failed'), $why)) . '</div>' . $back;
        }
        $why = is_string($data['message'] ?? null) ? $data['message'] : $answer->describe();
        if (isset($data['errors']) && is_array($data['errors'])) {
            $why .= ' ' . json_encode($data['errors'], JSON_UNESCAPED_UNICODE);
        }
        $this->log->error('verification', 'ticket ' . $ticketId . ': ' . $answer->describe());
        return '<div class="alert alert-danger">' . self::e(sprintf($this->t('verify_failed'), $why)) . '</div>' . $back;
    }
}
