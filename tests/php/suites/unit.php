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
use WHMCS\Module\Addon\WhmcsBridge\Template;

$expectedHooks = array_merge(
    ['TicketOpen', 'TicketOpenAdmin', 'TicketUserReply', 'TicketAdminReply', 'TicketStatusChange',
     'TicketPriorityChange', 'TicketDepartmentChange', 'TicketSubjectChange', 'TicketFlagged',
     'TicketClose', 'TicketAddNote', 'TicketDelete', 'TicketDeleteReply', 'TicketMerge', 'TicketSplit',
     'TicketPiping', 'ClientEdit', 'ClientAdd', 'ClientChangePassword', 'UserChangePassword', 'UserEdit',
     'UserAdd', 'ContactAdd', 'ContactEdit', 'ContactDelete', 'ClientClose', 'PreDeleteClient', 'AfterModuleChangePackage', 'AfterModuleChangePassword', 'AfterModuleCustom',
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

t('scrubber: ClientEdit\'s two-factor data and AfterModuleChangePassword\'s passwords never leave WHMCS', function () {
    // hooks-reference/client.md: ClientEdit carries authmodule/authdata, also inside olddata
    $edit = Scrubber::clean(['userid' => 7, 'email' => 'a@example.com', 'authmodule' => 'totp',
        'authdata' => 'otp-seed', 'olddata' => ['authmodule' => 'totp', 'Auth_Data' => 'old-seed', 'email' => 'b@example.com']]);
    same(['userid' => 7, 'email' => 'a@example.com', 'olddata' => ['email' => 'b@example.com']], $edit);
    truthy(Scrubber::isSecretKey('authdata') && Scrubber::isSecretKey('AuthModule'), 'two-factor keys are secret');
    truthy(!Scrubber::isSecretKey('author') && !Scrubber::isSecretKey('auth'), 'only those exact keys');
    // hooks-reference/module.md: serviceid, oldpassword, newpassword (no params)
    same(['serviceid' => 55], Scrubber::clean(['serviceid' => 55, 'oldpassword' => 'old-pw', 'newpassword' => 'new-pw']));
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
    // API UpdateClient names its client `clientid`; without it the bridge took the change for
    // a new client (no id) and allowed it.
    $_REQUEST['clientid'] = '12';
    same(12, Actor::clientIdFor([], Actor::make('api')));
    unset($_REQUEST['clientid']);
    // ... or `clientemail` alone ("Either $clientid or $clientemail is required"): the gate
    // must still check that client, not let the change through as a client-less one.
    \WHMCS\Database\Capsule::pdo()->exec("INSERT OR REPLACE INTO tblclients (id, email) VALUES (13, 'an@example.com')");
    $_REQUEST['clientemail'] = ' an@example.com ';
    same(13, Actor::clientIdFor([], Actor::make('api')));
    $_REQUEST['clientemail'] = 'nobody@example.com';
    same(null, Actor::clientIdFor([], Actor::make('api')));
    unset($_REQUEST['clientemail']);
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
    Spool::hold('msg_a', 'TicketOpen', '{}', $now);
    Spool::hold('msg_b', 'TicketClose', '{}', $now);
    same([], Spool::due($now + Spool::LEASE - 1, 10), 'held by its page: not due before the lease ends');
    Spool::failed(Spool::find('msg_a'), new Response(503, ''), $now); // the page's own try failed
    Spool::failed(Spool::find('msg_b'), new Response(0, '', 'refused'), $now);
    same([1, 1], array_map(static fn ($r) => (int) $r->attempts, spool_rows()), 'the page\'s try counts');
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
        same(['abortcmd' => true, 'abortWithError' => 'Verify first'], $refuse->toHookResult($hook, 'x'));
        same(['abortcmd' => true, 'abortWithError' => 'x'], (new Decision(false))->toHookResult($hook, 'x'), 'fallback message');
    }
    same(['fallback'], (new Decision(false))->toHookResult('ClientDetailsValidation', 'fallback'));
});

t('gates against a scripted bridge: refuse with its message, allow, garbage applies the fail mode', function () {
    [$url, $log] = start_fake_bridge();
    StandIn::loginClient(42, 7);
    configure($url . '/gate/refuse');
    same([['Please verify ownership first (ticket #7).']], StandIn::runHook('ClientDetailsValidation', ['email' => 'n@example.com']));
    same([['abortcmd' => true, 'abortWithError' => 'Please verify ownership first (ticket #7).']],
        StandIn::runHook('PreModuleChangePackage', ['params' => ['serviceid' => 3, 'userid' => 42, 'password' => 'pw']]));
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
    StandIn::loginAdmin(1, 'alice'); // the fail mode refuses staff, not the client's own change
    $refused = StandIn::runHook('ContactDetailsValidation', ['userid' => 42, 'email' => 'x@example.com']);
    same(1, count($refused[0]), 'closed: refused');
    contains('cannot confirm', $refused[0][0]);
    configure($url . '/gate/garbage', ['fail_mode' => 'open']);
    same([[]], StandIn::runHook('ContactDetailsValidation', ['userid' => 42, 'email' => 'x@example.com']), 'open: allowed');
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
    StandIn::loginAdmin(1, 'alice');
    foreach (['closed port' => closed_port_url(), 'never answers' => hanging_bridge()] as $case => $url) {
        configure($url, ['timeout_ms' => '300']);
        same(true, StandIn::runHook('PreModuleChangePassword', ['params' => ['serviceid' => 1]])[0]['abortcmd'] ?? null, "{$case}, closed");
        $msg = StandIn::runHook('ShoppingCartValidateUpgrade', ['id' => 1]);
        contains('cannot confirm', $msg[0][0] ?? '', "{$case}, closed message");
        configure($url, ['timeout_ms' => '300', 'fail_mode' => 'open']);
        same([[]], StandIn::runHook('PreModuleChangePassword', ['params' => ['serviceid' => 1]]), "{$case}, open");
    }
    $_SESSION['Language'] = 'vietnamese';
    configure(closed_port_url());
    contains('Hiện chưa thể xác nhận', StandIn::runHook('ClientDetailsValidation', ['userid' => 3])[0][0], 'message in the person\'s language');
    StandIn::logout();
    $errors = Log::recent(5);
    contains('fail mode', $errors[0]->message);
});

t('events: 5xx and no answer are spooled, 4xx is kept dead, 2xx sent; nothing throws', function () {
    [$url, $log] = start_fake_bridge();
    clear_spool();
    configure($url . '/status/202');
    same([null], StandIn::runHook('TicketOpen', ['ticketid' => 1, 'subject' => 'Hi']));
    end_page();
    same([], spool_rows(), 'sent, nothing spooled');
    configure($url . '/status/503');
    StandIn::runHook('TicketUserReply', ['ticketid' => 1, 'replyid' => 2]);
    end_page();
    configure(closed_port_url());
    StandIn::runHook('TicketClose', ['ticketid' => 1]);
    end_page();
    configure($url . '/status/400');
    StandIn::runHook('TicketFlagged', ['ticketid' => 1]);
    end_page();
    $rows = spool_rows();
    same(['TicketUserReply' => 'pending', 'TicketClose' => 'pending', 'TicketFlagged' => 'dead'],
        array_combine(array_map(static fn ($r) => $r->hook, $rows), array_map(static fn ($r) => $r->status, $rows)));
    $body = json_decode($rows[0]->body, true);
    same('TicketUserReply', $body['type']);
    same(['ticketid' => 1, 'replyid' => 2], $body['data']);
    configure($url . '/status/202', ['forward_hooks' => 'TicketOpen']);
    $before = count(fake_requests($log));
    StandIn::runHook('InvoicePaid', ['invoiceid' => 1]);
    end_page();
    same($before, count(fake_requests($log)), 'a hook not selected is not forwarded');
    clear_spool();
});

t('spooled events are re-sent by the cron with the same webhook-id and a fresh timestamp', function () {
    [$url, $log] = start_fake_bridge();
    clear_spool();
    configure(closed_port_url());
    StandIn::runHook('TicketOpen', ['ticketid' => 77]);
    end_page();
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
        StandIn::loginAdmin(1, 'alice');
        same(true, StandIn::runHook('PreModuleCustom', ['params' => []])[0]['abortcmd'] ?? null, 'gate fails closed for staff');
        StandIn::logout();
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
    contains('<section id="fake-panel" data-wb-verify-methods="client_login card_last4 in_person made_up">SLA on track</section>', $html);
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

t('panel form: only the offered methods, each with only its own fields, in WHMCS admin styling; none when nothing is offered', function () {
    [$url] = start_fake_bridge();
    StandIn::loginAdmin(1, 'alice');
    configure($url . '/panel');
    $html = StandIn::runHook('AdminAreaViewTicketPage', ['ticketid' => 5])[0];
    contains('<div class="panel panel-default whmcs-bridge-verify"><div class="panel-heading"><h3 class="panel-title">', $html);
    preg_match_all('#<details class="whmcs-bridge-method"[^>]*>(.*?)</details>#s', $html, $blocks);
    same(3, count($blocks[1]), 'one block per offered method, the unknown name dropped');
    $fields = [];
    foreach ($blocks[1] as $block) {
        preg_match('/name="method" value="([a-z0-9_]+)"/', $block, $m);
        preg_match_all('/name="f_([a-z_0-9]+)"/', $block, $f);
        $fields[$m[1]] = $f[1];
        same(1, substr_count($block, '<form '), "{$m[1]}: its own form");
        contains('name="wb_csrf" value="' . Panel::csrfToken(Settings::load()->secret, 1, '', 5) . '"', $block);
        contains('class="btn btn-primary btn-sm"', $block);
    }
    same(['client_login' => ['email', 'password'], 'card_last4' => ['last4'], 'in_person' => ['reference']], $fields);
    contains('<div class="form-group"><label for="wb-5-card_last4-last4">Card last 4 digits</label><input class="form-control input-sm" id="wb-5-card_last4-last4"', $html);
    lacks('<script', substr($html, strpos($html, 'whmcs-bridge-verify')), 'the form needs no script');
    same(['in_person'], Panel::offeredMethods('<div data-wb-verify-methods="in_person">'));
    same([], Panel::offeredMethods('<div class="x">'), 'no attribute: no form');
    foreach ([6, 7] as $noProof) { // verified (empty list), and a fragment without the attribute
        $page = StandIn::runHook('AdminAreaViewTicketPage', ['ticketid' => $noProof])[0];
        contains('fake-panel', $page);
        lacks('<form', $page, "ticket {$noProof}: no form");
        lacks('wb_csrf', $page, "ticket {$noProof}: no token");
    }
    same('', Panel::form(5, 'tok', 'english', []));
    contains('Send the link', Panel::form(5, 'tok', 'english', ['link']));
    StandIn::logout();
});

/**
 * $view with every string and int in it replaced by markup, but for the values named *Html
 * (markup by contract) and true (a bare attribute). Keys stay: they are names, not values.
 */
function poisoned(array $view, string $poison): array
{
    foreach ($view as $key => $value) {
        if (is_string($key) && str_ends_with($key, 'Html')) {
            continue;
        }
        $view[$key] = is_array($value) ? poisoned($value, $poison) : (is_string($value) || is_int($value) ? $poison : $value);
    }
    return $view;
}

t('templates: every value they print is escaped; only the *Html values pass as markup', function () {
    $poison = '<script>alert(1)</script>"\'';
    $escaped = htmlspecialchars($poison, ENT_QUOTES);
    $form = Panel::formView(5, 'tok', 'english');
    truthy($form !== null, 'the form has methods');
    $panel = Template::render('panel', ['notice' => $poison, 'fragmentHtml' => '<b id="raw">bridge</b>',
        'form' => poisoned($form, $poison)]);
    lacks('<script', $panel, 'panel');
    lacks($poison, $panel, 'panel');
    contains('<small>' . $escaped . '</small>', $panel, 'the notice');
    contains('<div class="whmcs-bridge-panel"><b id="raw">bridge</b></div>', $panel, 'the bridge fragment as it came');
    contains(' maxlength="' . $escaped . '"', $panel, 'attribute values');
    contains(' required', $panel, 'bare attributes stay bare');

    [$url] = start_fake_bridge();
    configure($url . '/panel');
    $settings = Settings::load();
    $page = new AdminPage($settings, Http::forSettings($settings), new Log($settings), 'english', 1, 'sess');
    $overview = $page->overviewView();
    truthy(isset($overview['spoolButtons']), 'a configured module shows the whole overview');
    $overview['oldest'] = 'x';
    $overview['errors'] = [['time' => 't', 'action' => 'a', 'message' => 'm']];
    $admin = Template::render('admin', poisoned(['alert' => ['level' => 'info', 'text' => 't'],
        'checks' => [['label', 'OK', 'detail']], 'overview' => $overview,
        'backToTicket' => ['href' => 'h', 'label' => 'l']], $poison));
    lacks('<script', $admin, 'admin page');
    lacks($poison, $admin, 'admin page');
    foreach (['<td>' . $escaped . '</td>', '<strong class="pending">' . $escaped . '</strong>',
        'name="wb_csrf" value="' . $escaped . '"', 'href="' . $escaped . '"', 'class="alert alert-' . $escaped . '"'] as $part) {
        contains($part, $admin);
    }
    $overview['notConfigured'] = 'n';
    $unconfigured = Template::render('admin', poisoned(['alert' => null, 'checks' => null, 'overview' => $overview,
        'backToTicket' => null], $poison));
    contains('<div class="alert alert-warning">' . $escaped . '</div>', $unconfigured, 'not configured');
    lacks('<script', $unconfigured);
});

t('panel CSRF token depends on admin, session and ticket', function () {
    $base = Panel::csrfToken('s', 1, 'sess', 5);
    truthy($base !== Panel::csrfToken('s', 2, 'sess', 5), 'admin');
    truthy($base !== Panel::csrfToken('s', 1, 'other', 5), 'session');
    truthy($base !== Panel::csrfToken('s', 1, 'sess', 6), 'ticket');
    truthy($base !== Panel::csrfToken('t', 1, 'sess', 5), 'secret');
});

/**
 * Admin alice (id 1) logged in, the module configured against the fake bridge's /panel: the
 * admin page, its settings, the fake's request log and how many requests it had seen so far.
 */
function admin_page_as_alice(): array
{
    [$url, $log] = start_fake_bridge();
    StandIn::loginAdmin(1, 'alice');
    configure($url . '/panel');
    $settings = Settings::load();
    $page = new AdminPage($settings, Http::forSettings($settings), new Log($settings), 'english', 1, '');
    return [$page, $settings, $log, count(fake_requests($log))];
}

t('verification proxy: known fields only, refused without a valid CSRF token, token never in the page', function () {
    same(['method' => 'card_last4', 'admin' => 'alice', 'last4' => '4242'],
        Panel::verificationRequest(['method' => 'card_last4', 'f_last4' => ' 4242 ', 'f_email' => '', 'evil' => 'x', 'f_evil' => 'y'], 'alice'));
    [$page, $settings, $log, $before] = admin_page_as_alice();
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
    end_page();
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

t('admin page: a field posted as an array (name[]=...) is treated as missing, without a PHP warning', function () {
    [$page, $settings, $log, $before] = admin_page_as_alice();
    set_error_handler(static function (int $level, string $message): never {
        fail('PHP warned: ' . $message);
    });
    try {
        contains('form expired', $page->handle('POST', ['action' => 'purge'], ['wb_csrf' => ['x']]));
        contains('whmcs-bridge-admin', $page->handle('GET', ['action' => ['verify']], []), 'no action: the overview');
        contains('form expired', $page->handle('POST', ['action' => 'verify'], ['ticketid' => ['5'], 'wb_csrf' => ['x']]));
        $token = Panel::csrfToken($settings->secret, 1, '', 5);
        $page->handle('POST', ['action' => 'verify'], // the bridge names the missing method; the fake does not check
            ['ticketid' => '5', 'wb_csrf' => $token, 'method' => ['in_person'], 'f_reference' => 'r']);
    } finally {
        restore_error_handler();
    }
    $sent = array_slice(fake_requests($log), $before);
    same(1, count($sent), 'only the request with a valid token reached the bridge');
    same(['method' => '', 'admin' => 'alice'], json_decode($sent[0]['body'], true), 'an array method is no method');
    StandIn::logout();
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
    end_page();
    configure($url . '/status/400');
    StandIn::runHook('TicketClose', ['ticketid' => 31]);
    end_page();
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

// --- issue 12: behave as real WHMCS does -------------------------------------------------------

/** The bridge's last request as [uri, envelope]. */
function last_gate_request(string $log): array
{
    $all = fake_requests($log);
    $req = end($all) ?: fail('no request');
    return [$req['uri'], json_decode($req['body'], true)];
}

t('new clients: ClientDetailsValidation before a client is added is allowed on every path, bridge up or down', function () {
    [$url, $log] = start_fake_bridge();
    $vars = ['firstname' => 'An', 'lastname' => 'Nguyen', 'email' => 'an@example.com', 'country' => 'VN'];
    $signups = [
        'client sign-up' => ['/register.php', [], false],
        'checkout with a new account' => ['/cart.php', ['a' => 'checkout'], false],
        'admin Add New Client' => ['/admin/clientsadd.php', [], true],
        'API AddClient' => ['/includes/api.php', ['action' => 'AddClient'], false],
    ];
    foreach (['refusing bridge' => $url . '/gate/refuse', 'bridge down' => closed_port_url(),
        'bridge answers nonsense' => $url . '/gate/garbage'] as $case => $bridge) {
        configure($bridge, ['fail_mode' => 'closed', 'timeout_ms' => '300']);
        foreach ($signups as $path => [$script, $query, $staff]) {
            $staff ? StandIn::loginAdmin(1, 'alice') : StandIn::logout();
            StandIn::request($script, $query);
            same([[]], StandIn::runHook('ClientDetailsValidation', $vars), "{$path}, {$case}");
        }
    }
    // an existing client's details are still gated: admin on client B's profile, client on their own
    configure($url . '/gate/refuse');
    StandIn::loginAdmin(1, 'alice');
    StandIn::request('/admin/clientsprofile.php', ['userid' => '8']);
    contains('verify ownership', StandIn::runHook('ClientDetailsValidation', $vars)[0][0] ?? '', 'admin editing client 8');
    same(8, last_gate_request($log)[1]['data']['userid']);
    StandIn::loginClient(42, 7);
    StandIn::request('/cart.php', ['a' => 'checkout']);
    contains('verify ownership', StandIn::runHook('ClientDetailsValidation', $vars)[0][0] ?? '', 'logged-in client at checkout');
    same(false, Actor::addsNewClient('ClientDetailsValidation', $vars + ['userid' => 9], Actor::make('system'), 'client', '/register.php', []), 'a client id in vars');
    same(false, Actor::addsNewClient('ClientDetailsValidation', $vars, Actor::make('admin', null, null, 1), 'admin', '/admin/clientsadd.php', ['userid' => '3']));
    same(false, Actor::addsNewClient('ClientDetailsValidation', $vars, Actor::make('api'), 'api', '/includes/api.php', ['action' => 'UpdateClient']));
    same(false, Actor::addsNewClient('ContactDetailsValidation', $vars, Actor::make('system'), 'client', '/register.php', []));
    StandIn::logout();
    StandIn::request(null);
});

t('automatic provisioning: the fail mode never refuses a system or cron change, only staff and API ones', function () {
    [$url] = start_fake_bridge();
    foreach (['bridge down' => closed_port_url(), 'bridge answers nonsense' => $url . '/gate/garbage'] as $case => $bridge) {
        configure($bridge, ['fail_mode' => 'closed', 'timeout_ms' => '300']);
        foreach (HookList::ABORT_GATES as $hook) {
            $vars = gate_vars($hook, 42);
            StandIn::logout();
            StandIn::request(null); // cron on the command line
            same(['aborted' => false, 'message' => ''], StandIn::moduleCommand($hook, $vars), "{$hook} by cron, {$case}");
            StandIn::request('/modules/gateways/callback/paypal.php'); // the paid upgrade runs here
            same(['aborted' => false, 'message' => ''], StandIn::moduleCommand($hook, $vars), "{$hook} after payment, {$case}");
            StandIn::loginAdmin(1, 'alice');
            StandIn::request('/admin/clientsservices.php', ['userid' => '42', 'id' => '5']);
            same(['aborted' => true, 'message' => StandIn::ABORTED_BY_HOOK], StandIn::moduleCommand($hook, $vars), "{$hook} by staff, {$case}");
            StandIn::logout();
            StandIn::request('/includes/api.php', ['action' => 'ModuleChangePackage']);
            same(true, StandIn::moduleCommand($hook, $vars)['aborted'], "{$hook} by the API, {$case}");
        }
    }
    StandIn::logout();
    StandIn::request(null);
    StandIn::runHook('PreModuleChangePackage', gate_vars('PreModuleChangePackage', 42));
    contains('actor system: allowed', Log::recent(1)[0]->message, 'the allowed system change is logged');
});

t('refusal on every path: the client-area service path aborts with the bridge\'s message; staff paths abort too; the reason is in the Activity Log', function () {
    [$url] = start_fake_bridge();
    configure($url . '/gate/refuse');
    $vars = gate_vars('PreModuleChangePassword', 42);
    StandIn::masquerade(1, 'alice', 42, 542);
    StandIn::request('/clientarea.php', ['action' => 'productdetails', 'id' => '5']);
    same(['aborted' => true, 'message' => 'Please verify ownership first (ticket #7).'], StandIn::moduleCommand('PreModuleChangePassword', $vars), 'client area');
    StandIn::loginAdmin(1, 'alice');
    StandIn::request('/admin/clientsservices.php', ['userid' => '42', 'id' => '5']);
    same(['aborted' => true, 'message' => StandIn::ABORTED_BY_HOOK], StandIn::moduleCommand('PreModuleChangePassword', $vars), 'admin area');
    $activity = (string) Capsule::table('tblactivitylog')->orderBy('id', 'desc')->value('description');
    contains('verification_required', $activity, 'the reason');
    contains('ticket #7', $activity, 'the ticket');
    contains('Please verify ownership first', $activity, 'the message the person got');
    StandIn::logout();
    StandIn::request(null);
});

t('who is acting: an admin who logged in as owner of A and edits B in the admin area acts as staff on B', function () {
    [$url, $log] = start_fake_bridge();
    configure($url . '/gate/allow');
    StandIn::masquerade(1, 'alice', 41, 541);
    StandIn::request('/admin/clientsprofile.php', ['userid' => '88']);
    StandIn::runHook('ClientDetailsValidation', ['firstname' => 'Binh', 'email' => 'b@example.com']);
    [, $env] = last_gate_request($log);
    same(Actor::make('admin', null, null, 1, 'alice'), $env['actor'], 'admin area: staff');
    same(88, $env['data']['userid'], 'the client of the page');
    StandIn::request('/clientarea.php', ['action' => 'details']);
    StandIn::runHook('ClientDetailsValidation', ['firstname' => 'An', 'email' => 'a@example.com']);
    [, $env] = last_gate_request($log);
    same(Actor::make('masquerading_admin', 41, 541, 1, 'alice'), $env['actor'], 'client area: the masquerading admin');
    same(41, $env['data']['userid']);
    same('admin', Actor::area('/admin/clientsprofile.php', false, 'admin'));
    same('admin', Actor::area('/office/clientsprofile.php', false, 'office'), 'a renamed admin folder');
    same('client', Actor::area('/admin/clientsprofile.php', false, 'office'));
    same('admin', Actor::area('/index.php', true, 'admin'), 'WHMCS\'s ADMINAREA constant');
    same('api', Actor::area('/includes/api.php', false, 'admin'));
    same('client', Actor::area('/clientarea.php', false, 'admin'));
    StandIn::logout();
    StandIn::request(null);
});

t('password settings are read as stored; decrypt() is used only where the stored value is not a valid secret', function () {
    $token = bin2hex(random_bytes(32));
    $secret = 'whsec_' . base64_encode(random_bytes(32));
    $plain = Settings::fromArray(['bridge_url' => 'https://b.example', 'webhook_secret' => $secret, 'api_token' => $token]);
    same($token, $plain->token, 'a 64-hex token as stored');
    same($secret, $plain->secret, 'the whsec_ secret as stored');
    $stored = Settings::fromArray(['webhook_secret' => encrypt($secret), 'api_token' => 'short']);
    same($secret, $stored->secret, 'an encrypted secret (not a whsec_ value) is decrypted');
    same('short', $stored->token, 'neither form valid: the stored value is kept');
    StandIn::settings(['bridge_url' => 'https://b.example', 'webhook_secret' => $secret, 'api_token' => $token]);
    same($token, Settings::load()->token, 'through the settings table');
    truthy(decrypt($token) !== $token, 'the stand-in\'s decrypt() garbles a value stored as entered');
});

t('errors are visible by default: Activity Log and the module page, with Module Debug Mode off', function () {
    configure(closed_port_url(), ['timeout_ms' => '300', 'log_level' => 'errors']);
    StandIn::moduleDebug(false);
    $mark = last_log_id();
    $activityMark = (int) (Capsule::table('tblactivitylog')->orderBy('id', 'desc')->value('id') ?? 0);
    StandIn::loginAdmin(1, 'alice');
    StandIn::request('/admin/clientsprofile.php', ['userid' => '42']);
    StandIn::runHook('ClientDetailsValidation', ['email' => 'x@example.com']);
    same([], module_log($mark), 'WHMCS writes no Module Log entry with debug mode off');
    $activity = implode("\n", array_map(static fn ($r) => $r->description,
        Capsule::table('tblactivitylog')->where('id', '>', $activityMark)->orderBy('id')->get()->all()));
    contains('gate ClientDetailsValidation', $activity);
    contains('fail mode closed', $activity);
    lacks(Settings::load()->secret, $activity, 'no secret in the Activity Log');
    $settings = Settings::load();
    $html = (new AdminPage($settings, Http::forSettings($settings), new Log($settings), 'english', 1, ''))->handle('GET', [], []);
    contains('gate ClientDetailsValidation', $html, 'the module page lists it');
    StandIn::logout();
    StandIn::request(null);
    StandIn::moduleDebug(true);
});

t('PHP requirement: the guard names the running version; the entry files keep to syntax older PHP parses', function () {
    same(null, whmcs_bridge_requirement_problem(80100));
    same(null, whmcs_bridge_requirement_problem(80213));
    contains('PHP 7.4.33', (string) whmcs_bridge_requirement_problem(70433));
    contains('needs PHP 8.1 or later', (string) whmcs_bridge_requirement_problem(80027));
    same(null, whmcs_bridge_requirement_problem(), 'this PHP runs the module');
    $banned = [T_FN => 'arrow function (7.4)', T_COALESCE_EQUAL => '??= (7.4)', T_MATCH => 'match (8.0)',
        T_NULLSAFE_OBJECT_OPERATOR => '?-> (8.0)', T_ATTRIBUTE => 'attribute (8.0)', T_READONLY => 'readonly (8.1)',
        T_ENUM => 'enum (8.1)'];
    $newFunctions = ['str_contains', 'str_starts_with', 'str_ends_with', 'get_debug_type', 'array_is_list'];
    $newTypes = ['mixed', 'never'];
    foreach (['whmcs_bridge.php', 'hooks.php', 'lib/requirements.php', 'lib/autoload.php', 'lib/Module.php'] as $file) {
        $tokens = token_get_all((string) file_get_contents(StandIn::MODULE_DIR . '/' . $file));
        foreach ($tokens as $i => $token) {
            if (!is_array($token)) {
                continue;
            }
            if (isset($banned[$token[0]])) {
                fail("{$file}:{$token[2]}: {$banned[$token[0]]}");
            }
            $word = strtolower($token[1]);
            if ($token[0] === T_STRING && in_array($word, $newFunctions, true)) {
                fail("{$file}:{$token[2]}: {$word}() needs PHP 8");
            }
            if ($token[0] === T_STRING && in_array($word, $newTypes, true)) {
                fail("{$file}:{$token[2]}: type {$word} needs PHP 8");
            }
        }
    }
});

// --- issue 14: WHMCS pages do not pay for the bridge -------------------------------------------

use WHMCS\Module\Addon\WhmcsBridge\AfterResponse;
use WHMCS\Module\Addon\WhmcsBridge\Breaker;

/** This bridge URL's circuit row, or null while it never failed. */
function circuit(string $url): ?object
{
    return Capsule::table(Breaker::TABLE)->where('bridge', sha1($url))->first();
}

/** Let the open period pass (what waiting BASE_OPEN seconds would do). */
function circuit_period_passes(string $url): void
{
    Capsule::table(Breaker::TABLE)->where('bridge', sha1($url))->update(['open_until' => time() - 1]);
}

t('events are in the spool before the page ends and leave only after it, with the same webhook-id', function () {
    [$url, $log] = start_fake_bridge();
    clear_spool();
    configure($url . '/status/202');
    $before = count(fake_requests($log));
    same([null], StandIn::runHook('TicketAdminReply', ['ticketid' => 41, 'replyid' => 9, 'message' => 'Done']));
    $held = spool_rows();
    same(1, count($held), 'in the spool while the page is still running');
    same(['pending', 0], [$held[0]->status, (int) $held[0]->attempts]);
    truthy((int) $held[0]->next_attempt_at > time(), 'leased to this page: the cron leaves it alone');
    same($before, count(fake_requests($log)), 'nothing sent inside the hook');
    same(1, AfterResponse::pending());
    end_page();
    $sent = array_slice(fake_requests($log), $before);
    same(1, count($sent), 'sent once at the end of the page');
    same($held[0]->event_id, $sent[0]['headers']['webhook-id']);
    same($held[0]->body, $sent[0]['body']);
    same([], spool_rows(), 'delivered: the row is gone');
    end_page();
    same(1 + $before, count(fake_requests($log)), 'a second page end sends nothing again');
});

t('a page that dies before its end loses nothing: the cron sends its held events once the lease ends', function () {
    [$url, $log] = start_fake_bridge();
    clear_spool();
    configure($url . '/status/202');
    StandIn::runHook('TicketClose', ['ticketid' => 42]);
    $row = spool_rows()[0];
    $before = count(fake_requests($log));
    StandIn::runHook('AfterCronJob', []);
    same($before, count(fake_requests($log)), 'the cron leaves an event its page is about to send');
    same('gone', (new \WHMCS\Module\Addon\WhmcsBridge\Forwarder(Settings::load(), Http::forSettings(Settings::load()),
        new Log(Settings::load())))->sendHeld('msg_not_held'), 'an unknown id is nobody\'s');
    AfterResponse::run(); // (the page's own send, so the queue is empty for the next test) ...
    Capsule::table(Spool::TABLE)->insert((array) $row + ['id' => null]); // ... and the page "died" instead
    Capsule::table(Spool::TABLE)->where('event_id', $row->event_id)->update(['next_attempt_at' => time() - Spool::LEASE]);
    $before = count(fake_requests($log));
    StandIn::runHook('AfterCronJob', []);
    same([$row->event_id], array_map(static fn ($r) => $r['headers']['webhook-id'], array_slice(fake_requests($log), $before)));
    same([], spool_rows());
});

t('the real shutdown path: PHP-FPM releases the page first, then the event is sent; without FPM it is sent at shutdown', function () {
    [$url, $log] = start_fake_bridge();
    clear_spool();
    configure($url . '/status/202');
    foreach (['fpm' => true, 'no fpm' => false] as $case => $fpm) {
        file_put_contents($log, '');
        $cmd = [PHP_BINARY, '-d', 'display_errors=stderr', __DIR__ . '/../page.php', StandIn::$dbPath,
            'TicketOpen', json_encode(['ticketid' => 43, 'subject' => 'Down']), $fpm ? 'fpm' : ''];
        $proc = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, ['WB_FAKE_LOG' => $log]);
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        same(0, proc_close($proc), "{$case}: page exit code; {$err}");
        same('', $err, "{$case}: no warnings");
        $page = json_decode($out, true);
        same([null], $page['results']);
        same(1, count($page['spool']), "{$case}: in the spool as the page ends");
        $seen = fake_requests($log);
        same($fpm ? ['FINISH', 'POST'] : ['POST'], array_map(static fn ($r) => $r['method'], $seen), "{$case}: order");
        same($page['spool'][0]['event_id'], end($seen)['headers']['webhook-id']);
        same([], spool_rows(), "{$case}: sent after the page, nothing left");
    }
});

t('circuit breaker: after a failure, gates apply the fail mode and events go to the spool without calling; one probe closes it', function () {
    [, $log] = start_fake_bridge();
    clear_spool();
    $url = switch_bridge('breaker', false);
    configure($url, ['fail_mode' => 'closed']);
    StandIn::loginAdmin(1, 'alice');
    $calls = static fn () => count(array_filter(fake_requests($log), static fn ($r) => str_starts_with($r['uri'], '/switch/breaker/')));
    $mark = (int) (Log::recent(1)[0]->id ?? 0);
    same(true, StandIn::runHook('PreModuleChangePackage', gate_vars('PreModuleChangePackage', 7))[0]['abortcmd'] ?? null, '503: fail mode');
    same(1, $calls());
    $row = circuit($url);
    truthy($row !== null && (int) $row->open_until > time(), 'the circuit is open');
    same(Breaker::BASE_OPEN, (int) $row->open_until - (int) $row->opened_at, 'for the first back-off period');
    contains('HTTP 503', (string) $row->last_error);
    same(1, count(array_filter(Log::recent(10), static fn ($e) => $e->id > $mark && $e->action === 'circuit')),
        'the opening is logged once');

    switch_bridge('breaker', true); // the bridge is back, but the period has not passed
    same(true, StandIn::runHook('PreModuleChangePackage', gate_vars('PreModuleChangePackage', 7))[0]['abortcmd'] ?? null,
        'still the fail mode, at once');
    contains('cannot confirm', StandIn::runHook('ContactDetailsValidation', gate_vars('ContactDetailsValidation', 7))[0][0] ?? '', 'error gates too');
    StandIn::request('/admin/clientsadd.php');
    same([[]], StandIn::runHook('ClientDetailsValidation', ['firstname' => 'New', 'email' => 'new@example.com']), 'a new client is still allowed');
    StandIn::logout();
    StandIn::request(null);
    same([], StandIn::runHook('PreModuleChangePackage', gate_vars('PreModuleChangePackage', 7))[0], 'a cron change is never refused');
    StandIn::loginAdmin(1, 'alice');
    StandIn::runHook('TicketUserReply', ['ticketid' => 44, 'replyid' => 1]);
    end_page();
    same(1, $calls(), 'nothing reached the bridge while the circuit was open');
    $spooled = spool_rows();
    same(1, count($spooled), 'the event waits in the spool');
    same([0, 'pending'], [(int) $spooled[0]->attempts, $spooled[0]->status], 'not tried, not counted as a failure');
    truthy((int) $spooled[0]->next_attempt_at <= time(), 'due for the next cron run');
    contains('circuit open', $spooled[0]->last_error);

    circuit_period_passes($url);
    same([], StandIn::runHook('PreModuleChangePackage', gate_vars('PreModuleChangePackage', 7))[0], 'the probe is asked and allows');
    same(2, $calls(), 'one probe');
    same(0, (int) circuit($url)->open_until, 'its answer closed the circuit');
    same([], StandIn::runHook('PreModuleChangePassword', gate_vars('PreModuleChangePassword', 7))[0]);
    same(3, $calls(), 'closed: every gate asks again');
    StandIn::runHook('AfterCronJob', []);
    same([], spool_rows(), 'the cron sent the waiting event');
    StandIn::logout();
});

t('circuit breaker: only one request probes; a failed probe doubles the period; the cron and the connection test close it', function () {
    $url = switch_bridge('probe', false);
    configure($url);
    $settings = Settings::load();
    $now = time();
    $a = Breaker::forSettings($settings, new Log($settings));
    $b = Breaker::forSettings($settings, new Log($settings));
    truthy($a->allows($now), 'closed: allowed');
    $a->failure('HTTP 503', $now);
    truthy(!$b->allows($now) && !$b->allows($now + Breaker::BASE_OPEN - 1), 'open for the period');
    truthy($a->allows($now + Breaker::BASE_OPEN) && $a->probing(), 'the first one after the period probes');
    truthy(!$b->allows($now + Breaker::BASE_OPEN), 'the others do not while the probe runs');
    $a->failure('HTTP 503', $now + Breaker::BASE_OPEN);
    same(2 * Breaker::BASE_OPEN, (int) circuit($url)->open_until - $now - Breaker::BASE_OPEN, 'a failed probe doubles the period');
    same([30, 60, 120, 240, 300, 300], array_map([Breaker::class, 'openSeconds'], [1, 2, 3, 4, 5, 9]));
    truthy($b->allows($now + Breaker::BASE_OPEN + 2 * Breaker::BASE_OPEN + Breaker::PROBE_LEASE), 'a dead probe is replaced after its lease');

    switch_bridge('probe', true);
    clear_spool();
    Spool::hold('msg_probe', 'TicketOpen', '{}', 0);
    StandIn::runHook('AfterCronJob', []);
    same([], spool_rows(), 'the cron calls while the circuit is open (nobody waits on it)');
    same(0, (int) circuit($url)->open_until, 'and its answer closed the circuit');

    $a->failure('HTTP 503', time());
    $page = new AdminPage($settings, Http::forSettings($settings), new Log($settings), 'english', 1, 'sess');
    contains('events wait in the spool', $page->handle('GET', [], []), 'the module page shows the open circuit');
    preg_match('/name="wb_csrf" value="([0-9a-f]+)"/', $page->handle('GET', [], []), $m);
    $page->handle('POST', ['action' => 'test'], ['wb_csrf' => $m[1]]);
    same(0, (int) circuit($url)->open_until, 'a connection test that reaches the bridge closes the circuit');
    contains('circuit closed', $page->handle('GET', [], []));
});

t('a black-holed bridge costs one timeout per back-off period, not one per call', function () {
    clear_spool();
    $url = hanging_bridge('breaker');
    configure($url, ['timeout_ms' => '300']);
    StandIn::loginAdmin(1, 'alice');
    for ($i = 0; $i < 5; $i++) {
        same(true, StandIn::runHook('PreModuleCustom', gate_vars('PreModuleCustom', 8))[0]['abortcmd'] ?? null, "gate {$i}");
        StandIn::runHook('TicketStatusChange', ['ticketid' => 45 + $i, 'status' => 'Open']);
        end_page();
    }
    same(1, hanging_connections('breaker'), 'one connection: the first gate; the rest skipped the bridge');
    same(5, count(spool_rows('pending')), 'every event kept');
    circuit_period_passes($url);
    StandIn::runHook('PreModuleCustom', gate_vars('PreModuleCustom', 8));
    StandIn::runHook('PreModuleCustom', gate_vars('PreModuleCustom', 8));
    same(1, hanging_connections('breaker'), 'after the period: one probe, which timed out and opened it again');
    same(2 * Breaker::BASE_OPEN, (int) circuit($url)->open_until - (int) circuit($url)->opened_at);
    StandIn::logout();
    clear_spool();
});

t('ticket panel: held to its budget when the bridge is slow, and says so; a slow panel does not open the circuit', function () {
    $url = hanging_bridge('panel');
    configure($url, ['timeout_ms' => (string) Settings::MAX_TIMEOUT_MS, 'panel_position' => 'both']);
    StandIn::loginAdmin(1, 'alice');
    $main = StandIn::runHook('AdminAreaViewTicketPage', ['ticketid' => 5])[0];
    contains('slow to answer', $main);
    same(1, hanging_connections('panel'), 'one fetch');
    contains('within the panel budget of ' . Panel::BUDGET_MS . ' ms', Log::recent(1)[0]->message, 'cut at the budget, not the 10 s timeout');
    contains('slow to answer', StandIn::runHook('AdminAreaViewTicketPageSidebar', ['ticketid' => 5])[0], 'sidebar: same answer');
    same(0, hanging_connections('panel'), 'the sidebar did not fetch again');
    same(null, circuit($url), 'slow is not down: the circuit stays closed');
    StandIn::loginAdmin(2, 'binh');
    contains('phản hồi chậm', StandIn::runHook('AdminAreaViewTicketPage', ['ticketid' => 6])[0], 'in the admin\'s language');
    hanging_connections('panel');

    $down = closed_port_url();
    configure($down);
    StandIn::loginAdmin(1, 'alice');
    contains('whmcs-bridge unavailable', StandIn::runHook('AdminAreaViewTicketPage', ['ticketid' => 5])[0]);
    truthy((int) (circuit($down)->open_until ?? 0) > time(), 'a refused connection opens the circuit');
    Panel::forget();
    $errors = count(Log::recent(50));
    contains('whmcs-bridge unavailable', StandIn::runHook('AdminAreaViewTicketPage', ['ticketid' => 5])[0], 'open: not asked');
    same($errors, count(Log::recent(50)), 'and not logged again for every page');
    StandIn::logout();
});

t('without the spool table (module not upgraded) an event is still sent after the page, and the error says why', function () {
    [$url, $log] = start_fake_bridge();
    configure($url . '/status/202');
    Capsule::schema()->dropIfExists(Spool::TABLE);
    Capsule::schema()->dropIfExists(Breaker::TABLE);
    try {
        $before = count(fake_requests($log));
        same([null], StandIn::runHook('TicketOpen', ['ticketid' => 46]));
        same($before, count(fake_requests($log)), 'not inside the hook');
        end_page();
        same($before + 1, count(fake_requests($log)), 'sent after the page, breaker or not');
        contains('could not spool the event', Log::recent(1)[0]->message);
    } finally {
        Spool::createTable();
        Breaker::createTable();
    }
});
