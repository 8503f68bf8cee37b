<?php
/**
 * A minimal test harness (no PHPUnit: the module has no Composer dependencies and neither do its
 * tests). `t('name', fn)` runs a test; assertions throw; results are TAP-like lines, and the
 * last line is `RESULT <json>` carrying data for the pytest driver.
 */

final class AssertionFailed extends Exception
{
}

final class Tester
{
    public static int $passed = 0;
    /** @var list<string> */
    public static array $failures = [];
    /** @var array<string, mixed> */
    public static array $data = [];

    public static function run(string $name, callable $test): void
    {
        try {
            $test();
            self::$passed++;
            echo "ok - {$name}\n";
        } catch (Throwable $e) {
            $where = basename($e->getFile()) . ':' . $e->getLine();
            self::$failures[] = $name;
            echo "not ok - {$name}: " . get_class($e) . ': ' . $e->getMessage() . " ({$where})\n";
        }
    }

    public static function finish(): int
    {
        echo 'RESULT ' . json_encode(['passed' => self::$passed, 'failed' => self::$failures, 'data' => self::$data]) . "\n";
        return self::$failures === [] ? 0 : 1;
    }
}

function t(string $name, callable $test): void
{
    Tester::run($name, $test);
}

function fail(string $message): never
{
    throw new AssertionFailed($message);
}

function same(mixed $expected, mixed $actual, string $what = ''): void
{
    if ($expected !== $actual) {
        fail(($what !== '' ? $what . ': ' : '') . 'expected ' . var_export($expected, true) . ', got ' . var_export($actual, true));
    }
}

function truthy(mixed $value, string $what): void
{
    if (!$value) {
        fail($what);
    }
}

function contains(string $needle, string $haystack, string $what = ''): void
{
    if (!str_contains($haystack, $needle)) {
        fail(($what !== '' ? $what . ': ' : '') . var_export($needle, true) . ' not in ' . var_export(substr($haystack, 0, 400), true));
    }
}

function lacks(string $needle, string $haystack, string $what = ''): void
{
    if (str_contains($haystack, $needle)) {
        fail(($what !== '' ? $what . ': ' : '') . var_export($needle, true) . ' should not be in the output');
    }
}
