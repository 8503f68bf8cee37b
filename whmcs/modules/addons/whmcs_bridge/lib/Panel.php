<?php
/**
 * The bridge's ticket panel on WHMCS's admin ticket page, and the staff verification form under
 * it. The form posts to the module's own admin page (addonmodules.php?module=whmcs_bridge),
 * which proxies to POST {bridge}/api/tickets/<id>/verification: the staff token stays on the
 * server, and a CSRF token (HMAC of admin, session and ticket under the module's secret) proves
 * the post came from the page we rendered. The markup is in templates/panel.php.
 *
 * The panel is decoration on a page staff are waiting for: its fetch never takes longer than
 * BUDGET_MS (whatever the module's timeout), is skipped while the circuit breaker is open, and a
 * bridge too slow for the budget gets a line saying so instead of a panel. A slow answer is not
 * a failure for the breaker (gates and events have the full timeout); a refusal or 5xx is.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

final class Panel
{
    public const MODULE_LINK = 'addonmodules.php?module=' . Module::NAME;
    /** Method fields the form offers and the proxy forwards (nothing else gets through). */
    public const FIELDS = ['email', 'password', 'service_id', 'username', 'last4', 'payment_method',
        'amount', 'date', 'reference'];
    public const METHODS = ['client_login', 'service_login', 'card_last4', 'payment', 'in_person', 'link'];
    /**
     * The fields each method's form shows (the bridge's build_proof reads the same names;
     * tests/test_php_module.py checks the two agree). `link` needs none: the bridge sends it.
     */
    public const METHOD_FIELDS = [
        'client_login' => ['email', 'password'],
        'service_login' => ['service_id', 'username', 'password'],
        'card_last4' => ['last4'],
        'payment' => ['payment_method', 'amount', 'date'],
        'in_person' => ['reference'],
        'link' => [],
    ];
    /**
     * Input attributes per field, after id and name (true = a bare attribute); the browser's
     * date picker sends YYYY-MM-DD.
     *
     * @var array<string, array<string, string|int|true>>
     */
    private const INPUT_ATTRIBUTES = [
        'email' => ['type' => 'email', 'required' => true],
        'password' => ['type' => 'password', 'required' => true],
        'service_id' => ['type' => 'text', 'inputmode' => 'numeric', 'pattern' => '[0-9]*'],
        'username' => ['type' => 'text', 'required' => true],
        'last4' => ['type' => 'text', 'inputmode' => 'numeric', 'pattern' => '[0-9]{4}', 'maxlength' => 4, 'required' => true],
        'payment_method' => ['type' => 'text', 'required' => true],
        'amount' => ['type' => 'text', 'inputmode' => 'decimal', 'required' => true],
        'date' => ['type' => 'date', 'required' => true],
        'reference' => ['type' => 'text', 'maxlength' => 500, 'required' => true],
    ];
    /** The most the panel adds to the admin's ticket page, in ms (both panel hooks share one fetch). */
    public const BUDGET_MS = 800;
    private const NOT_ASKED = 'not asked: circuit open after a failure';

    /** @var array<string, Response> one fetch per ticket and page, whichever hook asks first */
    private static array $fetched = [];

    private readonly Breaker $breaker;

    public function __construct(
        private readonly Settings $settings,
        private readonly Http $http,
        private readonly Log $log,
        ?Breaker $breaker = null,
    ) {
        $this->breaker = $breaker ?? Breaker::forSettings($settings, $log);
    }

    public static function forget(): void
    {
        self::$fetched = [];
    }

    /**
     * GET {bridge}/api/tickets/<id>/panel?lang=vi|en with the staff token, within BUDGET_MS;
     * status 0 without a call while the circuit is open.
     */
    public function fetch(int $ticketId, string $langCode): Response
    {
        $key = $ticketId . '/' . $langCode;
        if (!isset(self::$fetched[$key])) {
            if (!$this->breaker->allows(time())) {
                return self::$fetched[$key] = new Response(0, '', self::NOT_ASKED);
            }
            $url = sprintf('%s/api/tickets/%d/panel?lang=%s', $this->settings->bridgeUrl, $ticketId, rawurlencode($langCode));
            $answer = $this->http->within(self::BUDGET_MS)->send('GET', $url, ['Authorization: Bearer ' . $this->settings->token]);
            $this->log->call('panel', 'GET /api/tickets/' . $ticketId . '/panel', $answer, !$answer->isSuccess());
            if (!$answer->timedOut || $this->breaker->probing()) {
                $this->breaker->record($answer, time());
            }
            self::$fetched[$key] = $answer;
        }
        return self::$fetched[$key];
    }

    /** The panel HTML for one ticket page; a short line when the bridge cannot provide it. */
    public function render(int $ticketId, string $language, int $adminId, string $sessionId): string
    {
        if ($ticketId <= 0 || $this->settings->bridgeUrl === '' || $this->settings->token === '') {
            return self::notice(Lang::get('bridge_unavailable', $language));
        }
        $answer = $this->fetch($ticketId, Lang::code($language));
        if ($answer->status === 404) {
            return self::notice(Lang::get('ticket_unknown', $language));
        }
        if ($answer->timedOut) {
            $this->log->error('panel', 'ticket ' . $ticketId . ': no answer within the panel budget of '
                . self::BUDGET_MS . ' ms (' . $answer->describe() . ')');
            return self::notice(Lang::get('bridge_slow', $language));
        }
        if (!$answer->isSuccess()) {
            if ($answer->error !== self::NOT_ASKED) { // the failure that opened the circuit was logged
                $this->log->error('panel', 'ticket ' . $ticketId . ': ' . $answer->describe());
            }
            return self::notice(Lang::get('bridge_unavailable', $language));
        }
        $csrf = self::csrfToken($this->settings->secret, $adminId, $sessionId, $ticketId);
        return Template::render('panel', ['notice' => null, 'fragmentHtml' => $answer->body,
            'form' => self::formView($ticketId, $csrf, $language, self::offeredMethods($answer->body))]);
    }

    public static function notice(string $text): string
    {
        return Template::render('panel', ['notice' => $text, 'fragmentHtml' => null, 'form' => null]);
    }

    /** Pure: the same inputs always give the same token; changing any of them breaks it. */
    public static function csrfToken(string $secret, int $adminId, string $sessionId, int $ticketId): string
    {
        return hash_hmac('sha256', 'verify|' . $adminId . '|' . $sessionId . '|' . $ticketId, 'csrf|' . $secret);
    }

    /**
     * Pure: the methods the bridge's fragment offers (its root's data-wb-verify-methods), in
     * METHODS order; none when the attribute is missing or empty (ownership not required,
     * already verified or refused), so the form never appears where it cannot be used.
     */
    public static function offeredMethods(string $fragment): array
    {
        if (preg_match('/\sdata-wb-verify-methods="([a-z0-9_ ]*)"/', substr($fragment, 0, 2000), $m) !== 1) {
            return [];
        }
        $named = preg_split('/\s+/', trim($m[1]), -1, PREG_SPLIT_NO_EMPTY);
        return array_values(array_intersect(self::METHODS, $named));
    }

    /**
     * The verification form posting to the module page (templates/panel.php), for the offered
     * methods in METHODS order; empty when none is offered.
     */
    public static function form(int $ticketId, string $csrf, string $language, array $methods = self::METHODS): string
    {
        $form = self::formView($ticketId, $csrf, $language, $methods);
        return $form === null ? '' : Template::render('panel', ['notice' => null, 'fragmentHtml' => null, 'form' => $form]);
    }

    /**
     * What the form shows: one entry per offered method (METHODS order) with only that
     * method's fields, or null when no method is offered. Pure but for WHMCS's own CSRF field
     * (generate_token(), when WHMCS has it).
     *
     * @return ?array{title: string, hint: string, ticketId: int, action: string, csrf: string,
     *     whmcsTokenHtml: string, methods: list<array>}
     */
    public static function formView(int $ticketId, string $csrf, string $language, array $methods = self::METHODS): ?array
    {
        $methods = array_values(array_intersect(self::METHODS, $methods));
        if ($methods === []) {
            return null;
        }
        $offered = [];
        foreach ($methods as $method) {
            $fields = [];
            foreach (self::METHOD_FIELDS[$method] as $field) {
                $fields[] = ['id' => 'wb-' . $ticketId . '-' . $method . '-' . $field, 'name' => 'f_' . $field,
                    'label' => Lang::get('verify_field_' . $field, $language), 'attributes' => self::INPUT_ATTRIBUTES[$field]];
            }
            $offered[] = ['name' => $method, 'label' => Lang::get('method_' . $method, $language), 'fields' => $fields,
                'submit' => $method === 'link' ? Lang::get('verify_send_link', $language) : Lang::get('verify_submit', $language)];
        }
        return [
            'title' => Lang::get('verify_title', $language),
            'hint' => Lang::get('verify_hint', $language),
            'ticketId' => $ticketId,
            'action' => self::MODULE_LINK . '&action=verify',
            'csrf' => $csrf,
            'whmcsTokenHtml' => function_exists('generate_token') ? (string) generate_token('form') : '',
            'methods' => $offered,
        ];
    }

    /**
     * Pure: the JSON request for the bridge from the posted form: the method, the admin's
     * username and the non-empty fields of that method (bounded), nothing else.
     */
    public static function verificationRequest(array $post, string $adminUsername): array
    {
        $method = Input::text($post, 'method');
        $request = ['method' => $method, 'admin' => $adminUsername];
        foreach (self::METHOD_FIELDS[$method] ?? [] as $field) { // an unknown method: the bridge says so
            $value = $post['f_' . $field] ?? null;
            if (is_string($value) && trim($value) !== '') {
                $request[$field] = Text::cut(trim($value), 500);
            }
        }
        return $request;
    }

    /** Proxy the verification to the bridge. The body (it may hold a password) is never logged. */
    public function submitVerification(int $ticketId, array $request): Response
    {
        $url = sprintf('%s/api/tickets/%d/verification', $this->settings->bridgeUrl, $ticketId);
        $answer = $this->http->send('POST', $url, [
            'Authorization: Bearer ' . $this->settings->token,
            'Content-Type: application/json',
        ], json_encode($request, JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE));
        $this->log->call('verification', 'POST /api/tickets/' . $ticketId . '/verification method='
            . ($request['method'] ?? ''), $answer, !$answer->isSuccess());
        return $answer;
    }
}
