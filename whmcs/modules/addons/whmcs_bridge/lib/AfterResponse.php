<?php
/**
 * Work that must not hold up the WHMCS page: run once the page has been sent.
 *
 * WHMCS runs hooks inside the page request (run_hook is a plain function call), so anything a
 * hook does is time the visitor waits. defer() queues a job and registers, once per request, a
 * PHP shutdown function. At shutdown it first lets the page go: it closes the session (so the
 * visitor's next page does not wait on the session lock), then calls fastcgi_finish_request()
 * (PHP-FPM) or litespeed_finish_request() (LiteSpeed), which send the whole response and close
 * the connection; under other SAPIs (mod_php, CGI, the CLI cron) it flushes the output, and the
 * jobs run before the connection closes (the circuit breaker bounds that wait). Then it runs
 * the jobs in order; each one is a wall (a failing job does not stop the next).
 *
 * The shutdown function registers itself again from inside the shutdown phase, so it runs after
 * every shutdown function WHMCS or other modules registered: the page is complete when it goes.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

final class AfterResponse
{
    /** @var list<callable(): void> */
    private static array $jobs = [];
    private static bool $registered = false;
    private static bool $running = false;

    public static function defer(callable $job): void
    {
        self::$jobs[] = $job;
        if (!self::$registered) {
            self::$registered = true;
            register_shutdown_function(static function (): void {
                register_shutdown_function([self::class, 'atShutdown']);
            });
        }
    }

    /** @internal the registered shutdown function: release the page, then run the jobs. */
    public static function atShutdown(): void
    {
        if (self::$jobs === []) {
            return;
        }
        self::releasePage();
        self::run();
    }

    /** How many jobs wait for the end of the page. */
    public static function pending(): int
    {
        return count(self::$jobs);
    }

    /**
     * Run the queued jobs now, in order (the shutdown function does; the tests call it to end a
     * simulated page). Jobs deferred while running are run too.
     */
    public static function run(): void
    {
        if (self::$running) {
            return;
        }
        self::$running = true;
        try {
            while (($job = array_shift(self::$jobs)) !== null) {
                try {
                    $job();
                } catch (\Throwable $e) {
                    Log::activity('whmcs-bridge after the page: ' . get_class($e) . ': ' . $e->getMessage());
                }
            }
        } finally {
            self::$running = false;
        }
    }

    /** Send the response to the visitor and close the connection where the SAPI can. */
    private static function releasePage(): void
    {
        ignore_user_abort(true); // the visitor leaving must not cut a send short
        if (session_status() === PHP_SESSION_ACTIVE) {
            session_write_close();
        }
        if (function_exists('fastcgi_finish_request')) {
            fastcgi_finish_request();
        } elseif (function_exists('litespeed_finish_request')) {
            litespeed_finish_request();
        } elseif (PHP_SAPI !== 'cli') {
            while (ob_get_level() > 0 && @ob_end_flush()) {
            }
            flush();
        }
    }
}
