<?php
/**
 * Turns a hook's $vars into plain JSON-safe data with every secret removed, before anything
 * leaves WHMCS. Pure: no I/O.
 *
 * Removed keys (at any depth, case and `_`/`-` ignored): passwords of clients, users and
 * services, server credentials, card and bank numbers, security answers, API keys and tokens,
 * domain transfer codes, two-factor data (ClientEdit's `authmodule` and `authdata`). Objects become arrays when they can say how (JsonSerializable,
 * toArray(), dates), else they are dropped.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

final class Scrubber
{
    public const MAX_DEPTH = 8;

    /** Keys removed when the normalised key equals one of these. */
    private const EXACT = [
        'pass', 'pw', 'pwd', 'cvv', 'cvv2', 'cvc', 'ccv', 'pin', 'bankacct', 'bankcode',
        'accountnumber', 'routingnumber', 'iban', 'authcode', 'authmodule', 'authdata',
    ];

    /** Keys removed when the normalised key contains one of these. */
    private const PARTS = [
        'password', 'passwd', 'secret', 'accesshash', 'apikey', 'accesskey', 'privatekey',
        'token', 'cardnum', 'ccnumber', 'cardnumber', 'cccvv', 'cardcvv', 'ccexp', 'cardexp',
        'securityqans', 'eppcode', 'sshkey', 'hash',
    ];

    /** @return array<string|int, mixed> */
    public static function clean(array $vars): array
    {
        return self::cleanArray($vars, 0);
    }

    public static function isSecretKey(string|int $key): bool
    {
        if (is_int($key)) {
            return false;
        }
        $norm = strtolower(str_replace(['_', '-', ' '], '', $key));
        if (in_array($norm, self::EXACT, true)) {
            return true;
        }
        foreach (self::PARTS as $part) {
            if (str_contains($norm, $part)) {
                return true;
            }
        }
        return false;
    }

    private static function cleanArray(array $vars, int $depth): array
    {
        $out = [];
        foreach ($vars as $key => $value) {
            if (self::isSecretKey($key)) {
                continue;
            }
            $clean = self::cleanValue($value, $depth + 1);
            if ($clean !== self::DROP) {
                $out[$key] = $clean;
            }
        }
        return $out;
    }

    private const DROP = "\0drop";

    private static function cleanValue(mixed $value, int $depth): mixed
    {
        if ($value === null || is_bool($value) || is_int($value) || is_string($value)) {
            return $value;
        }
        if (is_float($value)) {
            return is_finite($value) ? $value : null;
        }
        if ($depth > self::MAX_DEPTH) {
            return self::DROP;
        }
        if (is_array($value)) {
            return self::cleanArray($value, $depth);
        }
        if ($value instanceof \DateTimeInterface) {
            return $value->format(DATE_ATOM);
        }
        if (is_object($value)) {
            try {
                if ($value instanceof \JsonSerializable) {
                    $data = $value->jsonSerialize();
                } elseif (method_exists($value, 'toArray')) {
                    $data = $value->toArray();
                } else {
                    return self::DROP;
                }
            } catch (\Throwable $e) {
                return self::DROP;
            }
            return is_array($data) ? self::cleanArray($data, $depth) : self::cleanValue($data, $depth);
        }
        return self::DROP; // resources, closures
    }
}
