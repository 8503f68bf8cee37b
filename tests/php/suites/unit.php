<?php
/**
 * Unit suite: the module's logic under the stand-in, no real bridge needed (a scripted
 * `php -S` fake, a closed port and a never-answering port stand in for the network cases).
 */

use WHMCS\Database\Capsule;
use WHMCS\Module\Addon\WhmcsBridge\Actor;
use WHMCS\Module\Addon\WhmcsBridge\AdminPage;
use WHMCS\Module\Addon\WhmcsBridge\Decision;
use WHMCS\Module\Addon\WhmcsBridge\Envelope;
use WHMCS\Module\Addon\WhmcsBridge\HookList;
use WHMCS\Module\Addon\WhmcsBridge\Http;
use WHMCS\Module\Addon\WhmcsBridge\Log;
use WHMCS\Module\Addon\WhmcsBridge\Module;
use WHMCS\Module\Addon\WhmcsBridge\Panel;
use WHMCS\Module\Addon\WhmcsBridge\Response;
use WHMCS\Module\Addon\WhmcsBridge\Scrubber;
use WHMCS\Module\Addon\WhmcsBridge\Settings;
use WHMCS\Module\Addon\WhmcsBridge\Signer;
use WHMCS\Module\Addon\WhmcsBridge\Spool;

$expectedHooks = array_merge(
    ['TicketOpen', 'TicketOpenAdmin', 'TicketUserReply', 'TicketAdminReply', 'TicketStatusChange',
     'TicketPriorityChange', 'TicketDepartmentChange', 'TicketSubjectChange', 'TicketFlagged',
     'TicketClose', 'TicketAddNote', 'TicketDelete', 'TicketDeleteReply', 'TicketMerge', 'TicketSplit',
     'TicketPiping', 'ClientEdit', 'ClientAdd', 'ClientChangePassword', 'UserChangePassword', 'UserEdit',
     'ContactEdit', 'AfterModuleChangePackage', 'AfterModuleChangePassword', 'AfterModuleCustom',
     'ServiceEdit', 'AdminServiceEdit', 'AfterProductUpgrade', 'AfterConfigOptionsUpgrade',
     'CancellationRequest', 'InvoicePaid'],
    ['ClientDetailsValidation', 'ContactDetailsValidation', 'ShoppingCartValidateUpgrade',
     'PreModuleChangePackage', 'PreModuleChangePassword', 'PreModuleCustom'],
    ['AdminAreaViewTicketPage', 'AdminAreaViewTicketPageSidebar', 'AfterCronJob'],
);

t('(a) every expected hook is registered exactly once by the real hooks.php', function () use ($expectedHooks) {
    $registered = StandIn::registeredHooks();
    sort($registered);
    $expected = $expectedHooks;
    sort($expected);
    same($expected, $registered, 'registered hook points');
    foreach ($expectedHooks as $hook) {
        same(1, count($GLOBALS['standin_hooks'][$hook]), "callbacks on {$hook}");
    }
});

t('_config offers every setting and forwards all hooks by default', function () {
    $config = whmcs_bridge_config();
    same(Module::VERSION, $config['version']);
    foreach (['bridge_url', 'webhook_secret', 'api_token', 'timeout_ms', 'fail_mode', 'forward_hooks', 'log_level'] as $key) {
        truthy(isset($config['fields'][$key]), "field {$key}");
    }
    same('password', $config['fields']['webhook_secret']['Type']);
    same('password', $config['fields']['api_token']['Type']);
    same('closed', $config['fields']['fail_mode']['Default']);
    same(HookList::FORWARDED, Settings::parseHooks($config['fields']['forward_hooks']['Default']));
});

t('_activate creates the tables, _deactivate drops them, _upgrade recreates them', function () {
    truthy(Capsule::schema()->hasTable(Spool::TABLE), 'spool table after activate');
    same('success', whmcs_bridge_deactivate()['status']);
    truthy(!Capsule::schema()->hasTable(Spool::TABLE), 'spool table dropped');
    truthy(!Capsule::schema()->hasTable(Log::TABLE), 'error table dropped');
    whmcs_bridge_upgrade(['version' => '0.9.0']);
    truthy(Capsule::schema()->hasTable(Spool::TABLE) && Capsule::schema()->hasTable(Log::TABLE), 'tables after upgrade');
    same('success', whmcs_bridge_activate()['status'], 'activate is idempotent');
});

t('settings: defaults, fail mode closed unless exactly "open", timeout clamped, hook list filtered', function () {
    $s = Settings::fromArray([]);
    same('closed', $s->failMode);
    same(Settings::DEFAULT_TIMEOUT_MS, $s->timeoutMs);
    same(HookList::FORWARDED, $s->forwarded);
    same(false, $s->isConfigured());
    same('closed', Settings::fromArray(['fail_mode' => 'opne'])->failMode, 'a typo fails closed');
    same('open', Settings::fromArray(['fail_mode' => ' Open '])->failMode);
    same(Settings::MAX_TIMEOUT_MS, Settings::fromArray(['timeout_ms' => '999999'])->timeoutMs);
    same(Settings::MIN_TIMEOUT_MS, Settings::fromArray(['timeout_ms' => '5'])->timeoutMs);
    same(Settings::DEFAULT_TIMEOUT_MS, Settings::fromArray(['timeout_ms' => '-3'])->timeoutMs);
    same(['TicketOpen', 'InvoicePaid'], Settings::parseHooks("InvoicePaid,\nTicketOpen  NotAHook"));
    same('https://b.example', Settings::fromArray(['bridge_url' => 'https://b.example/'])->bridgeUrl);
    same('https://b.example', Settings::fromArray(['bridge_url' => 'https://b.example/'])->dashboardUrl);
});

t('User-Agent is whmcs-bridge-addon/<version> WHMCS/<version>', function () {
    same('whmcs-bridge-addon/' . Module::VERSION . ' WHMCS/8.10.1', Module::userAgent());
    same('unknown', Module::cleanVersion('garbage'));
    same('7.10', Module::cleanVersion('7.10'));
});

t('signer: Standard Webhooks v1 signature over id.timestamp.body', function () {
    $secret = 'whsec_' . base64_encode('0123456789abcdef0123456789abcdef');
    $expected = 'v1,' . base64_encode(hash_hmac('sha256', 'msg_1.1700000000.{"a":1}', '0123456789abcdef0123456789abcdef', true));
    same($expected, Signer::sign($secret, 'msg_1', 1700000000, '{"a":1}'));
    same($expected, Signer::sign(substr($secret, 6), 'msg_1', 1700000000, '{"a":1}'), 'prefix optional');
    $headers = Signer::headers($secret, 'msg_1', '{"a":1}', 1700000000);
    same(['webhook-id: msg_1', 'webhook-timestamp: 1700000000', 'webhook-signature: ' . $expected], $headers);
    truthy(preg_match('/^msg_[0-9a-f]{32}$/', Signer::newId()) === 1, 'id format');
    truthy(Signer::newId() !== Signer::newId(), 'ids are unique');
    try {
        Signer::key('whsec_!!!');
        fail('a non-base64 secret must be refused');
    } catch (InvalidArgumentException $e) {
    }
});

t('scrubber removes passwords, server credentials, card data and security answers at any depth', function () {
    $vars = [
        'userid' => 5, 'password' => 'p1', 'email' => 'a@example.com',
        'params' => ['serviceid' => 9, 'password' => 'svc', 'serverpassword' => 'rootpw', 'serveraccesshash' => 'h',
            'serverusername' => 'root', 'clientsdetails' => ['email' => 'a@example.com', 'password' => 'hash'],
            'configoptions' => ['Disk' => 10]],
        'securityqans' => 'blue', 'cardnum' => '4111', 'cccvv' => '123', 'api_key' => 'k', 'newPassword' => 'x',
        'olddata' => ['password' => 'old', 'firstname' => 'An'],
        'when' => new DateTimeImmutable('2026-01-02T03:04:05+00:00'),
        'closure' => static fn () => 1, 'ratio' => NAN,
    ];
    $clean = Scrubber::clean($vars);
    $json = json_encode($clean);
    foreach (['p1', 'svc', 'rootpw', '"h"', 'hash', 'blue', '4111', '123', 'newPassword', 'old"'] as $secret) {
        lacks($secret, $json, 'scrubbed');
    }
    same(5, $clean['userid']);
    same(9, $clean['params']['serviceid']);
    same('root', $clean['params']['serverusername'] ?? null, 'usernames stay (not secrets)');
    same(['Disk' => 10], $clean['params']['configoptions']);
    same('An', $clean['olddata']['firstname']);
    same('2026-01-02T03:04:05+00:00', $clean['when']);
    truthy(!array_key_exists('closure', $clean), 'closures dropped');
    same(null, $clean['ratio'], 'NaN becomes null');
});

t('envelope: type, ISO 8601 UTC timestamp, scrubbed data (object even when empty), actor', function () {
    $at = new DateTimeImmutable('2026-11-25T20:05:50.5+07:00');
    $env = json_decode(Envelope::build('TicketOpen', ['ticketid' => 3, 'password' => 'x'], Actor::make('client', 4, 5), $at), true);
    same('TicketOpen', $env['type']);
    same('2026-11-25T13:05:50.500000+00:00', $env['timestamp']);
    same(['ticketid' => 3], $env['data']);
    same(['type' => 'client', 'client_id' => 4, 'user_id' => 5, 'admin_id' => null, 'admin_username' => null], $env['actor']);
    same('{}', json_encode(json_decode(Envelope::build('TicketClose', []))->data), 'empty data is an object');
    $utf = Envelope::build('TicketOpen', ['subject' => "Nâng cấp gói \xff"]);
    contains('Nâng cấp gói', $utf, 'unicode kept, invalid bytes substituted');
});

t('actor: client, masquerading admin, admin, api, system', function () {
    StandIn::loginClient(42, 7);
    same(Actor::make('client', 42, 7), Actor::detect());
    StandIn::masquerade(1, 'alice', 42, 7);
    same(Actor::make('masquerading_admin', 42, 7, 1, 'alice'), Actor::detect());
    StandIn::loginAdmin(2, 'binh');
    same(Actor::make('admin', null, null, 2, 'binh'), Actor::detect());
    StandIn::logout();
    same('system', Actor::detect()['type']);
    $_SERVER['SCRIPT_NAME'] = '/includes/api.php';
    same('api', Actor::detect()['type']);
    unset($_SERVER['SCRIPT_NAME']);
    same(42, Actor::clientIdFor(['params' => ['userid' => '42']], Actor::make('system')));
    same(9, Actor::clientIdFor(['id' => 3], Actor::make('client', 9)));
    $_REQUEST['userid'] = '11';
    same(11, Actor::clientIdFor([], Actor::make('admin', null, null, 1)));
    unset($_REQUEST['userid']);
});

t('responses: 5xx, 408, 429 and no answer are retryable; other 4xx are final', function () {
    foreach ([0, 500, 502, 503, 408, 429] as $status) {
        truthy((new Response($status, ''))->isRetryable(), "{$status} retryable");
    }
    foreach ([400, 401, 404, 413, 415] as $status) {
        truthy(!(new Response($status, ''))->isRetryable(), "{$status} final");
    }
});

t('spool backoff doubles from 60 s and caps at 1 h', function () {
    same([60, 120, 240, 480, 960, 1920, 3600, 3600], array_map([Spool::class, 'backoffSeconds'], [1, 2, 3, 4, 5, 6, 7, 40]));
});

t('spool: due rows in order, claim once, back off on failure, dead after a final answer or too many tries', function () {
    clear_spool();
    $now = 1_800_000_000;
    Spool::add('msg_a', 'TicketOpen', '{}', new Response(503, ''), $now);
    Spool::add('msg_b', 'TicketClose', '{}', new Response(0, '', 'refused'), $now);
    same([], Spool::due($now, 10), 'nothing due before the first backoff');
    $due = Spool::due($now + 60, 10);
    same(['msg_a', 'msg_b'], array_map(static fn ($r) => $r->event_id, $due));
    truthy(Spool::claim($due[0], $now + 60), 'first claim');
    truthy(!Spool::claim($due[0], $now + 60), 'a second claim of the same read fails');
    Spool::failed($due[1], new Response(500, ''), $now + 60);
    $b = spool_rows()[1];
    same(2, (int) $b->attempts);
    same($now + 60 + 120, (int) $b->next_attempt_at);
    same('pending', $b->status);
    Spool::failed($b, new Response(400, ''), $now + 200);
    same('dead', spool_rows()[1]->status, '4xx is final');
    $a = spool_rows()[0];
    $a->attempts = Spool::MAX_ATTEMPTS - 1;
    Spool::failed($a, new Response(503, ''), $now);
    same('dead', spool_rows()[0]->status, 'too many attempts');
    same(['pending' => 0, 'dead' => 2, 'oldest' => null], Spool::counts());
    same(2, Spool::requeueDead($now));
    same(2, Spool::counts()['pending']);
    clear_spool();
});

t('gate decisions: parse the bridge answer, map to each hook\'s return shape', function () {
    $allow = Decision::fromResponse(new Response(200, '{"allow": true}'));
    truthy($allow !== null && $allow->allow, 'allow');
    $refuse = Decision::fromResponse(new Response(200, '{"allow": false, "reason": "verification_required", "message": "Verify first", "ticket_id": "12"}'));
    same(false, $refuse->allow);
    same(12, $refuse->ticketId);
    same(null, Decision::fromResponse(new Response(200, '{"allow": "no"}')), 'allow must be a boolean');
    same(null, Decision::fromResponse(new Response(500, '{"allow": true}')), 'non-200 is not an answer');
    same(null, Decision::fromResponse(new Response(200, 'oops')));
    foreach (HookList::ERROR_GATES as $hook) {
        same([], $allow->toHookResult($hook, 'x'));
        same(['Verify first'], $refuse->toHookResult($hook, 'x'));
    }
    foreach (HookList::ABORT_GATES as $hook) {
        same([], $allow->toHookResult($hook, 'x'));
        same(['abortcmd' => true], $refuse->toHookResult($hook, 'x'));
    }
    same(['fallback'], (new Decision(false))->toHookResult('ClientDetailsValidation', 'fallback'));
});

t('gates against a scripted bridge: refuse with its message, allow, garbage applies the fail mode', function () {
    [$url, $log] = start_fake_bridge();
    StandIn::loginClient(42, 7);
    configure($url . '/gate/refuse');
    same([['Please verify ownership first (ticket #7).']], StandIn::runHook('ClientDetailsValidation', ['email' => 'n@example.com']));
    same([['abortcmd' => true]], StandIn::runHook('PreModuleChangePackage', ['params' => ['serviceid' => 3, 'userid' => 42, 'password' => 'pw']]));
    $all = fake_requests($log);
    $req = end($all) ?: fail('no request');
    same('/gate/refuse/gates/PreModuleChangePackage', $req['uri']);
    $env = json_decode($req['body'], true);
    same('client', $env['actor']['type']);
    same(42, $env['actor']['client_id']);
    truthy(!isset($env['data']['params']['password']), 'service password not sent');
    contains('whmcs-bridge-addon/', $req['headers']['user-agent']);
    same(Signer::sign(getenv('WB_SECRET') ?: 'whsec_' . base64_encode(str_repeat('k', 32)), $req['headers']['webhook-id'],
        (int) $req['headers']['webhook-timestamp'], $req['body']), $req['headers']['webhook-signature']);
    $first = fake_requests($log);
    $client = json_decode($first[0]['body'], true);
    same(42, $client['data']['userid'], 'the client id is added for ClientDetailsValidation');
    configure($url . '/gate/allow');
    same([[]], StandIn::runHook('ShoppingCartValidateUpgrade', ['id' => 3, 'pid' => 9]));
    same([[]], StandIn::runHook('PreModuleCustom', ['params' => ['serviceid' => 3]]));
    configure($url . '/gate/garbage');
    $refused = StandIn::runHook('ContactDetailsValidation', ['email' => 'x@example.com']);
    same(1, count($refused[0]), 'closed: refused');
    contains('cannot confirm', $refused[0][0]);
    configure($url . '/gate/garbage', ['fail_mode' => 'open']);
    same([[]], StandIn::runHook('ContactDetailsValidation', ['email' => 'x@example.com']), 'open: allowed');
    StandIn::logout();
});

t('an unconfigured module does not gate anything and contacts nobody', function () {
    StandIn::settings(['bridge_url' => '', 'webhook_secret' => '', 'fail_mode' => 'closed', 'log_level' => 'all']);
    $mark = last_log_id();
    foreach (HookList::gates() as $hook) {
        same([[]], StandIn::runHook($hook, gate_vars($hook, 1)), $hook);
    }
    same([], module_log($mark), 'no request made, nothing logged');
});

t('gates with the bridge down or silent apply the fail mode within the timeout', function () {
    foreach (['closed port' => closed_port_url(), 'never answers' => hanging_bridge()] as $case => $url) {
        configure($url, ['timeout_ms' => '300']);
        same([['abortcmd' => true]], StandIn::runHook('PreModuleChangePassword', ['params' => ['serviceid' => 1]]), "{$case}, closed");
        $msg = StandIn::runHook('ShoppingCartValidateUpgrade', ['id' => 1]);
        contains('cannot confirm', $msg[0][0] ?? '', "{$case}, closed message");
        configure($url, ['timeout_ms' => '300', 'fail_mode' => 'open']);
        same([[]], StandIn::runHook('PreModuleChangePassword', ['params' => ['serviceid' => 1]]), "{$case}, open");
    }
    $_SESSION['Language'] = 'vietnamese';
    configure(closed_port_url());
    contains('Hiện chưa thể xác nhận', StandIn::runHook('ClientDetailsValidation', [])[0][0], 'message in the person\'s language');
    StandIn::logout();
    $errors = Log::recent(5);
    contains('fail mode', $errors[0]->message);
});

t('events: 5xx and no answer are spooled, 4xx is kept dead, 2xx sent; nothing throws', function () {
    [$url, $log] = start_fake_bridge();
    clear_spool();
    configure($url . '/status/202');
    same([null], StandIn::runHook('TicketOpen', ['ticketid' => 1, 'subject' => 'Hi']));
    same([], spool_rows(), 'sent, nothing spooled');
    configure($url . '/status/503');
    StandIn::runHook('TicketUserReply', ['ticketid' => 1, 'replyid' => 2]);
    configure(closed_port_url());
    StandIn::runHook('TicketClose', ['ticketid' => 1]);
    configure($url . '/status/400');
    StandIn::runHook('TicketFlagged', ['ticketid' => 1]);
    $rows = spool_rows();
    same(['TicketUserReply' => 'pending', 'TicketClose' => 'pending', 'TicketFlagged' => 'dead'],
        array_combine(array_map(static fn ($r) => $r->hook, $rows), array_map(static fn ($r) => $r->status, $rows)));
    $body = json_decode($rows[0]->body, true);
    same('TicketUserReply', $body['type']);
    same(['ticketid' => 1, 'replyid' => 2], $body['data']);
    configure($url . '/status/202', ['forward_hooks' => 'TicketOpen']);
    $before = count(fake_requests($log));
    StandIn::runHook('InvoicePaid', ['invoiceid' => 1]);
    same($before, count(fake_requests($log)), 'a hook not selected is not forwarded');
    clear_spool();
});

t('spooled events are re-sent by the cron with the same webhook-id and a fresh timestamp', function () {
    [$url, $log] = start_fake_bridge();
    clear_spool();
    configure(closed_port_url());
    StandIn::runHook('TicketOpen', ['ticketid' => 77]);
    $row = spool_rows()[0];
    Capsule::table(Spool::TABLE)->update(['next_attempt_at' => 0, 'created_at' => 1]);
    configure($url . '/status/200');
    $before = count(fake_requests($log));
    StandIn::runHook('AfterCronJob', []);
    $sent = array_slice(fake_requests($log), $before);
    same(1, count($sent));
    same($row->event_id, $sent[0]['headers']['webhook-id']);
    same($row->body, $sent[0]['body'], 'same body');
    truthy(abs((int) $sent[0]['headers']['webhook-timestamp'] - time()) < 60, 'timestamp is the send time');
    same([], spool_rows());
    StandIn::runHook('AfterCronJob', []);
    same(count(fake_requests($log)), $before + 1, 'nothing re-sent');
});

t('no hook throws into WHMCS, even without its database tables', function () {
    configure(closed_port_url());
    Capsule::schema()->dropIfExists('tbladdonmodules');
    Settings::forget();
    try {
        same([null], StandIn::runHook('TicketOpen', ['ticketid' => 1]));
        StandIn::runHook('AfterCronJob', []);
        same([['abortcmd' => true]], StandIn::runHook('PreModuleCustom', ['params' => []]), 'gate fails closed');
        contains('unavailable', StandIn::runHook('AdminAreaViewTicketPage', ['ticketid' => 1])[0]);
    } finally {
        Capsule::pdo()->exec('CREATE TABLE IF NOT EXISTS tbladdonmodules (module TEXT, setting TEXT, value TEXT)');
        Settings::forget();
    }
});

t('panel: fragment and form from the bridge; small line when it is down or does not know the ticket', function () {
    [$url] = start_fake_bridge();
    StandIn::loginAdmin(1, 'alice');
    configure($url . '/panel');
    $html = StandIn::runHook('AdminAreaViewTicketPage', ['ticketid' => 5])[0];
    contains('<section id="fake-panel">SLA on track</section>', $html);
    contains('name="wb_csrf" value="' . Panel::csrfToken(Settings::load()->secret, 1, '', 5) . '"', $html);
    contains('action="addonmodules.php?module=whmcs_bridge&amp;action=verify"', $html);
    lacks(Settings::load()->token, $html, 'the staff token never reaches the browser');
    same([''], StandIn::runHook('AdminAreaViewTicketPageSidebar', ['ticketid' => 5]), 'position main: sidebar empty');
    configure($url . '/panel', ['panel_position' => 'sidebar']);
    contains('fake-panel', StandIn::runHook('AdminAreaViewTicketPageSidebar', ['ticketid' => 5])[0]);
    configure($url . '/panel');
    contains('has not seen this ticket', StandIn::runHook('AdminAreaViewTicketPage', ['ticketid' => 404])[0]);
    configure(closed_port_url());
    $down = StandIn::runHook('AdminAreaViewTicketPage', ['ticketid' => 5])[0];
    contains('whmcs-bridge unavailable', $down);
    StandIn::loginAdmin(2, 'binh');
    contains('whmcs-bridge không phản hồi', StandIn::runHook('AdminAreaViewTicketPage', ['ticketid' => 5])[0], 'admin language');
    StandIn::logout();
});

t('panel CSRF token depends on admin, session and ticket', function () {
    $base = Panel::csrfToken('s', 1, 'sess', 5);
    truthy($base !== Panel::csrfToken('s', 2, 'sess', 5), 'admin');
    truthy($base !== Panel::csrfToken('s', 1, 'other', 5), 'session');
    truthy($base !== Panel::csrfToken('s', 1, 'sess', 6), 'ticket');
    truthy($base !== Panel::csrfToken('t', 1, 'sess', 5), 'secret');
});

t('verification proxy: known fields only, refused without a valid CSRF token, token never in the page', function () {
    same(['method' => 'card_last4', 'admin' => 'alice', 'last4' => '4242'],
        Panel::verificationRequest(['method' => 'card_last4', 'f_last4' => ' 4242 ', 'f_email' => '', 'evil' => 'x', 'f_evil' => 'y'], 'alice'));
    [$url, $log] = start_fake_bridge();
    StandIn::loginAdmin(1, 'alice');
    configure($url . '/panel');
    $settings = Settings::load();
    $page = new AdminPage($settings, Http::forSettings($settings), new Log($settings), 'english', 1, '');
    $before = count(fake_requests($log));
    $bad = $page->handle('POST', ['action' => 'verify'], ['ticketid' => '5', 'method' => 'in_person', 'wb_csrf' => 'forged']);
    contains('form expired', $bad);
    same($before, count(fake_requests($log)), 'nothing sent on a bad token');
    $good = $page->handle('POST', ['action' => 'verify'], ['ticketid' => '5', 'method' => 'client_login',
        'f_email' => 'a@example.com', 'f_password' => 'hunter2', 'wb_csrf' => Panel::csrfToken($settings->secret, 1, '', 5)]);
    contains('Verification state: verified', $good);
    $all = fake_requests($log);
    $req = end($all);
    same('/panel/api/tickets/5/verification', $req['uri']);
    same('Bearer ' . $settings->token, $req['headers']['authorization']);
    same(['method' => 'client_login', 'admin' => 'alice', 'email' => 'a@example.com', 'password' => 'hunter2'], json_decode($req['body'], true));
    $failed = $page->handle('POST', ['action' => 'verify'], ['ticketid' => '5', 'method' => 'card_last4',
        'f_last4' => '1111', 'wb_csrf' => Panel::csrfToken($settings->secret, 1, '', 5)]);
    contains('did not accept the verification: failed (no_match)', $failed, 'a proof that does not hold is shown as such');
    foreach (module_log() as $row) {
        lacks('hunter2', $row->request . $row->response, 'the proof never reaches the module log');
        lacks($settings->token, $row->request . $row->response, 'the token never reaches the module log');
    }
    StandIn::logout();
});

t('admin page: overview with spool counts and errors; actions need the page token', function () {
    [$url] = start_fake_bridge();
    configure($url . '/status/503');
    clear_spool();
    StandIn::runHook('TicketOpen', ['ticketid' => 1]);
    $settings = Settings::load();
    $page = new AdminPage($settings, Http::forSettings($settings), new Log($settings), 'english', 1, '');
    $html = $page->handle('GET', [], []);
    contains('<strong class="pending">1</strong>', $html);
    contains('spooled for retry: HTTP 503', $html);
    contains($url . '/status/503/dashboard', $html);
    contains('form expired', $page->handle('POST', ['action' => 'purge'], ['wb_csrf' => 'nope']));
    preg_match('/name="wb_csrf" value="([0-9a-f]+)"/', $html, $m);
    $test = $page->handle('POST', ['action' => 'test'], ['wb_csrf' => $m[1]]);
    contains('FAILED', $test, 'a 503 bridge fails the connection test');
    ob_start();
    whmcs_bridge_output(array_merge(['modulelink' => 'addonmodules.php?module=whmcs_bridge'], ['bridge_url' => '']));
    contains('Set the bridge URL', (string) ob_get_clean());
    clear_spool();
});

t('every English string has a Vietnamese translation and every key the code asks for exists', function () {
    $en = \WHMCS\Module\Addon\WhmcsBridge\Lang::strings('english');
    $vi = \WHMCS\Module\Addon\WhmcsBridge\Lang::strings('vietnamese');
    same(array_keys($en), array_keys(array_intersect_key($en, $vi)), 'keys missing in vietnamese.php: '
        . implode(', ', array_keys(array_diff_key($en, $vi))));
    same([], array_keys(array_diff_key($vi, $en)), 'keys only in vietnamese.php');
    $code = '';
    foreach (glob(StandIn::MODULE_DIR . '/lib/*.php') as $file) {
        $code .= file_get_contents($file);
    }
    preg_match_all("/(?:Lang::get|->t)\\('([a-z_0-9]+)'\\s*[,)]/", $code, $m);
    foreach (array_unique($m[1]) as $key) {
        truthy(isset($en[$key]), "string {$key} used but not defined");
    }
    foreach (Panel::METHODS as $method) {
        truthy(isset($en['method_' . $method]), "label for method {$method}");
    }
    foreach (Panel::FIELDS as $field) {
        truthy(isset($en['verify_field_' . $field]), "label for field {$field}");
    }
});

t('admin page buttons: send waiting events now, re-queue and delete given-up events', function () {
    [$url, $log] = start_fake_bridge();
    clear_spool();
    configure($url . '/status/503');
    StandIn::runHook('TicketOpen', ['ticketid' => 31]);
    configure($url . '/status/400');
    StandIn::runHook('TicketClose', ['ticketid' => 31]);
    \WHMCS\Database\Capsule::table(Spool::TABLE)->update(['next_attempt_at' => 0]);
    configure($url . '/status/202');
    $settings = Settings::load();
    $page = new AdminPage($settings, Http::forSettings($settings), new Log($settings), 'english', 1, 'sess');
    preg_match('/name="wb_csrf" value="([0-9a-f]+)"/', $page->handle('GET', [], []), $m);
    contains('Sent 1, still failing 0, given up 0.', $page->handle('POST', ['action' => 'flush'], ['wb_csrf' => $m[1]]));
    same(['dead'], array_map(static fn ($r) => $r->status, spool_rows()), 'the 4xx row is not sent by a flush');
    contains('1 events re-queued.', $page->handle('POST', ['action' => 'requeue'], ['wb_csrf' => $m[1]]));
    same(['pending'], array_map(static fn ($r) => $r->status, spool_rows()));
    configure($url . '/status/400');
    $settings = Settings::load();
    $page = new AdminPage($settings, Http::forSettings($settings), new Log($settings), 'english', 1, 'sess');
    contains('given up 1.', $page->handle('POST', ['action' => 'flush'], ['wb_csrf' => $m[1]]));
    contains('1 events deleted.', $page->handle('POST', ['action' => 'purge'], ['wb_csrf' => $m[1]]));
    same([], spool_rows());
    $other = new AdminPage($settings, Http::forSettings($settings), new Log($settings), 'english', 2, 'sess');
    contains('form expired', $other->handle('POST', ['action' => 'purge'], ['wb_csrf' => $m[1]]), 'another admin\'s token is refused');
});
