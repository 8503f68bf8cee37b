<?php
/**
 * Helpers shared by the suites: configure the module, read its tables, run scripted servers.
 */

use WHMCS\Database\Capsule;
use WHMCS\Module\Addon\WhmcsBridge\Spool;

function env_required(string $name): string
{
    $value = getenv($name);
    if ($value === false || $value === '') {
        fail("environment variable {$name} is required for this suite");
    }
    return $value;
}

/**
 * Configure the module against a bridge URL (other settings: the test bridge's). Module Debug
 * Mode is switched on, as an admin would to read the Module Log the suites inspect.
 */
function configure(string $bridgeUrl, array $extra = []): void
{
    StandIn::moduleDebug(true);
    StandIn::settings(array_merge([
        'bridge_url' => $bridgeUrl,
        'webhook_secret' => getenv('WB_SECRET') ?: 'whsec_' . base64_encode(str_repeat('k', 32)),
        'api_token' => getenv('WB_TOKEN') ?: 'staff-token-' . str_repeat('x', 20),
        'timeout_ms' => '2000',
        'fail_mode' => 'closed',
        'forward_hooks' => '',
        'log_level' => 'all',
        'panel_position' => 'main',
    ], $extra));
}

/** @return list<object> */
function spool_rows(?string $status = null): array
{
    $q = Capsule::table(Spool::TABLE);
    if ($status !== null) {
        $q = $q->where('status', $status);
    }
    return $q->orderBy('id')->get()->all();
}

function clear_spool(): void
{
    Capsule::table(Spool::TABLE)->delete();
}

/** @return list<object> Module Log rows, oldest first, optionally only since an id */
function module_log(int $afterId = 0): array
{
    return Capsule::table('tblmodulelog')->where('id', '>', $afterId)->orderBy('id')->get()->all();
}

function last_log_id(): int
{
    return (int) (Capsule::table('tblmodulelog')->orderBy('id', 'desc')->value('id') ?? 0);
}

function free_port(): int
{
    $server = stream_socket_server('tcp://127.0.0.1:0');
    $name = stream_socket_get_name($server, false);
    fclose($server);
    return (int) substr($name, strrpos($name, ':') + 1);
}

/**
 * Start `php -S` with the scripted fake bridge; returns [base URL, request-log path]. Stopped
 * at exit. Bounded wait (5 s) for the port.
 */
function start_fake_bridge(): array
{
    static $started = null;
    if ($started !== null) {
        return $started;
    }
    $port = free_port();
    $log = tempnam(sys_get_temp_dir(), 'wb-fake-');
    $cmd = [PHP_BINARY, '-S', '127.0.0.1:' . $port, __DIR__ . '/fake_bridge.php'];
    $proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']],
        $pipes, null, ['WB_FAKE_LOG' => $log, 'PATH' => getenv('PATH')]);
    register_shutdown_function(static function () use ($proc, $log) {
        proc_terminate($proc);
        proc_close($proc);
        @unlink($log);
    });
    for ($i = 0; $i < 100; $i++) {
        $conn = @fsockopen('127.0.0.1', $port, $errno, $errstr, 0.1);
        if ($conn) {
            fclose($conn);
            return $started = ['http://127.0.0.1:' . $port, $log];
        }
        usleep(50000);
    }
    fail('the fake bridge (php -S) did not start');
}

/** @return list<array> requests the fake bridge saw */
function fake_requests(string $log): array
{
    $lines = array_filter(explode("\n", (string) file_get_contents($log)));
    return array_values(array_map(static fn ($l) => json_decode($l, true), $lines));
}

/**
 * A port that accepts connections (kernel backlog) but never answers: the timeout path. One per
 * $name (the circuit breaker keeps state per bridge URL); returns its URL; the socket lives
 * until exit.
 */
function hanging_bridge(string $name = 'default'): string
{
    if (!isset($GLOBALS['wb_hanging'][$name])) {
        $server = stream_socket_server('tcp://127.0.0.1:0');
        $GLOBALS['wb_hanging'][$name] = [$server, 'http://' . stream_socket_get_name($server, false)];
    }
    return $GLOBALS['wb_hanging'][$name][1];
}

/** How many connections reached a hanging bridge since the last call (accepted and dropped now). */
function hanging_connections(string $name = 'default'): int
{
    hanging_bridge($name);
    $server = $GLOBALS['wb_hanging'][$name][0];
    $count = 0;
    while (($conn = @stream_socket_accept($server, 0)) !== false) {
        fclose($conn);
        $count++;
    }
    return $count;
}

/**
 * A scripted bridge whose health the test switches: "{fake}/switch/<name>" answers 503 to
 * everything while down (the default) and 202 / {"allow": true} / a panel while up.
 */
function switch_bridge(string $name, bool $up): string
{
    [$url] = start_fake_bridge();
    file_put_contents(sys_get_temp_dir() . '/wb-switch-' . basename($name), $up ? 'up' : 'down');
    register_shutdown_function(static fn () => @unlink(sys_get_temp_dir() . '/wb-switch-' . basename($name)));
    return $url . '/switch/' . $name;
}

/** A URL nothing listens on (connection refused at once). */
function closed_port_url(): string
{
    return 'http://127.0.0.1:' . free_port();
}

/** Plausible $vars for each gate hook about one client (service 5 belongs to it). */
function gate_vars(string $hook, int $clientId): array
{
    return match ($hook) {
        'ClientDetailsValidation' => ['userid' => $clientId, 'firstname' => 'An', 'lastname' => 'Nguyen',
            'email' => 'new-' . $clientId . '@example.com', 'country' => 'VN'],
        'ContactDetailsValidation' => ['userid' => $clientId, 'contactid' => 3, 'email' => 'c@example.com'],
        'ShoppingCartValidateUpgrade' => ['id' => 5, 'pid' => 9, 'userid' => $clientId],
        default => ['params' => ['serviceid' => 5, 'userid' => $clientId, 'pid' => 9, 'domain' => 'example.com',
            'username' => 'ex', 'password' => 'svc-secret', 'serverpassword' => 'root-secret']],
    };
}

/**
 * End the simulated page: what PHP's shutdown does at the end of a real WHMCS request (the
 * module's shutdown function runs the jobs it deferred, e.g. sending held events). A suite is one
 * process serving many simulated pages; the `after_response` test checks the real shutdown path
 * in processes of their own.
 */
function end_page(): void
{
    \WHMCS\Module\Addon\WhmcsBridge\AfterResponse::run();
}
